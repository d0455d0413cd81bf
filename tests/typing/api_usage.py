"""Type-checked (pyright strict) usage of the public API: decorators keep exact signatures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import assert_type

import otel_agentperf as ap


@ap.trace_agent("planner")
async def plan(goal: str, *, depth: int = 1) -> list[str]:
    return [goal] * depth


@ap.trace_agent
def bare(x: int) -> int:
    return x


@ap.trace_tool("search")
def search(q: str) -> list[str]:
    return [q]


@ap.trace_llm(provider="openai", model="gpt-4o-mini")
def ask(messages: list[dict[str, str]]) -> dict[str, object]:
    return {}


@ap.trace_llm(provider="anthropic", model="claude-sonnet-4-5")
async def stream() -> AsyncIterator[str]:
    yield "x"


@ap.trace_workflow("flow")
def flow() -> Iterator[int]:
    yield 1


async def usage() -> None:
    assert_type(await plan("g", depth=2), list[str])
    assert_type(bare(1), int)
    assert_type(search("q"), list[str])
    assert_type(ask([{"role": "user", "content": "hi"}]), dict[str, object])
    async for chunk in stream():
        assert_type(chunk, str)
    assert_type(list(flow()), list[int])
    with ap.trace_agent("cm") as span:
        span.set_attribute("k", 1)
    async with ap.llm_call(provider="openai", model="m"):
        ap.record_usage(input_tokens=1, output_tokens=2, model="m", provider="openai")
    with ap.conversation("c-1"):
        pass
    score, parts = ap.health()  # still a (score, components) pair; .budget is the daily budget's projection
    assert_type(score, float)
    assert_type(parts, dict[str, float])
    projection = ap.health().budget
    if projection is not None:
        assert_type(projection.text(), str)
        assert_type(projection.reached_at, float | None)
