"""Forecasts and regressions end to end, on the native stack (`agentperf stack up --fast`: rules' durations ÷ 60,
1 s evaluation) fed by the real demo with `--drift-at`: latency and spend creep up to 4× over 40 s, then recover.

Proves, on a real Prometheus and Alertmanager: SpendForecastOverBudget fires while SpendOverBudget (the threshold
alert on the same budget) is still quiet, and SpendOverBudget fires later; LatencyRegression fires against the
agents' own baseline (no day of history exists) and resolves once the drift is over, while traffic continues;
both reach the printer with their annotations. One stack on the SDK path (the Collector path's names are the same
for every series these rules read: tests/integration/test_collector_naming.py). About 2 minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from otel_agentperf.stack import runner as _stack
from tests.integration.test_stack_e2e import delivered, wait
from tests.support.prom import free_port, require_binary

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DRIFT_AT, DRIFT_FOR = 42, 40  # the forecast needs 40 (compressed) minutes of history before it judges
THRESHOLDS = {
    # The demo at --rate 4 --time-scale 0.1 spends ~$17k/day; the drift takes it past $30k/day.
    "agentperf:budget:usd_per_day": 30_000,
    # The demo's world runs 10× faster (latencies × 0.1) and a compressed 30-minute window holds ~30 s of calls.
    "agentperf:regression:min_latency_delta_seconds": 0.05,
    "agentperf:regression:min_calls": 20,
}


def firing(prometheus: str) -> dict[str, list[dict[str, Any]]]:
    with urllib.request.urlopen(f"{prometheus}/api/v1/alerts", timeout=5) as r:
        alerts = json.loads(r.read())["data"]["alerts"]
    out: dict[str, list[dict[str, Any]]] = {}
    for a in alerts:
        if a["state"] == "firing":
            out.setdefault(a["labels"]["alertname"], []).append(a)
    return out


@pytest.mark.timeout(300)  # ~125 s here
def test_forecast_fires_before_the_threshold_and_the_regression_fires_and_resolves(tmp_path: Path) -> None:
    require_binary("prometheus")
    require_binary("prometheus-alertmanager", "alertmanager")
    demo_port = free_port()
    ports = {"prometheus": free_port(), "alertmanager": free_port(), "alerts": free_port()}
    info = _stack.start(
        tmp_path / "stack",
        [f"127.0.0.1:{demo_port}"],
        prometheus_port=ports["prometheus"],
        alertmanager_port=ports["alertmanager"],
        alerts_port=ports["alerts"],
        fast=True,
        thresholds=THRESHOLDS,
    )
    demo: subprocess.Popen[bytes] | None = None
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        env["PYTHONPATH"] = str(ROOT)
        demo = subprocess.Popen(
            [
                sys.executable, "-m", "otel_agentperf", "demo", "--duration", "150", "--rate", "4",
                "--time-scale", "0.1", "--seed", "5", "--port", str(demo_port),
                "--drift-at", str(DRIFT_AT), "--drift-for", str(DRIFT_FOR),
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path,
        )  # fmt: skip
        started = time.monotonic()

        # The order, watched on Prometheus every half second: the forecast first, the threshold alert after it.
        seen: dict[str, float] = {}
        while time.monotonic() - started < 110 and not {"SpendForecastOverBudget", "SpendOverBudget"} <= set(seen):
            for name in firing(info.prometheus_url):
                seen.setdefault(name, time.monotonic() - started)
            time.sleep(0.5)
        assert "SpendOverBudget" not in seen or seen["SpendOverBudget"] > DRIFT_AT, "normal traffic paged"
        assert "SpendForecastOverBudget" in seen, f"no forecast; fired: {seen}"
        assert "SpendOverBudget" in seen, f"the drift never crossed the budget; fired: {seen}"
        assert DRIFT_AT < seen["SpendForecastOverBudget"] < seen["SpendOverBudget"], seen

        forecast = wait(lambda: delivered(info.dir, "SpendForecastOverBudget", "firing"), 20, "the forecast's note")
        notes = forecast[0][1]["annotations"]
        assert notes["summary"].startswith("Spend is on course to cross the daily budget at 20")
        assert "/day budget at 20" in notes["description"] and "by the end of the UTC day" in notes["description"]
        assert notes["runbook_url"] == f"http://127.0.0.1:{ports['alerts']}/runbooks/SpendForecastOverBudget"

        regression = wait(lambda: delivered(info.dir, "LatencyRegression", "firing"), 40, "the latency regression")
        labels, notes = regression[0][1]["labels"], regression[0][1]["annotations"]
        assert labels["baseline"] == "its baseline (the 3 hours before)" and labels["scope"].startswith(
            ("agent ", "model ")
        )
        assert " calls, against " in notes["description"] and " calls in its baseline" in notes["description"]

        # The drift ends at 82 s: the last (compressed) 30 minutes are normal again by ~112 s and it resolves.
        wait(lambda: delivered(info.dir, "LatencyRegression", "resolved"), 60, "the regression's resolution")
        assert demo.poll() is None, "traffic still runs when the regression resolves (it is not a silence)"
    finally:
        if demo is not None:
            demo.kill()
            demo.wait(timeout=10)
        _stack.stop(info.dir)
