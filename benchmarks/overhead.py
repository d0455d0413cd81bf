"""Per-call overhead of otel_agentperf's call paths against bare OpenTelemetry, measured in one run.

Run: ``python benchmarks/overhead.py`` (``--quick`` for a short run, ``--rss-calls N`` for the memory check,
``--only calls,memory,cold`` to run some sections, ``--collector paused`` to time calls with the cyclic garbage
collector off). All variants use the same TracerProvider (batch processor, no-op
exporter) and MeterProvider, and time a trivial function. Printed: µs of CPU per call (best of several
rounds) and the ratio to the bare span and to the "naive floor" (a span with 5 attributes set one by one +
one histogram + one counter); then RSS over ``--rss-calls`` calls per API shape, and cold start
(``import otel_agentperf``, import + ``configure()``, and the first span exported to a local OTLP receiver, in
fresh processes; ``-X importtime``'s top entries).

Why CPU time and rounds: this machine kind is shared, and wall time per call moves by 2× with the load. The
calling thread's CPU time (``time.thread_time``) leaves out the time it is descheduled, and each round times
every variant once, in turn, so a slow spell affects all of them alike; the best round of each is kept.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import otel_agentperf as ap
from otel_agentperf.telemetry.process_usage import process_usage

_cpu = time.thread_time


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


# --- how one variant is run n times -----------------------------------------------------------------------
def sync_runner(fn: Callable[[], Any]) -> Callable[[int], float]:
    def run(n: int) -> float:
        t0 = _cpu()
        for _ in range(n):
            fn()
        return _cpu() - t0

    return run


def gen_runner(make: Callable[[], Any]) -> Callable[[int], float]:
    def run(n: int) -> float:
        t0 = _cpu()
        for _ in range(n):
            for _ in make():
                pass
        return _cpu() - t0

    return run


def async_runner(make: Callable[[], Any], *, agen: bool = False) -> Callable[[int], float]:
    async def loop(n: int) -> float:
        t0 = _cpu()
        if agen:
            for _ in range(n):
                async for _ in make():
                    pass
        else:
            for _ in range(n):
                await make()
        return _cpu() - t0

    def run(n: int) -> float:
        return asyncio.run(loop(n))

    return run


def measure(
    variants: list[tuple[str, Callable[[int], float]]], n: int, rounds: int, *, paused: bool = False
) -> dict[str, float]:
    """µs of CPU per call, best round of each variant; every round times every variant once, in turn.
    ``paused``: the cyclic garbage collector is off while a round is timed (``--collector paused``)."""
    best = {name: float("inf") for name, _ in variants}
    for run in (r for _, r in variants):
        run(max(n // 10, 100))  # warm: label sets resolved, prices cached, code paths specialised
    for _ in range(rounds):
        for name, run in variants:
            gc.collect()
            if paused:
                gc.disable()
            try:
                best[name] = min(best[name], run(n) / n)
            finally:
                gc.enable()
    return {name: us * 1e6 for name, us in best.items()}


def rss_mb() -> float:
    """Resident memory now, read as the SDK's own ``resource_deltas`` reads it (NaN without procfs)."""
    rss = process_usage()[1]
    return rss / 2**20 if rss is not None else float("nan")


# --- what is timed ----------------------------------------------------------------------------------------
def trivial() -> int:
    return 1


def chat_completion() -> Any:
    """A real ``openai`` ChatCompletion (a pydantic model), as ``client.chat.completions.create`` returns."""
    from openai.types.chat import ChatCompletion

    return ChatCompletion.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "Paris."},
                }
            ],
            "usage": {
                "prompt_tokens": 1200,
                "completion_tokens": 300,
                "total_tokens": 1500,
                "prompt_tokens_details": {"cached_tokens": 1024},
            },
        }
    )


