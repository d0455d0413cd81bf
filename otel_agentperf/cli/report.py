"""``agentperf report``: an executive report for a time range, from a Prometheus-compatible API.

The numbers are PromQL ``increase()`` of every series over the period (so they carry Prometheus' usual
extrapolation at the window edges), summed and interpolated here the way ``histogram_quantile`` does, as
``top`` does (``assemble`` builds a report from such samples); the recommendations are the shared
suggestion rules run on the same period. Calls of a model without a price are never a cost of 0: such a
cost is ``null`` and ``unpriced_calls`` counts them. The JSON form is the stable interface (``SCHEMA``
below); terminal, Markdown and HTML are renderings of it.
"""

from __future__ import annotations

import json
import math
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .. import semconv as sc
from ..insights.fleet import AGENT, COST, OTHER_COST, TOKENS, Samples, SourceError, coverage, from_prometheus, rows
from ..insights.fleet import snapshot as fleet_snapshot
from ..insights.fleet import total as fleet_total
from ..insights.rules import BUILTIN_RULES
from ..insights.stats import Row
from ..insights.suggest import Snapshot, Thresholds, evaluate, health_score
from ..insights.summary import known_cost
from .forecast_view import FORECAST_SCHEMA, report_sections

SCHEMA_VERSION = 2
"""2: a cost that is not known is ``null``, never 0, and ``unpriced_calls`` counts the LLM calls (of models
without a price) a cost leaves out; tools carry no cost or token fields. 1: unpriced calls counted as $0."""
SCHEMA = {
    "schema_version": "int: 2",
    "generated_at": "ISO 8601 UTC",
    "period": {"start": "ISO 8601", "end": "ISO 8601", "seconds": "float"},
    "summary": {
        "health_score": "0-100",
        "agent_calls": "int",
        "agent_success_rate": "0-1 or null",
        "agent_p95_seconds": "float or null (over all agents)",
        "spend_usd": "LLM + non-token costs of the priced calls in the period; null if nothing was priced",
        "llm_spend_usd": "float: what the priced LLM calls cost; null if none was priced and some were not",
        "unpriced_calls": "int: LLM calls of models without a price, left out of every cost",
        "tokens": {"input": "int", "output": "int"},
        "targets": {"agent_p95_seconds": "float", "agent_success_rate": "float", "daily_budget_usd": "float|null"},
    },
    "previous": "the same summary for the previous period of equal length (no nested previous)",
    "trends": {"<summary key>": "relative change vs previous (e.g. 0.25 = +25%), null when undefined"},
    **FORECAST_SCHEMA,
    "agents": [
        {
            "name": "str",
            "calls": "int",
            "errors": "int",
            "error_rate": "0-1",
            "p50_seconds": "f",
            "p95_seconds": "f",
            "p99_seconds": "f",
            "cost_usd": "f: the priced calls' cost; null if none was priced and some were not",
            "unpriced_calls": "int: calls left out of cost_usd (their model has no price)",
            "tokens_in": "int",
            "tokens_out": "int",
        }
    ],
    "models": ["same fields, name = provider/model"],
    "tools": ["same fields, no tokens/cost"],
    "recommendations": ["Suggestion.as_dict(): id, rule, severity, title, description, impact, ..."],
    "series": {
        "latency_p50|p95|p99": "[[unix_ts, seconds], ...]",
        "error_rate": "[[ts, ratio], ...]",
        "spend_by_agent": "{agent: [[ts, usd_per_hour], ...]}",
        "spend_by_model": "{model: [[ts, usd_per_hour], ...]}",
    },
}


@dataclass(frozen=True)
class Period:
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def previous(self) -> Period:
        return Period(self.start - self.seconds, self.start)


def _api(base: str, path: str, params: dict[str, str], timeout: float = 20.0) -> Any:
    url = f"{base.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = json.loads(response.read())
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot query {base}: {exc}") from exc
    if body.get("status") != "success":
        raise SourceError(f"query failed: {params.get('query')}: {body.get('error')}")
    return body["data"]["result"]


