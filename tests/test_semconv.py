"""Names, units, buckets and Prometheus names pinned against the GenAI conventions reference."""

from __future__ import annotations

import re

import prometheus_client
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint

import otel_agentperf as ap
from otel_agentperf import semconv as sc
from otel_agentperf.setup.gauges import register_gauges_if_collected
from otel_agentperf.testing import Capture
from otel_agentperf.tracing.state import STATE

# From ../shared/reference/genai-semconv.md, section 2.
REFERENCE = {
    "gen_ai.client.operation.duration": (
        "s",
        [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
    ),
    "gen_ai.client.token.usage": (
        "{token}",
        [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
    ),
    "gen_ai.invoke_agent.duration": ("s", [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6]),
    "gen_ai.execute_tool.duration": (
        "s",
        [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
    ),
    # util-genai 1.3b0's name (the reference's section 2 says gen_ai.workflow.duration; the newer wins).
    "gen_ai.invoke_workflow.duration": ("s", [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200]),
    "gen_ai.client.operation.time_per_output_chunk": (
        "s",
        [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
    ),
    "gen_ai.invoke_agent.inference_calls": ("{inference_call}", [1, 2, 4, 8, 16, 32, 64, 128]),
    "gen_ai.invoke_agent.tool_calls": ("{tool_call}", [1, 2, 4, 8, 16, 32, 64, 128]),
    "gen_ai.client.operation.time_to_first_chunk": (
        "s",
        [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
    ),
    # The cost conventions (semconv PR #443, merged); unit {USD} so Prometheus adds no suffix; sub-cent buckets.
    "gen_ai.client.operation.cost": (
        "{USD}",
        [0.00001, 0.00003, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10],
    ),
}
REFERENCE["agentperf.client.token.cache_read"] = (
    "{token}",
    [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
)
COUNTERS = {
    "agentperf.cost.unpriced_calls": "{call}",
    "agentperf.spans.dropped": "{span}",
    "agentperf.metrics.export_failures": "{export}",
    "agentperf.cost.other": "{USD}",
}
GAUGES = {
    "agentperf.suggestions.active": "{suggestion}",
    "agentperf.suggestions.savings_usd_per_day": "{USD}",
    "agentperf.health.score": "{score}",  # 0-100, not a ratio: unit "1" made the Collector add _ratio
    "process.cpu.utilization": "1",
    "process.memory.usage": "By",
    "process.thread.count": "{thread}",
    "process.open_file_descriptor.count": "{file_descriptor}",
    "system.memory.utilization": "1",
}
OTEL_NAME = re.compile(r"^[a-zA-Z][-_./a-zA-Z0-9]{0,254}$")
PROM_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def workload() -> None:
    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def ask() -> dict[str, object]:
        return {"usage": {"prompt_tokens": 3, "completion_tokens": 4, "prompt_tokens_details": {"cached_tokens": 2}}}

    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def stream() -> object:
        yield {"choices": [], "object": "chat.completion.chunk", "model": "gpt-4o-mini"}
        yield {"choices": [], "object": "chat.completion.chunk", "model": "gpt-4o-mini"}

    @ap.trace_tool("search")
    def search() -> None:
        ask()

    @ap.trace_agent("planner")
    def plan() -> None:
        search()
        list(stream())

    @ap.trace_llm(provider="acme", model="acme-unknown-1")
    def unknown() -> dict[str, object]:
        return {"usage": {"prompt_tokens": 3, "completion_tokens": 4}}

    with ap.trace_workflow("flow"):
        plan()
        unknown()
        ap.record_cost(0.002, kind="browser_minutes")


def test_names_units_and_buckets(cap: Capture) -> None:
    workload()
    metrics = cap.metrics()
    # suggestions.active only has series while suggestions are active (a loaded machine can make one fire).
    active = "agentperf.suggestions.active"
    assert set(metrics) - {active} == set(REFERENCE) | set(COUNTERS) | set(GAUGES) - {active}
    for name, unit in {**COUNTERS, **GAUGES}.items():
        if name not in metrics:
            continue
        assert metrics[name].unit == unit
    for name, (unit, buckets) in REFERENCE.items():
        metric = metrics[name]
        assert metric.unit == unit, name
        points = [p for p in metric.data.data_points if isinstance(p, HistogramDataPoint)]
        assert points, name
        for point in points:
            assert list(point.explicit_bounds) == buckets, name
            assert set(point.attributes or {}) <= sc.METRIC_LABELS, name


def test_span_attribute_names_are_semconv(cap: Capture) -> None:
    workload()
    allowed_prefixes = ("gen_ai.", "error.", "agentperf.")
    for span in cap.spans():
        for key in span.attributes or {}:
            assert key.startswith(allowed_prefixes), key
    assert cap.span("execute_tool search").attributes[sc.GEN_AI_TOOL_TYPE] == "function"  # type: ignore[index]


def test_every_name_is_valid() -> None:
    for name in sc.PROMETHEUS_NAMES:
        assert OTEL_NAME.match(name)
    for prom in sc.PROMETHEUS_NAMES.values():
        assert PROM_NAME.match(prom)


def test_prometheus_names_as_exported() -> None:
    registry = prometheus_client.CollectorRegistry()
    reader = PrometheusMetricReader(registry=registry)
    provider = MeterProvider(metric_readers=[reader])
    saved = (STATE.tracer, STATE.instruments)
    try:
        meter = provider.get_meter(sc.SCOPE_NAME)
        STATE.use(saved[0], meter)
        register_gauges_if_collected(meter, STATE)  # what configure() does
        workload()
        text = prometheus_client.generate_latest(registry).decode()
    finally:
        STATE.tracer, STATE.instruments = saved
        provider.shutdown()
    gauges = {sc.PROMETHEUS_NAMES[n] for n in (sc.SUGGESTIONS_SAVINGS, sc.HEALTH_SCORE)}
    for prom in sc.PROMETHEUS_NAMES.values():
        if prom in ("agentperf_suggestions_active", "agentperf_cost_deduplicated_calls_total"):
            continue  # series only while suggestions are active / once another span was deduplicated
            # (the latter's labels and counts: tests/test_cost_matrix.py)
        if prom.endswith("_total") or prom in gauges:
            # With labels, or bare (exporters before 0.64 add no otel_scope_* labels to unlabelled gauges).
            assert f"\n{prom}{{" in text or f"\n{prom} " in text, prom
            continue
        assert f"{prom}_bucket{{" in text, prom
        assert f"{prom}_count{{" in text and f"{prom}_sum{{" in text, prom
    assert 'gen_ai_token_type="input"' in text
    assert 'gen_ai_agent_name="planner"' in text
    assert 'le="81.92"' in text and 'le="409.6"' in text
