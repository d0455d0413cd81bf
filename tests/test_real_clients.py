"""The real ``openai`` and ``anthropic`` clients against a local server, traced with ``trace_llm``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

import otel_agentperf as ap
from otel_agentperf import semconv as sc
from otel_agentperf.testing import Capture
from tests.support.fake_llm_server import FakeLLMServer


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    s = FakeLLMServer()
    yield s
    s.stop()


def test_openai_chat_completion(cap: Capture, server: FakeLLMServer) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="test", max_retries=0)

    @ap.trace_agent("support")
    def support() -> str:
        return ask([{"role": "user", "content": "Capital of France?"}]).choices[0].message.content or ""

    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def ask(messages: Any) -> Any:
        return client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    assert support() == "Paris."
    attrs = dict(cap.span("chat gpt-4o-mini").attributes or {})
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 57
    assert attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 32
    assert attrs[sc.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    assert attrs[sc.GEN_AI_AGENT_NAME] == "support"
    assert cap.histogram_sum(sc.CLIENT_TOKEN_USAGE, {sc.GEN_AI_TOKEN_TYPE: "output"}) == 9
    client.close()


def test_openai_returned_stream_keeps_span_open_until_consumed(cap: Capture, server: FakeLLMServer) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="test", max_retries=0)

    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def ask_stream() -> Any:
        return client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )

    stream = ask_stream()
    assert cap.spans() == []  # not ended until the stream is consumed
    text = "".join((c.choices[0].delta.content or "") for c in stream if c.choices)
    assert text == "Paris."
    attrs = dict(cap.span("chat gpt-4o-mini").attributes or {})
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 20
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[sc.AGENTPERF_STREAM_CHUNKS] == 3
    assert sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in attrs
    client.close()


def test_openai_stream_closed_early_with_context_manager(cap: Capture, server: FakeLLMServer) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="test", max_retries=0)

    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def ask_stream() -> Any:
        return client.chat.completions.create(model="gpt-4o-mini", messages=[], stream=True)

    with ask_stream() as stream:
        next(iter(stream))
    span = cap.span("chat gpt-4o-mini")
    assert (span.attributes or {})[sc.AGENTPERF_STREAM_CLOSED_EARLY] is True
    client.close()


def test_async_openai_stream(cap: Capture, server: FakeLLMServer) -> None:
    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    async def ask_stream(client: openai.AsyncOpenAI) -> Any:
        return await client.chat.completions.create(
            model="gpt-4o-mini", messages=[], stream=True, stream_options={"include_usage": True}
        )

    async def main() -> int:
        async with openai.AsyncOpenAI(base_url=server.url + "/v1", api_key="test", max_retries=0) as client:
            n = 0
            async for _ in await ask_stream(client):
                n += 1
            return n

    assert asyncio.run(main()) == 3
    attrs = dict(cap.span("chat gpt-4o-mini").attributes or {})
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 3


def test_anthropic_message(cap: Capture, server: FakeLLMServer) -> None:
    client = anthropic.Anthropic(base_url=server.url, api_key="test", max_retries=0)
    with ap.llm_call(provider="anthropic", model="claude-haiku-4-5"):
        message = client.messages.create(
            model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "Bonjour?"}]
        )
        ap.record_response(message)
    attrs = dict(cap.span("chat claude-haiku-4-5").attributes or {})
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 100  # 10 + 90 cache reads
    assert attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 90
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    client.close()