def instant(base: str, promql: str, at: float) -> list[tuple[dict[str, str], float]]:
    out: list[tuple[dict[str, str], float]] = []
    for item in _api(base, "/api/v1/query", {"query": promql, "time": f"{at:.3f}"}):
        value = float(item["value"][1])
        if math.isfinite(value):
            out.append((item.get("metric", {}), value))
    return out


def series(base: str, promql: str, period: Period, points: int = 60) -> dict[str, list[list[float]]]:
    """A range query, keyed by a label summary of each series."""
    step = max(1.0, period.seconds / points)
    params = {"query": promql, "start": f"{period.start:.3f}", "end": f"{period.end:.3f}", "step": f"{step:.3f}"}
    out: dict[str, list[list[float]]] = {}
    for item in _api(base, "/api/v1/query_range", params):
        labels = {k: v for k, v in item.get("metric", {}).items() if k != "__name__"}
        key = ", ".join(labels.values()) or "all"
        points_ = [[float(t), float(v)] for t, v in item["values"] if math.isfinite(float(v))]
        if points_:
            out[key] = points_
    return out


def _window(period: Period) -> str:
    return f"{max(1, int(period.seconds))}s"


@dataclass
class Measured:
    """What one period's samples say: the summary, the statistics snapshot, the rows' priced and unpriced calls."""

    summary: dict[str, Any]
    snap: Snapshot
    agent_calls: dict[str, tuple[int, int]]
    model_calls: dict[tuple[str, str], tuple[int, int]]


def measure(samples: Samples, thresholds: Thresholds, daily_budget: float | None) -> Measured:
    """Executive summary and the statistics snapshot of one period (``increase()`` of every series)."""
    snap = fleet_snapshot(samples, daily_budget_usd=daily_budget)
    calls = sum(r.count for r in snap.agents)
    errors = sum(r.error_count for r in snap.agents)
    overall = rows(samples, AGENT, (), overall=True)
    p95 = overall[0].p95 if overall else None
    llm = fleet_total(samples, f"{COST}_sum")
    other = fleet_total(samples, OTHER_COST)
    tokens = {t: round(fleet_total(samples, f"{TOKENS}_sum", gen_ai_token_type=t)) for t in ("input", "output")}
    covered = coverage(samples)
    agent_calls, model_calls = covered.split()
    llm_known = known_cost(llm, covered.priced_calls, covered.unpriced_calls)
    seconds = samples.window_s
    snap.hourly_spend_usd = (llm + other) * 3600 / seconds if seconds else None
    score, _parts = health_score(snap, thresholds)
    result = {
        "health_score": score,
        "agent_calls": calls,
        "agent_success_rate": (1 - errors / calls) if calls else None,
        "agent_p95_seconds": p95 if p95 is not None and math.isfinite(p95) else None,
        "spend_usd": None if llm_known is None and not other else llm + other,
        "llm_spend_usd": llm_known,
        "unpriced_calls": covered.unpriced_calls,
        "tokens": tokens,
        "targets": {
            "agent_p95_seconds": thresholds.slow_p95_s,
            "agent_success_rate": 0.99,
            "daily_budget_usd": daily_budget,
        },
    }
    return Measured(result, snap, agent_calls, model_calls)


def _rows(rows: list[Row], calls: dict[Any, tuple[int, int]] | None, *, model: bool = False) -> list[dict[str, Any]]:
    """Rows as JSON; ``calls`` (priced, unpriced) by row key adds costs (``None`` for tools)."""
    out: list[dict[str, Any]] = []
    for r in sorted(rows, key=lambda r: -r.count):
        name = "/".join(k for k in r.key if k) if model else r.key[-1]

        def num(x: float) -> float | None:
            return x if math.isfinite(x) else None

        row: dict[str, Any] = {
            "name": name,
            "calls": r.count,
            "errors": r.error_count,
            "error_rate": r.error_rate,
            "p50_seconds": num(r.p50),
            "p95_seconds": num(r.p95),
            "p99_seconds": num(r.p99),
        }
        if calls is not None:
            priced, unpriced = calls.get(r.key if model else r.key[-1], (0, 0))
            row["cost_usd"] = known_cost(r.cost, priced, unpriced)
            row["unpriced_calls"] = unpriced
            row["tokens_in"] = r.tokens_in
            row["tokens_out"] = r.tokens_out
        out.append(row)
    return out


