"""The demo's simulated multi-agent system, instrumented only through the public API.

A research workflow per request: a planner (OpenAI) splits the question, researchers (Anthropic and
Gemini, in parallel) search, fetch and summarise with retries on rate limits, and a writer streams the
report (Anthropic events). Responses are fake but shaped exactly like the providers' SDK objects, so
token usage is read the way it is from real clients. Fully offline.
"""

from __future__ import annotations

import asyncio
import math
import random
import zlib
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from .. import semconv as sc
from ..tracing.decorators import trace_agent, trace_llm, trace_tool, trace_workflow
from ..tracing.record import record_cost


class RateLimitError(Exception):
    """The fake provider's 429."""


class WriterCrashError(Exception):
    """The injected fault (--fault-at): the writer's backend fails."""


class ToolTimeoutError(Exception):
    """A tool that took too long."""


@dataclass(frozen=True)
class Model:
    provider: str
    name: str
    ttft: float  # median seconds to the first token
    tokens_per_s: float
    error_rate: float


PLANNER = Model("openai", "gpt-4o", 0.45, 90.0, 0.0)  # reliable, and more model than the step needs


HAIKU = Model("anthropic", "claude-haiku-4-5", 0.35, 160.0, 0.03)


FLASH = Model("gcp.gemini", "gemini-2.0-flash", 0.25, 220.0, 0.14)


WRITER = Model("anthropic", "claude-sonnet-4-5", 0.8, 110.0, 0.02)


OPUS = Model("anthropic", "claude-opus-4-5", 1.2, 60.0, 0.0)


EMBED = Model("openai", "text-embedding-3-small", 0.08, 1e9, 0.0)


WRITER_STYLE_GUIDE = "Write in a clear, neutral, well-sourced style. Cite every claim. " * 80  # ~5,000 chars


QUERIES = (
    "vector database pricing",
    "agent evaluation benchmarks",
    "prompt caching savings",
    "LLM latency percentiles",
    "OpenTelemetry GenAI conventions",
    "retry policies for rate limits",
)


@dataclass
class Progressed:
    started: int = 0
    done: int = 0
    failed: int = 0
    llm_calls: int = 0
    tokens: int = 0


_STREAM: ContextVar[tuple[str, random.Random, float] | None] = ContextVar("agentperf_demo_stream", default=None)
"""The running task's random stream: (key, generator, the request's planned start in seconds)."""

DRIFT_MAX = 4.0
"""How far the drift (--drift-at) takes latency and tokens by the end of its window."""


@dataclass
class Sim:
    """The simulated world. Same seed, same workload: every task that runs concurrently with others (a
    request, a researcher, a page fetch) draws from its own stream, derived from the seed and its place in
    the request (``stream``), never from a generator other tasks share, whose draws would interleave by
    timing. Faults hit the requests planned to start inside the window, whatever the machine's speed."""

    seed: int
    scale: float
    fault_window: tuple[float, float] | None = None
    """(start, end) seconds after the run starts: the writer crashes and spend spikes meanwhile."""
    stats: Progressed = field(default_factory=Progressed)
    drift_window: tuple[float, float] | None = None
    """(start, end) seconds after the run starts: latency and tokens (so spend) grow steadily, then recover."""
    _root: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._root = random.Random(f"{self.seed}")

    @property
    def rng(self) -> random.Random:
        current = _STREAM.get()
        return current[1] if current is not None else self._root

    def stream(self, label: str, at: float | None = None) -> None:
        """Give the current task its own generator, seeded by the seed and ``label`` under its parent's key.
        Call it first thing in a coroutine that runs as its own task (its context is a copy)."""
        parent = _STREAM.get()
        key = f"{parent[0]}/{label}" if parent is not None else label
        start = at if at is not None else parent[2] if parent is not None else 0.0
        _STREAM.set((key, random.Random(f"{self.seed}:{key}"), start))

    def in_fault(self) -> bool:
        current = _STREAM.get()
        if self.fault_window is None or current is None:
            return False
        return self.fault_window[0] <= current[2] < self.fault_window[1]

    def arrivals(self, duration: float, rate: float) -> list[float]:
        """When requests start (Poisson, ``rate`` per second): a function of seed, duration and rate only."""
        rng = random.Random(f"{self.seed}:arrivals")
        out: list[float] = []
        at = 0.0
        while at < duration:
            out.append(at)
            at += rng.expovariate(rate)
        return out

    def drift(self) -> float:
        """1 outside the drift window; inside, from 1 up to ``DRIFT_MAX`` at its end, linearly, by the request's
        planned start (a slow creep the forecasts catch before the thresholds, and a regression against the
        baseline; the same for a seed whatever the machine's speed)."""
        current = _STREAM.get()
        if self.drift_window is None or current is None:
            return 1.0
        start, end = self.drift_window
        at = current[2]
        if not start <= at < end:
            return 1.0
        return 1.0 + (DRIFT_MAX - 1.0) * (at - start) / max(end - start, 1e-9)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0) * self.scale * self.drift())

    def lognormal(self, median: float, sigma: float = 0.45) -> float:
        return median * math.exp(self.rng.gauss(0.0, sigma))

    def tokens(self, low: int, high: int) -> int:
        return int(self.rng.triangular(low, high, low + (high - low) * 0.35) * self.drift())

    async def latency(self, model: Model, output_tokens: int) -> None:
        await self.sleep(self.lognormal(model.ttft) + output_tokens / model.tokens_per_s)

    def maybe_fail(self, model: Model) -> None:
        if self.rng.random() < model.error_rate:
            raise RateLimitError(f"{model.provider}: 429 Too Many Requests")


