"""Token usage read from real provider response objects (built locally, no network) and from bad input."""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest
from anthropic.types import Message, RawMessageDeltaEvent, RawMessageStartEvent
from hypothesis import given, settings
from hypothesis import strategies as st
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


_count = st.one_of(st.integers(min_value=0, max_value=10**12), st.none())
_text = st.sampled_from(["", "stop", "length", "m" * 200])
_SPOILERS: dict[str, list[Any]] = {  # what makes the general path convert, warn or read another shape
    "count": [-1, 10**12 + 1, True, 1.5, "12", " 7 ", "x", math.nan],
    "text": [None, 3, b"stop"],
    "part": [None, 5, SimpleNamespace(cached_tokens=5), ("x",), [None]],
    "top": [("type", "chat.completion.chunk"), ("_hidden_params", {"response_cost": 0.5}), ("object", "response")],
    "usage": [("cost", 0.25), ("cache_creation_input_tokens", 3), ("cost", None)],
}


@st.composite
def _chat_shapes(draw: st.DrawFn) -> dict[str, Any]:
    """OpenAI chat completion dicts: well formed (the fast path's case), then at most one value spoiled."""
    usage: dict[str, Any] = {"prompt_tokens": draw(_count), "completion_tokens": draw(_count)}
    usage["prompt_tokens_details"] = draw(
        st.fixed_dictionaries({}, optional={"cached_tokens": _count, "cache_write_tokens": _count})
    )
    usage["completion_tokens_details"] = draw(st.fixed_dictionaries({}, optional={"reasoning_tokens": _count}))
    choices = draw(st.lists(st.fixed_dictionaries({}, optional={"finish_reason": _text}), max_size=10))
    response: dict[str, Any] = {"usage": usage, "choices": choices, "model": draw(_text), "id": draw(_text)}
    spoil = draw(st.sampled_from(["", "", "count", "text", "part", "top", "usage"]))
    if spoil == "count":
        where = draw(st.sampled_from([usage, usage["prompt_tokens_details"], usage["completion_tokens_details"]]))
        key = draw(st.sampled_from(sorted(where) or ["prompt_tokens"]))
        where[key] = draw(st.sampled_from(_SPOILERS["count"]))
    elif spoil == "text":
        where = draw(st.sampled_from([response, *choices]))
        key = "finish_reason" if where is not response else draw(st.sampled_from(["model", "id"]))
        where[key] = draw(st.sampled_from(_SPOILERS["text"]))
    elif spoil == "part":
        key = draw(st.sampled_from(["usage", "prompt_tokens_details", "completion_tokens_details", "choices"]))
        (response if key in ("usage", "choices") else usage)[key] = draw(st.sampled_from(_SPOILERS["part"]))
    elif spoil:
        key, value = draw(st.sampled_from(_SPOILERS[spoil]))
        (response if spoil == "top" else usage)[key] = value
    return response


@settings(max_examples=300, deadline=None)
@given(_chat_shapes(), st.booleans())
def test_fast_chat_path_reads_what_the_general_path_reads(response: dict[str, Any], as_model: bool) -> None:
    """``extract_usage`` reads the common OpenAI chat shape through a fast path of plain ``dict.get`` calls; it
    must give exactly what the general reader gives (or leave the response to it), warnings included."""
    from otel_agentperf.cost import usage as usage_module

    if as_model:  # the same data as the openai SDK's pydantic model (read through its instance dict)
        try:
            shape: Any = ChatCompletion.model_construct(**response)
        except Exception:  # not every drawn dict is a valid model: the dict case covers it
            return
        usage_module.extract_usage(shape)  # the first instance of a class classifies it
    else:
        shape = response
    fast = usage_module.extract_usage(shape)
    assert repr(fast) == repr(usage_module._extract(shape))  # pyright: ignore[reportPrivateUsage]


def _each_spoiled_completion() -> Iterator[tuple[str, dict[str, Any]]]:
    """A real completion as a dict with one value spoiled, for every value and spoiler the fast path checks."""
    import copy

    base: dict[str, Any] = openai_completion().model_dump(mode="json", exclude_unset=True)
    counts = [
        ("usage",),
        ("usage", "prompt_tokens_details"),
        ("usage", "completion_tokens_details"),
    ]
    targets: list[tuple[tuple[Any, ...], str | int, str]] = [
        *(
            (path, key, "count")
            for path, keys in zip(
                counts,
                [
                    ("prompt_tokens", "completion_tokens"),
                    ("cached_tokens", "cache_write_tokens"),
                    ("reasoning_tokens",),
                ],
                strict=True,
            )
            for key in keys
        ),
        *(((), key, "text") for key in ("model", "id")),
        (("choices", 0), "finish_reason", "text"),
        *(((), key, "part") for key in ("usage", "choices")),
        *((("usage",), key, "part") for key in ("prompt_tokens_details", "completion_tokens_details")),
        (("choices",), 0, "part"),
    ]
    for path, key, kind in targets:
        for value in _SPOILERS[kind]:
            response = copy.deepcopy(base)
            where: Any = response
            for step in path:
                where = where[step]
            where[key] = value
            yield f"{'.'.join(map(str, (*path, key)))}={value!r}", response
    for kind in ("top", "usage"):
        for key, value in _SPOILERS[kind]:
            response = copy.deepcopy(base)
            (response if kind == "top" else response["usage"])[key] = value
            yield f"{kind}.{key}={value!r}", response


@pytest.mark.parametrize(
    "response", [r for _, r in _each_spoiled_completion()], ids=[i for i, _ in _each_spoiled_completion()]
)
def test_fast_chat_path_gives_up_or_agrees_on_each_spoiled_value(response: dict[str, Any]) -> None:
    from otel_agentperf.cost import usage as usage_module

    assert repr(usage_module.extract_usage(response)) == repr(usage_module._extract(response))  # pyright: ignore[reportPrivateUsage]


@pytest.mark.parametrize("shape", ["model", "dict"])
def test_fast_chat_path_takes_the_common_shapes(shape: str) -> None:
    """The fast path must be the one that reads real completions (else the test above compares nothing)."""
    from otel_agentperf.cost.response_fields import view
    from otel_agentperf.cost.usage import _openai_chat_fast  # pyright: ignore[reportPrivateUsage]

    completion = openai_completion()
    response = completion if shape == "model" else completion.model_dump(mode="json", exclude_unset=True)
    extract_usage(response)  # classifies the pydantic classes
    fields = view(response)
    assert fields is not None
    assert repr(_openai_chat_fast(fields)) == repr(extract_usage(response)) != "None"


def test_every_field_name_read_is_declared() -> None:
    """A plain pydantic class is read through its instance dict only if none of its class attributes bears a
    name in ``_READ``: a field read that ``_READ`` omits could miss a property of that name."""
    import ast
    import inspect

    from otel_agentperf.cost import response_fields, usage

    names: set[str] = set()
    for node in ast.walk(ast.parse(inspect.getsource(usage))):
        if isinstance(node, ast.Call) and (
            (isinstance(node.func, ast.Name) and (node.func.id.endswith("get") or node.func.id == "field"))
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "get")  # fields.get(...): the fast path
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
    async def stream() -> AsyncIterator[Any]:
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
