"""``agentperf top``: a live terminal dashboard from Prometheus or from an app's own ``/metrics``.

Plain text and ANSI colours only (rich), so it works over SSH. Every number degrades to "-" when the
data is missing. KPIs are shown against their targets with a bar; sparklines cover the last minutes
(a range query in Prometheus mode, the refresh history in endpoint mode).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group
from rich.text import Text

from ..insights.fleet import (
    AGENT,
    CACHE_READ,
    COST,
    EXPORT_FAILURES,
    OTHER_COST,
    SPANS_LOST,
    TOKENS,
    Samples,
    between,
    coverage,
    rows,
    scrape,
    snapshot,
    total,
)
from ..insights.rules import BUILTIN_RULES
from ..insights.suggest import Snapshot, Thresholds, evaluate, health_score
from ..insights.summary import known_cost
from .terminal import PIPED_WIDTH, SEVERITY_STYLE, Cell, Column, cost_text, fit_table, printable, text

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 30) -> str:
    values = [v for v in values if math.isfinite(v)][-width:]
    if not values:
        return ""
    high = max(values) or 1.0
    return "".join(BLOCKS[min(len(BLOCKS) - 1, int(v / high * (len(BLOCKS) - 1)))] for v in values)


def bar(ratio: float | None, width: int = 16) -> Text:
    if ratio is None or not math.isfinite(ratio):
        return Text("·" * width, style="dim")
    filled = max(0, min(width, round(ratio * width)))
    colour = "green" if ratio <= 1 else "red"
    return Text("█" * filled + "░" * (width - filled), style=colour)


@dataclass
class Frame:
    """One refresh: everything the screen shows."""

    source: str
    window_s: float
    snap: Snapshot
    kpis: dict[str, float | None]
    targets: dict[str, float | None]
    alerts: list[dict[str, str]] = field(default_factory=lambda: [])
    app_suggestions: list[dict[str, str]] = field(default_factory=lambda: [])
    priced_calls: int = 0
    unpriced_calls: int = 0
    """LLM calls in the window whose model has no price: every cost shown leaves them out."""
    agent_calls: dict[str, tuple[int, int]] = field(default_factory=lambda: {})
    """(priced, unpriced) LLM calls by agent."""
    model_calls: dict[tuple[str, str], tuple[int, int]] = field(default_factory=lambda: {})
    """(priced, unpriced) LLM calls by (provider, model)."""


def compute(samples: Samples, source: str, thresholds: Thresholds, daily_budget: float | None) -> Frame:
    snap = snapshot(samples, daily_budget_usd=daily_budget)
    window = samples.window_s or 1.0
    overall = rows(samples, AGENT, (), overall=True)
    calls = sum(r.count for r in overall)
    errors = sum(r.error_count for r in overall)
    spend = total(samples, f"{COST}_sum") + total(samples, OTHER_COST)
    tokens_in = total(samples, f"{TOKENS}_sum", gen_ai_token_type="input")
    tokens_out = total(samples, f"{TOKENS}_sum", gen_ai_token_type="output")
    cached = total(samples, f"{CACHE_READ}_sum")
    snap.hourly_spend_usd = spend * 3600 / window
    score, _ = health_score(snap, thresholds)
    kpis: dict[str, float | None] = {
        "p95 latency (s)": overall[0].p95 if overall and math.isfinite(overall[0].p95) else None,
        "success rate": 1 - errors / calls if calls else None,
        "calls/s": calls / window,
        "spend/hour (USD)": spend * 3600 / window,
        "tokens/s": (tokens_in + tokens_out) / window,
        "cache share": cached / tokens_in if tokens_in else None,
        "health score": score if calls else None,
        "spans lost": total(samples, SPANS_LOST),  # full export queue or failed export (issue 14)
        "metric exports failed": total(samples, EXPORT_FAILURES),
    }
    targets: dict[str, float | None] = {
        "p95 latency (s)": thresholds.slow_p95_s,
        "success rate": 0.99,
        "calls/s": None,
        "spend/hour (USD)": daily_budget / 24 if daily_budget else None,
        "tokens/s": None,
        "cache share": None,
        "health score": 100.0,
        "spans lost": 0.0,
        "metric exports failed": 0.0,
    }
    covered = coverage(samples)
    agent_calls, model_calls = covered.split()
    return Frame(
        source,
        window,
        snap,
        kpis,
        targets,
        priced_calls=covered.priced_calls,
        unpriced_calls=covered.unpriced_calls,
        agent_calls=agent_calls,
        model_calls=model_calls,
    )


def _per_hour(frame: Frame, usd: float, calls: tuple[int, int]) -> str:
    """A cost per hour that says how many calls of the window it leaves out (their model has no price)."""
    priced, unpriced = calls
    known = known_cost(usd * 3600 / frame.window_s, priced, unpriced)
    return cost_text(known, unpriced, lambda x: f"${x:,.2f}")


def _num(name: str, value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    if name in ("success rate", "cache share"):
        return f"{value:.1%}"
    if name.startswith("spend"):
        return f"${value:,.2f}"
    if name == "health score":
        return f"{value:.0f}/100"
    if name in ("spans lost", "metric exports failed"):
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _ratio(name: str, value: float | None, target: float | None) -> float | None:
    """How far along the target a value is (> 1 = missing the target)."""
    if value is None or target is None or not target:
        return None
    if name in ("success rate", "health score"):
        return (1 - value) / (1 - target) if name == "success rate" and target < 1 else (target - value) / target
    return value / target


def render(frame: Frame, history: dict[str, list[float]], thresholds: Thresholds, width: int = PIPED_WIDTH) -> Group:
    title = Text(f"agentperf top · {printable(frame.source)} · last {frame.window_s:,.0f} s · ", style="bold")
    title.append(time.strftime("%H:%M:%S"), style="bold")
    kpi_rows: list[list[Cell]] = []
    for name, value in frame.kpis.items():
        target = frame.targets.get(name)
        shown = _num(name, value)
        if name.startswith("spend") and frame.unpriced_calls:
            no_cost = not frame.priced_calls and not value
            shown = cost_text(None if no_cost else value, frame.unpriced_calls, lambda x: f"${x:,.2f}")
        kpi_rows.append(
            [
                name,
                shown,
                _num(name, target) if target is not None else "",
                bar(_ratio(name, value, target)),
                sparkline(history.get(name, [])),
            ]
        )
    kpi = fit_table(
        width,
        "KPIs vs. targets",
        [Column("KPI", justify="left", key=True), Column("value", justify="left", wrap=True)]
        + [Column("target", justify="left"), Column("vs target", priority=2, justify="left")]
        + [Column("last minutes", priority=1, justify="left")],
        kpi_rows,
    )
    agent_rows: list[list[Cell]] = [
        [
            text(r.key[-1]),
            f"{r.count / frame.window_s:,.2f}",
            f"{r.error_rate:.1%}",
            _secs(r.p50),
            _secs(r.p95),
            _per_hour(frame, r.cost, frame.agent_calls.get(r.key[-1], (0, 0))),
        ]
        for r in sorted(frame.snap.agents, key=lambda r: -r.count)
    ] or [["no agent data in this window", "-", "-", "-", "-", "-"]]
    agents = fit_table(
        width,
        "Agents",
        [Column("agent", justify="left", key=True), Column("calls/s"), Column("errors"), Column("p50", priority=1)]
        + [Column("p95"), Column("LLM $/h", wrap=True)],
        agent_rows,
    )
    model_rows: list[list[Cell]] = [
        [
            text("/".join(k for k in r.key if k)),
            f"{r.count / frame.window_s:,.2f}",
            f"{r.error_rate:.1%}",
            _secs(r.p95),
            f"{r.tokens_in / frame.window_s:,.0f}",
            _per_hour(frame, r.cost, frame.model_calls.get((r.key[0], r.key[1]), (0, 0))),
        ]
        for r in sorted(frame.snap.provider_models, key=lambda r: -r.count)
    ] or [["no model data in this window", "-", "-", "-", "-", "-"]]
    models = fit_table(
        width,
        "Models",
        [Column("model", justify="left", key=True), Column("calls/s"), Column("errors"), Column("p95")]
        + [Column("tokens in/s", priority=1), Column("$/h", wrap=True)],
        model_rows,
    )
    ranked = evaluate(frame.snap, thresholds, BUILTIN_RULES)[:5]
    advice_rows: list[list[Cell]] = [
        [text(s.severity, SEVERITY_STYLE.get(s.severity, "")), text(s.title)] for s in ranked
    ]
    for s in frame.app_suggestions[:5]:
        what = f"{s.get('agentperf_suggestion_rule', '')} on {s.get('agentperf_suggestion_scope', '')} (in-app)"
        advice_rows.append([text(s.get("agentperf_suggestion_severity", "")), text(what)])
    advice = fit_table(
        width,
        "Suggestions (fleet rules on this window; in-app ones from agentperf_suggestions_active)",
        [Column("severity", justify="left"), Column("suggestion", justify="left", wrap=True)],
        advice_rows or [["-", "nothing to improve in this window"]],
    )
    alert_rows: list[list[Cell]] = []
    for a in frame.alerts:
        rest = ", ".join(
            f"{k}={v}" for k, v in sorted(a.items()) if k not in ("alertname", "severity", "alertstate", "__name__")
        )
        alert_rows.append([text(a.get("alertname", "")), text(a.get("severity", "")), text(rest)])
    alerts = fit_table(
        width,
        "Firing alerts",
        [Column("alert", justify="left", key=True), Column("severity", justify="left")]
        + [Column("labels", justify="left", wrap=True)],
        alert_rows or [["none", "", ""]],
    )
    return Group(title, kpi, agents, models, advice, alerts)


def _secs(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    return f"{x * 1000:,.0f} ms" if x < 1 else f"{x:,.2f} s"


class Source:
    """Where a refresh's numbers come from."""

    def __init__(self, prometheus: str | None, endpoint: str | None, window: str) -> None:
        self.prometheus = prometheus
        self.endpoint = endpoint
        self.window = window
        self._last: tuple[float, dict[Any, float]] | None = None

    @property
    def name(self) -> str:
        return self.prometheus or self.endpoint or "?"

    def samples(self) -> Samples:
        from ..insights.fleet import from_prometheus

        if self.prometheus:
            return from_prometheus(self.prometheus, self.window)
        assert self.endpoint is not None
        now, scraped = time.monotonic(), scrape(self.endpoint, 10.0)
        if self._last is None:
            self._last = (now, scraped)
            time.sleep(2.0)  # the first refresh needs two scrapes to compute rates
            now, scraped = time.monotonic(), scrape(self.endpoint, 10.0)
        before_t, before = self._last
        self._last = (now, scraped)
        return between(before, scraped, now - before_t, time.time())

    def extras(self) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        """Firing alerts and in-app suggestions (Prometheus mode only; the endpoint has the latter)."""
        if not self.prometheus:
            return [], []
        from .report import instant

        at = time.time()
        alerts = [labels for labels, _ in instant(self.prometheus, 'ALERTS{alertstate="firing"}', at)]
        suggestions = [
            labels
            for labels, _ in instant(
                self.prometheus,
                "max by (agentperf_suggestion_severity, agentperf_suggestion_rule, agentperf_suggestion_scope) "
                "(agentperf_suggestions_active)",
                at,
            )
        ]
        return alerts, suggestions

    def history(self) -> dict[str, list[float]]:
        """The last 15 minutes of calls/s and spend/hour (Prometheus mode)."""
        if not self.prometheus:
            return {}
        from .report import Period, series

        end = time.time()
        period = Period(end - 900, end)
        out: dict[str, list[float]] = {}
        for name, promql in (
            ("calls/s", f"sum(rate({AGENT}_count[1m]))"),
            ("spend/hour (USD)", f"sum(rate({COST}_sum[1m])) * 3600"),
            ("tokens/s", f"sum(rate({TOKENS}_sum[1m]))"),
        ):
            got = series(self.prometheus, promql, period, points=30)
            if got:
                out[name] = [v for _, v in next(iter(got.values()))]
        return out


