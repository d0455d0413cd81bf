"""configure()/shutdown() in fresh processes (global providers can be set only once per process)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import otel_agentperf as ap


def run_py(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    base["AGENTPERF_RAISE_INTERNAL_ERRORS"] = "1"
    return subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **env},
    )


def test_prometheus_endpoint_serves_metrics() -> None:
    out = run_py(
        """
        import urllib.request
        import otel_agentperf as ap
        setup = ap.configure(
            service_name="prom", traces_exporter="none", metrics_exporter="prometheus", prometheus_port=0
        )
        @ap.trace_agent("planner")
        def plan(): return 1
        plan()
        print(urllib.request.urlopen(setup.prometheus_url).read().decode())
        ap.shutdown()
        """
    )
    assert out.returncode == 0, out.stderr
    assert 'gen_ai_invoke_agent_duration_seconds_count{gen_ai_agent_name="planner"' in out.stdout
    assert 'service_name="prom"' in out.stdout  # on target_info


def test_env_vars_choose_exporters_and_resource() -> None:
    out = run_py(
        """
        import otel_agentperf as ap
        ap.configure()
        with ap.trace_tool("env_tool"):
            pass
        ap.shutdown()
        """,
        OTEL_SERVICE_NAME="from-env",
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment=test,team=agents",
        OTEL_TRACES_EXPORTER="console",
        OTEL_METRICS_EXPORTER="none",
    )
    assert out.returncode == 0, out.stderr
    assert '"name": "execute_tool env_tool"' in out.stdout
    assert '"service.name": "from-env"' in out.stdout
    assert '"team": "agents"' in out.stdout


def test_bad_env_values_warn_and_fall_back() -> None:
    out = run_py(
        """
        import otel_agentperf as ap
        ap.configure(metrics_exporter="none")
        with ap.trace_tool("t"):
            pass
        ap.shutdown()
        print("ok")
        """,
        OTEL_TRACES_EXPORTER="zipkin-nope,console",
        OTEL_EXPORTER_OTLP_PROTOCOL="carrier-pigeon",
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="maybe",
    )
    assert out.returncode == 0, out.stderr
    assert "ok" in out.stdout
    assert "zipkin-nope" in out.stderr and "carrier-pigeon" in out.stderr and "maybe" in out.stderr
    assert '"name": "execute_tool t"' in out.stdout


def test_configure_twice_warns_and_keeps_first() -> None:
    out = run_py(
        """
        import warnings
        import otel_agentperf as ap
        first = ap.configure(traces_exporter="none", metrics_exporter="none")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            second = ap.configure(traces_exporter="console")
        assert second is first
        assert "already called" in str(caught[0].message)
        ap.shutdown()
        third = ap.configure(traces_exporter="none", metrics_exporter="none")  # allowed after shutdown
        assert third is not first
        ap.shutdown()
        print("ok")
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_adopts_already_configured_global_providers() -> None:
    out = run_py(
        """
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        import otel_agentperf as ap

        exporter = InMemorySpanExporter()
        tp = TracerProvider()
        tp.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(tp)
        setup = ap.configure(metrics_exporter="none")
        assert setup.tracer_provider is tp
        with ap.trace_agent("adopted"):
            pass
        print([s.name for s in exporter.get_finished_spans()])
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['invoke_agent adopted']"


def test_accepts_user_providers_without_setting_globals() -> None:
    out = run_py(
        """
        from opentelemetry import trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        import otel_agentperf as ap

        exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
        tp = TracerProvider(); tp.add_span_processor(SimpleSpanProcessor(exporter))
        mp = MeterProvider(metric_readers=[reader])
        ap.configure(tracer_provider=tp, meter_provider=mp, set_global=False)
        with ap.trace_agent("own"):
            pass
        assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
        data = reader.get_metrics_data()
        names = [m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
                 if m.name.startswith("gen_ai")]
        print([s.name for s in exporter.get_finished_spans()], names)
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        "['invoke_agent own'] ['gen_ai.invoke_agent.duration', 'gen_ai.invoke_agent.inference_calls',"
        " 'gen_ai.invoke_agent.tool_calls']"
    )


