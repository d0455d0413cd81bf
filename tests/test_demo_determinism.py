"""Same seed, same workload: the demo's requests and every call, error and token depend on seed, duration
and rate only, not on how fast the machine runs them (two runs are compared, and a third seed differs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def demo(tmp_path: Path, seed: int, time_scale: str, name: str) -> dict[str, Any]:
    path = tmp_path / f"{name}.json"
    out = subprocess.run(
        [
            sys.executable, "-m", "otel_agentperf", "demo", "--duration", "3", "--rate", "4", "--seed", str(seed),
            "--time-scale", time_scale, "--port", "0", "--json", str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(path.read_text())


def workload(summary: dict[str, Any]) -> dict[str, Any]:
    """What was done (not how long it took): requests, and calls, errors and tokens per agent, model, tool."""
    shape: dict[str, Any] = {"requests": summary["requests"]}
    for table in ("agents", "models", "tools"):
        shape[table] = {
            name: (row["calls"], row["errors"], row.get("input_tokens"), row.get("output_tokens"))
            for name, row in summary[table].items()
        }
    return shape


def test_same_seed_same_workload_whatever_the_speed(tmp_path: Path) -> None:
    first = workload(demo(tmp_path, 5, "0.05", "first"))
    # Twice as slow a world: tasks interleave differently, the workload must not change.
    second = workload(demo(tmp_path, 5, "0.1", "second"))
    assert first == second
    assert first["requests"]["started"] >= 5 and first["requests"]["llm_calls"] > 0
    other = workload(demo(tmp_path, 6, "0.05", "other"))
    assert other != first  # the comparison sees a different workload
