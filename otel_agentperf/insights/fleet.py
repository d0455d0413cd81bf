"""Suggestions from exported metrics: a Prometheus-compatible API (whole fleet) or one app's endpoint.

Both build the same ``Snapshot`` the in-process rules read, from *increases* of our raw series over a
window: ``increase(name[W])`` from Prometheus, Mimir or Thanos; or the difference of two scrapes of an
app's ``/metrics``. Aggregation (sum by labels, ``histogram_quantile``-style interpolation) happens here,
so the PromQL stays trivial and runs on any compatible backend. Argument fingerprints, prompt prefixes and
conversations live only in-process, so the caching, prompt-caching and context-bloat rules need
``ap.suggestions()``; every other rule runs here.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .. import semconv as sc
from ..telemetry.resources import Resources
from .stats import Row
from .suggest import Snapshot
from .summary import Coverage, HistogramAgg

Labels = tuple[tuple[str, str], ...]

AGENT = sc.PROMETHEUS_NAMES[sc.INVOKE_AGENT_DURATION]
TOOL = sc.PROMETHEUS_NAMES[sc.EXECUTE_TOOL_DURATION]
LLM = sc.PROMETHEUS_NAMES[sc.CLIENT_OPERATION_DURATION]
TOKENS = sc.PROMETHEUS_NAMES[sc.CLIENT_TOKEN_USAGE]
COST = sc.PROMETHEUS_NAMES[sc.CLIENT_OPERATION_COST]
OTHER_COST = sc.PROMETHEUS_NAMES[sc.OTHER_COST]
CACHE_READ = sc.PROMETHEUS_NAMES[sc.CLIENT_TOKEN_CACHE_READ]
UNPRICED = sc.PROMETHEUS_NAMES[sc.UNPRICED_CALLS]
SPANS_LOST = sc.PROMETHEUS_NAMES[sc.SPANS_DROPPED]
EXPORT_FAILURES = sc.PROMETHEUS_NAMES[sc.METRIC_EXPORT_FAILURES]
COUNTER_SERIES = (
    *(f"{h}_{part}" for h in (AGENT, TOOL, LLM) for part in ("bucket", "count", "sum")),
    *(f"{h}_{part}" for h in (TOKENS, COST) for part in ("count", "sum")),
    f"{CACHE_READ}_sum",
    OTHER_COST,
    UNPRICED,
    SPANS_LOST,
    EXPORT_FAILURES,
)
GAUGES = ("process_cpu_utilization", "system_memory_utilization", "process_memory_usage_bytes")
_DROP = frozenset({"job", "instance", "otel_scope_name", "otel_scope_version", "otel_scope_schema_url"})


class SourceError(Exception):
    """The metrics source could not be read (one line for the user)."""


@dataclass
class Samples:
    """Increases of counter series over ``window_s`` and latest gauge values, by (name, labels)."""

    window_s: float
    increases: dict[tuple[str, Labels], float]
    gauges: dict[tuple[str, Labels], float]
    end: float = 0.0
    """When the window ends, in seconds since the epoch."""


def _labels(raw: Mapping[str, str]) -> Labels:
    return tuple(sorted((k, v) for k, v in raw.items() if k not in _DROP and k != "__name__"))


def _get_json(url: str, timeout: float) -> object:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.loads(response.read())
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot query {url.split('?')[0]}: {exc}") from exc


def from_prometheus(base_url: str, window: str = "15m", timeout: float = 10.0, at: float | None = None) -> Samples:
    """Increases over ``window`` (ending ``at``, default now) from a Prometheus-compatible HTTP API."""
    window_s = parse_duration(window)
    increases: dict[tuple[str, Labels], float] = {}
    gauges: dict[tuple[str, Labels], float] = {}
    base = base_url.rstrip("/")
    for name in COUNTER_SERIES:
        for labels, value in _instant(base, f"increase({name}[{window}])", timeout, at):
            key = (name, labels)
            increases[key] = increases.get(key, 0.0) + value
    for name in GAUGES:
        # Through a Collector, gauges with unit "1" are exported with a `_ratio` suffix: read either name.
        for variant in (name, f"{name}_ratio") if name.endswith("_utilization") else (name,):
            for labels, value in _instant(base, f"avg_over_time({variant}[{window}])", timeout, at):
                key = (name, labels)
                gauges[key] = max(gauges.get(key, 0.0), value)
    hourly = 0.0
    for series in (f"{COST}_sum", OTHER_COST):
        hourly += sum(value for _, value in _instant(base, f"sum(increase({series}[1h]))", timeout, at))
    gauges[("hourly_spend", ())] = hourly
    return Samples(window_s, increases, gauges, at if at is not None else time.time())


def _instant(base: str, promql: str, timeout: float, at: float | None = None) -> Iterable[tuple[Labels, float]]:
    params = {"query": promql} if at is None else {"query": promql, "time": f"{at:.3f}"}
    body = _get_json(f"{base}/api/v1/query?{urllib.parse.urlencode(params)}", timeout)
    if not isinstance(body, dict) or body.get("status") != "success":  # pyright: ignore[reportUnknownMemberType]
        raise SourceError(f"query failed: {promql}: {body}")
    data = body["data"]  # pyright: ignore[reportUnknownVariableType]
    for item in data.get("result", []):  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        value = float(item["value"][1])  # pyright: ignore[reportUnknownArgumentType]
        if value == value:  # NaN-free
            yield _labels(item.get("metric", {})), value  # pyright: ignore[reportUnknownArgumentType, reportUnknownMemberType]


def from_endpoint(url: str, interval_s: float = 10.0, timeout: float = 10.0) -> Samples:
    """Two scrapes of an app's ``/metrics``, ``interval_s`` apart: the increases in between."""
    first = scrape(url, timeout)
    started = time.monotonic()
    time.sleep(interval_s)
    second = scrape(url, timeout)
    return between(first, second, time.monotonic() - started, time.time())