def sampled_variants(tp: TracerProvider, mp: MeterProvider) -> list[tuple[str, Callable[[int], float]]]:
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

    @ap.trace_agent("planner")
    async def agent_async() -> int:
        return 1

    @ap.trace_agent("planner")
    def agent_gen() -> Any:
        yield 1

    @ap.trace_tool("pages")
    def tool_gen() -> Any:
        yield 1

    @ap.trace_tool("pages")
    async def tool_agen() -> Any:
        yield 1

    agent_with = ap.trace_agent("planner")

    def agent_cm() -> None:
        with agent_with:
            trivial()

    response = {"model": "gpt-4o-mini-2024-07-18", "usage": {"prompt_tokens": 1200, "completion_tokens": 300}}
    completion = chat_completion()
    chunks = [
        {"object": "chat.completion.chunk", "model": "gpt-4o-mini-2024-07-18", "choices": []},
        {
            "object": "chat.completion.chunk",
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [],
            "usage": {"prompt_tokens": 1200, "completion_tokens": 300},
        },
    ]

    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def llm_stream() -> Any:
        yield from chunks

    # What an application passes (the caching rule hashes it; the trivial rows above have no arguments).
    messages = [
        {"role": "system", "content": "You are a travel planner. Answer in one paragraph."},
        {"role": "user", "content": "Three days in Lisbon in March: what should I see?"},
    ]

    @ap.trace_llm(provider="openai")
    def llm_chat(messages: list[dict[str, str]], model: str) -> Any:
        return completion

    variants: list[tuple[str, Callable[[int], float]]] = [
        ("bare span (start_as_current_span + 5 attributes at start)", sync_runner(bare)),
        ("naive floor (span + 5 set_attribute + histogram + counter)", sync_runner(naive)),
        ("@trace_agent sync", sync_runner(ap.trace_agent("planner")(trivial))),
        ("@trace_agent async", async_runner(agent_async)),
        ("with trace_agent(...)", sync_runner(agent_cm)),
        ("@trace_tool sync", sync_runner(ap.trace_tool("web_search")(trivial))),
        ("@trace_agent generator (1 item)", gen_runner(agent_gen)),
        ("@trace_tool generator (1 item)", gen_runner(tool_gen)),
        ("@trace_tool async generator (1 item)", async_runner(tool_agen, agen=True)),
        ("@trace_llm sync, no usage in the result", sync_runner(ap.trace_llm(provider="openai", model="x")(trivial))),
        (
            "@trace_llm sync, tokens from a dict response",
            sync_runner(ap.trace_llm(provider="openai", model="gpt-4o-mini")(lambda: response)),
        ),
        (
            "@trace_llm sync, tokens from an openai ChatCompletion",
            sync_runner(ap.trace_llm(provider="openai", model="gpt-4o-mini")(lambda: completion)),
        ),
        (
            "@trace_llm sync, ChatCompletion, called with messages= (arguments fingerprinted)",
            sync_runner(lambda: llm_chat(messages=messages, model="gpt-4o-mini")),
        ),
        ("@trace_llm generator, 2 chunks with usage", gen_runner(llm_stream)),
    ]
    try:  # the official GenAI helpers on the same providers, for comparison
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

        variants.append(("util-genai invoke_local_agent + stop (comparison)", sync_runner(util_agent)))
        variants.append(("util-genai inference with tokens + stop (comparison)", sync_runner(util_inference)))
    except Exception as exc:  # the comparison rows are optional
        print(f"(opentelemetry-util-genai comparison skipped: {exc!r})")
    return variants


def unsampled_variants(tp: TracerProvider) -> list[tuple[str, Callable[[int], float]]]:
    noop = trace.NoOpTracer()
    sdk_tracer = tp.get_tracer("bench")

    def api_noop() -> None:
        with noop.start_as_current_span("invoke_agent planner"):
            trivial()

    def sdk_unsampled() -> None:  # what the SDK alone spends on a span its sampler drops
        with sdk_tracer.start_as_current_span("invoke_agent planner"):
            trivial()

    tool = ap.trace_tool("search")(trivial)

    @ap.trace_agent("p")
    def agent_around(n: int) -> float:  # times its n tool calls only: the agent's own start and end are outside
        t0 = _cpu()
        for _ in range(n):
            tool()
        return _cpu() - t0

    response = {"model": "gpt-4o-mini-2024-07-18", "usage": {"prompt_tokens": 1200, "completion_tokens": 300}}
    return [
        ("OpenTelemetry API no-op span (no SDK)", sync_runner(api_noop)),
        ("SDK span dropped by the sampler (start_as_current_span, no metrics)", sync_runner(sdk_unsampled)),
        ("@trace_agent sync, unsampled (metrics and stats still recorded)", sync_runner(ap.trace_agent("p")(trivial))),
        (
            "@trace_llm sync with tokens, unsampled",
            sync_runner(ap.trace_llm(provider="openai", model="gpt-4o-mini")(lambda: response)),
        ),
        ("@trace_tool sync inside an unsampled @trace_agent (per tool call)", agent_around),
        ("least an exact unsampled agent call costs (decide, span in context, time, 3 records)", least_exact()),
    ]


