"""The main job: `agentperf demo` runs offline, prints the summary, and its built-in inefficiencies are found."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

from rich.cells import cell_len


def run_demo(args: list[str], *, columns: int) -> subprocess.CompletedProcess[str]:
    """``agentperf demo`` with ``args`` (metrics on a free port, no OTEL_* settings of ours) at ``columns``."""
    out = subprocess.run(
        [sys.executable, "-m", "otel_agentperf", "demo", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}, "COLUMNS": str(columns)},
    )
    assert out.returncode == 0, out.stderr
    return out


def test_demo_finds_its_built_in_inefficiencies(tmp_path: Any) -> None:
    path = os.path.join(str(tmp_path), "summary.json")
    out = run_demo(
        ["--duration", "5", "--rate", "8", "--time-scale", "0.05", "--seed", "11", "--json", path], columns=160
    )
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


def test_demo_at_80_columns_one_estimator_per_number(tmp_path: Any) -> None:
    """The README's command on an 80-column screen: every line fits, nothing is cut, and a suggestion quotes
    the p95 its agent's row shows (both histogram_quantile over the exported buckets)."""
    path = os.path.join(str(tmp_path), "summary.json")
    out = run_demo(["--duration", "4", "--time-scale", "0.1", "--json", path], columns=80)
    lines = out.stdout.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    assert "…" not in out.stdout
    with open(path) as f:
        summary = json.load(f)
    slow = [s for s in summary["suggestions"] if s["rule"] == "slow" and s["scope_kind"] == "agent"]
    assert slow, "the writer is slow at this time scale"
    suggestions = " ".join(column(lines, "suggestion (evidence)"))
    for s in slow:
        agent = s["scope_name"]
        table_p95 = summary["agents"][agent]["p95_seconds"]
        assert s["evidence"]["p95_s"] == table_p95  # one estimator in the data
        shown = dict(zip(column(lines, "agent"), column(lines, "p95"), strict=False))[agent]
        seconds = float(shown[:-3]) / 1000 if shown.endswith(" ms") else float(shown[:-2])
        quoted = re.search(rf"Agent '{agent}' is slow: p95 ([\d.]+) s", suggestions)
        assert quoted is not None, suggestions
        assert abs(float(quoted.group(1)) - seconds) <= 0.006, (shown, quoted.group(0))


def column(lines: list[str], header: str) -> list[str]:
    """The cells of the first table with this column header, each row's wrapped lines joined."""
    start = next(i for i, line in enumerate(lines) if line.startswith("┃") and f" {header} " in line)
    index = [c.strip() for c in lines[start].split("┃")].index(header)
    cells: list[str] = []
    for line in lines[start + 2 :]:
        if not line.startswith("│"):
            break
        parts = [c.strip() for c in line.split("│")]
        if parts[1] or not cells:  # a new row (its first cell is never empty), or a continuation line
            cells.append(parts[index])
        else:
            cells[-1] = f"{cells[-1]} {parts[index]}".strip()
    return cells


def test_one_estimator_puts_the_tables_percentiles_in_what_the_rules_read() -> None:
    from otel_agentperf.cli.demo import one_estimator
    from otel_agentperf.insights.rules import BUILTIN_RULES
    from otel_agentperf.insights.stats import Row
    from otel_agentperf.insights.suggest import Snapshot, Thresholds, evaluate

    snap = Snapshot(
        window_s=60.0,
        agents=[Row(("writer",), count=10, p50=0.5, p95=0.71, p99=0.8)],  # the in-process sketch
        provider_models=[Row(("openai", "gpt-4o-2024-08-06"), count=10, p50=0.2, p95=0.3, p99=0.4)],
        tools=[Row(("search",), count=10, p50=0.05, p95=0.1, p99=0.2)],
    )
    table = {"p50_seconds": 0.6, "p95_seconds": 0.78, "p99_seconds": 0.79}  # histogram_quantile
    summary = {"agents": {"writer": table}, "models": {"gpt-4o": {**table, "p95_seconds": 0.45}}, "tools": {}}
    one_estimator(snap, summary)
    assert (snap.agents[0].p50, snap.agents[0].p95, snap.agents[0].p99) == (0.6, 0.78, 0.79)
    assert snap.provider_models[0].p95 == 0.45  # the dated response model's row takes the requested one's
    assert snap.tools[0].p95 == 0.1  # not in the table: left as measured
    found = evaluate(snap, Thresholds(slow_p95_s=0.75, min_calls=1), BUILTIN_RULES)
    (slow,) = [s for s in found if s.rule == "slow" and s.scope_name == "writer"]
    assert "p95 0.78 s" in slow.title
