"""End to end on the native stack (`agentperf stack up --fast` code path), on both naming paths at once.

One run of the real SDK's demo feeds two stacks: one scrapes the demo's own Prometheus endpoint (the SDK's
names, as `agentperf stack` does), the other scrapes the Collector path (the demo's OTLP, named by the
Collector Prometheus exporter's rules, tests/support/prom.py, scraped with honor_labels as in
deploy/prometheus/prometheus.yml). On each: every dashboard query returns data; an injected fault fires the
matching alerts (and the resource alert, its threshold lowered), Alertmanager delivers each once to the
printer with its text, runbook and external links; they resolve while healthy traffic continues.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from otel_agentperf.stack import runner as _stack
from tests.support.otlp_receiver import GrpcReceiver
from tests.support.prom import (
    CollectorPath,
    dashboard_queries,
    fake_gpu_pythonpath,
    free_port,
    require_binary,
    substitute,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
THRESHOLDS = {
    # The demo at --time-scale 0.1 and --rate 4 spends ~$17k/day normally and ~$160k/day during the fault.
    "agentperf:budget:usd_per_day": 40_000,
    # Resource pressure on purpose: system memory is always over 1 %, so ProcessResourcePressure must fire.
    "agentperf:system_memory:max_ratio": 0.01,
}


def query(prom: str, promql: str) -> list[dict[str, Any]]:
    import urllib.parse

    with urllib.request.urlopen(f"{prom}/api/v1/query?{urllib.parse.urlencode({'query': promql})}", timeout=10) as r:
        body = json.loads(r.read())
    assert body["status"] == "success", body
    return body["data"]["result"]


def notifications(directory: Path) -> list[dict[str, Any]]:
    path = directory / "alerts.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def delivered(directory: Path, alertname: str, status: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [
        (n, a)
        for n in notifications(directory)
        for a in n["alerts"]
        if a["labels"].get("alertname") == alertname and a["status"] == status
    ]


def wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Path_:
    name: str
    job: str  # the job label the series get on this path
    info: _stack.StackInfo
    ports: dict[str, int]


def start_stack(directory: Path, name: str, target: str, *, honor_labels: bool, job: str) -> Path_:
    ports = {"prometheus": free_port(), "alertmanager": free_port(), "alerts": free_port()}
    info = _stack.start(
        directory / name,
        [target],
        prometheus_port=ports["prometheus"],
        alertmanager_port=ports["alertmanager"],
        alerts_port=ports["alerts"],
        fast=True,
        thresholds=THRESHOLDS,
        honor_labels=honor_labels,
    )
    return Path_(name, job, info, ports)


def check_fault_alerts(path: Path_, started: float) -> None:
    """The fault's alerts on one path: fired, printed once (one receiver posts to the printer), with text,
    a runbook the printer serves, and links to Prometheus and Alertmanager as the browser reaches them."""
    directory = path.info.dir
    burn = wait(lambda: delivered(directory, "AgentErrorBudgetBurnFast", "firing"), 60, f"{path.name}: burn")
    note, alert = burn[0]
    assert alert["labels"]["gen_ai_agent_name"] == "writer" and alert["labels"]["severity"] == "critical"
    assert alert["labels"]["job"] == path.job
    assert alert["annotations"]["summary"] == "Agent writer is burning its error budget fast"
    assert re.match(
        rf"writer \({re.escape(path.job)}\) failed \d+(\.\d+)?% of invocations over the last hour",
        alert["annotations"]["description"],
    )
    assert alert["generatorURL"].startswith(f"http://127.0.0.1:{path.ports['prometheus']}/graph?")
    assert note["externalURL"] == f"http://127.0.0.1:{path.ports['alertmanager']}"
    runbook = alert["annotations"]["runbook_url"]
    assert runbook == f"http://127.0.0.1:{path.ports['alerts']}/runbooks/AgentErrorBudgetBurnFast"
    with urllib.request.urlopen(runbook, timeout=5) as r:
        assert r.status == 200 and "AgentErrorBudgetBurnFast" in r.read().decode()
    spend = wait(lambda: delivered(directory, "SpendOverBudget", "firing"), 30, f"{path.name}: spend")
    assert spend[0][1]["annotations"]["summary"].startswith("Projected spend $")
    unpriced = wait(lambda: delivered(directory, "UnpricedModelCalls", "firing"), 30, f"{path.name}: unpriced")
    assert unpriced[0][1]["labels"]["gen_ai_request_model"] == "acme-guard-1"
    assert time.monotonic() - started < 15 + 25 + 15, "alerts fired during the fault"
    # The resource gauges, `_ratio` on the Collector path: the alert still fires (it could not before).
    pressure = wait(lambda: delivered(directory, "ProcessResourcePressure", "firing"), 30, f"{path.name}: pressure")
    assert pressure[0][1]["labels"]["job"] == path.job
    # One receiver posts to the printer: paging and chat have nothing to post to until turned on.
    assert {n["receiver"] for n in notifications(directory)} == {"agentperf-console"}


@pytest.mark.timeout(300)  # ~105 s here: two stacks, a 2-minute demo; room for a slower CI machine
def test_stack_end_to_end_on_both_naming_paths(tmp_path: Path) -> None:
    require_binary("prometheus")
    require_binary("prometheus-alertmanager", "alertmanager")
    receiver = GrpcReceiver()
    collector = CollectorPath(receiver.received)
    demo_port = free_port()
    paths = [
        start_stack(tmp_path, "sdk", f"127.0.0.1:{demo_port}", honor_labels=False, job="agentperf"),
    ]
    demo: subprocess.Popen[bytes] | None = None
    try:
        paths.append(start_stack(tmp_path, "collector", collector.target, honor_labels=True, job="agentperf-demo"))
        started = time.monotonic()
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        env["PYTHONPATH"] = os.pathsep.join([fake_gpu_pythonpath(str(tmp_path / "gpu")), str(ROOT)])
        demo = subprocess.Popen(
            [
                sys.executable, "-m", "otel_agentperf", "demo", "--duration", "120", "--rate", "4",
                "--time-scale", "0.1", "--seed", "3", "--port", str(demo_port), "--otlp", receiver.endpoint,
                "--fault-at", "15", "--fault-for", "25",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=tmp_path,
        )  # fmt: skip
        for path in paths:
            wait(lambda p=path: query(p.info.prometheus_url, "sum(gen_ai_invoke_agent_duration_seconds_count)"), 30,
                 f"{path.name}: the first scrape")  # fmt: skip

        # The fault: the writer crashes → error-budget burn (critical); spend over budget (critical); the
        # unpriced moderation model (warning); resource pressure (warning, threshold lowered).
        for path in paths:
            check_fault_alerts(path, started)

        # Every panel and variable query of every dashboard returns data, on each path (alerts firing now).
        empty = [
            f"{path.name} · {uid} / {title}: {substitute(expr, path.job)}"
            for path in paths
            for uid, title, expr in dashboard_queries()
            if not query(path.info.prometheus_url, substitute(expr, path.job))
        ]
        assert not empty, "queries without data:\n" + "\n".join(empty)

        # The fault stops at 40 s: the burn alert resolves within seconds, the spend alert once the
        # (compressed) hour of spend has passed; Alertmanager sends both resolutions.
        for path in paths:
            wait(lambda p=path: delivered(p.info.dir, "AgentErrorBudgetBurnFast", "resolved"), 60,
                 f"{path.name}: the burn resolution")  # fmt: skip
            wait(lambda p=path: delivered(p.info.dir, "SpendOverBudget", "resolved"), 60,
                 f"{path.name}: the spend resolution")  # fmt: skip
        elapsed = time.monotonic() - started
        assert demo.poll() is None, f"healthy traffic should still run when the alerts resolve ({elapsed:.0f} s)"
        for path in paths:
            printed = (path.info.dir / "alerts.log").read_text()
            assert "FIRING" in printed and "RESOLVED" in printed and "burning its error budget fast" in printed
            assert f"runbook: http://127.0.0.1:{path.ports['alerts']}/runbooks/" in printed
    finally:
        if demo is not None:
            demo.kill()
            demo.wait(timeout=10)
        for path in paths:
            _stack.stop(path.info.dir)
        collector.stop()
        receiver.stop()
    assert all(_stack.status(path.info.dir) == {} for path in paths)


def test_the_demo_does_not_page_with_the_default_budget(tmp_path: Path) -> None:
    """The shipped daily budget is the demo's: its normal traffic at the default rate stays under it (the
    fault's spend, ~9× more, goes over it). Measured on a real demo run, projected over a day."""
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "rules" / "agentperf-thresholds.yml").read_text())
    budget_rule = next(r for g in rules["groups"] for r in g["rules"] if r["record"] == "agentperf:budget:usd_per_day")
    budget = float(re.fullmatch(r"vector\((.+)\)", budget_rule["expr"].strip()).group(1))  # type: ignore[union-attr]
    summary_path = tmp_path / "summary.json"
    duration = 10.0
    out = subprocess.run(
        [sys.executable, "-m", "otel_agentperf", "demo", "--duration", str(duration), "--time-scale", "0.1",
         "--port", "0", "--json", str(summary_path)],
        capture_output=True, text=True, timeout=90, cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    spend = json.loads(summary_path.read_text())["spend"]["total_usd"]
    per_day = spend / duration * 86400
    assert 1000 < per_day < budget / 2, f"the demo projects ${per_day:,.0f}/day against a ${budget:,.0f} budget"
    assert per_day * 9 > budget  # the injected fault's spend still pages
