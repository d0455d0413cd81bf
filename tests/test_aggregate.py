"""Our own histogram aggregation equals the SDK's, exactly, and stays exact under threads and limits."""

from __future__ import annotations

import asyncio
import random
import threading
from typing import Any

from opentelemetry.sdk.metrics.export import HistogramDataPoint

import otel_agentperf as ap
from otel_agentperf import semconv as sc
from otel_agentperf.telemetry.aggregate import OVERFLOW_ATTRIBUTES, FastHistogram
from otel_agentperf.testing import Capture, capture


def workload(seed: int) -> None:
    rng = random.Random(seed)

    @ap.trace_llm(provider="openai")
    def ask(model: str, tokens: Any) -> dict[str, Any]:
        if rng.random() < 0.1:
            raise TimeoutError("slow")
        usage: dict[str, Any] = {"prompt_tokens": tokens, "completion_tokens": rng.randint(0, 5000)}
        if rng.random() < 0.3:
            usage["prompt_tokens_details"] = {"cached_tokens": min(tokens, 4)}
        if rng.random() < 0.1:
            usage["cost"] = 0.002  # reported by the provider (OpenRouter): its own cost series
        return {"model": model + "-2024", "usage": usage}

    @ap.trace_tool("search")
    def search() -> None:
        if rng.random() < 0.05:
            raise KeyError("missing")

    @ap.trace_agent("worker")
    def worker() -> None:
        for _ in range(3):
            try:
                ask(model=rng.choice(["gpt-4o", "gpt-4o-mini"]), tokens=rng.choice([0, 1, 4, 5, 16, 1000, 10**8]))
            except TimeoutError:
                pass
            try:
                search()
            except KeyError:
                pass

    @ap.trace_llm(provider="anthropic", model="claude")
    async def stream() -> Any:
        yield {
            "type": "message_start",
            "message": {"type": "message", "usage": {"input_tokens": 3, "output_tokens": 1}},
        }

    async def streams() -> None:
        for _ in range(5):
            async for _ in stream():
                pass

    for _ in range(200):
        worker()
    asyncio.run(streams())
    with ap.trace_workflow("flow"):
        ap.record_usage(input_tokens=7, output_tokens=2, model="local", provider="vllm")


def points(cap: Capture) -> dict[tuple[str, frozenset[tuple[str, Any]]], tuple[Any, ...]]:
    out = {}
    for name, metric in cap.metrics().items():
        for p in metric.data.data_points:
            if not isinstance(p, HistogramDataPoint):
                continue
            key = (name, frozenset((p.attributes or {}).items()))
            out[key] = (p.count, round(p.sum, 9), tuple(p.bucket_counts), tuple(p.explicit_bounds), p.min, p.max)  # type: ignore[union-attr]
    return out


def test_fast_aggregation_equals_sdk_aggregation() -> None:
    from otel_agentperf.tracing.state import STATE

    with capture(fast_metrics=True) as fast:
        assert STATE.instruments.fast
        workload(seed=11)
    with capture(fast_metrics=False) as sdk:
        assert not STATE.instruments.fast
        workload(seed=11)
    fast_points, sdk_points = points(fast), points(sdk)
    assert set(fast_points) == set(sdk_points)
    for key, value in sdk_points.items():
        f = fast_points[key]
        if key[0] in (sc.CLIENT_TOKEN_USAGE, sc.CLIENT_TOKEN_CACHE_READ, sc.CLIENT_OPERATION_COST):
            assert f == value, key  # token values are deterministic: identical down to min/max
        else:
            assert f[0] == value[0], key  # same number of calls per series; durations differ per run
    assert sum(v[0] for k, v in fast_points.items() if k[0] == sc.CLIENT_OPERATION_DURATION) == 600 + 5
    sources = {dict(k[1]).get(sc.GEN_AI_USAGE_COST_SOURCE) for k in fast_points if k[0] == sc.CLIENT_OPERATION_COST}
    assert sources == {sc.COST_SOURCE_LOCAL, sc.COST_SOURCE_PROVIDER}
    assert any(k[0] == sc.CLIENT_TOKEN_CACHE_READ for k in fast_points)


def test_bucket_edges_are_upper_inclusive() -> None:
    hist = FastHistogram("h", "s", "", [1.0, 2.0])
    cell = hist.series({})
    for value in (0.0, 1.0, 1.0000001, 2.0, 2.5, float("nan"), -1.0, float("inf")):
        cell.record(value)
    point = hist.metric(0).data.data_points[0]  # type: ignore[union-attr]
    assert list(point.bucket_counts) == [2, 2, 1]  # (-inf,1], (1,2], (2,+inf); NaN/negative/inf dropped
    assert point.count == 5 and point.min == 0.0 and point.max == 2.5


