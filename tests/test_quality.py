"""Lint, strict type checking and the public surface are part of the test suite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

import otel_agentperf as ap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{name} missing: pip install -e '.[dev]'")
        pytest.skip(f"{name} not installed")
    return path


def test_exported_members() -> None:
    assert sorted(ap.__all__) == sorted(
        [
            "AgentPerfConfigError",
            "AgentPerfSpanProcessor",
            "Budget",
            "BudgetAlert",
            "ConversationCost",
            "Recommendation",
            "Snapshot",
            "Suggestion",
            "Thresholds",
            "Setup",
            "Traced",
            "__version__",
            "budget_status",
            "configure",
            "configure_worker",
            "conversation",
            "conversation_cost",
            "current_conversation",
            "health",
            "make_suggestion",
            "recommend",
            "register_rule",
            "suggestions",
            "llm_call",
            "record_cost",
            "record_response",
            "record_usage",
            "refresh_prices",
            "semconv",
            "shutdown",
            "trace_agent",
            "trace_llm",
            "trace_tool",
            "top_conversations",
            "trace_workflow",
        ]
    )
    for name in ap.__all__:
        assert hasattr(ap, name), name
    assert os.path.exists(os.path.join(ROOT, "otel_agentperf", "py.typed"))


def test_ruff() -> None:
    out = subprocess.run([tool("ruff"), "check", ROOT], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    out = subprocess.run([tool("ruff"), "format", "--check", ROOT], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_pyright_strict() -> None:
    out = subprocess.run([tool("pyright")], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr


def test_import_has_no_side_effects() -> None:
    code = (
        "import sys, otel_agentperf; "
        "from opentelemetry import trace; "
        "assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider); "
        "assert 'grpc' not in sys.modules and 'prometheus_client' not in sys.modules; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr
