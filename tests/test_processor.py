"""AgentPerfSpanProcessor prices other instrumentations' GenAI spans and attributes them to our agents."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor
from opentelemetry.sdk.trace import TracerProvider

import otel_agentperf as ap
from otel_agentperf import semconv as sc
from otel_agentperf.testing import Capture, capture
from tests.support.fake_llm_server import FakeLLMServer


@pytest.fixture
def priced() -> Iterator[tuple[Capture, ap.AgentPerfSpanProcessor]]:
    processor = ap.AgentPerfSpanProcessor()
    with capture(span_processors=[processor]) as cap:
        yield cap, processor


def test_official_openai_instrumentation_span_is_priced_and_attributed(
    priced: tuple[Capture, ap.AgentPerfSpanProcessor],
) -> None:
    cap, processor = priced
    server = FakeLLMServer()
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=cap.tracer_provider, meter_provider=cap.meter_provider)
    try:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="test", max_retries=0)

        @ap.trace_agent("support")
        def support() -> str:
            reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
            return reply.choices[0].message.content or ""

        with ap.conversation("ticket-7"):
            assert support() == "Paris."
        client.close()
    finally:
        instrumentor.uninstrument()
        server.stop()

    foreign = cap.span("chat gpt-4o-mini")
    assert foreign.instrumentation_scope is not None
    assert foreign.instrumentation_scope.name == "opentelemetry.instrumentation.genai.openai"
    # 57 input tokens of which 32 cached, 9 output; gpt-4o-mini: $0.15 in, $0.075 cached, $0.60 out per Mtok.
    usd = (25 * 0.15 + 32 * 0.075 + 9 * 0.60) / 1e6
    points = cap.points(sc.CLIENT_OPERATION_COST)
    assert len(points) == 1
    assert points[0].sum == pytest.approx(usd, abs=1e-12)
    assert dict(points[0].attributes or {}) == {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "openai",
        sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        sc.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
        sc.GEN_AI_AGENT_NAME: "support",
        sc.GEN_AI_USAGE_COST_CURRENCY: "USD",
        sc.GEN_AI_USAGE_COST_SOURCE: "local",
    }
    agent = cap.span("invoke_agent support")
    assert (agent.attributes or {})[sc.AGENTPERF_COST_TOTAL] == pytest.approx(usd, abs=1e-12)
    conversation = ap.conversation_cost("ticket-7")
    assert conversation is not None and conversation.total_usd == pytest.approx(usd, abs=1e-12)
    assert processor.priced == 1


def test_never_double_prices_our_spans_or_priced_spans(priced: tuple[Capture, ap.AgentPerfSpanProcessor]) -> None:
    cap, processor = priced

    @ap.trace_llm(provider="openai", model="gpt-4o")
    def ours() -> dict[str, object]:
        return {"usage": {"prompt_tokens": 100, "completion_tokens": 10}}

    ours()
    tracer = cap.tracer_provider.get_tracer("openlit")
    with tracer.start_as_current_span("chat gpt-4o") as span:  # already carries a cost (OpenLIT style)
        span.set_attributes(
            {
                "gen_ai.system": "openai",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.input_tokens": 5,
                "gen_ai.usage.cost": 1.0,
            }
        )
    with tracer.start_as_current_span("not genai") as span:
        span.set_attribute("http.method", "GET")
    assert cap.histogram_count(sc.CLIENT_OPERATION_COST) == 1
    assert processor.priced == 0


def test_old_attribute_names_and_unknown_models(priced: tuple[Capture, ap.AgentPerfSpanProcessor]) -> None:
    cap, _ = priced
    tracer = cap.tracer_provider.get_tracer("openllmetry")
    with ap.trace_agent("legacy"):
        with tracer.start_as_current_span("anthropic.chat") as span:
            span.set_attributes(
                {
                    "gen_ai.system": "anthropic",
                    "gen_ai.request.model": "claude-haiku-4-5",
                    "gen_ai.usage.prompt_tokens": 1000,
                    "gen_ai.usage.completion_tokens": 100,
                }
            )
        with tracer.start_as_current_span("chat mystery") as span:
            span.set_attributes(
                {"gen_ai.operation.name": "chat", "gen_ai.request.model": "mystery-1", "gen_ai.usage.input_tokens": 9}
            )
    assert cap.histogram_sum(sc.CLIENT_OPERATION_COST, {sc.GEN_AI_AGENT_NAME: "legacy"}) == pytest.approx(
        (1000 * 1.0 + 100 * 5.0) / 1e6
    )
    assert cap.metrics()[sc.UNPRICED_CALLS].data.data_points[0].value == 1  # type: ignore[union-attr]


def test_processor_is_bounded_and_guarded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTPERF_RAISE_INTERNAL_ERRORS")
    processor = ap.AgentPerfSpanProcessor(max_open_spans=10)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("x")
    with capture():
        with ap.trace_agent("a"):
            spans = [tracer.start_span(f"s{i}") for i in range(50)]
            for s in spans:
                s.end()
        assert processor.dropped == 40
        processor.on_end(object())  # type: ignore[arg-type]  # garbage in: logged, never raised
        processor.on_start(object())  # type: ignore[arg-type]
