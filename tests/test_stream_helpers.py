"""The providers' streaming helpers under ``trace_llm``, with the real SDKs against a local server.

Anthropic's ``client.messages.stream(...)``, OpenAI's ``client.responses.stream(...)`` and
``client.chat.completions.stream(...)``, sync and async, returned from the traced function (the span stays
open until the stream ends) or consumed inside it (usage read from the final message it returns).
"""

from __future__ import annotations

import asyncio
import gc
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import openai
import pytest
import wrapt
from anthropic.lib.streaming import AsyncMessageStream, AsyncMessageStreamManager, MessageStream, MessageStreamManager
from openai.lib.streaming.chat import (
    AsyncChatCompletionStream,
    AsyncChatCompletionStreamManager,
    ChatCompletionStream,
    ChatCompletionStreamManager,
)
from openai.lib.streaming.responses import (
    AsyncResponseStream,
    AsyncResponseStreamManager,
    ResponseStream,
    ResponseStreamManager,
)
from opentelemetry.trace import StatusCode

import otel_agentperf as ap
from otel_agentperf import semconv as sc
from otel_agentperf.cost.pricing import PriceBook
from otel_agentperf.cost.usage import Usage
from otel_agentperf.testing import Capture
from otel_agentperf.tracing import returned
from tests.conftest import PINNED_PRICE_TIME
from tests.support.fake_llm_server import OVERLOADED_MID_STREAM, RESPONSES_MODEL, FakeLLMServer

Tokens = tuple[int, int, int]  # input (cached included), output, cache reads


@dataclass(frozen=True)
class Helper:
    name: str
    provider: str
    model: str
    response_model: str
    tokens: Tokens
    first_event_tokens: Tokens | None  # what the first event reports (a stream left after one event)
    text: str
    final: str  # the stream's method giving the accumulated answer
    classes: tuple[type[Any], type[Any], type[Any], type[Any]]  # manager, stream, async manager, async stream

    def client(self, server: FakeLLMServer, is_async: bool) -> Any:
        if self.provider == "anthropic":
            cls: Any = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
            return cls(base_url=server.url, api_key="test", max_retries=0)
        cls = openai.AsyncOpenAI if is_async else openai.OpenAI
        return cls(base_url=server.url + "/v1", api_key="test", max_retries=0)

    def open(self, client: Any, content: str = "Bonjour?") -> Any:
        """The helper's manager (no request sent yet)."""
        if self.name == "anthropic.messages":
            return client.messages.stream(
                model=self.model, max_tokens=64, messages=[{"role": "user", "content": content}]
            )
        if self.name == "openai.responses":
            return client.responses.stream(model=self.model, input=content)
        return client.chat.completions.stream(
            model=self.model,
            messages=[{"role": "user", "content": content}],
            stream_options={"include_usage": True},
        )

    def text_of(self, stream: Any) -> str:
        if self.provider == "anthropic":
            return "".join(stream.text_stream)
        return "".join(e.delta for e in stream if e.type in ("response.output_text.delta", "content.delta"))

    async def atext_of(self, stream: Any) -> str:
        if self.provider == "anthropic":
            return "".join([t async for t in stream.text_stream])
        return "".join([e.delta async for e in stream if e.type in ("response.output_text.delta", "content.delta")])

    def price(self, tokens: Tokens) -> float:
        prices = PriceBook().lookup(self.provider, self.response_model, PINNED_PRICE_TIME)
        assert prices is not None
        usage = Usage(input_tokens=tokens[0], output_tokens=tokens[1], cache_read_tokens=tokens[2])
        return prices.cost(usage, PINNED_PRICE_TIME)


