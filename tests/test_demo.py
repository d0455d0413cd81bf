"""The main job: `agentperf demo` runs offline, prints the summary, and its built-in inefficiencies are found."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any


def test_demo_finds_its_built_in_inefficiencies(tmp_path: Any) -> None:
    path = os.path.join(str(tmp_path), "summary.json")
    out = subprocess.run(
        [
            sys.executable, "-m", "otel_agentperf", "demo", "--duration", "5", "--rate", "8",
            "--time-scale", "0.05", "--port", "0", "--seed", "11", "--json", path,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    for heading in ("Agents", "Models", "Tools", "Most expensive conversations", "Suggestions, ranked", "Health score"):
        assert heading in out.stdout
    assert "Prometheus metrics: http://127.0.0.1:" in out.stdout
    with open(path) as f:
        summary = json.load(f)
    found = {(s["rule"], s["scope_name"]) for s in summary["suggestions"]}
    assert ("model_downgrade", "planner:gpt-4o-2024-08-06") in found  # over-powered model on a trivial step
    assert ("caching", "web_search") in found  # repeated identical tool calls
    assert ("error_prone", "fetch_page") in found  # a flaky tool
    assert ("slow", "writer") in found  # a slow agent
    assert ("prompt_caching", "anthropic/claude-sonnet-4-5") in found
    assert any(rule == "context_bloat" for rule, _ in found)
    ranked = summary["suggestions"]
    assert [s["impact"] for s in ranked] == sorted((s["impact"] for s in ranked), reverse=True)
    for s in ranked:
        assert s["savings_usd_per_day"] >= 0 and s["savings_seconds_per_day"] >= 0 and s["description"]
    assert summary["spend"]["total_usd"] > 0
    assert 0 <= summary["health"]["score"] <= 100
    # The self-hosted moderation model has no price: unpriced, never $0, and every total says so.
    guard = summary["models"]["acme-guard-1"]
    assert guard["llm_cost_usd"] is None and guard["unpriced_calls"] == guard["calls"] > 0
    researcher = summary["agents"]["researcher"]  # the one agent that calls it: partly priced
    assert researcher["llm_cost_usd"] > 0 and researcher["unpriced_calls"] == guard["unpriced_calls"]
    assert all(row["unpriced_calls"] == 0 for name, row in summary["agents"].items() if name != "researcher")
    assert summary["spend"]["unpriced_calls"] == guard["unpriced_calls"]
    unpriced = guard["unpriced_calls"]
    assert re.search(rf"│ acme-guard-1 .*│\s+unpriced \({unpriced:,} calls\) │", out.stdout)
    assert re.search(rf"│ researcher .*│\s+\$[\d.,]+ \(\+ {unpriced:,} unpriced calls\) │", out.stdout)
    assert re.search(rf"Spend: \$[\d.,]+ \(\+ {unpriced:,} unpriced calls\) = ", out.stdout)
    assert "$0.0000" not in out.stdout
