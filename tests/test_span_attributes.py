"""Attributes set on the SDK's span without its per-value validation (``tracing/span_attributes``) come out
exactly as ``Span.set_attributes`` would have left them, and every case the shortcut does not cover
(value-length and count limits, ended spans, other span classes) goes through the SDK."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanLimits, SpanProcessor, SynchronousMultiSpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

import otel_agentperf as ap
from otel_agentperf import semconv as sc
from otel_agentperf.testing import Capture
from otel_agentperf.tracing import span_attributes
from otel_agentperf.tracing.span_attributes import set_valid_attributes
from otel_agentperf.tracing.state import STATE

ATTRS: dict[str, Any] = {
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.response.finish_reasons": ("stop", "length"),
    "gen_ai.usage.cost.amount": 0.00036,
    "agentperf.stream.closed_early": True,
}


@pytest.fixture
def sdk_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every span class classified as not eligible: all attributes go through ``set_attributes``."""
    monkeypatch.setattr(span_attributes, "_classify", _never)
    monkeypatch.setattr(span_attributes, "_direct", {})
    yield


def _never(span: Any) -> bool:
    return False


def _never_judge(active: Any, processors: Any, sampler: Any) -> bool:
    return False


def _llm_spans() -> list[tuple[str, dict[str, Any]]]:
    response = {
        "id": "chatcmpl-1",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"finish_reason": "stop"}, {"finish_reason": "length"}],
        "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "prompt_tokens_details": {"cached_tokens": 1024}},
    }

    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def chat() -> dict[str, Any]:
        return response

    @ap.trace_agent("planner")
    def plan() -> None:
        chat()
        chat()

    with Capture() as cap:
        plan()
    return [(s.name, list((s.attributes or {}).items())) for s in cap.spans()]  # in order


def test_the_shortcut_is_taken_on_the_sdk_span() -> None:
    provider = TracerProvider()
    span = provider.get_tracer("t").start_span("s")
    set_valid_attributes(span, ATTRS)
    assert span_attributes._direct[type(span)] is True  # pyright: ignore[reportPrivateUsage]
    span.end()


def test_exported_spans_are_the_same_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    direct = _llm_spans()
    assert True in span_attributes._direct.values()  # pyright: ignore[reportPrivateUsage]
    assert span_attributes._verdict[2] is True  # Capture's pipeline: start attributes set after the start
    monkeypatch.setattr(span_attributes, "_judge", _never_judge)
    monkeypatch.setattr(span_attributes, "_verdict", (None, None, False))
    started_with_them = _llm_spans()
    monkeypatch.setattr(span_attributes, "_classify", _never)
    monkeypatch.setattr(span_attributes, "_direct", {})
    through_sdk = _llm_spans()
    assert direct == started_with_them == through_sdk
    chat_attrs = dict(direct[0][1])
    assert chat_attrs["gen_ai.usage.input_tokens"] == 1200
    assert chat_attrs["gen_ai.response.finish_reasons"] == ("stop", "length")
    assert dict(direct[-1][1])["agentperf.usage.input_tokens"] == 2400  # the agent's rollup, set the same way


def _twins(limits: SpanLimits) -> tuple[Any, Any]:
    tracer = TracerProvider(span_limits=limits).get_tracer("t")
    return tracer.start_span("a", attributes={"x": "start"}), tracer.start_span("b", attributes={"x": "start"})


@pytest.mark.parametrize(
    "limits",
    [
        SpanLimits(max_span_attribute_length=5),
        SpanLimits(max_span_attributes=4),
        SpanLimits(max_span_attributes=0),
        SpanLimits(max_span_attributes=7),  # exactly room for all: the shortcut applies
    ],
    ids=["value-length", "count", "zero", "room"],
)
def test_limits_are_the_sdks(limits: SpanLimits) -> None:
    ours, theirs = _twins(limits)
    set_valid_attributes(ours, ATTRS)
    theirs.set_attributes(ATTRS)
    ours.end()
    theirs.end()
    assert list(ours.attributes.items()) == list(theirs.attributes.items())  # order included
    assert ours.dropped_attributes == theirs.dropped_attributes


def test_an_ended_span_is_left_as_the_sdk_leaves_it(caplog: pytest.LogCaptureFixture) -> None:
    span = TracerProvider().get_tracer("t").start_span("s")
    span.end()
    with caplog.at_level(logging.WARNING):
        set_valid_attributes(span, ATTRS)
    assert dict(span.attributes or {}) == {}
    assert "ended span" in caplog.text


def test_other_span_classes_use_their_own_set_attributes() -> None:
    seen: list[dict[str, Any]] = []

    class Recorder(trace.NonRecordingSpan):
        def set_attributes(self, attributes: Any) -> None:
            seen.append(dict(attributes))

    set_valid_attributes(Recorder(trace.INVALID_SPAN_CONTEXT), ATTRS)
    set_valid_attributes(trace.INVALID_SPAN, ATTRS)  # a no-op span: nothing to do, nothing raised
    assert seen == [ATTRS]


def test_same_result_without_the_shortcut(sdk_only: None) -> None:
    ours, theirs = _twins(SpanLimits())
    set_valid_attributes(ours, ATTRS)
    theirs.set_attributes(ATTRS)
    assert dict(ours.attributes) == dict(theirs.attributes)