HELPERS = [
    Helper(
        "anthropic.messages",
        "anthropic",
        "claude-haiku-4-5",
        "claude-haiku-4-5-20251001",
        (100, 4, 90),  # Anthropic's 10 uncached input tokens + 90 cache reads
        (100, 1, 90),  # message_start
        "Bonjour",
        "get_final_message",
        (MessageStreamManager, MessageStream, AsyncMessageStreamManager, AsyncMessageStream),
    ),
    Helper(
        "openai.responses",
        "openai",
        "gpt-4.1-mini",
        RESPONSES_MODEL,
        (120, 6, 64),
        None,  # response.created carries no usage
        "Hello!",
        "get_final_response",
        (ResponseStreamManager, ResponseStream, AsyncResponseStreamManager, AsyncResponseStream),
    ),
    Helper(
        "openai.chat.completions",
        "openai",
        "gpt-4o-mini",
        "gpt-4o-mini-2024-07-18",
        (20, 3, 8),  # from the last chunk (stream_options include_usage)
        None,
        "Paris.",
        "get_final_completion",
        (
            ChatCompletionStreamManager,
            ChatCompletionStream,
            AsyncChatCompletionStreamManager,
            AsyncChatCompletionStream,
        ),
    ),
]
IDS = [h.name for h in HELPERS]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    s = FakeLLMServer()
    yield s
    s.stop()


def traced(helper: Helper, fn: Callable[..., Any]) -> Callable[..., Any]:
    return ap.trace_llm(provider=helper.provider, model=helper.model)(fn)


def attributes(cap: Capture, helper: Helper) -> dict[str, Any]:
    return dict(cap.span(f"chat {helper.model}").attributes or {})


