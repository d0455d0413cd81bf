"""Per-call overhead of otel_agentperf's decorators against bare OpenTelemetry, measured in one run.

Run: ``python benchmarks/overhead.py`` (``--quick`` for a short run, ``--rss-calls N`` for the memory check).
All variants use the same TracerProvider (batch processor, no-op exporter) and MeterProvider, and time a
trivial function. Printed: µs per call (best of several repeats) and the ratio to the bare span and to
the "naive floor" (a span with 5 attributes set one by one + one histogram + one counter).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import otel_agentperf as ap


class NoopExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def configure(sample_ratio: float | None = None) -> tuple[TracerProvider, MeterProvider]:
    """The real ``configure()`` path: batch processor with a no-op exporter, one metric reader."""
    setup = ap.configure(
        traces_exporter=NoopExporter(),
        metrics_exporter="none",
        metric_readers=[InMemoryMetricReader()],
        sample_ratio=sample_ratio,
        set_global=False,
    )
    assert isinstance(setup.tracer_provider, TracerProvider)
    assert isinstance(setup.meter_provider, MeterProvider)
    return setup.tracer_provider, setup.meter_provider


def time_sync(fn: Callable[[], Any], n: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best * 1e6


def time_async(make: Callable[[], Any], n: int, repeats: int) -> float:
    async def loop() -> float:
        best = float("inf")
        for _ in range(repeats):
            gc.collect()
            t0 = time.perf_counter()
            for _ in range(n):
                await make()
            best = min(best, (time.perf_counter() - t0) / n)
        return best

    return asyncio.run(loop()) * 1e6


def time_gen(make: Callable[[], Any], n: int, repeats: int) -> float:
    def run() -> None:
        for _ in make():
            pass

    return time_sync(run, n, repeats)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer calls (a smoke run)")
    parser.add_argument("--rss-calls", type=int, default=1_000_000, help="calls for the memory check (0: skip)")
    args = parser.parse_args()
    n, repeats = (2_000, 3) if args.quick else (20_000, 5)

    tp, mp = configure()
    tracer = tp.get_tracer("bench")
    meter = mp.get_meter("bench")
    hist = meter.create_histogram("bench.duration", unit="s")
    counter = meter.create_counter("bench.calls")
    attrs = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "planner",
        "gen_ai.agent.id": "a-1",
        "gen_ai.agent.description": "plans",
        "gen_ai.conversation.id": "c-1",
    }

    def trivial() -> int:
        return 1

    def bare() -> None:
        with tracer.start_as_current_span("invoke_agent planner", attributes=attrs):
            trivial()

    def naive() -> None:
        t0 = time.perf_counter()
        with tracer.start_as_current_span("invoke_agent planner") as span:
            for key, value in attrs.items():
                span.set_attribute(key, value)
            trivial()
        hist.record(time.perf_counter() - t0, {"gen_ai.agent.name": "planner"})
        counter.add(1, {"gen_ai.agent.name": "planner"})

    agent_sync = ap.trace_agent("planner")(trivial)
    tool_sync = ap.trace_tool("web_search")(trivial)
    llm_sync = ap.trace_llm(provider="openai", model="gpt-4o-mini")(trivial)

    @ap.trace_agent("planner")
    async def agent_async() -> int:
        return 1

    @ap.trace_agent("planner")
    def agent_gen() -> Any:
        yield 1

    rows: list[tuple[str, float]] = []
    rows.append(("bare span (start_as_current_span + 5 attrs at start)", time_sync(bare, n, repeats)))
    rows.append(("naive floor (span + 5 set_attribute + histogram + counter)", time_sync(naive, n, repeats)))
    rows.append(("@trace_agent sync", time_sync(agent_sync, n, repeats)))
    rows.append(("@trace_tool sync", time_sync(tool_sync, n, repeats)))
    rows.append(("@trace_llm sync (no usage in result)", time_sync(llm_sync, n, repeats)))
    rows.append(("@trace_agent async", time_async(agent_async, n, repeats)))
    rows.append(("@trace_agent generator (1 item)", time_gen(agent_gen, n, repeats)))
    rows.append(("plain call (no tracing)", time_sync(trivial, n, repeats)))

    unsampled_rows: list[tuple[str, float]] = []

    response = {"model": "gpt-4o-mini-2024-07-18", "usage": {"prompt_tokens": 1200, "completion_tokens": 300}}
    llm_usage = ap.trace_llm(provider="openai", model="gpt-4o-mini")(lambda: response)
    rows.append(("@trace_llm sync, tokens read from the response", time_sync(llm_usage, n, repeats)))

    # Cost alone: what pricing adds to an LLM call once warm (cached lookup, arithmetic, cost histogram).
    from otel_agentperf.cost.usage import Usage
    from otel_agentperf.telemetry.instruments import COST
    from otel_agentperf.tracing.accounting import price
    from otel_agentperf.tracing.state import STATE

    cost_series = STATE.instruments.series(COST, {"gen_ai.operation.name": "chat", "gen_ai.request.model": "bench"})
    bench_usage = Usage(input_tokens=1200, output_tokens=300, cache_read_tokens=1024)
    price(bench_usage, "openai", "gpt-4o-mini", cost_series, 1_795_168_800.0)  # warm: resolve and cache the model once
    rows.append(
        (
            "pricing one call (cached lookup + arithmetic + cost histogram)",
            time_sync(lambda: price(bench_usage, "openai", "gpt-4o-mini", cost_series, 1_795_168_800.0), n, repeats),
        )
    )

    # What the suggestion statistics cost per span: the same calls with the advisor's observe() a no-op.
    from otel_agentperf.insights.advisor import Advisor

    class QuietAdvisor(Advisor):
        def observe(self, *args: Any, **kwargs: Any) -> None:
            return None

    live = STATE.advisor
    tool_args = ap.trace_tool("geocode")(lambda city: city)
    with_stats = time_sync(lambda: tool_args("Paris"), n, repeats), time_sync(llm_usage, n, repeats)
    STATE.advisor = QuietAdvisor()
    without = time_sync(lambda: tool_args("Paris"), n, repeats), time_sync(llm_usage, n, repeats)
    STATE.advisor = live
    rows.append(("suggestion stats per tool span (with − without)", with_stats[0] - without[0]))
    rows.append(("suggestion stats per LLM span with tokens (with − without)", with_stats[1] - without[1]))

    # opentelemetry-util-genai (the official GenAI helpers) on the same providers, for comparison.
    try:
        from opentelemetry.util.genai.handler import TelemetryHandler

        handler = TelemetryHandler(tracer_provider=tp, meter_provider=mp)

        def util_agent() -> None:
            invocation = handler.invoke_local_agent(agent_name="planner")
            trivial()
            invocation.stop()

        def util_inference() -> None:
            invocation = handler.inference("openai", request_model="gpt-4o-mini")
            trivial()
            invocation.input_tokens = 1200
            invocation.output_tokens = 300
            invocation.stop()

        rows.append(("util-genai invoke_local_agent + stop (comparison)", time_sync(util_agent, n, repeats)))
        rows.append(("util-genai inference with tokens + stop (comparison)", time_sync(util_inference, n, repeats)))
    except Exception as exc:  # the comparison rows are optional
        print(f"(opentelemetry-util-genai comparison skipped: {exc!r})")

    unsampled_rows: list[tuple[str, float]] = []

    if args.rss_calls:
        gc.collect()
        before = rss_mb()
        for _ in range(args.rss_calls // 10):
            agent_sync()
        mid = rss_mb()
        for _ in range(args.rss_calls - args.rss_calls // 10):
            agent_sync()
        gc.collect()
        after = rss_mb()
        rss_line = (
            f"RSS: {before:.1f} MB before, {mid:.1f} MB after {args.rss_calls // 10:,} calls, "
            f"{after:.1f} MB after {args.rss_calls:,} calls"
        )
    else:
        rss_line = ""

    ap.shutdown()
    configure(sample_ratio=0.0)
    unsampled_rows.append(("@trace_agent sync, unsampled (metrics still recorded)", time_sync(agent_sync, n, repeats)))
    unsampled_rows.append(("@trace_llm sync, unsampled", time_sync(llm_sync, n, repeats)))
    rows.extend(unsampled_rows)
    ap.shutdown()

    bare_us = rows[0][1]
    floor_us = rows[1][1]
    print(f"{'variant':62} {'µs/call':>8} {'× bare':>7} {'× floor':>8}")
    for name, us in rows:
        print(f"{name:62} {us:8.2f} {us / bare_us:7.2f} {us / floor_us:8.2f}")

    if rss_line:
        print(rss_line)

    code = (
        "import time; t=time.perf_counter(); import otel_agentperf as ap; "
        "ap.configure(service_name='b', traces_exporter='otlp', metrics_exporter='otlp'); "
        "print(round((time.perf_counter()-t)*1000, 1))"
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    times = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    print(f"import + configure(OTLP traces and metrics): best {min(times):.0f} ms of 3 fresh processes")


if __name__ == "__main__":
    main()