def openai_response(model: Model, inp: int, out: int, cached: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-demo",
        "object": "chat.completion",
        "model": f"{model.name}-2024-08-06",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "..."}}],
        "usage": {
            "prompt_tokens": inp,
            "completion_tokens": out,
            "prompt_tokens_details": {"cached_tokens": cached},
        },
    }


def anthropic_message(model: Model, inp: int, out: int, cache_read: int) -> dict[str, Any]:
    return {
        "id": "msg_demo",
        "type": "message",
        "model": model.name,
        "stop_reason": "end_turn",
        "content": [{"type": "text", "text": "..."}],
        "usage": {"input_tokens": inp - cache_read, "output_tokens": out, "cache_read_input_tokens": cache_read},
    }


def gemini_response(model: Model, inp: int, out: int) -> dict[str, Any]:
    return {
        "model_version": model.name,
        "candidates": [{"finish_reason": "STOP"}],
        "usage_metadata": {"prompt_token_count": inp, "candidates_token_count": out},
    }


def build(sim: Sim) -> Any:
    """The instrumented application: plain async functions under the public decorators."""

    # Built-in inefficiencies the suggestions must find: an over-powered model (gpt-4o) for a planning step
    # with short outputs, whose prompt carries the whole session history (context bloat); repeated
    # identical web searches; a flaky page fetcher; a slow streaming writer with a long, uncached system
    # prompt on Anthropic (prompt caching).
    @trace_llm(provider=PLANNER.provider, model=PLANNER.name)
    async def plan_call(question: str, session: str, history: int) -> dict[str, Any]:
        inp, out = sim.tokens(300, 900) + 1200 * history, sim.tokens(60, 200)
        await sim.latency(PLANNER, out)
        sim.maybe_fail(PLANNER)
        sim.stats.llm_calls += 1
        sim.stats.tokens += inp + out
        return openai_response(PLANNER, inp, out, cached=int(inp * sim.rng.choice((0.0, 0.0, 0.5))))

    @trace_llm(provider=EMBED.provider, model=EMBED.name, operation=sc.OP_EMBEDDINGS)
    async def embed(text: str) -> dict[str, Any]:
        await sim.sleep(sim.lognormal(EMBED.ttft))
        sim.stats.llm_calls += 1
        return {
            "object": "list",
            "model": EMBED.name,
            "usage": {"prompt_tokens": 8 + len(text) // 4, "total_tokens": 0},
        }

    @trace_tool("web_search", description="Searches the web")
    async def web_search(query: str) -> list[str]:
        await sim.sleep(sim.lognormal(0.4))
        if sim.rng.random() < 0.02:
            raise ToolTimeoutError("search backend timed out")
        record_cost(0.005, kind="search_api")  # a paid search API: $5 per 1,000 queries
        return [f"https://example.org/{zlib.crc32(query.encode()):x}/{i}" for i in range(3)]

    @trace_tool("fetch_page")
    async def fetch_page(url: str) -> str:
        sim.stream(url)  # fetched concurrently
        await sim.sleep(sim.lognormal(0.25, 0.8))
        if sim.rng.random() < 0.25:  # the flaky tool
            raise ConnectionResetError("connection reset by peer")
        return "lorem " * 200

    @trace_tool("vector_lookup", type="datastore")
    async def vector_lookup(query: str) -> list[str]:
        await embed(query)
        await sim.sleep(sim.lognormal(0.05))
        return ["doc-1", "doc-2"]

    def summariser(model: Model) -> Any:
        @trace_llm(provider=model.provider, model=model.name)
        async def summarise(messages: list[dict[str, str]], pages: int) -> dict[str, Any]:
            inp, out = sim.tokens(1500, 6000) + 400 * pages, sim.tokens(150, 600)
            await sim.latency(model, out)
            sim.maybe_fail(model)
            sim.stats.llm_calls += 1
            sim.stats.tokens += inp + out
            if model.provider == "anthropic":
                return anthropic_message(model, inp, out, cache_read=int(inp * sim.rng.choice((0.0, 0.6))))
            return gemini_response(model, inp, out)

        return summarise

    summarisers = {HAIKU.name: summariser(HAIKU), FLASH.name: summariser(FLASH)}

    # A self-hosted moderation model: no public price, so its calls are counted as unpriced.
    @trace_llm(provider="vllm", model="acme-guard-1")
    async def moderate(text: str) -> dict[str, Any]:
        await sim.sleep(sim.lognormal(0.05))
        return {"model": "acme-guard-1", "usage": {"prompt_tokens": 20 + len(text) // 4, "completion_tokens": 1}}

    @trace_llm(provider=OPUS.provider, model=OPUS.name)
    async def deep_dive(topic: str) -> dict[str, Any]:
        inp, out = sim.tokens(20_000, 60_000), sim.tokens(2_000, 4_000)
        await sim.latency(OPUS, out // 10)
        sim.stats.llm_calls += 1
        sim.stats.tokens += inp + out
        return anthropic_message(OPUS, inp, out, cache_read=0)

    @trace_agent("planner", description="Splits a question into research topics")
    async def planner(question: str, session: str, history: int) -> list[str]:
        await plan_call(question, session, history)
        return [f"{q} ({question})" for q in sim.rng.sample(QUERIES, k=sim.rng.choice((2, 3)))]

    @trace_agent("researcher", description="Searches, reads and summarises one topic")
    async def researcher(topic: str, model: Model) -> str:
        sim.stream(topic)  # researchers run concurrently
        urls = await web_search(topic)
        if sim.rng.random() < 0.5:
            await web_search(topic)  # a repeated identical call: caching would save it
        await vector_lookup(topic)
        await moderate(topic)
        if sim.in_fault():
            await deep_dive(topic)  # the injected cost spike: an expensive model on every topic
        fetched = await asyncio.gather(
            *(fetch_page(u) for u in urls[: sim.rng.choice((1, 2, 3))]), return_exceptions=True
        )
        pages = [p for p in fetched if isinstance(p, str)]
        for attempt in range(3):
            try:
                prompt = [{"role": "user", "content": f"Summarise what these pages say about {topic}"}]
                await summarisers[model.name](prompt, len(pages))
                return topic
            except RateLimitError:
                if attempt == 2:
                    raise
                await sim.sleep(0.2 * 2**attempt)
        return topic

    @trace_llm(provider=WRITER.provider, model=WRITER.name)
    async def write_stream(notes: int, messages: list[dict[str, str]]) -> AsyncIterator[dict[str, Any]]:
        inp, out = sim.tokens(3000, 12000) + 500 * notes, sim.tokens(400, 900)
        await sim.sleep(sim.lognormal(WRITER.ttft))
        sim.maybe_fail(WRITER)
        if sim.in_fault() and sim.rng.random() < 0.7:
            raise WriterCrashError("writer backend returned 500")
        yield {"type": "message_start", "message": anthropic_message(WRITER, inp, 1, cache_read=0)}
        chunks = 6
        for i in range(1, chunks + 1):
            await sim.sleep(out / chunks / WRITER.tokens_per_s)
            yield {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "..."}}
            if i == chunks:
                yield {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": out}}
        sim.stats.llm_calls += 1
        sim.stats.tokens += inp + out

    @trace_agent("writer", description="Writes the report")
    async def writer(notes: list[str]) -> int:
        n = 0
        messages = [{"role": "system", "content": WRITER_STYLE_GUIDE}, {"role": "user", "content": "\n".join(notes)}]
        async for _event in write_stream(len(notes), messages=messages):
            n += 1
        return n

    @trace_workflow("research_report")
    async def research(question: str, session: str, history: int = 0) -> int:
        """``history``: earlier requests of this session (their turns make the planner's context grow)."""
        topics = await planner(question, session, history)
        models = [HAIKU if i % 2 == 0 else FLASH for i in range(len(topics))]
        results = await asyncio.gather(
            *(researcher(t, m) for t, m in zip(topics, models, strict=True)), return_exceptions=True
        )
        notes = [r for r in results if isinstance(r, str)]
        if not notes:
            raise RuntimeError("every researcher failed")
        return await writer(notes)

    return research
