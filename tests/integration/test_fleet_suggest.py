"""`agentperf suggest` runs the shared rules on real Prometheus (fleet) and on an app's endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.support.prom import Prometheus, free_port

pytestmark = pytest.mark.integration


def demo(port: int, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable, "-m", "otel_agentperf", "demo", "--rate", "8", "--time-scale", "0.05",
            "--seed", "5", "--port", str(port), *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
    )  # fmt: skip


def suggest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "otel_agentperf", "suggest", *args], capture_output=True, text=True, timeout=120
    )


def found(out: subprocess.CompletedProcess[str]) -> set[tuple[str, str]]:
    assert out.returncode in (0, 1), out.stderr
    return {(s["rule"], s["scope_name"]) for s in json.loads(out.stdout)["suggestions"]}


def test_suggest_from_prometheus_and_from_endpoint() -> None:
    port = free_port()
    prom = Prometheus([f"127.0.0.1:{port}"])
    app = demo(port, "--duration", "10", "--linger", "60")
    try:
        # Endpoint mode while the demo runs: two scrapes 4 s apart.
        time.sleep(3)
        endpoint = suggest("--endpoint", f"http://127.0.0.1:{port}/metrics", "--interval", "6", "--json",
                           "--threshold", "slow_p95_s=0.25")  # fmt: skip
        rules = found(endpoint)
        assert ("slow", "writer") in rules
        assert ("error_prone", "fetch_page") in rules

        prom.wait_for("sum(gen_ai_invoke_agent_duration_seconds_count)", lambda r: r and float(r[0]["value"][1]) > 50)
        time.sleep(12)  # the run ends; a few more scrapes
        out = suggest("--prometheus", prom.url, "--window", "5m", "--json", "--threshold", "slow_p95_s=0.25",
                      "--daily-budget", "0.01", "--fail-on", "high")  # fmt: skip
        rules = found(out)
        assert ("slow", "writer") in rules
        assert ("error_prone", "fetch_page") in rules
        assert ("model_downgrade", "planner:gpt-4o") in rules
        assert ("budget_burn", "daily") in rules
        assert out.returncode == 1  # --fail-on high with high-severity suggestions
        data = json.loads(out.stdout)
        assert 0 <= data["health"]["score"] <= 100
        text = suggest("--prometheus", prom.url, "--window", "5m", "--threshold", "slow_p95_s=0.25")
        assert text.returncode == 0 and "Agent 'writer' is slow" in text.stdout
    finally:
        app.kill()
        app.wait(timeout=10)
        prom.stop()


def test_suggest_unreachable_source_is_one_line_exit_3() -> None:
    out = suggest("--prometheus", f"http://127.0.0.1:{free_port()}")
    assert out.returncode == 3
    assert out.stderr.strip().count("\n") == 0 and "cannot query" in out.stderr