def least_exact() -> Callable[[int], float]:
    """What any instrumentation must do for an unsampled agent call whose metrics stay exact, and nothing else:
    draw a trace id and compare it with the ratio's bound, build the non-recording span, attach a context
    holding it (children and outgoing headers need it), time the call, record the duration and the two
    call-count histograms into the agent's own metric cells. No call record, rollups or statistics."""
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    from otel_agentperf.tracing import runtime_context
    from otel_agentperf.tracing.call import current_call

    with ap.trace_agent("p"):
        spec = current_call().spec  # type: ignore[union-attr]
    series = spec.series("p", None, None, None)
    duration, inference_calls, tool_calls = series[0], series[1], series[7]
    ids = RandomIdGenerator()
    get_current, attach, detach, key = (
        runtime_context.get_current,
        runtime_context.attach,
        runtime_context.detach,
        runtime_context.SPAN_KEY,
    )
    context_class = type(get_current())
    flags, bound, low_bits = TraceFlags(TraceFlags.RANDOM_TRACE_ID), 0, (1 << 64) - 1
    perf = time.perf_counter

    def call() -> None:
        ctx = get_current()
        trace_id = ids.generate_trace_id()
        if trace_id & low_bits < bound:
            raise AssertionError("sampled at a ratio of 0")
        span = NonRecordingSpan(SpanContext(trace_id, ids.generate_span_id(), False, flags, None))
        token = attach(context_class({**ctx, key: span}))
        t0 = perf()
        trivial()
        elapsed = perf() - t0
        detach(token)
        duration.record(elapsed)
        inference_calls.record(0)  # type: ignore[union-attr]
        tool_calls.record(0)  # type: ignore[union-attr]

    return sync_runner(call)


def rss_per_shape(calls: int) -> list[str]:
    """RSS over ``calls`` calls of each API shape the issue names, from ``benchmarks/soak.py`` (fresh process
    per shape): decorator, ``with``, generator, LLM with tokens."""
    from soak import rows  # benchmarks/ is on sys.path: this script's own folder

    return list(rows(["decorator", "with", "generator", "llm-with-tokens"], calls))


def cold_start() -> list[str]:
    """Import, and import + configure(OTLP), in fresh processes (best of 5), when the first span is exported,
    and what the import spends on."""
    # Bytecode as an installed package has it: written if missing (PYTHONDONTWRITEBYTECODE, set to any non-empty
    # value, even "0", stops that, and every import would compile the modules without a .pyc again), then one
    # unmeasured import so that the measured ones read it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import otel_agentperf as ap; ap.configure(traces_exporter='none', metrics_exporter='none')",
        ],
        env=env,
        check=True,
    )
    lines: list[str] = []
    for label, code in (
        ("import otel_agentperf", "import otel_agentperf"),
        (
            "import + configure(OTLP gRPC traces and metrics)",
            "import otel_agentperf as ap; "
            "ap.configure(service_name='b', traces_exporter='otlp', metrics_exporter='otlp')",
        ),
    ):
        timed = f"import time; t = time.perf_counter(); {code}; print(round((time.perf_counter() - t) * 1000, 1))"
        times: list[float] = []
        for _ in range(5):
            out = subprocess.run([sys.executable, "-c", timed], capture_output=True, text=True, env=env, check=True)
            times.append(float(out.stdout.strip().splitlines()[-1]))
        lines.append(f"{label}: best {min(times):.0f} ms, median {sorted(times)[2]:.0f} ms of 5 fresh processes")
    lines.extend(first_export(env))
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import otel_agentperf"], capture_output=True, text=True, env=env
    )
    rows: list[tuple[int, str]] = []
    for line in out.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m and len(m.group(3)) <= 3:  # top-level imports of the interpreter and of our package
            rows.append((int(m.group(2)), m.group(4)))
    top = ", ".join(f"{name} {us / 1000:.1f} ms" for us, name in sorted(rows, reverse=True)[:6])
    lines.append(f"-X importtime, largest top-level imports (cumulative): {top}")
    return lines


