"""`report`, `top` and `doctor` against a real Prometheus fed by the demo; the HTML report in Chromium."""

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


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "otel_agentperf", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "160"},
    )


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A native stack scraping a demo that ran to completion (its summary JSON is the truth)."""
    tmp = tmp_path_factory.mktemp("views")
    port = free_port()
    info = _stack.start(
        tmp / "stack",
        [f"127.0.0.1:{port}"],
        prometheus_port=free_port(),
        alertmanager_port=free_port(),
        alerts_port=free_port(),
        fast=True,
    )
    summary = tmp / "demo.json"
    # Start the traffic only once Prometheus' scrape loop runs (it starts ~5 s after Prometheus), so that
    # increase() over the run sees (nearly) every call: a counter's first sample is its baseline.
    from tests.integration.test_stack_e2e import query, wait

    wait(lambda: query(info.prometheus_url, 'up{job="agentperf"}'), 30, "the scrape loop")
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "otel_agentperf",
            "demo",
            "--duration",
            "20",
            "--rate",
            "4",
            "--time-scale",
            "0.1",
            "--seed",
            "9",
            "--port",
            str(port),
            "--json",
            str(summary),
            "--linger",
            "300",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
    )
    started = time.time()
    try:
        deadline = time.monotonic() + 120
        while not summary.exists() or not summary.stat().st_size:
            assert demo.poll() is None and time.monotonic() < deadline, "the demo did not finish"
            time.sleep(0.5)
        time.sleep(4)  # final scrapes
        yield info, json.loads(summary.read_text()), started, port
    finally:
        demo.kill()
        demo.wait(timeout=10)
        _stack.stop(info.dir)


def test_report_json_matches_the_workload(fed: Any) -> None:
    info, truth, started, _ = fed
    since = f"{int(time.time() - started) + 30}s"
    out = cli("report", "--prometheus", info.prometheus_url, "--since", since, "--format", "json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["schema_version"] == 2
    agents = {a["name"]: a for a in report["agents"]}
    assert set(agents) == set(truth["agents"])
    for name, row in truth["agents"].items():
        # increase() extrapolates at the window edges; the totals must still be the workload's within 10 %.
        assert agents[name]["calls"] == pytest.approx(row["calls"], rel=0.10), name
        assert agents[name]["errors"] == pytest.approx(row["errors"], rel=0.25, abs=3), name
    assert report["summary"]["agent_calls"] == pytest.approx(
        sum(r["calls"] for r in truth["agents"].values()), rel=0.10
    )
    assert report["summary"]["spend_usd"] == pytest.approx(truth["spend"]["total_usd"], rel=0.10)
    models = {m["name"]: m for m in report["models"]}
    assert models["openai/gpt-4o"]["calls"] == pytest.approx(truth["models"]["gpt-4o"]["calls"], rel=0.10)
    guard = models["vllm/acme-guard-1"]  # no price: null, never 0, with the calls it leaves out
    assert guard["cost_usd"] is None and guard["unpriced_calls"] == pytest.approx(
        truth["models"]["acme-guard-1"]["unpriced_calls"], rel=0.10
    )
    assert {"fetch_page", "web_search", "vector_lookup"} <= {t["name"] for t in report["tools"]}
    rules = {(r["rule"], r["scope_name"]) for r in report["recommendations"]}
    assert ("error_prone", "fetch_page") in rules and ("model_downgrade", "planner:gpt-4o") in rules
    for name in ("latency_p50", "latency_p95", "latency_p99", "error_rate"):
        assert report["series"][name], name
    assert report["series"]["spend_by_agent"] and report["series"]["spend_by_model"]


def test_report_markdown_and_terminal(fed: Any) -> None:
    info = fed[0]
    md = cli("report", "--prometheus", info.prometheus_url, "--since", "10m", "--format", "markdown")
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("# agentperf report:") and "## Recommendations, by priority" in md.stdout
    assert re.search(r"\| researcher \| \d", md.stdout)
    term = cli("report", "--prometheus", info.prometheus_url, "--since", "10m")
    assert term.returncode == 0 and "Executive summary" in term.stdout and "writer" in term.stdout


def test_html_report_renders_in_chromium(fed: Any, tmp_path: Path) -> None:
    chromium = require_binary("chromium", "chromium-browser")
    info = fed[0]
    page = tmp_path / "report.html"
    out = cli(
        "report", "--prometheus", info.prometheus_url, "--since", "10m", "--format", "html", "--output", str(page)
    )
    assert out.returncode == 0, out.stderr
    html = page.read_text()
    assert "<script" not in html and "http://" not in html.split("</header>")[1].split("<h2>Agents")[0]  # offline
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run([chromium, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = dom.stdout
    charts = re.findall(r'<figure class="chart">(.*?)</figure>', rendered, re.S)
    assert len(charts) == 4
    for chart in charts:
        assert "no data in this period" not in chart
        lines = re.findall(r'<polyline[^>]*points="([^"]+)"', chart)
        assert lines and all(len(points.split()) >= 2 for points in lines), chart[:200]
    assert rendered.count('class="kpi"') == 7
    shot = tmp_path / "report.png"
    result = subprocess.run(
        [chromium, *flags, "--window-size=1280,2000", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and shot.stat().st_size > 50_000  # a real, non-blank page


def test_top_once_against_prometheus_and_endpoint(fed: Any) -> None:
    info, truth, _, port = fed
    out = cli("top", "--prometheus", info.prometheus_url, "--window", "10m", "--once")
    assert out.returncode == 0, out.stderr
    screen = out.stdout
    for text in (
        "KPIs vs. targets",
        "p95 latency (s)",
        "success rate",
        "spend/hour (USD)",
        "cache share",
        "health score",
        "Agents",
        "Models",
        "Suggestions",
        "Firing alerts",
    ):
        assert text in screen, text
    for agent in truth["agents"]:
        assert re.search(rf"│ {agent}\s+│\s+\d", screen), agent
    assert "openai/gpt-4o" in screen
    # The demo has stopped but still serves its endpoint: no traffic in the window → graceful "-".
    idle = cli("top", "--endpoint", f"http://127.0.0.1:{port}/metrics", "--once")
    assert idle.returncode == 0, idle.stderr
    assert "no agent data in this window" in idle.stdout and "Traceback" not in idle.stderr


def test_doctor_on_a_healthy_stack(fed: Any) -> None:
    info, _, _, port = fed
    out = cli(
        "doctor",
        "--endpoint",
        f"http://127.0.0.1:{port}/metrics",
        "--prometheus",
        info.prometheus_url,
        "--alertmanager",
        info.alertmanager_url,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for check in (
        "app metrics endpoint",
        "our metrics in Prometheus",
        "alert and recording rules",
        "Prometheus → Alertmanager",
        "pricing data",
    ):
        assert re.search(rf"{re.escape(check)}\s+│ OK", out.stdout), check


def test_doctor_prometheus_without_rules_or_metrics(tmp_path: Path) -> None:
    from tests.support.prom import Prometheus

    prom = Prometheus([f"127.0.0.1:{free_port()}"])  # scrapes nothing useful, loads no rules
    try:
        out = cli("doctor", "--prometheus", prom.url)
    finally:
        prom.stop()
    assert out.returncode == 1
    assert re.search(r"our metrics in Prometheus\s+│ FAIL", out.stdout)
    assert re.search(r"alert and recording rules\s+│ FAIL", out.stdout) and "rule_files" in out.stdout
    assert re.search(r"Prometheus → Alertmanager\s+│ WARN", out.stdout)