def assert_accounted(cap: Capture, helper: Helper, tokens: Tokens, *, first_chunk: bool) -> dict[str, Any]:
    """Tokens, cost attributes and metrics of the helper's one span."""
    attrs = attributes(cap, helper)
    assert (
        attrs[sc.GEN_AI_USAGE_INPUT_TOKENS],
        attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS],
        attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS],
    ) == tokens
    assert attrs[sc.GEN_AI_RESPONSE_MODEL] == helper.response_model
    expected = helper.price(tokens)
    assert expected > 0
    assert attrs[sc.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(expected, rel=1e-12)
    assert cap.histogram_count(sc.CLIENT_OPERATION_COST) == 1
    assert cap.histogram_sum(sc.CLIENT_OPERATION_COST) == pytest.approx(expected, rel=1e-12)
    assert cap.histogram_sum(sc.CLIENT_TOKEN_USAGE, {sc.GEN_AI_TOKEN_TYPE: "input"}) == tokens[0]
    if first_chunk:
        assert attrs[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] >= 0
        assert cap.histogram_count(sc.CLIENT_TIME_TO_FIRST_CHUNK) == 1
    return attrs


# --- returned from the traced function: the span ends with the stream -----------------------------------
@pytest.mark.parametrize("helper", HELPERS, ids=IDS)
def test_returned_sync_helper_span_ends_when_read(cap: Capture, server: FakeLLMServer, helper: Helper) -> None:
    client = helper.client(server, is_async=False)
    ask = traced(helper, lambda: helper.open(client))

    manager = ask()
    assert isinstance(manager, helper.classes[0])
    assert cap.spans() == []  # no request sent yet
    with manager as stream:
        assert type(stream) is helper.classes[1]  # the SDK's own stream object
        assert cap.spans() == []  # request sent, nothing read
        assert helper.text_of(stream) == helper.text
        final = getattr(stream, helper.final)()
        assert final is not None
        assert len(cap.spans()) == 1  # ended when the stream was exhausted, not at exit
    attrs = assert_accounted(cap, helper, helper.tokens, first_chunk=True)
    assert sc.AGENTPERF_STREAM_CLOSED_EARLY not in attrs
    assert attrs[sc.AGENTPERF_STREAM_CHUNKS] > 0
    assert cap.span(f"chat {helper.model}").status.status_code != StatusCode.ERROR
    client.close()


@pytest.mark.parametrize("helper", HELPERS, ids=IDS)
def test_returned_async_helper_span_ends_when_read(cap: Capture, server: FakeLLMServer, helper: Helper) -> None:
    async def main() -> None:
        client = helper.client(server, is_async=True)

        @ap.trace_llm(provider=helper.provider, model=helper.model)
        async def ask() -> Any:
            return helper.open(client)

        manager = await ask()
        assert isinstance(manager, helper.classes[2])
        assert cap.spans() == []
        async with manager as stream:
            assert type(stream) is helper.classes[3]
            assert cap.spans() == []
            assert await helper.atext_of(stream) == helper.text
            assert await getattr(stream, helper.final)() is not None
            assert len(cap.spans()) == 1
        await client.close()

    asyncio.run(main())
    attrs = assert_accounted(cap, helper, helper.tokens, first_chunk=True)
    assert sc.AGENTPERF_STREAM_CLOSED_EARLY not in attrs


@pytest.mark.parametrize("helper", HELPERS, ids=IDS)
def test_returned_helper_read_only_through_final_message(cap: Capture, server: FakeLLMServer, helper: Helper) -> None:
    client = helper.client(server, is_async=False)
    ask = traced(helper, lambda: helper.open(client))
    with ask() as stream:
        getattr(stream, helper.final)()  # until_done() reads the stream without the caller iterating
    assert_accounted(cap, helper, helper.tokens, first_chunk=True)
    client.close()


# --- consumed inside the traced function: usage from the final message it returns -------------------------
@pytest.mark.parametrize("helper", HELPERS, ids=IDS)
def test_consumed_inside_sync(cap: Capture, server: FakeLLMServer, helper: Helper) -> None:
    client = helper.client(server, is_async=False)

    def ask() -> Any:
        with helper.open(client) as stream:
            assert helper.text_of(stream) == helper.text
            return getattr(stream, helper.final)()

    final = traced(helper, ask)()
    assert final is not None
    assert_accounted(cap, helper, helper.tokens, first_chunk=False)
    client.close()


@pytest.mark.parametrize("helper", HELPERS, ids=IDS)
def test_consumed_inside_async(cap: Capture, server: FakeLLMServer, helper: Helper) -> None:
    async def main() -> None:
        client = helper.client(server, is_async=True)

        @ap.trace_llm(provider=helper.provider, model=helper.model)
        async def ask() -> Any:
            async with helper.open(client) as stream:
                assert await helper.atext_of(stream) == helper.text
                return await getattr(stream, helper.final)()

        assert await ask() is not None
        await client.close()

    asyncio.run(main())
    assert_accounted(cap, helper, helper.tokens, first_chunk=False)


# --- left early: break + exit, close(), garbage collection ------------------------------------------------
def assert_closed_early(cap: Capture, helper: Helper) -> None:
    attrs = attributes(cap, helper)
    assert attrs[sc.AGENTPERF_STREAM_CLOSED_EARLY] is True
    assert cap.span(f"chat {helper.model}").status.status_code != StatusCode.ERROR
    if helper.first_event_tokens is None:
        assert sc.GEN_AI_USAGE_INPUT_TOKENS not in attrs
        assert cap.histogram_count(sc.CLIENT_OPERATION_COST) == 0
    else:  # the tokens seen so far, priced
        assert_accounted(cap, helper, helper.first_event_tokens, first_chunk=True)


@pytest.mark.parametrize("helper", HELPERS, ids=IDS)
def test_break_then_exit_ends_the_span(cap: Capture, server: FakeLLMServer, helper: Helper) -> None:
    client = helper.client(server, is_async=False)
    ask = traced(helper, lambda: helper.open(client))
    with ask() as stream:
        for _ in stream:
            break
        assert cap.spans() == []  # still open: the stream may be read on
    assert_closed_early(cap, helper)
    client.close()


@pytest.mark.parametrize("helper", HELPERS, ids=IDS)
def test_async_break_then_exit_ends_the_span(cap: Capture, server: FakeLLMServer, helper: Helper) -> None:
    async def main() -> None:
        client = helper.client(server, is_async=True)

        @ap.trace_llm(provider=helper.provider, model=helper.model)
        async def ask() -> Any:
            return helper.open(client)

        async with await ask() as stream:
            async for _ in stream:
                break
            assert cap.spans() == []
        await client.close()

    asyncio.run(main())
    assert_closed_early(cap, helper)


@pytest.mark.parametrize("helper", HELPERS, ids=IDS)
def test_close_ends_the_span(cap: Capture, server: FakeLLMServer, helper: Helper) -> None:
    client = helper.client(server, is_async=False)
    ask = traced(helper, lambda: helper.open(client))
    manager = ask()
    stream = manager.__enter__()  # no with: the caller closes the stream itself
    next(stream)
    assert cap.spans() == []
    stream.close()
    assert_closed_early(cap, helper)
    client.close()


@pytest.mark.parametrize("helper", HELPERS, ids=IDS)
def test_async_close_ends_the_span(cap: Capture, server: FakeLLMServer, helper: Helper) -> None:
    async def main() -> None:
        client = helper.client(server, is_async=True)

        @ap.trace_llm(provider=helper.provider, model=helper.model)
        async def ask() -> Any:
            return helper.open(client)

        stream = await (await ask()).__aenter__()
        await stream.__anext__()
        assert cap.spans() == []
        await stream.close()
        assert len(cap.spans()) == 1
        await client.close()

    asyncio.run(main())
    assert_closed_early(cap, helper)


@pytest.mark.parametrize("helper", HELPERS, ids=IDS)
def test_garbage_collected_manager_or_stream_ends_the_span(cap: Capture, server: FakeLLMServer, helper: Helper) -> None:
    client = helper.client(server, is_async=False)
    ask = traced(helper, lambda: helper.open(client))

    manager = ask()  # never entered
    del manager
    gc.collect()
    assert len(cap.spans()) == 1
    assert attributes(cap, helper)[sc.AGENTPERF_STREAM_CLOSED_EARLY] is True

    manager = ask()
    stream = manager.__enter__()
    next(stream)
    del stream, manager
    gc.collect()
    assert len(cap.spans()) == 2
    client.close()


# --- failures -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("helper", HELPERS, ids=IDS)
def test_exception_inside_with_marks_the_span_and_passes_through(
    cap: Capture, server: FakeLLMServer, helper: Helper
) -> None:
    client = helper.client(server, is_async=False)
    ask = traced(helper, lambda: helper.open(client))
    mine = ValueError("the caller's own")
    with pytest.raises(ValueError) as raised, ask() as stream:
        next(stream)
        raise mine
    assert raised.value is mine
    span = cap.span(f"chat {helper.model}")
    assert span.status.status_code == StatusCode.ERROR
    assert (span.attributes or {})[sc.ERROR_TYPE] == "ValueError"
    client.close()


def test_error_event_mid_stream_marks_the_span(cap: Capture, server: FakeLLMServer) -> None:
    helper = HELPERS[0]
    client = helper.client(server, is_async=False)
    ask = traced(helper, lambda: helper.open(client, OVERLOADED_MID_STREAM))
    with pytest.raises(anthropic.APIStatusError) as raised, ask() as stream:
        stream.get_final_message()
    span = cap.span(f"chat {helper.model}")
    assert span.status.status_code == StatusCode.ERROR
    attrs = dict(span.attributes or {})
    assert attrs[sc.ERROR_TYPE] == f"{type(raised.value).__module__}.{type(raised.value).__qualname__}"
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 100  # message_start came before the error
    client.close()


def test_failed_request_marks_the_span(cap: Capture) -> None:
    helper = HELPERS[0]
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    client = anthropic.Anthropic(base_url=f"http://127.0.0.1:{port}", api_key="test", max_retries=0)
    ask = traced(helper, lambda: helper.open(client))
    manager = ask()
    with pytest.raises(anthropic.APIConnectionError), manager:
        pass
    assert cap.span(f"chat {helper.model}").status.status_code == StatusCode.ERROR
    client.close()


# --- isinstance and the per-class decision ----------------------------------------------------------------
def test_returned_raw_streams_keep_isinstance(cap: Capture, server: FakeLLMServer) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="test", max_retries=0)

    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def ask() -> Any:
        return client.chat.completions.create(model="gpt-4o-mini", messages=[], stream=True)

    stream = ask()
    assert isinstance(stream, openai.Stream)
    assert len(list(stream)) == 2
    assert len(cap.spans()) == 1
    client.close()