FIRST_EXPORT = """
import sys, time
def spin():  # pure-Python work: what the thread configure() starts (exporter build, prices) takes from the caller
    t = time.perf_counter()
    n = 0
    for i in range(1_000_000):
        n += i
    return (time.perf_counter() - t) * 1000
alone = spin() if sys.argv[2] == "spin" else 0.0
t0 = time.perf_counter()
import otel_agentperf as ap
setup = ap.configure(service_name="b", otlp_endpoint=sys.argv[1], otlp_protocol="grpc")
configured = (time.perf_counter() - t0) * 1000
if sys.argv[2] == "spin":
    print(configured, alone, spin())
else:
    with ap.trace_tool("first"):
        pass
    assert setup.tracer_provider.force_flush(10_000)  # returns once the span is exported
    print(configured, (time.perf_counter() - t0) * 1000)
"""


def first_export(env: dict[str, str]) -> list[str]:
    """When the first span reaches a local OTLP/gRPC receiver (configure() returns before the exporters are
    built: the warm-up thread it starts builds them, then loads the price data), and what that thread takes
    from the caller's while they share the GIL: a pure-Python loop right after configure() against the same
    loop before the import."""
    from tests.support.otlp_receiver import GrpcReceiver

    def run(mode: str) -> list[float]:
        args = [sys.executable, "-c", FIRST_EXPORT, receiver.endpoint, mode]
        out = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
        return [float(x) for x in out.stdout.split()]

    receiver = GrpcReceiver()
    try:
        flush = [run("flush") for _ in range(5)]
        spin = [run("spin") for _ in range(5)]
        received = len(receiver.received.spans())
    finally:
        receiver.stop()

    def stat(values: list[float]) -> str:
        return f"best {min(values):.0f} ms, median {sorted(values)[2]:.0f} ms"

    return [
        f"import + configure(OTLP gRPC to a local receiver) + first span exported (force_flush): configure() returns "
        f"{stat([r[0] for r in flush])}; span exported {stat([r[1] for r in flush])} ({received}/5 received)",
        f"a pure-Python loop right after configure() (the warm-up thread shares the GIL): "
        f"{stat([r[2] for r in spin])}, against {stat([r[1] for r in spin])} before the import",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer calls (a smoke run)")
    parser.add_argument(
        "--rss-calls", type=int, default=1_000_000, help="calls per shape for the memory check (0: skip)"
    )
    parser.add_argument(
        "--only",
        default="calls,memory,cold",
        help="comma-separated sections to run: calls (per-call times), memory (RSS per shape), cold (cold start)",
    )
    parser.add_argument("--rounds", type=int, default=7, help="rounds per variant (the best round counts)")
    parser.add_argument(
        "--collector",
        choices=("on", "paused"),
        default="on",
        help="paused: time the calls with the cyclic garbage collector off, to see its share (the same for all)",
    )
    args = parser.parse_args()
    sections = {part.strip() for part in args.only.split(",")}
    n, rounds = (2_000, 3) if args.quick else (20_000, args.rounds)

    if "calls" in sections:
        print_call_times(n, rounds, paused=args.collector == "paused")
    if "memory" in sections and args.rss_calls:
        for line in rss_per_shape(args.rss_calls):
            print(line)
    if "cold" in sections:
        for line in cold_start():
            print(line)


def print_call_times(n: int, rounds: int, *, paused: bool = False) -> None:
    tp, mp = configure()
    results = measure(sampled_variants(tp, mp), n, rounds, paused=paused)
    ap.shutdown()
    unsampled_tp, _ = configure(sample_ratio=0.0)
    unsampled = measure(unsampled_variants(unsampled_tp), n, rounds, paused=paused)
    ap.shutdown()

    if paused:
        print("(the cyclic garbage collector paused while each round is timed)")

    names = list(results)
    bare_us, floor_us = results[names[0]], results[names[1]]
    print(f"{'variant':66} {'µs/call':>8} {'× bare':>7} {'× floor':>8}")
    for name, us in results.items():
        print(f"{name:66} {us:8.2f} {us / bare_us:7.2f} {us / floor_us:8.2f}")
    noop_name = next(iter(unsampled))
    noop_us = unsampled[noop_name]
    print(f"{'(unsampled: ratio to the OpenTelemetry API no-op span)':66} {'':8} {'× no-op':>7}")
    for name, us in unsampled.items():
        print(f"{name:66} {us:8.2f} {us / noop_us:7.2f}")


if __name__ == "__main__":
    main()
