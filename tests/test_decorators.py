"""Every decorator × every function shape × every outcome gives one correct span and one duration point."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode

import otel_agentperf as ap
from otel_agentperf import semconv as sc
from otel_agentperf.testing import Capture


class Boom(Exception):
    pass


DECORATORS: dict[str, tuple[Callable[[], Any], str, SpanKind, str]] = {
    "agent": (lambda: ap.trace_agent("planner"), "invoke_agent planner", SpanKind.INTERNAL, sc.INVOKE_AGENT_DURATION),
    "tool": (
        lambda: ap.trace_tool("web_search"),
        "execute_tool web_search",
        SpanKind.INTERNAL,
        sc.EXECUTE_TOOL_DURATION,
    ),
    "llm": (
        lambda: ap.trace_llm(provider="openai", model="gpt-4o-mini"),
        "chat gpt-4o-mini",
        SpanKind.CLIENT,
        sc.CLIENT_OPERATION_DURATION,
    ),
    "workflow": (
        lambda: ap.trace_workflow("research"),
        "invoke_workflow research",
        SpanKind.INTERNAL,
        sc.WORKFLOW_DURATION,
    ),
}


def make(shape: str, outcome: str, exc: BaseException) -> Callable[..., Any]:
    """A user function of the given shape that returns, raises, or yields several items."""
    if shape == "sync":

        def f_sync(x: int) -> int:
            if outcome == "raises":
                raise exc
            return x * 2

        return f_sync
    if shape == "async":

        async def f_async(x: int) -> int:
            await asyncio.sleep(0)
            if outcome == "raises":
                raise exc
            if outcome == "cancelled":
                await asyncio.sleep(10)
            return x * 2

        return f_async
    if shape == "gen":

        def f_gen(x: int) -> Iterator[int]:
            for i in range(3):
                yield x + i
            if outcome == "raises":
                raise exc

        return f_gen

    async def f_agen(x: int) -> AsyncIterator[int]:
        for i in range(3):
            await asyncio.sleep(0)
            yield x + i
        if outcome == "raises":
            raise exc
        if outcome == "cancelled":
            await asyncio.sleep(10)

    return f_agen


def run(shape: str, outcome: str, fn: Callable[..., Any]) -> Any:
    """Drive ``fn`` as a user would; returns its result or the exception it raised."""
    try:
        if shape == "sync":
            return fn(1)
        if shape == "async":
            if outcome == "cancelled":

                async def cancel() -> Any:
                    task = asyncio.ensure_future(fn(1))
                    await asyncio.sleep(0.01)
                    task.cancel()
                    return await task

                return asyncio.run(cancel())
            return asyncio.run(fn(1))
        if shape == "gen":
            gen = fn(1)
            if outcome == "broken":
                first = next(gen)
                gen.close()
                return [first]
            return list(gen)

        async def consume() -> Any:
            agen = fn(1)
            if outcome == "broken":
                first = await agen.__anext__()
                await agen.aclose()
                return [first]
            if outcome == "cancelled":

                async def drain() -> list[int]:
                    return [i async for i in agen]

                task = asyncio.ensure_future(drain())
                await asyncio.sleep(0.01)
                task.cancel()
                return await task
            return [i async for i in agen]

        return asyncio.run(consume())
    except BaseException as caught:
        return caught


CASES = [
    (shape, outcome)
    for shape in ("sync", "async", "gen", "agen")
    for outcome in ("returns", "raises", "cancelled", "broken")
    if not (outcome == "cancelled" and shape in ("sync", "gen"))
    and not (outcome == "broken" and shape in ("sync", "async"))
]


@pytest.mark.parametrize("kind", sorted(DECORATORS))
@pytest.mark.parametrize(("shape", "outcome"), CASES)
def test_shape_outcome_matrix(cap: Capture, kind: str, shape: str, outcome: str) -> None:
    factory, span_name, span_kind, metric = DECORATORS[kind]
    exc = Boom("bad")
    plain = make(shape, outcome, exc)
    expected = run(shape, outcome, make(shape, outcome, exc))
    traced = factory()(plain)
    got = run(shape, outcome, traced)

    if outcome == "raises":
        assert got is exc  # the very same exception object
    elif outcome == "cancelled":
        assert isinstance(got, asyncio.CancelledError)
    else:
        assert got == expected

    span = cap.span(span_name)
    assert span.kind == span_kind
    assert span.end_time is not None and span.start_time is not None and span.end_time >= span.start_time
    attrs = dict(span.attributes or {})
    if outcome == "raises":
        assert span.status.status_code == StatusCode.ERROR
        assert attrs[sc.ERROR_TYPE] == "tests.test_decorators.Boom"
        assert [e.name for e in span.events] == ["exception"]
        assert cap.histogram_count(metric, {sc.ERROR_TYPE: "tests.test_decorators.Boom"}) == 1
    elif outcome == "cancelled":
        assert attrs[sc.ERROR_TYPE] == "asyncio.exceptions.CancelledError"
        assert cap.histogram_count(metric, {sc.ERROR_TYPE: "asyncio.exceptions.CancelledError"}) == 1
    else:
        assert span.status.status_code == StatusCode.UNSET
        assert sc.ERROR_TYPE not in attrs
        assert cap.histogram_count(metric) == 1
        assert all(sc.ERROR_TYPE not in (p.attributes or {}) for p in cap.points(metric))
    if outcome == "broken":
        assert attrs[sc.AGENTPERF_STREAM_CLOSED_EARLY] is True
    if shape in ("gen", "agen") and outcome == "returns":
        assert attrs[sc.AGENTPERF_STREAM_CHUNKS] == 3
    assert cap.histogram_count(metric) == 1


def test_user_traceback_is_preserved(cap: Capture) -> None:
    @ap.trace_tool("t")
    def f() -> None:
        raise Boom("x")

    with pytest.raises(Boom) as info:
        f()
    frames = [entry.name for entry in info.traceback]
    assert frames[-1] == "f"  # the user's frame is still where the error was raised


def test_generator_span_covers_iteration_and_ends_on_gc(cap: Capture) -> None:
    @ap.trace_agent("streamer")
    def stream() -> Iterator[int]:
        yield 1
        yield 2

    gen = stream()
    assert next(gen) == 1
    assert cap.spans() == []  # still open while the consumer holds it
    del gen
    gc.collect()
    span = cap.span("invoke_agent streamer")
    assert span.attributes is not None and span.attributes[sc.AGENTPERF_STREAM_CLOSED_EARLY] is True


def test_generator_send_and_throw_are_forwarded(cap: Capture) -> None:
    @ap.trace_tool("echo")
    def echo() -> Iterator[Any]:
        received = None
        while True:
            try:
                received = yield received
            except KeyError:
                received = "caught"

    gen = echo()
    assert next(gen) is None
    assert gen.send("a") == "a"
    assert gen.throw(KeyError("k")) == "caught"
    gen.close()
    assert cap.span("execute_tool echo").attributes[sc.AGENTPERF_STREAM_CLOSED_EARLY] is True  # type: ignore[index]


def test_generator_return_value_is_kept(cap: Capture) -> None:
    @ap.trace_tool("g")
    def g() -> Iterator[int]:
        yield 1
        return 42

    def outer() -> Iterator[int]:
        value = yield from g()
        yield value

    assert list(outer()) == [1, 42]


def test_async_generator_break_ends_span(cap: Capture) -> None:
    @ap.trace_llm(provider="openai", model="m")
    async def chunks() -> AsyncIterator[int]:
        for i in range(10):
            yield i

    async def main() -> None:
        agen = chunks()
        async for i in agen:
            if i == 2:
                break
        await agen.aclose()

    asyncio.run(main())
    span = cap.span("chat m")
    assert span.attributes[sc.AGENTPERF_STREAM_CLOSED_EARLY] is True  # type: ignore[index]
    assert span.attributes[sc.AGENTPERF_STREAM_CHUNKS] == 3  # type: ignore[index]


class Bot:
    scale = 3

    @ap.trace_agent("method")
    def method(self, x: int) -> int:
        return x * self.scale

    @ap.trace_tool("cls")
    @classmethod
    def cls_method(cls, x: int) -> int:
        return x * cls.scale

    @ap.trace_tool("static")
    @staticmethod
    def static_method(x: int) -> int:
        return x + 1

    @classmethod
    @ap.trace_tool("cls_inner")
    def cls_inner(cls, x: int) -> int:
        return x - cls.scale


def test_methods(cap: Capture) -> None:
    bot = Bot()
    assert bot.method(2) == 6
    assert Bot.cls_method(2) == 6
    assert bot.cls_method(1) == 3
    assert Bot.static_method(1) == 2
    assert Bot.cls_inner(5) == 2
    assert sorted(cap.span_names()) == sorted(
        ["invoke_agent method", "execute_tool cls", "execute_tool cls", "execute_tool static", "execute_tool cls_inner"]
    )


def test_bare_decorators_use_qualified_name(cap: Capture) -> None:
    @ap.trace_agent
    def helper() -> int:
        return 1

    @ap.trace_tool
    def lookup() -> int:
        return 2

    @ap.trace_workflow
    def flow() -> int:
        return 3

    @ap.trace_llm
    def ask(model: str) -> int:
        return 4

    assert (helper(), lookup(), flow(), ask(model="gpt-4o")) == (1, 2, 3, 4)
    names = cap.span_names()
    assert f"invoke_agent {helper.__qualname__}" in names
    assert f"execute_tool {lookup.__qualname__}" in names
    assert f"invoke_workflow {flow.__qualname__}" in names
    assert "chat gpt-4o" in names  # model taken from the call's model= keyword
    assert cap.span("chat gpt-4o").attributes[sc.GEN_AI_REQUEST_MODEL] == "gpt-4o"  # type: ignore[index]


def test_signature_and_metadata_preserved() -> None:
    import inspect

    def f(a: int, b: str = "x", *, c: float = 1.0) -> str:
        """Doc."""
        return b * a

    g = ap.trace_tool("f")(f)
    assert inspect.signature(g) == inspect.signature(f)
    assert g.__doc__ == "Doc." and g.__name__ == "f" and g.__wrapped__ is f  # type: ignore[attr-defined]

    async def h() -> None: ...

    async def ag() -> AsyncIterator[int]:
        yield 1

    def gg() -> Iterator[int]:
        yield 1

    assert inspect.iscoroutinefunction(ap.trace_agent("h")(h))
    assert inspect.isasyncgenfunction(ap.trace_agent("ag")(ag))
    assert inspect.isgeneratorfunction(ap.trace_agent("gg")(gg))


def test_context_managers_sync_and_async(cap: Capture) -> None:
    with ap.trace_agent("cm") as span:
        span.set_attribute("custom", 1)
        with ap.trace_tool("inner", call_id="call-1"):
            pass

    async def main() -> None:
        async with ap.trace_workflow("wf"):
            async with ap.llm_call(provider="anthropic", model="claude-3-5-haiku-latest"):
                ap.record_usage(input_tokens=10, output_tokens=2)

    asyncio.run(main())
    agent = cap.span("invoke_agent cm")
    tool = cap.span("execute_tool inner")
    assert agent.attributes["custom"] == 1  # type: ignore[index]
    assert tool.parent is not None and tool.parent.span_id == agent.context.span_id
    assert tool.attributes[sc.GEN_AI_TOOL_CALL_ID] == "call-1"  # type: ignore[index]
    assert tool.attributes[sc.GEN_AI_AGENT_NAME] == "cm"  # type: ignore[index]
    llm = cap.span("chat claude-3-5-haiku-latest")
    assert llm.kind == SpanKind.CLIENT
    assert llm.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 10  # type: ignore[index]


def test_context_manager_records_exception_and_reraises(cap: Capture) -> None:
    err = Boom("x")
    with pytest.raises(Boom) as info:
        with ap.trace_agent("cm"):
            raise err
    assert info.value is err
    assert cap.span("invoke_agent cm").attributes[sc.ERROR_TYPE] == "tests.test_decorators.Boom"  # type: ignore[index]


def test_same_context_manager_object_reused_nested(cap: Capture) -> None:
    tool = ap.trace_tool("reused")
    with tool:
        with tool:
            pass
    spans = [s for s in cap.spans() if s.name == "execute_tool reused"]
    assert len(spans) == 2
    inner, outer = spans
    assert inner.parent is not None and inner.parent.span_id == outer.context.span_id


def test_agent_attributes(cap: Capture) -> None:
    @ap.trace_agent("planner", id="asst_1", description="Plans the work", model="gpt-4o")
    def plan() -> None:
        return None

    plan()
    attrs = dict(cap.span("invoke_agent planner").attributes or {})
    assert attrs == {
        sc.GEN_AI_OPERATION_NAME: "invoke_agent",
        sc.GEN_AI_AGENT_NAME: "planner",
        sc.GEN_AI_AGENT_ID: "asst_1",
        sc.GEN_AI_AGENT_DESCRIPTION: "Plans the work",
        sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
    }