def between(
    first: Mapping[tuple[str, Labels], float], second: Mapping[tuple[str, Labels], float], window: float, end: float
) -> Samples:
    """The increases from scrape ``first`` to scrape ``second``, ``window`` seconds apart, ending at ``end``."""
    increases: dict[tuple[str, Labels], float] = {}
    gauges: dict[tuple[str, Labels], float] = {}
    for key, value in second.items():
        name = key[0]
        if name in GAUGES:
            gauges[key] = value
        elif name in COUNTER_SERIES:
            increases[key] = max(0.0, value - first.get(key, 0.0))  # a restart resets counters
    spend = sum(v for (n, _), v in increases.items() if n in (f"{COST}_sum", OTHER_COST))
    gauges[("hourly_spend", ())] = spend * 3600 / window if window > 0 else 0.0
    return Samples(window, increases, gauges, end)


def scrape(url: str, timeout: float) -> dict[tuple[str, Labels], float]:
    from prometheus_client.parser import text_string_to_metric_families

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            text = response.read().decode()
    except OSError as exc:
        raise SourceError(f"cannot scrape {url}: {exc}") from exc
    out: dict[tuple[str, Labels], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, _labels(sample.labels))] = float(sample.value)
    return out


def parse_duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    text = text.strip()
    if len(text) < 2 or text[-1] not in units:
        raise ValueError(f"duration like 15m, 1h or 30s expected, got {text!r}")
    return float(text[:-1]) * units[text[-1]]


def _group(samples: Samples, name: str, keys: tuple[str, ...]) -> dict[tuple[str, ...], dict[Labels, float]]:
    """Series of ``name`` grouped by the values of ``keys`` (other labels kept for further splits)."""
    out: dict[tuple[str, ...], dict[Labels, float]] = {}
    for (series, labels), value in samples.increases.items():
        if series != name:
            continue
        d = dict(labels)
        group = tuple(d.get(k, "") for k in keys)
        rest = tuple((k, v) for k, v in labels if k not in keys)
        bucket = out.setdefault(group, {})
        bucket[rest] = bucket.get(rest, 0.0) + value
    return out


def total(samples: Samples, name: str, **match: str) -> float:
    """Sum of the increases of ``name`` over series whose labels include ``match``."""
    out = 0.0
    for (series, labels), value in samples.increases.items():
        if series == name and all(dict(labels).get(k) == v for k, v in match.items()):
            out += value
    return out


