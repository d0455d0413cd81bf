"""Zero-code mode: ``opentelemetry-instrument python app.py`` with no code change gives priced GenAI calls.

Real subprocesses: the OpenTelemetry distro's ``opentelemetry-instrument``, the official OpenAI
instrumentation (``opentelemetry-instrumentation-genai-openai``) and the real ``openai`` client against a
local fake OpenAI server, exporting to the console or to a local OTLP receiver. ``tests/support/
zero_code_app.py`` makes 3 plain OpenAI calls and one inside ``@trace_agent("triage")`` inside
``@trace_workflow("intake")``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otel_agentperf import semconv as sc
from otel_agentperf.cost.pricing import PriceBook
from otel_agentperf.cost.usage import Usage
from tests.support.fake_llm_server import CHAT_COMPLETION, FakeLLMServer
from tests.support.otlp_receiver import GrpcReceiver, HttpReceiver, attributes

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "tests" / "support" / "zero_code_app.py"
PLAIN_CALLS = 3
CALLS = PLAIN_CALLS + 1  # and one in the triage agent
OPENAI_SCOPE = "opentelemetry.instrumentation.genai.openai"
RESPONSE_MODEL = str(CHAT_COMPLETION["model"])


def instrument_command() -> str:
    """``opentelemetry-instrument`` of this interpreter's environment (never skipped: it is a dev dependency)."""
    for folder in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        candidate = folder / "opentelemetry-instrument"
        if candidate.exists():
            return str(candidate)
    found = shutil.which("opentelemetry-instrument")
    assert found, "opentelemetry-instrument not found: pip install -e '.[dev]' (opentelemetry-distro)"
    return found


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    s = FakeLLMServer()
    yield s
    s.stop()


