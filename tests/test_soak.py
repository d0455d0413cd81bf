"""Soak: 300k decorated calls over 10k distinct tool arguments and 500 agent names stay within memory bounds.

The 1M-call soaks per API shape (decorator, ``with``, generator, LLM with tokens) are in
``benchmarks/soak.py`` and ``benchmarks/overhead.py``; this one keeps the bounds in every CI run."""

from __future__ import annotations

import gc
from collections.abc import Callable

from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

import otel_agentperf as ap
from otel_agentperf.insights.advisor import Advisor
from otel_agentperf.telemetry.aggregate import install
from otel_agentperf.telemetry.process_usage import process_usage
from otel_agentperf.tracing.state import STATE


def rss_mb() -> float:
    rss = process_usage()[1]
    assert rss is not None, "no procfs"
    return rss / 2**20


def test_many_calls_bounded_memory() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    fast = install([reader], Resource.create({}), InstrumentationScope("otel_agentperf"))
    saved = (STATE.tracer, STATE.instruments, STATE.advisor)
    advisor = Advisor()
    STATE.use(trace.NoOpTracer(), provider.get_meter("otel_agentperf"), fast)  # spans are not the subject
    STATE.advisor = advisor
    try:

        @ap.trace_tool("lookup")
        def lookup(key: int) -> int:
            return key

        agents: list[Callable[[int], int]] = []
        for a in range(500):

            def body(i: int) -> int:
                return lookup(i % 10_000)

            agents.append(ap.trace_agent(f"agent-{a}")(body))

        calls = 0
        marks: list[float] = []
        for i in range(150_000):  # each iteration: one agent call and one tool call
            agents[i % 500](i)
            calls += 2
            if i in (30_000, 149_999):
                gc.collect()
                marks.append(rss_mb())
        assert calls == 300_000
        stats = advisor.stats
        # Hard bounds hold whatever the traffic: tables cap keys, the repeat LRU caps fingerprints.
        assert len(stats.agents.rows) == 500 <= stats.agents.max_keys
        assert len(stats.tools.rows) == 1
        assert len(stats.repeats.entries) <= stats.repeats.max_entries == 10_000
        growth = marks[1] - marks[0]
        print(f"\nRSS after 60k calls {marks[0]:.1f} MB, after 300k calls {marks[1]:.1f} MB (growth {growth:.1f} MB)")
        assert growth < 8, f"memory grew {growth:.1f} MB between 60k and 300k calls"
        suggestions = advisor.evaluate()
        assert any(s.rule == "caching" and s.scope_name == "lookup" for s in suggestions)
        data = reader.get_metrics_data()
        assert data is not None
    finally:
        STATE.tracer, STATE.instruments, STATE.advisor = saved
        STATE.generation += 1
        provider.shutdown()
