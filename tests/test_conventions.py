"""What the current GenAI conventions ask of us beyond names: call counts per agent invocation, the stream
flag, the provider when the caller omits it, cost labels, per-chunk timing, and rollups that a backend
summing ``gen_ai.usage.*`` over all spans cannot double count."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

import otel_agentperf as ap
from otel_agentperf import semconv as sc
from otel_agentperf.cost.providers import infer_provider
from otel_agentperf.testing import Capture


def completion(model: str = "gpt-4o-mini", cost: float | None = None) -> dict[str, Any]:
    usage: dict[str, Any] = {"prompt_tokens": 30, "completion_tokens": 5}
    if cost is not None:
        usage["cost"] = cost  # OpenRouter reports the billed cost in the usage block
    return {"object": "chat.completion", "model": model, "usage": usage}


def chunks(n: int) -> Iterator[dict[str, Any]]:
    for _ in range(n):
        yield {"object": "chat.completion.chunk", "model": "gpt-4o-mini-2024-07-18", "choices": []}


def counts(cap: Capture, metric: str, agent: str) -> tuple[int, float]:
    [point] = cap.points(metric, {sc.GEN_AI_AGENT_NAME: agent})
    return point.count, point.sum


def test_agent_counts_its_own_model_and_tool_calls_not_its_sub_agents(cap: Capture) -> None:
    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def ask(fail: bool = False) -> dict[str, Any]:
        if fail:
            raise TimeoutError
        return completion()

    @ap.trace_tool("search")
    def search() -> None:
        ask()  # a model call inside a tool is still the agent's

    @ap.trace_agent("helper")
    def helper() -> None:
        ask()
        ask()

    @ap.trace_agent("planner")
    def plan() -> None:
        ask()
        with pytest.raises(TimeoutError):
            ask(fail=True)  # failed calls count
        search()
        search()
        helper()  # the sub-agent's calls are its own

    plan()
    plan()
    assert counts(cap, sc.INVOKE_AGENT_INFERENCE_CALLS, "planner") == (2, 2 * 4)
    assert counts(cap, sc.INVOKE_AGENT_TOOL_CALLS, "planner") == (2, 2 * 2)
    assert counts(cap, sc.INVOKE_AGENT_INFERENCE_CALLS, "helper") == (2, 2 * 2)
    assert counts(cap, sc.INVOKE_AGENT_TOOL_CALLS, "helper") == (2, 0)
    [point] = cap.points(sc.INVOKE_AGENT_TOOL_CALLS, {sc.GEN_AI_AGENT_NAME: "planner"})
    assert dict(point.attributes or {}) == {sc.GEN_AI_OPERATION_NAME: "invoke_agent", sc.GEN_AI_AGENT_NAME: "planner"}
    assert list(point.explicit_bounds) == [1, 2, 4, 8, 16, 32, 64, 128]


def test_calls_from_threads_are_all_counted(cap: Capture) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from opentelemetry import context

    @ap.trace_tool("fetch")
    def fetch(_: int) -> None:
        pass

    @ap.trace_agent("crawler")
    def crawl() -> None:
        ctx = context.get_current()

        def run(i: int) -> None:
            token = context.attach(ctx)
            try:
                fetch(i)
            finally:
                context.detach(token)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(run, range(400)))

    crawl()
    assert counts(cap, sc.INVOKE_AGENT_TOOL_CALLS, "crawler") == (1, 400)


def test_stream_flag_only_on_streaming_calls(cap: Capture) -> None:
    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def plain() -> dict[str, Any]:
        return completion()

    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def generator() -> Iterator[dict[str, Any]]:
        yield from chunks(3)

    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def returns_stream() -> Iterator[dict[str, Any]]:
        return chunks(4)

    plain()
    assert len(list(generator())) == 3
    assert len(list(returns_stream())) == 4
    flags = [(s.attributes or {}).get(sc.GEN_AI_REQUEST_STREAM) for s in cap.spans()]
    assert flags == [None, True, True]
    # One time-per-chunk value per chunk after the first, labelled with the response model the chunks name.
    points = cap.points(sc.CLIENT_TIME_PER_OUTPUT_CHUNK)
    assert sum(p.count for p in points) == 2 + 3
    assert {str((p.attributes or {}).get(sc.GEN_AI_RESPONSE_MODEL)) for p in points} == {"gpt-4o-mini-2024-07-18"}
    assert sum(p.count for p in cap.points(sc.CLIENT_TIME_TO_FIRST_CHUNK)) == 2


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("gpt-4o-mini", "openai"),
        ("o3-mini", "openai"),
        ("text-embedding-3-small", "openai"),
        ("claude-sonnet-4-5", "anthropic"),
        ("gemini-2.0-flash", "gcp.gemini"),
        ("mistral-large-latest", "mistral_ai"),
        ("deepseek-chat", "deepseek"),
        ("grok-4", "x_ai"),
        ("command-r-plus", "cohere"),
        ("openai/gpt-4o", "openai"),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", "aws.bedrock"),
        ("llama-3.1-8b", None),
        ("o1x-custom", None),
        ("", None),
    ],
)
def test_provider_inferred_from_the_model_family(model: str, provider: str | None) -> None:
    assert infer_provider(model) == provider


def test_omitted_provider_is_inferred_on_spans_and_metrics(cap: Capture, caplog: pytest.LogCaptureFixture) -> None:
    @ap.trace_llm(model="claude-haiku-4-5")
    def fixed() -> dict[str, Any]:
        return completion("claude-haiku-4-5")

    @ap.trace_llm()
    def per_call(model: str) -> dict[str, Any]:
        return completion(model)

    @ap.trace_llm(model="llama-3.1-8b")
    def unknown() -> dict[str, Any]:
        return completion("llama-3.1-8b")

    with caplog.at_level(logging.WARNING, "otel_agentperf"):
        fixed()
        per_call(model="gpt-4o-mini")
        for _ in range(3):
            unknown()
    providers = {s.name: (s.attributes or {}).get(sc.GEN_AI_PROVIDER_NAME) for s in cap.spans()}
    assert providers == {"chat claude-haiku-4-5": "anthropic", "chat gpt-4o-mini": "openai", "chat llama-3.1-8b": None}
    by_model = {
        (p.attributes or {})[sc.GEN_AI_REQUEST_MODEL]: (p.attributes or {}).get(sc.GEN_AI_PROVIDER_NAME)
        for p in cap.points(sc.CLIENT_OPERATION_DURATION)
    }
    assert by_model == {"claude-haiku-4-5": "anthropic", "gpt-4o-mini": "openai", "llama-3.1-8b": None}
    warnings = [r.getMessage() for r in caplog.records if "no provider given" in r.getMessage()]
    assert len(warnings) == 1 and "'llama-3.1-8b'" in warnings[0] and "provider=" in warnings[0]


def test_provider_from_the_response_model_when_nothing_was_given(cap: Capture) -> None:
    with ap.llm_call():
        ap.record_response(completion("gpt-4o-mini"))
    [span] = cap.spans()
    assert (span.attributes or {})[sc.GEN_AI_PROVIDER_NAME] == "openai"
    [point] = cap.points(sc.CLIENT_OPERATION_DURATION)
    assert (point.attributes or {})[sc.GEN_AI_PROVIDER_NAME] == "openai"


def test_cost_metric_carries_currency_and_source(cap: Capture) -> None:
    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def local() -> dict[str, Any]:
        return completion()

    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def reported() -> dict[str, Any]:
        return completion(cost=0.25)

    local()
    reported()
    reported()
    by_source = {
        (p.attributes or {})[sc.GEN_AI_USAGE_COST_SOURCE]: (p.count, p.sum, (p.attributes or {}))
        for p in cap.points(sc.CLIENT_OPERATION_COST)
    }
    assert set(by_source) == {"local", "provider"}
    assert by_source["provider"][:2] == (2, pytest.approx(0.5))
    assert by_source["local"][0] == 1
    assert all(attrs[sc.GEN_AI_USAGE_COST_CURRENCY] == "USD" for _, _, attrs in by_source.values())


def test_rollups_live_in_our_namespace(cap: Capture) -> None:
    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def ask() -> dict[str, Any]:
        return completion()

    with ap.trace_workflow("flow"), ap.trace_agent("writer"):
        ask()
        ask()
    total_gen_ai_input = sum(int((s.attributes or {}).get(sc.GEN_AI_USAGE_INPUT_TOKENS, 0)) for s in cap.spans())  # type: ignore[arg-type]
    spans: dict[str, dict[str, Any]] = {s.name: dict(s.attributes or {}) for s in cap.spans()}
    assert total_gen_ai_input == 2 * 30  # each call counted once by a backend summing gen_ai.usage.*
    for name in ("invoke_agent writer", "invoke_workflow flow"):
        assert not any(k.startswith("gen_ai.usage.") for k in spans[name]), name
        assert spans[name][sc.AGENTPERF_USAGE_INPUT_TOKENS] == 60
        assert spans[name][sc.AGENTPERF_USAGE_OUTPUT_TOKENS] == 10
        assert spans[name][sc.AGENTPERF_COST_TOTAL] > 0


def test_error_type_is_the_exception_events_type(cap: Capture) -> None:
    class QuotaError(Exception):
        pass

    @ap.trace_tool("quota")
    def quota() -> None:
        raise QuotaError("over")

    with pytest.raises(QuotaError):
        quota()
    with pytest.raises(KeyError), ap.trace_tool("lookup"):
        raise KeyError("x")
    for span in cap.spans():
        [event] = [e for e in span.events if e.name == "exception"]
        assert (span.attributes or {})[sc.ERROR_TYPE] == (event.attributes or {})["exception.type"]
    assert (cap.span("execute_tool lookup").attributes or {})[sc.ERROR_TYPE] == "KeyError"