def test_decision_is_made_once_per_class(cap: Capture, server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[type[Any]] = []
    classify = returned._classify  # pyright: ignore[reportPrivateUsage]

    def counting(cls: type[Any], from_async: bool) -> int:
        seen.append(cls)
        return classify(cls, from_async)

    monkeypatch.setattr(returned, "_classify", counting)
    monkeypatch.setattr(returned, "_kinds", {})
    helper = HELPERS[0]
    client = helper.client(server, is_async=False)
    ask = traced(helper, lambda: helper.open(client))
    for _ in range(3):
        with ask() as stream:
            stream.until_done()
    assert seen == [MessageStreamManager]
    assert len(cap.spans()) == 3
    client.close()


def test_exception_inside_with_of_a_returned_raw_stream_marks_the_span(cap: Capture, server: FakeLLMServer) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="test", max_retries=0)

    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def ask() -> Any:
        return client.chat.completions.create(model="gpt-4o-mini", messages=[], stream=True)

    mine = KeyError("the caller's own")
    with pytest.raises(KeyError) as raised, ask() as stream:
        next(stream)
        raise mine
    assert raised.value is mine
    span = cap.span("chat gpt-4o-mini")
    assert span.status.status_code == StatusCode.ERROR
    assert (span.attributes or {})[sc.ERROR_TYPE] == "KeyError"
    client.close()


