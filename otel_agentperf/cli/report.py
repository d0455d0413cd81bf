"""``agentperf report``: an executive report for a time range, from a Prometheus-compatible API.

The numbers are PromQL ``increase()``/``histogram_quantile`` over the period (so they carry Prometheus'
usual extrapolation at the window edges); the recommendations are the shared suggestion rules run on the
same period. The JSON form is the stable interface (``schema`` below); terminal, Markdown and HTML are
renderings of it.
"""

from __future__ import annotations

import json
import math
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .. import semconv as sc
from ..insights.fleet import SourceError, from_prometheus, snapshot
from ..insights.rules import BUILTIN_RULES
from ..insights.stats import Row
from ..insights.suggest import Thresholds, evaluate, health_score

SCHEMA_VERSION = 1
SCHEMA = {
    "schema_version": "int: 1",
    "generated_at": "ISO 8601 UTC",
    "period": {"start": "ISO 8601", "end": "ISO 8601", "seconds": "float"},
    "summary": {
        "health_score": "0-100",
        "agent_calls": "int",
        "agent_success_rate": "0-1 or null",
        "agent_p95_seconds": "float or null (over all agents)",
        "spend_usd": "LLM + non-token costs in the period",
        "llm_spend_usd": "float",
        "tokens": {"input": "int", "output": "int"},
        "targets": {"agent_p95_seconds": "float", "agent_success_rate": "float", "daily_budget_usd": "float|null"},
    },
    "previous": "the same summary for the previous period of equal length (no nested previous)",
    "trends": {"<summary key>": "relative change vs previous (e.g. 0.25 = +25%), null when undefined"},
    "agents": [
        {
            "name": "str",
            "calls": "int",
            "errors": "int",
            "error_rate": "0-1",
            "p50_seconds": "f",
            "p95_seconds": "f",
            "p99_seconds": "f",
            "cost_usd": "f",
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


def scalar(base: str, promql: str, at: float) -> float | None:
    values = instant(base, promql, at)
    return values[0][1] if values else None


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


def summary(
    base: str, period: Period, thresholds: Thresholds, daily_budget: float | None
) -> tuple[dict[str, Any], Any]:
    """Executive summary and the statistics snapshot of one period."""
    window = _window(period)
    samples = from_prometheus(base, window, at=period.end)
    snap = snapshot(samples, daily_budget_usd=daily_budget)
    calls = sum(r.count for r in snap.agents)
    errors = sum(r.error_count for r in snap.agents)
    agent_bucket = sc.PROMETHEUS_NAMES[sc.INVOKE_AGENT_DURATION] + "_bucket"
    p95 = scalar(base, f"histogram_quantile(0.95, sum by (le) (increase({agent_bucket}[{window}])))", period.end)
    llm = scalar(base, f"sum(increase(gen_ai_client_operation_cost_sum[{window}]))", period.end) or 0.0
    other = scalar(base, f"sum(increase(agentperf_cost_other_total[{window}]))", period.end) or 0.0
    tokens = {
        t: round(
            scalar(
                base, f'sum(increase(gen_ai_client_token_usage_sum{{gen_ai_token_type="{t}"}}[{window}]))', period.end
            )
            or 0
        )
        for t in ("input", "output")
    }
    snap.hourly_spend_usd = (llm + other) * 3600 / period.seconds if period.seconds else None
    score, _parts = health_score(snap, thresholds)
    result = {
        "health_score": score,
        "agent_calls": calls,
        "agent_success_rate": (1 - errors / calls) if calls else None,
        "agent_p95_seconds": p95 if p95 is not None and math.isfinite(p95) else None,
        "spend_usd": llm + other,
        "llm_spend_usd": llm,
        "tokens": tokens,
        "targets": {
            "agent_p95_seconds": thresholds.slow_p95_s,
            "agent_success_rate": 0.99,
            "daily_budget_usd": daily_budget,
        },
    }
    return result, snap


def _rows(rows: list[Row], *, model: bool = False) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for r in sorted(rows, key=lambda r: -r.count):
        name = "/".join(k for k in r.key if k) if model else r.key[-1]

        def num(x: float) -> float | None:
            return x if math.isfinite(x) else None

        out.append(
            {
                "name": name,
                "calls": r.count,
                "errors": r.error_count,
                "error_rate": r.error_rate,
                "p50_seconds": num(r.p50),
                "p95_seconds": num(r.p95),
                "p99_seconds": num(r.p99),
                "cost_usd": r.cost,
                "tokens_in": r.tokens_in,
                "tokens_out": r.tokens_out,
            }
        )
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
    thresholds = thresholds or Thresholds()
    current, snap = summary(base, period, thresholds, daily_budget)
    previous, _ = summary(base, period.previous(), thresholds, daily_budget)
    ranked = evaluate(snap, thresholds, BUILTIN_RULES)
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
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": datetime.now(tz=timezone.utc).isoformat(timespec="seconds"),
        "source": base,
        "period": {"start": _iso(period.start), "end": _iso(period.end), "seconds": period.seconds},
        "summary": current,
        "previous": previous,
        "trends": {
            key: _trend(current[key], previous[key])
            for key in ("health_score", "agent_calls", "agent_success_rate", "agent_p95_seconds", "spend_usd")
        },
        "agents": _rows(snap.agents),
        "models": _rows(snap.provider_models, model=True),
        "tools": _rows(snap.tools),
        "recommendations": [s.as_dict() for s in ranked],
        "series": charts,
    }


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds")


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
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()