def with_budget_line(view: Group, frame: Frame, prometheus: str | None, daily_budget: float | None) -> Group:
    """The KPIs, then where the daily budget stands at this rate (cli/forecast_view.py), then the rest."""
    from .forecast_view import budget_line, spent_last_day
    from .report import instant

    now = time.time()
    line = budget_line(frame.kpis.get("spend/hour (USD)"), daily_budget, spent_last_day(prometheus, now, instant), now)
    parts = list(view.renderables)
    return Group(*parts[:2], Text(line, style="bold"), *parts[2:])


def run(
    source: Source,
    *,
    thresholds: Thresholds,
    daily_budget: float | None,
    interval: float,
    once: bool,
    console: Console,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    from rich.live import Live

    history: dict[str, deque[float]] = {}
    seeded = source.history()
    for name, values in seeded.items():
        history[name] = deque(values, maxlen=30)

    def refresh() -> Group:
        frame = compute(source.samples(), source.name, thresholds, daily_budget)
        frame.alerts, frame.app_suggestions = source.extras()
        for name, value in frame.kpis.items():
            if value is not None and math.isfinite(value):
                history.setdefault(name, deque(maxlen=30)).append(value)
        view = render(frame, {k: list(v) for k, v in history.items()}, thresholds, console.width)
        return with_budget_line(view, frame, source.prometheus, daily_budget)

    if once:
        console.print(refresh())
        return 0
    with Live(refresh(), console=console, refresh_per_second=1, screen=False) as live:
        while True:
            sleep(interval)
            live.update(refresh())
