"""Soak: 1M calls per API shape in one long-lived thread, RSS after warm-up and at the end (issue 14, point 7).

Run: ``python benchmarks/soak.py`` (``--calls N`` to change the count, ``--shapes a,b`` to pick shapes).
Each shape runs in a fresh process on the providers ``configure()`` builds (batch span processor with a no-op
exporter, one in-memory metric reader), so shapes do not share memory. Printed per shape: RSS after the
warm-up (10 % of the calls), RSS at the end, and the growth per call. A leak of ~100 B per use (what the
``with`` shapes had before) shows as ~100 MB over 1M calls; flat is within a few MB (allocator noise).
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
from collections.abc import Callable, Iterator

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from overhead import configure, rss_mb  # the benchmarks' one pipeline and RSS reading

import otel_agentperf as ap


@ap.trace_agent("decorated")
def decorated(i: int) -> int:
    return i


@ap.trace_tool("gen")
def generator(i: int) -> Iterator[int]:
    yield i


@ap.trace_llm(provider="openai", model="gpt-4o-mini")
def llm(i: int) -> dict[str, object]:
    return {"model": "gpt-4o-mini", "usage": {"prompt_tokens": 100 + i % 7, "completion_tokens": 20}}


def with_agent(i: int) -> None:
    with ap.trace_agent("with"):
        pass


def with_llm(i: int) -> None:
    with ap.trace_agent("with"), ap.llm_call(provider="openai", model="gpt-4o-mini"):
        ap.record_usage(input_tokens=100 + i % 7, output_tokens=20)


def conversation(i: int) -> None:
    with ap.conversation(f"c-{i % 100}"):
        decorated(i)


SHAPES: dict[str, Callable[[int], object]] = {
    "decorator": decorated,
    "with": with_agent,
    "generator": lambda i: sum(generator(i)),
    "llm-with-tokens": llm,
    "with-llm-with-tokens": with_llm,
    "conversation": conversation,
}


def run(shape: str, calls: int) -> str:
    configure()
    fn = SHAPES[shape]
    warm = calls // 10
    for i in range(warm):
        fn(i)
    gc.collect()
    before = rss_mb()
    for i in range(warm, calls):
        fn(i)
    gc.collect()
    after = rss_mb()
    per_call = (after - before) * 1024 * 1024 / (calls - warm)
    return f"| {shape} | {calls:,} | {before:.1f} | {after:.1f} | {after - before:+.1f} | {per_call:+.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child process: one shape
    args = parser.parse_args()
    if args.one:
        print(run(args.one, args.calls), flush=True)
        return
    for row in rows(args.shapes.split(","), args.calls):
        print(row, flush=True)


def rows(shapes: list[str], calls: int) -> Iterator[str]:
    """The Markdown table of ``calls`` calls per shape, each shape in a fresh process (no shared memory)."""
    yield "| shape | calls | RSS after warm-up (MB) | RSS at end (MB) | growth (MB) | B per call |"
    yield "|---|---:|---:|---:|---:|---:|"
    for shape in shapes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", shape, "--calls", str(calls)],
            capture_output=True,
            text=True,
            check=True,
        )
        yield out.stdout.strip()


if __name__ == "__main__":
    main()
