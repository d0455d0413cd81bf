"""OTLP export over gRPC and HTTP/protobuf, received by a server built on opentelemetry-proto."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.support.otlp_receiver import GrpcReceiver, HttpReceiver

APP = textwrap.dedent(
    """
    import asyncio, sys
    import otel_agentperf as ap

    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    async def ask(q):
        return {"usage": {"prompt_tokens": 12, "completion_tokens": 5}, "model": "gpt-4o-mini-2024-07-18"}

    @ap.trace_agent("planner")          # decorated before configure(): proxies forward once it runs
    async def plan():
        return await ask("hi")

    ap.configure(service_name="otlp-test", otlp_endpoint=sys.argv[1], otlp_protocol=sys.argv[2])
    asyncio.run(plan())
    ap.shutdown()                          # flushes spans and metrics
    print("done")
    """
)


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_otlp_export(protocol: str) -> None:
    receiver = GrpcReceiver() if protocol == "grpc" else HttpReceiver()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        out = subprocess.run(
            [sys.executable, "-c", APP, receiver.endpoint, protocol],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "done"
        spans = receiver.received.spans()
        by_name = {span.name: (resource, span) for resource, span in spans}
        assert set(by_name) == {"invoke_agent planner", "chat gpt-4o-mini"}
        resource, llm = by_name["chat gpt-4o-mini"]
        assert resource["service.name"] == "otlp-test"
        from tests.support.otlp_receiver import attributes

        attrs = attributes(llm.attributes)
        assert attrs["gen_ai.usage.input_tokens"] == 12
        assert attrs["gen_ai.agent.name"] == "planner"
        assert llm.kind == 3  # SPAN_KIND_CLIENT
        agent = by_name["invoke_agent planner"][1]
        assert llm.parent_span_id == agent.span_id and llm.trace_id == agent.trace_id
        assert {
            "gen_ai.client.operation.duration",
            "gen_ai.client.token.usage",
            "gen_ai.invoke_agent.duration",
        } <= receiver.received.metric_names()
    finally:
        receiver.stop()
