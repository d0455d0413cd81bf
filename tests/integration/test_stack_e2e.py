"""End to end on the native stack (`agentperf stack up --fast` code path): the real SDK's demo runs, a
real Prometheus scrapes it with our rules, every dashboard query returns data, an injected fault fires
the matching alerts, Alertmanager routes them to the webhook printer with their text, and they resolve.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from otel_agentperf.stack import runner as _stack
from tests.support.prom import free_port, require_binary

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
VARIABLES = {"$job": ".*", "$agent": ".*", "$model": ".*", "$__rate_interval": "15s", "${datasource}": "prometheus"}


def substitute(expr: str) -> str:
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard, panel title or variable, PromQL) for every panel target and template variable."""
    out: list[tuple[str, str, str]] = []
    for path in sorted((ROOT / "grafana" / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                out.append((board["uid"], panel["title"], target["expr"]))
        for variable in board["templating"]["list"]:
            if variable["type"] != "query":
                continue
            match = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"])
            assert match, variable["query"]
            out.append((board["uid"], f"${variable['name']}", f"count by ({match.group(2)}) ({match.group(1)})"))
    return out


def query(prom: str, promql: str) -> list[dict[str, Any]]:
    import urllib.parse
    import urllib.request

    with urllib.request.urlopen(f"{prom}/api/v1/query?{urllib.parse.urlencode({'query': promql})}", timeout=10) as r:
        body = json.loads(r.read())
    assert body["status"] == "success", body
    return body["data"]["result"]


def notifications(directory: Path) -> list[dict[str, Any]]:
    path = directory / "alerts.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def delivered(directory: Path, alertname: str, status: str) -> list[dict[str, Any]]:
    return [
        (n, a)
        for n in notifications(directory)
        for a in n["alerts"]
        if a["labels"].get("alertname") == alertname and a["status"] == status
    ]  # type: ignore[return-value]


def wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_stack_end_to_end(tmp_path: Path) -> None:
    require_binary("prometheus")
    require_binary("prometheus-alertmanager", "alertmanager")
    demo_port = free_port()
    info = _stack.start(
        tmp_path / "stack",
        [f"127.0.0.1:{demo_port}"],
        prometheus_port=free_port(),
        alertmanager_port=free_port(),
        alerts_port=free_port(),
        fast=True,
        # The demo at --time-scale 0.1 spends ~$17k/day normally and ~$160k/day during the fault.
        thresholds={"agentperf:budget:usd_per_day": 40_000},
    )
    started = time.monotonic()
    demo = subprocess.Popen(
        [
            sys.executable, "-m", "otel_agentperf", "demo", "--duration", "120", "--rate", "4",
            "--time-scale", "0.1", "--seed", "3", "--port", str(demo_port),
            "--fault-at", "15", "--fault-for", "25",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
    )  # fmt: skip
    try:
        prom = info.prometheus_url
        wait(lambda: query(prom, "sum(gen_ai_invoke_agent_duration_seconds_count)"), 30, "the first scrape")

        # The fault: the writer crashes → error-budget burn (critical → paging); spend spikes over the
        # budget (critical); the unpriced moderation model (warning → chat), all via the printer.
        burn = wait(lambda: delivered(info.dir, "AgentErrorBudgetBurnFast", "firing"), 60, "the burn alert")
        assert {n["receiver"] for n, _ in burn} >= {"paging"}  # critical → the paging receiver (and the console)
        alert = burn[0][1]
        assert alert["labels"]["gen_ai_agent_name"] == "writer" and alert["labels"]["severity"] == "critical"
        assert alert["annotations"]["summary"] == "Agent writer is burning its error budget fast"
        assert re.match(
            r"writer \(agentperf\) failed \d+(\.\d+)?% of invocations over the last hour",
            alert["annotations"]["description"],
        )
        spend = wait(lambda: delivered(info.dir, "SpendOverBudget", "firing"), 30, "the spend alert")
        assert spend[0][1]["annotations"]["summary"].startswith("Projected spend $")
        unpriced = wait(lambda: delivered(info.dir, "UnpricedModelCalls", "firing"), 30, "the unpriced alert")
        receivers = lambda: {n["receiver"] for n, _ in delivered(info.dir, "UnpricedModelCalls", "firing")}  # noqa: E731
        wait(lambda: receivers() >= {"chat"}, 10, "the warning on the chat receiver")
        assert unpriced[0][1]["labels"]["gen_ai_request_model"] == "acme-guard-1"
        assert time.monotonic() - started < 15 + 25 + 10, "alerts fired during the fault"

        # Every panel and variable query of every dashboard returns data (alerts are firing right now).
        empty = []
        for uid, title, expr in dashboard_queries():
            promql = substitute(expr)
            result = query(prom, promql)
            if not result and expr not in OPTIONAL:
                empty.append(f"{uid} / {title}: {promql}")
        assert not empty, "queries without data:\n" + "\n".join(empty)

        # The fault stops at 40 s: the burn alert resolves within seconds, the spend alert once the
        # (compressed) hour of spend has passed; Alertmanager sends both resolutions.
        wait(lambda: delivered(info.dir, "AgentErrorBudgetBurnFast", "resolved"), 60, "the burn resolution")
        wait(lambda: delivered(info.dir, "SpendOverBudget", "resolved"), 60, "the spend resolution")
        elapsed = time.monotonic() - started
        assert demo.poll() is None, f"healthy traffic should still run when the alerts resolve ({elapsed:.0f} s)"
        printed = (info.dir / "alerts.log").read_text()
        assert "FIRING" in printed and "RESOLVED" in printed and "burning its error budget fast" in printed
    finally:
        demo.kill()
        demo.wait(timeout=10)
        _stack.stop(info.dir)
    assert _stack.status(info.dir) == {}


OPTIONAL: frozenset[str] = frozenset()


def _load_optional() -> None:
    sys.path.insert(0, str(ROOT / "grafana"))
    try:
        import build_dashboards  # type: ignore[import-not-found]

        globals()["OPTIONAL"] = build_dashboards.OPTIONAL
    finally:
        sys.path.pop(0)


_load_optional()
