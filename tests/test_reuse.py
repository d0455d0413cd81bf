"""One ``trace_*`` object serves any number of functions and ``with`` blocks, also concurrently."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

import otel_agentperf as ap
from otel_agentperf import semconv as sc
from otel_agentperf.testing import Capture
from otel_agentperf.tracing.state import STATE


class Boom(Exception):
    pass


def named(cap: Capture, name: str) -> list[ReadableSpan]:
    return [s for s in cap.spans() if s.name == name]


def by_id(cap: Capture) -> dict[int, ReadableSpan]:
    return {s.context.span_id: s for s in cap.spans() if s.context is not None}


def parent_of(spans: dict[int, ReadableSpan], span: ReadableSpan) -> ReadableSpan | None:
    return spans.get(span.parent.span_id) if span.parent is not None else None


def attr(span: ReadableSpan | None, key: str) -> object:
    assert span is not None
    return (span.attributes or {}).get(key)


def label(key: str, value: object) -> None:
    """Mark the current span (ours, whichever decorator or ``with`` made it)."""
    trace.get_current_span().set_attribute(key, value)  # type: ignore[arg-type]


# --- one object, several functions ---------------------------------------------------------------------


def test_one_llm_object_on_two_functions(cap: Capture) -> None:
    llm = ap.trace_llm(provider="openai", model="gpt-4o")

    @llm
    def ask() -> str:
        ap.record_usage(input_tokens=10, output_tokens=1)
        return "a"

    @llm
    async def ask_async() -> str:
        ap.record_usage(input_tokens=100, output_tokens=20)
        return "b"

    assert ask() == "a"
    assert asyncio.run(ask_async()) == "b"
    assert ask() == "a"
    spans = named(cap, "chat gpt-4o")
    assert len(spans) == 3
    assert sorted(attr(s, sc.GEN_AI_USAGE_INPUT_TOKENS) for s in spans) == [10, 10, 100]  # type: ignore[type-var]
    for span in spans:
        assert attr(span, sc.GEN_AI_PROVIDER_NAME) == "openai"
        assert attr(span, sc.GEN_AI_REQUEST_MODEL) == "gpt-4o"
    where = {sc.GEN_AI_PROVIDER_NAME: "openai", sc.GEN_AI_REQUEST_MODEL: "gpt-4o"}
    assert cap.histogram_count(sc.CLIENT_OPERATION_DURATION, where) == 3
    tokens_in = {**where, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_INPUT}
    tokens_out = {**where, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_OUTPUT}
    assert cap.histogram_sum(sc.CLIENT_TOKEN_USAGE, tokens_in) == 120
    assert cap.histogram_sum(sc.CLIENT_TOKEN_USAGE, tokens_out) == 22


def test_llm_object_without_model_takes_each_calls_model(cap: Capture) -> None:
    llm = ap.trace_llm(provider="anthropic")

    @llm
    def first(model: str) -> int:
        return 1

    @llm
    def second(model: str) -> int:
        return 2

    assert first(model="claude-a") + second(model="claude-b") + first(model="claude-b") == 4
    assert sorted(cap.span_names()) == ["chat claude-a", "chat claude-b", "chat claude-b"]
    for model, count in (("claude-a", 1), ("claude-b", 2)):
        where = {sc.GEN_AI_REQUEST_MODEL: model, sc.GEN_AI_PROVIDER_NAME: "anthropic"}
        assert cap.histogram_count(sc.CLIENT_OPERATION_DURATION, where) == count


def test_unnamed_object_names_each_function_after_itself(cap: Capture) -> None:
    tool = ap.trace_tool()
    agent = ap.trace_agent()

    @tool
    def lookup() -> int:
        return 1

    @tool
    def fetch() -> int:
        return 2

    @agent
    def plan() -> int:
        return 3

    @agent
    async def act() -> int:
        return 4

    assert lookup() + fetch() + plan() + asyncio.run(act()) == 10
    with tool:
        pass
    with agent:
        pass
    names = sorted(cap.span_names())
    assert names == sorted(
        [
            f"execute_tool {lookup.__qualname__}",
            f"execute_tool {fetch.__qualname__}",
            f"invoke_agent {plan.__qualname__}",
            f"invoke_agent {act.__qualname__}",
            "execute_tool",
            "invoke_agent",
        ]
    )
    assert cap.histogram_count(sc.EXECUTE_TOOL_DURATION, {sc.GEN_AI_TOOL_NAME: fetch.__qualname__}) == 1
    assert cap.histogram_count(sc.INVOKE_AGENT_DURATION, {sc.GEN_AI_AGENT_NAME: act.__qualname__}) == 1


def test_one_tool_object_keeps_each_functions_signature(cap: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(STATE, "capture_content", True)
    tool = ap.trace_tool("search", description="finds things")

    @tool
    def by_query(query: str) -> str:
        return query

    @tool
    def by_id(ident: int, *, exact: bool = False) -> int:
        return ident

    assert by_query("cats") == "cats"
    assert by_id(7, exact=True) == 7
    args = sorted(str(attr(s, sc.GEN_AI_TOOL_CALL_ARGUMENTS)) for s in named(cap, "execute_tool search"))
    assert [json.loads(a) for a in args] == [{"ident": 7, "exact": True}, {"query": "cats"}]
    for span in named(cap, "execute_tool search"):
        assert attr(span, sc.GEN_AI_TOOL_DESCRIPTION) == "finds things"
        assert attr(span, sc.GEN_AI_TOOL_TYPE) == "function"
    assert cap.histogram_count(sc.EXECUTE_TOOL_DURATION, {sc.GEN_AI_TOOL_NAME: "search"}) == 2


# --- decorator and context manager from the same object ---------------------------------------------------


def test_agent_object_as_decorator_and_context_manager(cap: Capture) -> None:
    agent = ap.trace_agent("triage", conversation_id="t-1")

    @agent
    def handle(x: int) -> int:
        return x + 1

    @agent
    async def handle_async(x: int) -> int:
        await asyncio.sleep(0)
        return x + 2

    @agent
    def stream(n: int) -> Iterator[int]:
        yield from range(n)

    @agent
    async def astream(n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i

    async def main() -> None:
        async with agent:
            assert await handle_async(1) == 3
        async with agent:
            assert [i async for i in astream(2)] == [0, 1]

    assert handle(1) == 2
    with agent:
        assert handle(2) == 3
    asyncio.run(main())
    assert list(stream(3)) == [0, 1, 2]
    with agent:
        pass
    assert handle(3) == 4

    spans = named(cap, "invoke_agent triage")
    assert len(spans) == 10
    assert len(cap.spans()) == 10
    for span in spans:
        assert attr(span, sc.GEN_AI_AGENT_NAME) == "triage"
        assert attr(span, sc.GEN_AI_CONVERSATION_ID) == "t-1"
        assert span.status.status_code != StatusCode.ERROR
    ids = by_id(cap)
    roots = [s for s in spans if s.parent is None]
    children = [s for s in spans if s.parent is not None]
    assert len(roots) == 7 and len(children) == 3
    for child in children:
        assert parent_of(ids, child) in roots
    assert cap.histogram_count(sc.INVOKE_AGENT_DURATION, {sc.GEN_AI_AGENT_NAME: "triage"}) == 10


def test_context_manager_first_then_decorator(cap: Capture) -> None:
    workflow = ap.trace_workflow("pipeline")
    with workflow:
        pass

    @workflow
    def run() -> str:
        return "done"

    with workflow:
        assert run() == "done"
    spans = named(cap, "invoke_workflow pipeline")
    assert len(spans) == 3
    inner = [s for s in spans if s.parent is not None]
    assert len(inner) == 1
    assert cap.histogram_count(sc.WORKFLOW_DURATION, {sc.GEN_AI_WORKFLOW_NAME: "pipeline"}) == 3


def test_tool_and_workflow_objects_reused(cap: Capture) -> None:
    workflow = ap.trace_workflow("research")
    tool = ap.trace_tool("fetch")

    @tool
    def fetch_a() -> str:
        return "a"

    @tool
    async def fetch_b() -> str:
        return "b"

    @workflow
    def step() -> str:
        with tool:
            return fetch_a()

    async def main() -> None:
        async with workflow:
            assert await fetch_b() == "b"
            async with tool:
                pass

    with workflow:
        assert step() == "a"
    asyncio.run(main())

    ids = by_id(cap)
    workflows = named(cap, "invoke_workflow research")
    tools = named(cap, "execute_tool fetch")
    assert len(workflows) == 3 and len(tools) == 4
    # with workflow > step (workflow) > with tool > fetch_a (tool); async with workflow > fetch_b, with tool
    outer = [w for w in workflows if w.parent is None]
    assert len(outer) == 2
    nested_workflow = next(w for w in workflows if w.parent is not None)
    assert parent_of(ids, nested_workflow) in outer
    depth = {id(t): 0 for t in tools}
    for t in tools:
        p = parent_of(ids, t)
        while p is not None:
            depth[id(t)] += 1
            p = parent_of(ids, p)
    assert sorted(depth.values()) == [1, 1, 2, 3]
    assert cap.histogram_count(sc.EXECUTE_TOOL_DURATION, {sc.GEN_AI_TOOL_NAME: "fetch"}) == 4
    assert cap.histogram_count(sc.WORKFLOW_DURATION, {sc.GEN_AI_WORKFLOW_NAME: "research"}) == 3


def test_nested_with_of_one_object_gives_nested_spans(cap: Capture) -> None:
    agent = ap.trace_agent("loop")

    @agent
    def body() -> None:
        label("level", 3)

    with agent as outer:
        outer.set_attribute("level", 1)
        with agent as middle:
            middle.set_attribute("level", 2)
            body()
        outer.set_attribute("after_inner", True)  # the outer span is still open

    ids = by_id(cap)
    spans = {attr(s, "level"): s for s in named(cap, "invoke_agent loop")}
    assert sorted(spans) == [1, 2, 3]  # type: ignore[type-var]
    assert spans[1].parent is None
    assert parent_of(ids, spans[2]) is spans[1]
    assert parent_of(ids, spans[3]) is spans[2]
    assert attr(spans[1], "after_inner") is True
    assert trace.get_current_span() is trace.INVALID_SPAN  # nothing left attached


def test_exception_in_reused_with_passes_through_and_marks_error(cap: Capture) -> None:
    agent = ap.trace_agent("fragile")

    @agent
    def fine() -> int:
        return 1

    assert fine() == 1
    err = Boom("bad")
    with pytest.raises(Boom) as info:
        with agent:
            with agent:
                raise err
    assert info.value is err
    with agent:
        pass

    async def main() -> None:
        async with agent:
            raise err

    with pytest.raises(Boom) as info2:
        asyncio.run(main())
    assert info2.value is err

    spans = named(cap, "invoke_agent fragile")
    assert len(spans) == 5
    failed = [s for s in spans if s.status.status_code == StatusCode.ERROR]
    assert len(failed) == 3
    for span in failed:
        assert attr(span, sc.ERROR_TYPE) == "tests.test_reuse.Boom"
    assert cap.histogram_count(sc.INVOKE_AGENT_DURATION, {sc.ERROR_TYPE: "tests.test_reuse.Boom"}) == 3
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_failed_enter_does_not_end_the_outer_use(cap: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    class BrokenTracer:
        def start_span(self, *args: object, **kwargs: object) -> None:
            raise RuntimeError("tracer broken")

    monkeypatch.delenv("AGENTPERF_RAISE_INTERNAL_ERRORS")  # the failed enter is logged, not raised
    agent = ap.trace_agent("sturdy")
    working = STATE.tracer
    with agent as outer:
        monkeypatch.setattr(STATE, "tracer", BrokenTracer())
        with agent as inner:
            inner.set_attribute("ignored", True)  # a no-op span
        monkeypatch.setattr(STATE, "tracer", working)
        outer.set_attribute("after_inner", True)
        assert trace.get_current_span() is outer
    spans = named(cap, "invoke_agent sturdy")
    assert len(spans) == 1
    assert attr(spans[0], "after_inner") is True
    assert trace.get_current_span() is trace.INVALID_SPAN


# --- concurrency -------------------------------------------------------------------------------------


def check_tree(cap: Capture, key: str, workers: int, rounds: int) -> None:
    """Each worker's round: ``with agent`` (outer) > ``with agent`` (inner) > decorated agent > tool."""
    ids = by_id(cap)
    agents = named(cap, "invoke_agent worker")
    tools = named(cap, "execute_tool step")
    assert len(agents) == workers * rounds * 3
    assert len(tools) == workers * rounds
    assert len(cap.spans()) == workers * rounds * 4
    for tool in tools:
        who = attr(tool, key)
        chain = [tool]
        parent = parent_of(ids, tool)
        while parent is not None:
            chain.append(parent)
            parent = parent_of(ids, parent)
        assert [s.name for s in chain] == ["execute_tool step"] + ["invoke_agent worker"] * 3
        assert [attr(s, "depth") for s in chain[1:]] == ["decorated", "inner", "outer"]
        assert all(attr(s, key) == who for s in chain)  # the same worker and round all the way up
        assert len({s.context.trace_id for s in chain if s.context is not None}) == 1
    for span in agents + tools:
        assert span.status.status_code != StatusCode.ERROR
    assert cap.histogram_count(sc.INVOKE_AGENT_DURATION, {sc.GEN_AI_AGENT_NAME: "worker"}) == workers * rounds * 3