class SeesStart(SpanProcessor):
    """A processor that reads attributes when spans start (some exporters' processors do)."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.seen.append(dict(span.attributes or {}))


class ByOperation(Sampler):
    """Samples by an attribute the span starts with."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def should_sample(
        self, parent_context: Any, trace_id: int, name: str, kind: Any = None, attributes: Any = None, links: Any = None
    ) -> SamplingResult:
        self.seen.append(dict(attributes or {}))
        decision = Decision.RECORD_AND_SAMPLE if (attributes or {}).get("gen_ai.operation.name") else Decision.DROP
        return SamplingResult(decision, attributes)

    def get_description(self) -> str:
        return "by-operation"


def test_a_processor_reading_attributes_at_start_sees_them() -> None:
    seer = SeesStart()
    with Capture(span_processors=[seer]):
        ap.trace_agent("planner")(lambda: None)()
    assert seer.seen == [{"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"}]
    assert span_attributes._verdict[2] is False  # pyright: ignore[reportPrivateUsage]


def test_a_sampler_reading_attributes_sees_them() -> None:
    sampler = ByOperation()
    with Capture(sampler=sampler) as cap:
        ap.trace_tool("search")(lambda: None)()
    assert sampler.seen[0]["gen_ai.tool.name"] == "search"
    assert cap.span_names() == ["execute_tool search"]


def test_a_processor_added_later_is_noticed() -> None:
    seer = SeesStart()
    with Capture() as cap:
        agent = ap.trace_agent("planner")(lambda: None)
        agent()
        assert span_attributes._verdict[2] is True  # pyright: ignore[reportPrivateUsage]
        cap.tracer_provider.add_span_processor(seer)
        agent()
    assert seer.seen == [{"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"}]


def test_configure_pipeline_takes_both_shortcuts() -> None:
    """What ``configure()`` builds (counting batch processor, our processor, parent-based ratio sampler, our id
    generator) is eligible: the benchmark measures the shortcuts, not the fallback."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class Nowhere(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    import random

    from otel_agentperf.tracing import unsampled

    random.seed(7)  # the trace ids, so some roots are sampled (the dropped ones never reach the start verdict)
    setup = ap.configure(traces_exporter=Nowhere(), metrics_exporter="none", sample_ratio=0.5, set_global=False)
    try:
        for _ in range(8):
            ap.trace_agent("planner")(lambda: None)()
        assert span_attributes._verdict[2] is True  # pyright: ignore[reportPrivateUsage]
        assert unsampled._root_verdict[4] == 1 << 63  # pyright: ignore[reportPrivateUsage]
        assert True in span_attributes._direct.values()  # pyright: ignore[reportPrivateUsage]
    finally:
        setup.shutdown()


def test_a_key_set_again_moves_to_the_end_as_in_the_sdk() -> None:
    ours, theirs = _twins(SpanLimits())
    for span in (ours, theirs):
        span.set_attribute("gen_ai.response.model", "set-by-the-user")
        span.set_attribute("other", 1)
    set_valid_attributes(ours, ATTRS)
    theirs.set_attributes(ATTRS)
    assert list(ours.attributes.items()) == list(theirs.attributes.items())


@pytest.mark.parametrize(
    "limits",
    [SpanLimits(max_span_attributes=1), SpanLimits(max_span_attribute_length=3)],
    ids=["count", "value-length"],
)
def test_start_attributes_under_limits_are_the_sdks(monkeypatch: pytest.MonkeyPatch, limits: SpanLimits) -> None:
    def agent_span() -> tuple[list[tuple[str, Any]], int]:
        provider = TracerProvider(span_limits=limits)
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        with Capture():
            STATE.tracer = provider.get_tracer(sc.SCOPE_NAME)
            ap.trace_tool("web_search")(lambda: None)()
        (span,) = exporter.get_finished_spans()
        return list((span.attributes or {}).items()), span.dropped_attributes

    late = agent_span()
    assert span_attributes._verdict[2] is True  # pyright: ignore[reportPrivateUsage]
    monkeypatch.setattr(span_attributes, "_judge", _never_judge)
    monkeypatch.setattr(span_attributes, "_verdict", (None, None, False))
    assert late == agent_span()


def test_a_fan_out_that_reads_attributes_at_start_sees_them() -> None:
    """The provider's own active processor can be a subclass with an on_start of its own."""
    seen: list[dict[str, Any]] = []

    class Tagging(SynchronousMultiSpanProcessor):
        def on_start(self, span: Any, parent_context: Any = None) -> None:
            seen.append(dict(span.attributes or {}))
            super().on_start(span, parent_context)

    provider = TracerProvider(active_span_processor=Tagging())
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    with Capture():
        STATE.tracer = provider.get_tracer(sc.SCOPE_NAME)
        ap.trace_agent("planner")(lambda: None)()
    assert seen == [{"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"}]


def test_an_on_start_set_on_the_instance_sees_them() -> None:
    seen: list[dict[str, Any]] = []
    hooked = SimpleSpanProcessor(InMemorySpanExporter())
    hooked.on_start = lambda span, parent_context=None: seen.append(dict(span.attributes or {}))  # type: ignore[method-assign]
    with Capture(span_processors=[hooked]):
        ap.trace_agent("planner")(lambda: None)()
    assert seen == [{"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"}]
