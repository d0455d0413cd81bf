"""Token usage read from real provider response objects (built locally, no network) and from bad input."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest
from anthropic.types import Message, RawMessageDeltaEvent, RawMessageStartEvent
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response

import otel_agentperf as ap
from otel_agentperf import semconv as sc
from otel_agentperf.cost.usage import extract_usage
from otel_agentperf.testing import Capture


def openai_completion(**usage_extra: Any) -> ChatCompletion:
    return ChatCompletion.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Paris."}}],
            "usage": {
                "prompt_tokens": 1200,
                "completion_tokens": 300,
                "total_tokens": 1500,
                "prompt_tokens_details": {"cached_tokens": 1024},
                "completion_tokens_details": {"reasoning_tokens": 128},
                **usage_extra,
            },
        }
    )


def anthropic_message() -> Message:
    return Message.model_validate(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": "Bonjour"}],
            "model": "claude-sonnet-4-5-20250929",
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": 100,
                "output_tokens": 50,
                "cache_read_input_tokens": 1000,
                "cache_creation_input_tokens": 200,
            },
        }
    )


def test_openai_chat_completion() -> None:
    usage = extract_usage(openai_completion())
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (1200, 300)
    assert (usage.cache_read_tokens, usage.reasoning_tokens) == (1024, 128)
    assert usage.response_model == "gpt-4o-mini-2024-07-18"
    assert usage.finish_reasons == ("stop",)
    assert usage.response_id == "chatcmpl-1"


def test_openai_responses_api() -> None:
    response = Response.model_construct(
        id="resp_1",
        object="response",
        model="o4-mini-2025-04-16",
        status="completed",
        output=[],
        usage={
            "input_tokens": 900,
            "input_tokens_details": {"cached_tokens": 512},
            "output_tokens": 400,
            "output_tokens_details": {"reasoning_tokens": 256},
            "total_tokens": 1300,
        },
    )
    usage = extract_usage(response)
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.reasoning_tokens) == (
        900,
        400,
        512,
        256,
    )
    assert usage.response_model == "o4-mini-2025-04-16"
    assert usage.finish_reasons == ("stop",)


def test_anthropic_message_counts_cache_inside_input() -> None:
    usage = extract_usage(anthropic_message())
    assert usage is not None
    # Anthropic's input_tokens excludes cache reads and writes; semconv's input includes them.
    assert usage.input_tokens == 100 + 1000 + 200
    assert usage.output_tokens == 50
    assert (usage.cache_read_tokens, usage.cache_write_tokens) == (1000, 200)
    assert usage.finish_reasons == ("end_turn",)
    assert usage.response_model == "claude-sonnet-4-5-20250929"


def test_google_genai_shape() -> None:
    response = SimpleNamespace(
        usage_metadata=SimpleNamespace(
            prompt_token_count=800,
            candidates_token_count=120,
            thoughts_token_count=80,
            cached_content_token_count=400,
            total_token_count=1000,
        ),
        model_version="gemini-2.5-flash",
        response_id="g-1",
        candidates=[SimpleNamespace(finish_reason=SimpleNamespace(name="STOP"))],
    )
    usage = extract_usage(response)
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (800, 200)  # thoughts are billed output
    assert (usage.cache_read_tokens, usage.reasoning_tokens) == (400, 80)
    assert usage.finish_reasons == ("STOP",)
    assert usage.response_model == "gemini-2.5-flash"


def test_langchain_ai_message_shape() -> None:
    message = SimpleNamespace(
        id="run-1",
        content="hi",
        usage_metadata={
            "input_tokens": 350,
            "output_tokens": 240,
            "total_tokens": 590,
            "input_token_details": {"cache_read": 100, "cache_creation": 200},
            "output_token_details": {"reasoning": 200},
        },
        response_metadata={"model_name": "claude-3-7-sonnet", "stop_reason": "end_turn"},
    )
    usage = extract_usage(message)
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (
        350,
        240,
        100,
        200,
    )
    assert usage.reasoning_tokens == 200
    assert usage.response_model == "claude-3-7-sonnet"


def test_litellm_and_openrouter_cost() -> None:
    litellm = SimpleNamespace(
        id="x",
        model="gpt-4o",
        choices=[SimpleNamespace(finish_reason="stop")],
        usage=SimpleNamespace(prompt_tokens=10, completion_tokens=5),
        _hidden_params={"response_cost": 0.00125},
    )
    usage = extract_usage(litellm)
    assert usage is not None and usage.provider_cost == 0.00125
    openrouter = {
        "id": "gen-1",
        "model": "anthropic/claude-3.5-sonnet",
        "choices": [{"finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "cost": 0.0042},
    }
    usage = extract_usage(openrouter)
    assert usage is not None and usage.provider_cost == 0.0042 and usage.input_tokens == 10


def _as_namespace(value: Any) -> Any:
    """The same data as nested attribute objects (read with getattr, not as a dict or a pydantic model)."""
    if isinstance(value, dict):
        return SimpleNamespace(**{k: _as_namespace(v) for k, v in cast("dict[str, Any]", value).items()})
    if isinstance(value, list):
        return [_as_namespace(v) for v in cast("list[Any]", value)]
    return value


class CompletionWithProperty(ChatCompletion):
    """A pydantic response class with a property under a name we read: its fields cannot be read from the
    instance dict alone, so it takes the general path."""

    @property
    def status(self) -> str:
        return "completed"


@pytest.mark.parametrize(
    "response",
    [
        openai_completion(),
        openai_completion(cost=0.5, cache_creation_input_tokens=7),
        anthropic_message(),
        Response.model_construct(
            id="r",
            object="response",
            model="o4-mini",
            status="incomplete",
            incomplete_details={"reason": "max_output_tokens"},
            usage={"input_tokens": 9, "input_tokens_details": {"cached_tokens": 5}, "output_tokens": 4},
        ),
    ],
    ids=["openai", "openai-cost", "anthropic", "responses"],
)
def test_every_access_path_reads_the_same_usage(response: Any) -> None:
    """Dicts, plain pydantic models, pydantic models with properties and attribute objects are read by
    different paths (decided per class); the same data gives the same usage through each."""
    as_dict: dict[str, Any] = response.model_dump(mode="json", exclude_unset=True)
    with_property = CompletionWithProperty.model_construct(**dict(response))
    shapes = [response, as_dict, _as_namespace(as_dict), with_property]
    read = [repr(extract_usage(shape)) for shape in shapes]
    assert read[0] != "None" and read.count(read[0]) == len(read), read


def test_every_field_name_read_is_declared() -> None:
    """A plain pydantic class is read through its instance dict only if none of its class attributes bears a
    name in ``_READ``: a field read that ``_READ`` omits could miss a property of that name."""
    import ast
    import inspect

    from otel_agentperf.cost import response_fields, usage

    names: set[str] = set()
    for node in ast.walk(ast.parse(inspect.getsource(usage))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and (node.func.id.endswith("get") or node.func.id == "field")
        ):
            names.update(a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_choice_reasons":
            names.update(a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
    assert len(names) > 30
    assert names <= response_fields.READ, sorted(names - response_fields.READ)


def test_openai_stream_with_usage(cap: Capture) -> None:
    def chunk(**kw: Any) -> ChatCompletionChunk:
        base: dict[str, Any] = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o"}
        return ChatCompletionChunk.model_validate({**base, **kw})

    @ap.trace_llm(provider="openai", model="gpt-4o")
    def stream() -> Iterator[ChatCompletionChunk]:
        yield chunk(choices=[{"index": 0, "delta": {"content": "Hel"}}])
        yield chunk(choices=[{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}])
        yield chunk(choices=[], usage={"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13})

    assert len(list(stream())) == 3
    attrs = dict(cap.span("chat gpt-4o").attributes or {})
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 11
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in attrs
    assert cap.histogram_sum(sc.CLIENT_TOKEN_USAGE, {sc.GEN_AI_TOKEN_TYPE: "input"}) == 11
    assert cap.histogram_count(sc.CLIENT_TIME_TO_FIRST_CHUNK) == 1


def test_anthropic_stream_events(cap: Capture) -> None:
    start = RawMessageStartEvent.model_validate(
        {
            "type": "message_start",
            "message": anthropic_message().model_dump()
            | {"stop_reason": None, "usage": {"input_tokens": 20, "output_tokens": 1}},
        }
    )
    delta = RawMessageDeltaEvent.model_validate(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
            "usage": {"output_tokens": 64},
        }
    )

    @ap.trace_llm(provider="anthropic", model="claude-sonnet-4-5")
    async def stream() -> Any:
        yield start
        yield delta

    import asyncio

    async def main() -> None:
        async for _ in stream():
            pass

    asyncio.run(main())
    attrs = dict(cap.span("chat claude-sonnet-4-5").attributes or {})
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 20
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 64
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("max_tokens",)


def test_trace_llm_reads_return_value_and_records_metrics(cap: Capture) -> None:
    @ap.trace_agent("writer")
    def writer() -> None:
        ask()
        ask()

    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def ask() -> ChatCompletion:
        return openai_completion()

    writer()
    where = {sc.GEN_AI_AGENT_NAME: "writer", sc.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18"}
    assert cap.histogram_sum(sc.CLIENT_TOKEN_USAGE, {**where, sc.GEN_AI_TOKEN_TYPE: "input"}) == 2400
    assert cap.histogram_sum(sc.CLIENT_TOKEN_USAGE, {**where, sc.GEN_AI_TOKEN_TYPE: "output"}) == 600
    assert cap.histogram_count(sc.CLIENT_OPERATION_DURATION, where) == 2
    agent = dict(cap.span("invoke_agent writer").attributes or {})
    assert agent[sc.AGENTPERF_USAGE_INPUT_TOKENS] == 2400
    assert agent[sc.AGENTPERF_USAGE_CACHE_READ_INPUT_TOKENS] == 2048
    assert agent[sc.AGENTPERF_USAGE_REASONING_OUTPUT_TOKENS] == 256


def test_record_usage_inside_agent_counts_as_llm_call(cap: Capture) -> None:
    with ap.trace_agent("local"):
        ap.record_usage(input_tokens=40, output_tokens=10, model="llama-3.1-8b", provider="vllm")
    attrs = dict(cap.span("invoke_agent local").attributes or {})
    assert attrs[sc.AGENTPERF_USAGE_INPUT_TOKENS] == 40
    where = {sc.GEN_AI_AGENT_NAME: "local", sc.GEN_AI_REQUEST_MODEL: "llama-3.1-8b", sc.GEN_AI_PROVIDER_NAME: "vllm"}
    assert cap.histogram_sum(sc.CLIENT_TOKEN_USAGE, {**where, sc.GEN_AI_TOKEN_TYPE: "output"}) == 10


def test_explicit_usage_wins_over_response(cap: Capture) -> None:
    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def ask() -> ChatCompletion:
        ap.record_usage(input_tokens=5, output_tokens=1)
        ap.record_usage(input_tokens=5, output_tokens=1)
        return openai_completion()

    ask()
    attrs = dict(cap.span("chat gpt-4o-mini").attributes or {})
    assert (attrs[sc.GEN_AI_USAGE_INPUT_TOKENS], attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (10, 2)


@pytest.mark.parametrize(
    "odd",
    [
        None,
        42,
        "text",
        b"bytes",
        [1, 2],
        {"usage": None},
        {"usage": {"foo": 1}},
        SimpleNamespace(usage=object()),
        object(),
    ],
)
def test_unrecognised_results_give_no_tokens(cap: Capture, odd: Any) -> None:
    @ap.trace_llm(provider="openai", model="m")
    def ask() -> Any:
        return odd

    assert ask() is odd
    attrs = dict(cap.span("chat m").attributes or {})
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in attrs
    assert cap.histogram_count(sc.CLIENT_TOKEN_USAGE) == 0
    assert cap.histogram_count(sc.CLIENT_OPERATION_DURATION) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (-5, None),
        (math.nan, None),
        (math.inf, None),
        ("12", 12),
        ("many", None),
        (True, None),
        (3.0, 3),
        (10**12, 10**12),
        (10**12 + 1, None),  # beyond any real call: would make the metric sums lose precision
        (10**30, None),
        (1e300, None),
        (str(10**30), None),
    ],
)
def test_bad_token_counts_warn_and_stay_sane(
    cap: Capture, caplog: pytest.LogCaptureFixture, value: Any, expected: int | None
) -> None:
    with caplog.at_level(logging.WARNING, logger="otel_agentperf"):
        with ap.llm_call(provider="openai", model="m"):
            ap.record_usage(input_tokens=value, output_tokens=1)
    attrs = dict(cap.span("chat m").attributes or {})
    assert attrs.get(sc.GEN_AI_USAGE_INPUT_TOKENS) == expected
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 1
    if expected is None or isinstance(value, str):
        assert "token count" in caplog.text


def test_huge_strings_are_bounded(cap: Capture) -> None:
    huge = "m" * 100_000
    with ap.trace_agent(huge):
        ap.record_usage(input_tokens=1, model=huge, provider="p")
    span = cap.spans()[0]
    assert len(span.name) < 200
    for metric in cap.metrics().values():
        for point in metric.data.data_points:
            assert all(len(str(v)) <= 128 for v in (point.attributes or {}).values())