def test_exact_under_threads(cap: Capture) -> None:
    @ap.trace_tool("hammer")
    def hammer() -> None:
        return None

    def run() -> None:
        for _ in range(2000):
            hammer()

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cap.histogram_count(sc.EXECUTE_TOOL_DURATION, {sc.GEN_AI_TOOL_NAME: "hammer"}) == 16000


def test_series_limit_overflows_to_marked_series() -> None:
    hist = FastHistogram("h", "s", "", [1.0], max_series=3)
    for i in range(10):
        hist.series({"k": str(i)}).record(0.5)
    metric = hist.metric(0)
    assert metric is not None
    attrs = [dict(p.attributes or {}) for p in metric.data.data_points]
    assert attrs[-1] == OVERFLOW_ATTRIBUTES
    assert sum(p.count for p in metric.data.data_points) == 10  # nothing lost, only merged
    assert hist.dropped == 7


def test_label_cardinality_guard_keeps_error_type(cap: Capture) -> None:
    @ap.trace_llm(provider="openai")
    def ask(model: str) -> None:
        if model.endswith("7"):
            raise ValueError("x")

    for i in range(300):
        try:
            ask(model=f"model-{i}")
        except ValueError:
            pass
    series = cap.points(sc.CLIENT_OPERATION_DURATION)
    assert len(series) <= 130
    assert sum(p.count for p in series) == 300
    assert cap.histogram_count(sc.CLIENT_OPERATION_DURATION, {sc.ERROR_TYPE: "ValueError"}) == 30
    assert cap.histogram_count(sc.CLIENT_OPERATION_DURATION, {sc.GEN_AI_REQUEST_MODEL: sc.OVERFLOW_LABEL}) > 0


def test_a_changed_sdk_hook_is_detected() -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from otel_agentperf.telemetry.aggregate import hook_available

    reader = InMemoryMetricReader()
    MeterProvider(metric_readers=[reader])
    assert hook_available([reader])

    class Renamed(InMemoryMetricReader):  # as if a new SDK renamed the private attribute we hook
        def __getattribute__(self, name: str) -> Any:
            if name == "_collect":
                raise AttributeError(name)
            return super().__getattribute__(name)

    renamed = Renamed()
    assert not hook_available([renamed])


def test_without_the_hook_metrics_fall_back_to_sdk_instruments_and_stay_exact(monkeypatch: Any) -> None:
    from otel_agentperf.telemetry import aggregate
    from otel_agentperf.tracing.state import STATE

    monkeypatch.setattr(aggregate, "hook_available", lambda readers: False)
    with capture() as cap:
        assert not STATE.instruments.fast
        workload(seed=11)
    counts = points(cap)
    assert sum(v[0] for k, v in counts.items() if k[0] == sc.CLIENT_OPERATION_DURATION) == 600 + 5
    assert sum(v[0] for k, v in counts.items() if k[0] == sc.INVOKE_AGENT_DURATION) == 200


def test_an_inference_records_all_its_cells_under_one_lock() -> None:
    """On our own cells an LLM call's duration, tokens, cache reads and cost are added under one acquisition of
    the provider's shared lock (the path the equality test above exercises); each lands in its own series."""
    from otel_agentperf.cost.usage import Usage
    from otel_agentperf.tracing.state import STATE

    attrs = {sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_PROVIDER_NAME: "openai"}
    tokens_in = {**attrs, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_INPUT}
    tokens_out = {**attrs, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_OUTPUT}
    with capture(fast_metrics=True) as cap:
        inference, _, _ = STATE.instruments.inference_series(attrs, tokens_in, tokens_out)
        cells = inference._cells  # pyright: ignore[reportPrivateUsage]
        assert cells is not None and all(c.lock is cells[0] for c in cells[1:])
        inference.record(0.25, Usage(input_tokens=10, output_tokens=3, cache_read_tokens=4), 0.5, sc.COST_SOURCE_LOCAL)
        inference.record(0.5, Usage(output_tokens=2), None, "")
    assert cap.histogram_count(sc.CLIENT_OPERATION_DURATION) == 2
    assert cap.histogram_sum(sc.CLIENT_TOKEN_USAGE, {sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_INPUT}) == 10
    assert cap.histogram_sum(sc.CLIENT_TOKEN_USAGE, {sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_OUTPUT}) == 5
    assert cap.histogram_sum(sc.CLIENT_TOKEN_CACHE_READ) == 4
    assert cap.histogram_count(sc.CLIENT_OPERATION_COST) == 1
    assert cap.histogram_sum(sc.CLIENT_OPERATION_COST) == 0.5