def test_shared_objects_from_threads(cap: Capture) -> None:
    workers, rounds = 8, 25
    agent = ap.trace_agent("worker")
    tool = ap.trace_tool("step")
    start = threading.Barrier(workers)
    errors: list[BaseException] = []

    @tool
    def step(who: str) -> None:
        time.sleep(0)
        label("who", who)

    @agent
    def decorated(who: str) -> None:
        label("who", who)
        label("depth", "decorated")
        step(who)

    def work(n: int) -> None:
        try:
            start.wait()  # every thread's first use of the objects at once
            for r in range(rounds):
                who = f"{n}/{r}"
                with agent as outer:
                    outer.set_attributes({"who": who, "depth": "outer"})
                    time.sleep(0)  # lets the other threads run: their uses interleave with this one
                    with agent as inner:
                        inner.set_attributes({"who": who, "depth": "inner"})
                        decorated(who)
                        time.sleep(0)
                    assert trace.get_current_span() is outer
            assert trace.get_current_span() is trace.INVALID_SPAN
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    check_tree(cap, "who", workers, rounds)


def test_shared_objects_from_asyncio_tasks(cap: Capture) -> None:
    tasks, rounds = 50, 4
    agent = ap.trace_agent("worker")
    tool = ap.trace_tool("step")

    @tool
    async def step(who: str) -> None:
        await asyncio.sleep(0)
        label("who", who)

    @agent
    async def decorated(who: str) -> None:
        label("who", who)
        label("depth", "decorated")
        await asyncio.sleep(0)
        await step(who)

    async def work(n: int) -> None:
        for r in range(rounds):
            who = f"{n}/{r}"
            async with agent as outer:
                outer.set_attributes({"who": who, "depth": "outer"})
                await asyncio.sleep(0)  # every task switch interleaves the tasks' uses
                with agent as inner:
                    inner.set_attributes({"who": who, "depth": "inner"})
                    await asyncio.sleep(0)
                    await decorated(who)
                    await asyncio.sleep(0)
                assert trace.get_current_span() is outer
        assert trace.get_current_span() is trace.INVALID_SPAN

    async def main() -> None:
        await asyncio.gather(*(work(n) for n in range(tasks)))

    asyncio.run(main())
    check_tree(cap, "who", tasks, rounds)
