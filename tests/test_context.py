"""Parent/child trees across await, gather, create_task and thread pools; no leaks between tasks."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from opentelemetry.sdk.trace import ReadableSpan

import otel_agentperf as ap
from otel_agentperf import semconv as sc
from otel_agentperf.setup.threads import patch_thread_pools
from otel_agentperf.testing import Capture


def parent_name(cap: Capture, span: ReadableSpan) -> str | None:
    if span.parent is None:
        return None
    by_id = {s.context.span_id: s.name for s in cap.spans()}
    return by_id.get(span.parent.span_id)


@ap.trace_tool("search")
async def search(q: str) -> str:
    await asyncio.sleep(0.001)
    return q


@ap.trace_llm(provider="openai", model="gpt-4o-mini")
async def ask(q: str) -> dict[str, object]:
    await asyncio.sleep(0.001)
    return {"usage": {"prompt_tokens": 7, "completion_tokens": 3}}


@ap.trace_agent("researcher")
async def researcher(q: str) -> list[str]:
    a, b = await asyncio.gather(search(q + "1"), search(q + "2"))
    task = asyncio.create_task(ask(q))
    await task
    return [a, b]


@ap.trace_agent("planner")
async def planner() -> None:
    await asyncio.gather(researcher("x"), researcher("y"))


def test_tree_across_gather_and_create_task(cap: Capture) -> None:
    asyncio.run(planner())
    spans = cap.spans()
    assert len(spans) == 1 + 2 + 4 + 2
    planner_span = cap.span("invoke_agent planner")
    assert planner_span.parent is None
    for span in spans:
        if span.name == "invoke_agent researcher":
            assert parent_name(cap, span) == "invoke_agent planner"
        elif span.name in ("execute_tool search", "chat gpt-4o-mini"):
            assert parent_name(cap, span) == "invoke_agent researcher"
            assert span.attributes[sc.GEN_AI_AGENT_NAME] == "researcher"  # type: ignore[index]
    assert {s.context.trace_id for s in spans} == {planner_span.context.trace_id}
    # Token totals roll up: each researcher 7+3, the planner both.
    assert planner_span.attributes[sc.AGENTPERF_USAGE_INPUT_TOKENS] == 14  # type: ignore[index]
    for span in spans:
        if span.name == "invoke_agent researcher":
            assert span.attributes[sc.AGENTPERF_USAGE_OUTPUT_TOKENS] == 3  # type: ignore[index]


def test_thread_pool_children_keep_parent(cap: Capture) -> None:
    patch_thread_pools()  # what configure() does by default

    @ap.trace_tool("fetch")
    def fetch(i: int) -> int:
        return i

    @ap.trace_agent("fanout")
    def fanout() -> list[int]:
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(fetch, range(8)))

    assert fanout() == list(range(8))
    agent = cap.span("invoke_agent fanout")
    tools = [s for s in cap.spans() if s.name == "execute_tool fetch"]
    assert len(tools) == 8
    assert all(t.parent is not None and t.parent.span_id == agent.context.span_id for t in tools)
    assert all(t.attributes[sc.GEN_AI_AGENT_NAME] == "fanout" for t in tools)  # type: ignore[index]


def test_run_in_executor_keeps_parent(cap: Capture) -> None:
    patch_thread_pools()

    @ap.trace_tool("blocking")
    def blocking() -> str:
        return threading.current_thread().name

    @ap.trace_agent("async_agent")
    async def agent() -> str:
        return await asyncio.get_running_loop().run_in_executor(None, blocking)

    asyncio.run(agent())
    assert parent_name(cap, cap.span("execute_tool blocking")) == "invoke_agent async_agent"


def test_no_context_leak_between_tasks_and_after(cap: Capture) -> None:
    seen: dict[str, str | None] = {}

    @ap.trace_tool("probe")
    async def probe(label: str) -> None:
        await asyncio.sleep(0.001)

    @ap.trace_agent("a")
    async def agent_a() -> None:
        await asyncio.sleep(0.002)
        await probe("a")

    async def untraced() -> None:
        await asyncio.sleep(0.001)
        with ap.trace_tool("orphan"):
            pass

    async def main() -> None:
        await asyncio.gather(agent_a(), untraced())

    asyncio.run(main())
    orphan = cap.span("execute_tool orphan")
    assert orphan.parent is None
    assert sc.GEN_AI_AGENT_NAME not in (orphan.attributes or {})
    # And nothing stays attached afterwards in this thread.
    with ap.trace_tool("after"):
        pass
    assert cap.span("execute_tool after").parent is None
    seen["ok"] = "yes"


def test_interleaved_async_generators_no_detach_errors(cap: Capture, caplog: pytest.LogCaptureFixture) -> None:
    @ap.trace_llm(provider="openai", model="stream")
    async def stream(n: int) -> AsyncIterator[int]:
        for i in range(n):
            await asyncio.sleep(0)
            with ap.trace_tool("inside"):
                pass
            yield i

    @ap.trace_agent("consumer")
    async def consume(n: int) -> list[int]:
        return [i async for i in stream(n)]

    async def main() -> None:
        # Two consumers interleave, and a third iterates a stream created in another task.
        g = stream(3)
        first = await g.__anext__()

        async def finish() -> list[int]:
            return [first] + [i async for i in g]

        results = await asyncio.gather(consume(4), consume(5), asyncio.create_task(finish()))
        assert results == [[0, 1, 2, 3], [0, 1, 2, 3, 4], [0, 1, 2]]

    with caplog.at_level(logging.ERROR):
        asyncio.run(main())
    assert "Failed to detach context" not in caplog.text
    streams = [s for s in cap.spans() if s.name == "chat stream"]
    assert len(streams) == 3
    stream_ids = {s.context.span_id for s in streams}
    inside = [s for s in cap.spans() if s.name == "execute_tool inside"]
    assert len(inside) == 12
    assert all(s.parent is not None and s.parent.span_id in stream_ids for s in inside)


def test_conversation_helper(cap: Capture) -> None:
    @ap.trace_llm(provider="openai", model="m")
    def ask() -> None:
        return None

    @ap.trace_agent("support")
    def support() -> None:
        ask()

    with ap.conversation("c-42"):
        assert ap.current_conversation() == "c-42"
        support()
    support()
    assert ap.current_conversation() is None
    agents = [s for s in cap.spans() if s.name == "invoke_agent support"]
    assert [dict(s.attributes or {}).get(sc.GEN_AI_CONVERSATION_ID) for s in agents] == ["c-42", None]
    llms = [s for s in cap.spans() if s.name == "chat m"]
    assert dict(llms[0].attributes or {}).get(sc.GEN_AI_CONVERSATION_ID) == "c-42"
    # Never a metric label.
    for metric in cap.metrics().values():
        for point in metric.data.data_points:
            assert sc.GEN_AI_CONVERSATION_ID not in (point.attributes or {})


def test_conversation_from_argument(cap: Capture) -> None:
    with ap.trace_agent("triage", conversation_id="thread-9"):
        pass
    assert cap.span("invoke_agent triage").attributes[sc.GEN_AI_CONVERSATION_ID] == "thread-9"  # type: ignore[index]


def test_the_call_path_shares_opentelemetrys_current_context() -> None:
    """Under the default runtime context the call path sets its ContextVar directly (runtime_context.DIRECT);
    what it attaches is what OpenTelemetry's own API then reads, and detaching restores it."""
    from opentelemetry import context, trace

    from otel_agentperf.tracing import runtime_context

    assert runtime_context.DIRECT
    before = context.get_current()
    token = runtime_context.attach(context.set_value("k", "v"))
    assert context.get_value("k") == "v" and runtime_context.get_current() is context.get_current()
    assert trace.get_current_span() is trace.INVALID_SPAN
    runtime_context.detach(token)
    assert context.get_current() is before