def _trend(now: Any, before: Any) -> float | None:
    if not isinstance(now, (int, float)) or not isinstance(before, (int, float)) or not before:
        return None
    return (now - before) / before


def build(
    base: str,
    period: Period,
    *,
    thresholds: Thresholds | None = None,
    daily_budget: float | None = None,
) -> dict[str, Any]:
    """The report of ``period`` from the Prometheus-compatible API at ``base``."""
    thresholds = thresholds or Thresholds()
    current = from_prometheus(base, _window(period), at=period.end)
    previous = from_prometheus(base, _window(period.previous()), at=period.start)
    step = f"{max(60, int(period.seconds / 60))}s"
    bucket = sc.PROMETHEUS_NAMES[sc.INVOKE_AGENT_DURATION] + "_bucket"
    count = sc.PROMETHEUS_NAMES[sc.INVOKE_AGENT_DURATION] + "_count"
    charts: dict[str, Any] = {}
    no_points: list[list[float]] = []
    for q in (0.5, 0.95, 0.99):
        got = series(base, f"histogram_quantile({q}, sum by (le) (rate({bucket}[{step}])))", period)
        charts[f"latency_p{int(q * 100)}"] = next(iter(got.values()), no_points)
    errors = series(base, f'sum(rate({count}{{error_type!=""}}[{step}])) / sum(rate({count}[{step}]))', period)
    charts["error_rate"] = next(iter(errors.values()), no_points)
    charts["spend_by_agent"] = series(
        base, f"sum by (gen_ai_agent_name) (rate(gen_ai_client_operation_cost_sum[{step}])) * 3600", period
    )
    charts["spend_by_model"] = series(
        base, f"sum by (gen_ai_request_model) (rate(gen_ai_client_operation_cost_sum[{step}])) * 3600", period
    )
    return assemble(base, period, current, previous, charts, thresholds=thresholds, daily_budget=daily_budget)


def assemble(
    source: str,
    period: Period,
    current: Samples,
    previous: Samples,
    charts: dict[str, Any],
    *,
    thresholds: Thresholds,
    daily_budget: float | None = None,
) -> dict[str, Any]:
    """The report (``SCHEMA``) of the samples of ``period`` and of the period before it."""
    now = measure(current, thresholds, daily_budget)
    earlier = measure(previous, thresholds, daily_budget)
    before = earlier.summary
    ranked = evaluate(now.snap, thresholds, BUILTIN_RULES)
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "source": source,
        "period": {"start": _iso(period.start), "end": _iso(period.end), "seconds": period.seconds},
        "summary": now.summary,
        "previous": before,
        "trends": {
            key: _trend(now.summary[key], before[key])
            for key in ("health_score", "agent_calls", "agent_success_rate", "agent_p95_seconds", "spend_usd")
        },
        "agents": _rows(now.snap.agents, now.agent_calls),
        "models": _rows(now.snap.provider_models, now.model_calls, model=True),
        "tools": _rows(now.snap.tools, None),
        "recommendations": [s.as_dict() for s in ranked],
        "series": charts,
        **report_sections(now, earlier, period.seconds, period.end, daily_budget),  # forecast, regressions
    }


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


def parse_time(text: str) -> float:
    """A Unix timestamp, an ISO 8601 date/time, or ``now``."""
    if text == "now":
        return time.time()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"expected an ISO date/time, a Unix timestamp or 'now', got {text!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
