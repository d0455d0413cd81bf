"""The demo's Prometheus endpoint, scraped by a real Prometheus: names, labels and totals match the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import pytest

from tests.support.prom import Prometheus, free_port

pytestmark = pytest.mark.integration


def by_label(result: list[dict[str, object]], label: str) -> dict[str, float]:
    return {r["metric"].get(label, ""): float(r["value"][1]) for r in result}  # type: ignore[index,union-attr]


def test_demo_scraped_by_real_prometheus() -> None:
    port = free_port()
    prom = Prometheus([f"127.0.0.1:{port}"])
    summary_path = os.path.join(tempfile.mkdtemp(), "summary.json")
    demo = subprocess.Popen(
        [
            sys.executable, "-m", "otel_agentperf", "demo",
            "--duration", "6", "--rate", "4", "--time-scale", "0.15", "--seed", "3",
            "--port", str(port), "--json", summary_path, "--linger", "30",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while not os.path.exists(summary_path) or os.path.getsize(summary_path) == 0:
            assert demo.poll() is None, demo.communicate()[1].decode()
            assert time.monotonic() < deadline, "demo did not finish"
            time.sleep(0.2)
        time.sleep(0.5)
        with open(summary_path) as f:
            summary = json.load(f)
        expected_calls = {name: row["calls"] for name, row in summary["agents"].items()}
        assert set(expected_calls) == {"planner", "researcher", "writer"}

        # After the run, the next scrapes see the final totals: exactly what the demo counted.
        promql = "sum by (gen_ai_agent_name) (gen_ai_invoke_agent_duration_seconds_count)"
        result = prom.wait_for(promql, lambda r: by_label(r, "gen_ai_agent_name") == expected_calls)
        assert by_label(result, "gen_ai_agent_name") == expected_calls

        tokens = by_label(
            prom.query('sum by (gen_ai_request_model) (gen_ai_client_token_usage_sum{gen_ai_token_type="input"})'),
            "gen_ai_request_model",
        )
        assert tokens == {m: row["input_tokens"] for m, row in summary["models"].items() if row["input_tokens"]}

        errors = by_label(
            prom.query('sum by (gen_ai_agent_name) (gen_ai_invoke_agent_duration_seconds_count{error_type!=""})'),
            "gen_ai_agent_name",
        )
        assert errors == {a: row["errors"] for a, row in summary["agents"].items() if row["errors"]}

        # histogram_quantile over the same buckets gives the demo's own p95.
        p95 = by_label(
            prom.query(
                "histogram_quantile(0.95, sum by (le, gen_ai_agent_name) (gen_ai_invoke_agent_duration_seconds_bucket))"
            ),
            "gen_ai_agent_name",
        )
        for agent, row in summary["agents"].items():
            assert p95[agent] == pytest.approx(row["p95_seconds"], rel=1e-9)

        # Cost: the histogram sums per agent are the demo's own totals; paid tool APIs in the counter.
        cost = by_label(
            prom.query("sum by (gen_ai_agent_name) (gen_ai_client_operation_cost_sum)"), "gen_ai_agent_name"
        )
        assert cost.keys() == expected_calls.keys()
        for agent, row in summary["agents"].items():
            assert cost[agent] == pytest.approx(row["llm_cost_usd"], rel=1e-9)
        other = prom.query("sum(agentperf_cost_other_total)")
        assert float(other[0]["value"][1]) == pytest.approx(summary["spend"]["other_usd"], rel=1e-9)
        assert summary["spend"]["llm_usd"] > 0

        # Scope labels and target_info are there as the reference says; no conversation id anywhere.
        series = prom.query('{__name__=~"gen_ai_.+"}')
        assert all("gen_ai_conversation_id" not in s["metric"] for s in series)
        assert prom.query('target_info{service_name="agentperf-demo"}')
    finally:
        demo.kill()
        demo.communicate(timeout=10)
        prom.stop()
