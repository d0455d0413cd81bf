"""Hostile input never breaks export: one bad string stays one bad string.

Names, models and conversation ids are fuzzed with hypothesis, lone surrogates included (Python strings
can carry them; UTF-8 cannot). After the calls, the real Prometheus exposition and the real OTLP span
encoding must both succeed and still carry the well-formed series.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import prometheus_client
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

import otel_agentperf as ap
from otel_agentperf import semconv as sc
from otel_agentperf.telemetry.aggregate import install
from otel_agentperf.tracing.state import STATE

# Any code point, lone surrogates (U+D800..U+DFFF) included: hypothesis leaves them out unless asked.
hostile = st.text(
    alphabet=st.one_of(st.characters(), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"])),
    max_size=40,
)


class Pipeline:
    def __init__(self) -> None:
        self.registry = prometheus_client.CollectorRegistry()
        reader = PrometheusMetricReader(registry=self.registry)
        self.meters = MeterProvider(metric_readers=[reader])
        fast = install([reader], Resource.create({}), InstrumentationScope(sc.SCOPE_NAME))
        assert fast is not None
        self.spans = InMemorySpanExporter()
        self.tracers = TracerProvider()
        self.tracers.add_span_processor(SimpleSpanProcessor(self.spans))
        STATE.use(self.tracers.get_tracer(sc.SCOPE_NAME), self.meters.get_meter(sc.SCOPE_NAME), fast)

    def export(self) -> str:
        encode_spans(self.spans.get_finished_spans()).SerializeToString()  # raises on a bad string
        return prometheus_client.generate_latest(self.registry).decode()


@pytest.fixture
def pipeline() -> Iterator[Pipeline]:
    saved = (STATE.tracer, STATE.instruments)
    p = Pipeline()
    yield p
    STATE.tracer, STATE.instruments = saved
    p.meters.shutdown()
    p.tracers.shutdown()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(agent=hostile, tool=hostile, model=hostile, conversation_id=hostile)
def test_hostile_names_never_stop_export(
    pipeline: Pipeline, agent: str, tool: str, model: str, conversation_id: str
) -> None:
    @ap.trace_tool(tool or None)
    def use_tool() -> int:
        return 1

    @ap.trace_llm(provider="openai")
    def ask(model: str) -> None:
        ap.record_usage(input_tokens=10, output_tokens=5)

    @ap.trace_agent(agent or None)
    def run() -> int:
        ask(model=model)
        return use_tool()

    @ap.trace_agent("well-formed")
    def good() -> int:
        return 2

    with ap.conversation(conversation_id):
        assert run() == 1
    assert good() == 2
    text = pipeline.export()
    assert 'gen_ai_agent_name="well-formed"' in text


def test_an_id_whose_str_raises_is_a_placeholder(pipeline: Pipeline) -> None:
    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("no")

    @ap.trace_agent("a")
    def run() -> int:
        return 1

    with ap.conversation(Hostile()) as cid:  # type: ignore[arg-type]
        assert run() == 1
    assert cid == "<unprintable>"
    (span,) = pipeline.spans.get_finished_spans()
    attrs: Any = span.attributes
    assert attrs[sc.GEN_AI_CONVERSATION_ID] == "<unprintable>"
    pipeline.export()