def rows(samples: Samples, histogram: str, keys: tuple[str, ...], *, overall: bool = False) -> list[Row]:
    counts = _group(samples, f"{histogram}_count", keys)
    sums = _group(samples, f"{histogram}_sum", keys)
    buckets = _group(samples, f"{histogram}_bucket", keys)
    out: list[Row] = []
    for group, series in counts.items():
        calls = sum(series.values())
        if calls <= 0 or not (overall or any(group)):
            continue
        row = Row(group, count=round(calls), seconds=sum(sums.get(group, {}).values()))
        for rest, value in series.items():
            error = dict(rest).get("error_type", "")
            if error and value > 0:
                row.errors[error] = row.errors.get(error, 0) + round(value)
        cumulative: dict[float, float] = {}
        for rest, value in buckets.get(group, {}).items():
            le = dict(rest).get("le")
            if le is not None:
                bound = float(le)
                cumulative[bound] = cumulative.get(bound, 0.0) + value
        finite = sorted(b for b in cumulative if b != float("inf"))
        if finite:
            agg = HistogramAgg.empty(finite)
            previous = 0.0
            for i, bound in enumerate([*finite, float("inf")]):
                value = cumulative.get(bound, previous)
                agg.counts[i] = max(0, round(value - previous))
                previous = value
            agg.count = sum(agg.counts)
            row.p50, row.p95, row.p99 = agg.quantile(0.5), agg.quantile(0.95), agg.quantile(0.99)
        out.append(row)
    return out


def _add_tokens_and_cost(samples: Samples, rows_: list[Row], keys: tuple[str, ...]) -> None:
    by_key = {r.key: r for r in rows_}
    for group, series in _group(samples, f"{TOKENS}_sum", keys).items():
        row = by_key.get(group)
        if row is None:
            continue
        for rest, value in series.items():
            kind = dict(rest).get("gen_ai_token_type")
            if kind == "input":
                row.tokens_in += round(value)
            elif kind == "output":
                row.tokens_out += round(value)
    for group, series in _group(samples, f"{COST}_sum", keys).items():
        row = by_key.get(group)
        if row is not None:
            row.cost += sum(series.values())


def coverage(samples: Samples) -> Coverage:
    """Priced and unpriced LLM calls in the window (see ``Coverage``)."""
    found = Coverage()
    for (name, labels), value in samples.increases.items():
        if name == f"{TOKENS}_count":
            found.add_tokens(dict(labels), value)
        elif name == f"{COST}_count":
            found.add_priced(dict(labels), value)
        elif name == UNPRICED:
            found.add_unpriced(dict(labels), value)
    return found


def snapshot(samples: Samples, *, daily_budget_usd: float | None = None) -> Snapshot:
    from ..cost.pricing import PriceBook

    agents = rows(samples, AGENT, ("gen_ai_agent_name",))
    _add_tokens_and_cost(samples, agents, ("gen_ai_agent_name",))
    tools = rows(samples, TOOL, ("gen_ai_tool_name",))
    models = rows(samples, LLM, ("gen_ai_provider_name", "gen_ai_request_model"))
    _add_tokens_and_cost(samples, models, ("gen_ai_provider_name", "gen_ai_request_model"))
    agent_models = rows(samples, LLM, ("gen_ai_agent_name", "gen_ai_provider_name", "gen_ai_request_model"))
    _add_tokens_and_cost(samples, agent_models, ("gen_ai_agent_name", "gen_ai_provider_name", "gen_ai_request_model"))

    def gauge(name: str) -> float | None:
        values = [v for (n, _), v in samples.gauges.items() if n == name]
        return max(values) if values else None

    resources = Resources(
        process_cpu=gauge("process_cpu_utilization"),
        memory=gauge("system_memory_utilization"),
        process_rss_bytes=gauge("process_memory_usage_bytes"),
    )
    return Snapshot(
        window_s=samples.window_s,
        source="prometheus",
        agents=agents,
        agent_models=agent_models,
        provider_models=models,
        tools=tools,
        resources=resources,
        hourly_spend_usd=gauge("hourly_spend"),
        daily_budget_usd=daily_budget_usd,
        price_of=PriceBook().lookup,
        at=samples.end,
    )