def test_returned_raw_anthropic_stream(cap: Capture, server: FakeLLMServer) -> None:
    helper = HELPERS[0]
    client = helper.client(server, is_async=False)
    ask = traced(helper, lambda: client.messages.create(model=helper.model, max_tokens=64, messages=[], stream=True))
    stream = ask()
    assert isinstance(stream, anthropic.Stream)
    assert cap.spans() == []
    assert [e.type for e in stream][-1] == "message_stop"
    assert_accounted(cap, helper, helper.tokens, first_chunk=True)
    client.close()


@pytest.mark.parametrize("how", ["close", "aclose"])
def test_returned_raw_async_stream_closed(cap: Capture, server: FakeLLMServer, how: str) -> None:
    async def main() -> None:
        async with openai.AsyncOpenAI(base_url=server.url + "/v1", api_key="test", max_retries=0) as client:

            @ap.trace_llm(provider="openai", model="gpt-4o-mini")
            async def ask() -> Any:
                return await client.chat.completions.create(model="gpt-4o-mini", messages=[], stream=True)

            stream = await ask()
            assert isinstance(stream, openai.AsyncStream)
            await stream.__anext__()
            assert cap.spans() == []
            await getattr(stream, how)()  # the SDK's close() is a coroutine; aclose() is ours
            assert len(cap.spans()) == 1

    asyncio.run(main())
    assert (cap.span("chat gpt-4o-mini").attributes or {})[sc.AGENTPERF_STREAM_CLOSED_EARLY] is True


class BothProtocolsProxy(wrapt.ObjectProxy):
    """Like other instrumentations' stream wrappers (OpenLLMetry's ``ChatStream``): sync and async protocols."""

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Any:
        return next(self.__wrapped__)

    def __aiter__(self) -> Any:
        return self

    def __anext__(self) -> Any:
        return self.__wrapped__.__anext__()


def test_stream_wrapped_by_another_instrumentation(cap: Capture, server: FakeLLMServer) -> None:
    helper = HELPERS[2]
    client = helper.client(server, is_async=False)

    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def ask() -> Any:
        return BothProtocolsProxy(
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[], stream=True, stream_options={"include_usage": True}
            )
        )

    stream = ask()
    assert isinstance(stream, openai.Stream)
    assert len(list(stream)) == 3
    assert_accounted(cap, helper, helper.tokens, first_chunk=True)
    client.close()

    async def main() -> None:
        async with openai.AsyncOpenAI(base_url=server.url + "/v1", api_key="test", max_retries=0) as aclient:

            @ap.trace_llm(provider="openai", model="gpt-4o-mini")
            async def ask_async() -> Any:
                raw = await aclient.chat.completions.create(model="gpt-4o-mini", messages=[], stream=True)
                return BothProtocolsProxy(raw)

            stream = await ask_async()
            assert isinstance(stream, openai.AsyncStream)
            assert len([c async for c in stream]) == 2

    asyncio.run(main())
    assert len(cap.spans()) == 2