def run_app(server: FakeLLMServer, *app_args: str, **env_vars: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run the app under ``opentelemetry-instrument``; returns the process and the time the calls were priced."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTPERF_", "OPENAI_"))}
    env.update(
        OTEL_LOGS_EXPORTER="none",
        OTEL_TRACES_EXPORTER="console",
        OTEL_METRICS_EXPORTER="console",
        OTEL_BSP_SCHEDULE_DELAY="600000",  # spans printed at exit only: the app's JSON line stays first
        OPENAI_BASE_URL=server.url + "/v1",
        OPENAI_API_KEY="test",
        AGENTPERF_RAISE_INTERNAL_ERRORS="1",  # our bugs become tracebacks on stderr
        # Every model and agent with a call is "slow": proves the advisor sees the calls.
        AGENTPERF_THRESHOLDS="slow_p95_s=0,min_calls=1",
        PYTHONPATH=str(ROOT),
    )
    env.update(env_vars)
    before = len(server.requests)
    at = time.time()
    out = subprocess.run(
        [instrument_command(), sys.executable, str(APP), str(PLAIN_CALLS), *app_args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    assert len(server.requests) - before == CALLS
    return out, at


def json_documents(stdout: str) -> list[dict[str, Any]]:
    """The app's result line and the console exporters' pretty-printed JSON documents, in order."""
    decoder = json.JSONDecoder()
    docs: list[dict[str, Any]] = []
    i = 0
    while i < len(stdout):
        if stdout[i].isspace():
            i += 1
            continue
        doc, i = decoder.raw_decode(stdout, i)
        docs.append(doc)
    return docs


def console_metrics(docs: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(scope, metric name) -> data points of the last (cumulative) metrics export."""
    exports = [d for d in docs if "resource_metrics" in d]
    assert exports, "no metrics were exported"
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rm in exports[-1]["resource_metrics"]:
        for sm in rm["scope_metrics"]:
            for metric in sm["metrics"]:
                out[(sm["scope"]["name"], metric["name"])] = metric["data"]["data_points"]
    return out


def expected_cost(at: float) -> float:
    usage = CHAT_COMPLETION["usage"]
    prices = PriceBook().lookup("openai", RESPONSE_MODEL, at)
    assert prices is not None
    return prices.cost(
        Usage(
            input_tokens=usage["prompt_tokens"],
            output_tokens=usage["completion_tokens"],
            cache_read_tokens=usage["prompt_tokens_details"]["cached_tokens"],
            response_model=RESPONSE_MODEL,
        ),
        at,
    )


def app_result(docs: list[dict[str, Any]]) -> dict[str, Any]:
    result = docs[0]
    assert result["calls"] == CALLS and result["answers"] == ["Paris."]
    return result


def test_console_exporters_get_priced_calls_agent_metrics_and_suggestions(server: FakeLLMServer) -> None:
    out, at = run_app(server)
    docs = json_documents(out.stdout)
    usd = expected_cost(at)
    assert usd > 0

    result = app_result(docs)
    assert f"slow:model:openai/{RESPONSE_MODEL}" in result["suggestions"]  # from the official instrumentation's spans
    assert "slow:agent:triage" in result["suggestions"]
    assert 0 <= result["health"] <= 100

    metrics = console_metrics(docs)
    cost = metrics[(sc.SCOPE_NAME, sc.CLIENT_OPERATION_COST)]
    # Each call priced exactly once: the official instrumentation's span, by AgentPerfSpanProcessor.
    assert sum(p["count"] for p in cost) == CALLS
    assert sum(p["sum"] for p in cost) == pytest.approx(CALLS * usd, rel=1e-9)
    by_agent = {p["attributes"].get(sc.GEN_AI_AGENT_NAME): p for p in cost}
    assert set(by_agent) == {None, "triage"}
    assert by_agent["triage"]["count"] == 1 and by_agent[None]["count"] == PLAIN_CALLS
    assert by_agent["triage"]["attributes"] == {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "openai",
        sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        sc.GEN_AI_RESPONSE_MODEL: RESPONSE_MODEL,
        sc.GEN_AI_AGENT_NAME: "triage",
        sc.GEN_AI_USAGE_COST_CURRENCY: "USD",
        sc.GEN_AI_USAGE_COST_SOURCE: "local",
    }
    [agent_point] = metrics[(sc.SCOPE_NAME, sc.INVOKE_AGENT_DURATION)]
    assert agent_point["attributes"][sc.GEN_AI_AGENT_NAME] == "triage" and agent_point["count"] == 1
    [workflow_point] = metrics[(sc.SCOPE_NAME, sc.WORKFLOW_DURATION)]
    assert workflow_point["attributes"][sc.GEN_AI_WORKFLOW_NAME] == "intake" and workflow_point["count"] == 1
    assert (sc.SCOPE_NAME, sc.SUGGESTIONS_ACTIVE) in metrics and (sc.SCOPE_NAME, sc.HEALTH_SCORE) in metrics
    # The official instrumentation's own metrics still flow through the same (distro's) MeterProvider.
    assert (OPENAI_SCOPE, sc.CLIENT_TOKEN_USAGE) in metrics

    spans = [d for d in docs if "context" in d]
    chats = [s for s in spans if s["name"] == "chat gpt-4o-mini"]
    assert len(chats) == CALLS
    for chat in chats:  # foreign spans are priced, never modified
        assert not any(key.startswith("gen_ai.usage.cost") for key in chat["attributes"])
    [agent] = [s for s in spans if s["name"] == "invoke_agent triage"]
    [workflow] = [s for s in spans if s["name"] == "invoke_workflow intake"]
    assert agent["attributes"][sc.AGENTPERF_COST_TOTAL] == pytest.approx(usd, rel=1e-9)
    assert workflow["attributes"][sc.AGENTPERF_COST_TOTAL] == pytest.approx(usd, rel=1e-9)
    assert [c["parent_id"] for c in chats].count(agent["context"]["span_id"]) == 1
    assert agent["parent_id"] == workflow["context"]["span_id"]


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_otlp_export_of_zero_code_telemetry(server: FakeLLMServer, protocol: str) -> None:
    receiver = GrpcReceiver() if protocol == "grpc" else HttpReceiver()
    try:
        out, at = run_app(
            server,
            OTEL_SERVICE_NAME="zero-code-app",
            OTEL_TRACES_EXPORTER="otlp",
            OTEL_METRICS_EXPORTER="otlp",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
            OTEL_METRIC_EXPORT_INTERVAL="500",
            OTEL_BSP_SCHEDULE_DELAY="200",
        )
        result = app_result(json_documents(out.stdout))
        assert "slow:agent:triage" in result["suggestions"]
        received = receiver.received
        with received.lock:
            requests = list(received.metrics)
        last: dict[str, list[Any]] = {}
        for request in requests:  # cumulative: the last export of each metric holds the totals
            for rm in request.resource_metrics:
                assert attributes(rm.resource.attributes)["service.name"] == "zero-code-app"
                for sm in rm.scope_metrics:
                    if sm.scope.name == sc.SCOPE_NAME:
                        for metric in sm.metrics:
                            kind = metric.WhichOneof("data")
                            last[metric.name] = list(getattr(metric, kind).data_points)
        cost = last[sc.CLIENT_OPERATION_COST]
        assert sum(p.count for p in cost) == CALLS
        assert sum(p.sum for p in cost) == pytest.approx(CALLS * expected_cost(at), rel=1e-9)
        assert [attributes(p.attributes).get(sc.GEN_AI_AGENT_NAME) for p in cost].count("triage") == 1
        assert [attributes(p.attributes)[sc.GEN_AI_AGENT_NAME] for p in last[sc.INVOKE_AGENT_DURATION]] == ["triage"]
        assert {sc.WORKFLOW_DURATION, sc.SUGGESTIONS_ACTIVE, sc.HEALTH_SCORE} <= set(last)

        spans = received.spans()
        chats = [span for _, span in spans if span.name == "chat gpt-4o-mini"]
        assert len(chats) == CALLS
        assert all(not any(kv.key.startswith("gen_ai.usage.cost") for kv in span.attributes) for span in chats)
        [agent] = [span for _, span in spans if span.name == "invoke_agent triage"]
        assert attributes(agent.attributes)[sc.AGENTPERF_COST_TOTAL] == pytest.approx(expected_cost(at), rel=1e-9)
    finally:
        receiver.stop()


@pytest.mark.parametrize(
    "switch",
    [{"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "agentperf"}, {"AGENTPERF_ZERO_CODE": "false"}],
    ids=["otel-disabled-instrumentations", "agentperf-zero-code-false"],
)
def test_switched_off(server: FakeLLMServer, switch: dict[str, str]) -> None:
    out, _ = run_app(server, **switch)
    docs = json_documents(out.stdout)
    assert app_result(docs)["suggestions"] == []  # nothing fed the advisor
    metrics = console_metrics(docs)
    ours = {name for scope, name in metrics if scope == sc.SCOPE_NAME}
    assert sc.CLIENT_OPERATION_COST not in ours
    assert sc.SUGGESTIONS_ACTIVE not in ours and sc.HEALTH_SCORE not in ours
    # The rest of auto-instrumentation is untouched: the official OpenAI spans and metrics are there.
    assert (OPENAI_SCOPE, sc.CLIENT_TOKEN_USAGE) in metrics
    chats = [d for d in docs if d.get("name") == "chat gpt-4o-mini"]
    assert len(chats) == CALLS


def test_call_also_wrapped_in_trace_llm_is_priced_once(server: FakeLLMServer) -> None:
    out, at = run_app(server, "trace_llm")
    docs = json_documents(out.stdout)
    app_result(docs)
    cost = console_metrics(docs)[(sc.SCOPE_NAME, sc.CLIENT_OPERATION_COST)]
    triage = [p for p in cost if p["attributes"].get(sc.GEN_AI_AGENT_NAME) == "triage"]
    assert sum(p["count"] for p in triage) == 1
    assert sum(p["sum"] for p in triage) == pytest.approx(expected_cost(at), rel=1e-9)
    [agent] = [d for d in docs if d.get("name") == "invoke_agent triage"]
    assert agent["attributes"][sc.AGENTPERF_COST_TOTAL] == pytest.approx(expected_cost(at), rel=1e-9)


def test_the_applications_own_configure_refines_zero_code_mode(server: FakeLLMServer) -> None:
    out, _ = run_app(server, str(PLAIN_CALLS), "configure")
    assert "already called" not in out.stderr, out.stderr
    docs = json_documents(out.stdout)
    app_result(docs)
    usage = CHAT_COMPLETION["usage"]
    own_price = (usage["prompt_tokens"] + usage["completion_tokens"]) * 1000.0 / 1e6
    cost = console_metrics(docs)[(sc.SCOPE_NAME, sc.CLIENT_OPERATION_COST)]
    # The application's prices apply, and each call is still priced once (no second span processor).
    assert sum(p["count"] for p in cost) == CALLS
    assert sum(p["sum"] for p in cost) == pytest.approx(CALLS * own_price, rel=1e-9)


def test_import_does_not_load_the_instrumentation_package_and_no_sdk_means_no_setup() -> None:
    code = (
        "import sys, otel_agentperf\n"
        "assert 'opentelemetry.instrumentation' not in sys.modules, 'import otel_agentperf loaded it'\n"
        "from otel_agentperf.setup.zero_code import AgentPerfInstrumentor\n"
        "from otel_agentperf.setup.configure import current_setup\n"
        "AgentPerfInstrumentor().instrument()  # global providers are the API's proxies: nothing to adopt\n"
        "assert current_setup() is None\n"
        "AgentPerfInstrumentor().uninstrument()\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTPERF_"))}
    env["AGENTPERF_RAISE_INTERNAL_ERRORS"] = "1"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