def test_works_without_configure_and_without_sdk_providers() -> None:
    out = run_py(
        """
        import asyncio
        import otel_agentperf as ap

        @ap.trace_agent("noop")
        async def agent():
            with ap.trace_tool("t"):
                ap.record_usage(input_tokens=1)
            return 5

        print(asyncio.run(agent()))
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "5"
    assert out.stderr == ""


def test_sampling_does_not_change_metrics() -> None:
    """At a 10% trace sampling ratio, call counts, tokens and cost metrics still cover every call."""
    out = run_py(
        """
        import random
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader, HistogramDataPoint
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        import otel_agentperf as ap

        reader, spans = InMemoryMetricReader(), InMemorySpanExporter()
        ap.configure(traces_exporter=spans, metrics_exporter="none", metric_readers=[reader], sample_ratio=0.1)
        rng = random.Random(5)

        @ap.trace_llm(provider="openai", model="gpt-4o-mini")
        def ask(i, o):
            return {"usage": {"prompt_tokens": i, "completion_tokens": o}}

        expected_usd = tokens_in = 0
        for _ in range(1000):
            i, o = rng.randint(1, 5000), rng.randint(1, 800)
            ask(i, o)
            tokens_in += i
            expected_usd += i * 0.15 / 1e6 + o * 0.60 / 1e6  # gpt-4o-mini: $0.15 / $0.60 per Mtok
        ap.shutdown()
        sums = {}
        for rm in reader.get_metrics_data().resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    for p in m.data.data_points:
                        if isinstance(p, HistogramDataPoint):
                            sums[(m.name, p.attributes.get("gen_ai.token.type"))] = (p.count, p.sum)
        calls = sums[("gen_ai.client.operation.duration", None)][0]
        cost_calls, cost = sums[("gen_ai.client.operation.cost", None)]
        print(calls, sums[("gen_ai.client.token.usage", "input")] == (1000, tokens_in), cost_calls,
              abs(cost - expected_usd) < 1e-9, len(spans.get_finished_spans()) < 200)
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1000 True 1000 True True"


def test_content_capture_opt_in_via_env() -> None:
    code = """
        import json
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        import otel_agentperf as ap

        exporter = InMemorySpanExporter()
        ap.configure(traces_exporter=exporter, metrics_exporter="none")

        @ap.trace_llm(provider="openai", model="m")
        def ask(messages):
            return {"choices": [{"message": {"content": "Paris"}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1}}

        @ap.trace_tool("lookup")
        def lookup(city, units="metric"):
            return {"temp": 21}

        ask([{"role": "user", "content": "Capital of France?" + "x" * 20000}])
        lookup("Paris")
        ap.shutdown()
        print(json.dumps({s.name: dict(s.attributes) for s in exporter.get_finished_spans()}))
        """
    import json

    off = run_py(code)
    assert off.returncode == 0, off.stderr
    spans = json.loads(off.stdout)
    assert "gen_ai.input.messages" not in spans["chat m"]
    assert "gen_ai.tool.call.arguments" not in spans["execute_tool lookup"]

    on = run_py(code, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="SPAN_ONLY")
    assert on.returncode == 0, on.stderr
    spans = json.loads(on.stdout)
    inp = spans["chat m"]["gen_ai.input.messages"]
    assert inp.startswith('[{"role": "user", "parts": [{"type": "text", "content": "Capital of France?')
    assert len(inp) <= 8192 and inp.endswith("...[truncated]")
    assert json.loads(spans["chat m"]["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Paris"}], "finish_reason": "stop"}
    ]
    assert json.loads(spans["execute_tool lookup"]["gen_ai.tool.call.arguments"]) == {"city": "Paris"}
    assert json.loads(spans["execute_tool lookup"]["gen_ai.tool.call.result"]) == {"temp": 21}


def test_explicit_bad_arguments_raise_config_error() -> None:
    with pytest.raises(ap.AgentPerfConfigError):
        ap.configure(sample_ratio=2.0)
    with pytest.raises(ap.AgentPerfConfigError):
        ap.configure(traces_exporter="zipkin")
    with pytest.raises(ap.AgentPerfConfigError):
        ap.configure(otlp_protocol="udp")
