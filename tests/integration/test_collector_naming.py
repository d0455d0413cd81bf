"""Both naming paths, proven with the real SDK and a real Prometheus.

The demo (the real SDK) serves its Prometheus endpoint and sends OTLP at the same time. The OTLP goes through
the Collector's Prometheus-exporter naming (tests/support/prom.py ``CollectorPath``: the rules of
collector-contrib ``pkg/translator/prometheus`` ported, checked below against the upstream unit tests'
vectors) because no Collector binary can run here. One real Prometheus scrapes both, with our rules, the way
each stack does (the native stack scrapes the SDK; compose scrapes the Collector with ``honor_labels``).

Proven on both paths: the series carry the same data; the only names that differ are the four gauges whose
unit is "1" (``_ratio``); every dashboard panel and variable query returns data; every series an alert or a
recording rule reads exists; every alert fires in promtool on the Collector's names too.
Not proven: the Collector binary itself (its accumulator, OpenMetrics encoder, resourcedetection), which
cannot run here; the exposition is built from the ported rules.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from otel_agentperf.stack.runner import compress
from tests.support.otlp_receiver import GrpcReceiver
from tests.support.prom import (
    RULES_DIR,
    CollectorPath,
    Prometheus,
    collector_label_name,
    collector_metric_name,
    dashboard_queries,
    fake_gpu_pythonpath,
    free_port,
    raw_selectors,
    require_binary,
    rule_groups,
    substitute,
)

ROOT = Path(__file__).resolve().parents[2]
SDK_JOB = "agentperf"  # the native stack's scrape job: the SDK's exporter carries no job label
COLLECTOR_SCRAPE_JOB = "otel-collector-exporter"  # deploy/prometheus/prometheus.yml
COLLECTOR_JOB = "agentperf-demo"  # service.name → job on the Collector path (honor_labels keeps it)
# Gauges with unit "1" the OpenTelemetry conventions define (the Collector names them `…_ratio`); the SDK's own
# health score has unit "1" too (0–100, so `_ratio` misleads there: a unit change would make both paths agree).
SEMCONV_RATIO_GAUGES = {"process_cpu_utilization", "system_memory_utilization", "gpu_utilization"}
NOT_FROM_THE_SDK = ("otelcol_", "up{", "up", "ALERTS")  # the Collector's own telemetry, Prometheus' own series


# --- the port, against the upstream tests -------------------------------------------------------------------
# Vectors of collector-contrib pkg/translator/prometheus/normalize_name_test.go (TestByte, TestByteCounter,
# TestWhiteSpaces, TestNonStandardUnit(Counter), TestBrokenUnit, TestRatio, TestPer, TestPercent, TestEmpty,
# TestUnsupportedRunes, TestOtelReceivers, TestBuildPromCompliantNameWithNormalize) and normalize_label_test.go
# (TestSanitize): (name, unit, kind, monotonic) → expected. Only vectors on which the versions read agree (the
# contrib file and Prometheus' copy of it, provenance contrib@95e8f8fd): the handling of ":" changed between
# them (":foo::bar", a unit "+=.:,!* & #"), and no name or unit of ours has one.
UPSTREAM_NAMES = [
    ("system.filesystem.usage", "By", "gauge", False, "system_filesystem_usage_bytes"),
    ("system.io", "By", "sum", True, "system_io_bytes_total"),
    ("network_transmitted_bytes_total", "By", "sum", True, "network_transmitted_bytes_total"),
    ("\t system.filesystem.usage       ", "  By\t", "gauge", False, "system_filesystem_usage_bytes"),
    ("system.network.dropped", "{packets}", "gauge", False, "system_network_dropped"),
    ("system.network.dropped", "{packets}", "sum", True, "system_network_dropped_total"),
    ("system.network.packets.dropped", "packets", "gauge", False, "system_network_packets_dropped"),
    ("system.network.packets", "packets", "sum", True, "system_network_packets_total"),
    ("hw.gpu.memory.utilization", "1", "gauge", False, "hw_gpu_memory_utilization_ratio"),
    ("hw.fan.speed_ratio", "1", "gauge", False, "hw_fan_speed_ratio"),
    ("objects", "1", "sum", True, "objects_total"),
    ("broken.metric.speed", "km/h", "gauge", False, "broken_metric_speed_km_per_hour"),
    ("astro.light.speed_limit", "m/s", "gauge", False, "astro_light_speed_limit_meters_per_second"),
    ("broken.metric.success_ratio", "%", "gauge", False, "broken_metric_success_ratio_percent"),
    ("test.metric.no_unit", "", "gauge", False, "test_metric_no_unit"),
    ("test.metric.spaces", "   \t  ", "gauge", False, "test_metric_spaces"),
    ("unsupported.metric.temperature", "°F", "gauge", False, "unsupported_metric_temperature_F"),
    ("unsupported.metric.redundant", "__test $/°C", "gauge", False, "unsupported_metric_redundant_test_per_C"),
    ("apache.requests", "1", "sum", True, "apache_requests_total"),
    ("system.cpu.utilization", "1", "gauge", False, "system_cpu_utilization_ratio"),
    ("system.disk.operation_time", "s", "sum", True, "system_disk_operation_time_seconds_total"),
    ("system.cpu.load_average.15m", "1", "gauge", False, "system_cpu_load_average_15m_ratio"),
    ("memcached.operation_hit_ratio", "%", "gauge", False, "memcached_operation_hit_ratio_percent"),
    ("mongodbatlas.process.asserts", "{assertions}/s", "gauge", False, "mongodbatlas_process_asserts_per_second"),
    ("mongodbatlas.process.network.io", "By/s", "gauge", False, "mongodbatlas_process_network_io_bytes_per_second"),
    ("mongodbatlas.process.oplog.rate", "GiBy/h", "gauge", False, "mongodbatlas_process_oplog_rate_gibibytes_per_hour"),
    ("mongodbatlas.process.db.query_targeting.scanned_per_returned", "{scanned}/{returned}", "gauge", False,
     "mongodbatlas_process_db_query_targeting_scanned_per_returned"),
    ("nginx.connections_accepted", "connections", "gauge", False, "nginx_connections_accepted"),
    ("apache.workers", "connections", "gauge", False, "apache_workers_connections"),
    ("redis.latest_fork", "us", "gauge", False, "redis_latest_fork_microseconds"),
    ("3.14 digits", "", "gauge", False, "_3_14_digits"),
    ("envoy__rule_engine_zlib_buf_error", "", "gauge", False, "envoy_rule_engine_zlib_buf_error"),
]  # fmt: skip
UPSTREAM_LABELS = [("", ""), ("_test", "key_test"), ("0test", "key_0test"), ("test", "test"), ("test_/", "test__"),
                   ("__test", "__test")]  # fmt: skip


@pytest.mark.parametrize(("name", "unit", "kind", "monotonic", "expected"), UPSTREAM_NAMES)
def test_ported_names_match_the_collectors_own_tests(
    name: str, unit: str, kind: str, monotonic: bool, expected: str
) -> None:
    assert collector_metric_name(name, unit, kind, monotonic=monotonic) == expected


@pytest.mark.parametrize(("key", "expected"), UPSTREAM_LABELS)
def test_ported_labels_match_the_collectors_own_tests(key: str, expected: str) -> None:
    assert collector_label_name(key) == expected


# --- one run of the real SDK, seen through both paths ----------------------------------------------------
@dataclass
class Paths:
    prom: Prometheus
    summary: dict[str, Any]
    names: dict[str, set[str]]  # job → the series names stored for it
    unit_one_gauges: set[str]  # OTLP gauges with unit "1", named as the SDK's exporter names them

    def query(self, promql: str) -> list[dict[str, Any]]:
        return self.prom.query(promql)


def stored_names(prom: Prometheus, job: str) -> set[str]:
    result = prom.query(f'group by (__name__) ({{job="{job}"}})')
    skip = re.compile(r"^(target_info|up|scrape_.*|.*_created)$")  # _created: OpenMetrics, read by no query
    return {r["metric"]["__name__"] for r in result if not skip.match(r["metric"]["__name__"])}


@pytest.fixture(scope="module")
def paths() -> Iterator[Paths]:
    require_binary("prometheus")
    receiver = GrpcReceiver()
    collector = CollectorPath(receiver.received)
    prom: Prometheus | None = None
    demo: subprocess.Popen[bytes] | None = None
    work = tempfile.mkdtemp(prefix="agentperf-paths-")
    try:
        port = free_port()
        # The rules as `agentperf stack up --fast` runs them (durations ÷ 60): alerts fire within the run.
        rules = []
        for name in sorted(os.listdir(RULES_DIR)):
            with open(os.path.join(RULES_DIR, name)) as f:
                text = compress(f.read())
            rules.append(os.path.join(work, name))
            with open(rules[-1], "w") as f:
                f.write(text)
        prom = Prometheus(
            rule_files=rules,
            scrape_configs=[
                {"job_name": SDK_JOB, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]},
                {"job_name": COLLECTOR_SCRAPE_JOB, "honor_labels": True,
                 "static_configs": [{"targets": [collector.target]}]},
            ],
        )  # fmt: skip
        summary_path = os.path.join(work, "summary.json")
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        env["PYTHONPATH"] = os.pathsep.join([fake_gpu_pythonpath(os.path.join(work, "gpu")), str(ROOT)])
        demo = subprocess.Popen(
            [sys.executable, "-m", "otel_agentperf", "demo", "--duration", "10", "--rate", "4", "--time-scale", "0.1",
             "--seed", "3", "--port", str(port), "--otlp", receiver.endpoint, "--fault-at", "2", "--fault-for", "6",
             "--json", summary_path, "--linger", "90"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=work,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not os.path.exists(summary_path) or os.path.getsize(summary_path) == 0:
            assert demo.poll() is None, demo.communicate()[1].decode()[-3000:]
            assert time.monotonic() < deadline, "the demo did not finish"
            time.sleep(0.2)
        time.sleep(0.3)
        with open(summary_path) as f:
            summary = json.load(f)
        calls = {agent: float(row["calls"]) for agent, row in summary["agents"].items()}

        def final(r: list[dict[str, Any]]) -> bool:
            return {x["metric"]["gen_ai_agent_name"]: float(x["value"][1]) for x in r} == calls

        # The final totals on both paths (the OTLP exporter pushes every 5 s), then the alerts of the fault.
        for job in (SDK_JOB, COLLECTOR_JOB):
            promql = f'sum by (gen_ai_agent_name) (gen_ai_invoke_agent_duration_seconds_count{{job="{job}"}})'
            prom.wait_for(promql, final, timeout=40)
        prom.wait_for('ALERTS{alertstate="firing"}', timeout=30)  # the fault (writer crashes) burns the budget
        names = {job: stored_names(prom, job) for job in (SDK_JOB, COLLECTOR_JOB)}
        with receiver.received.lock:
            unit_one = {
                re.sub(r"[^a-zA-Z0-9:]", "_", m.name)
                for request in receiver.received.metrics
                for rm in request.resource_metrics
                for sm in rm.scope_metrics
                for m in sm.metrics
                if m.WhichOneof("data") == "gauge" and m.unit == "1"
            }
        yield Paths(prom, summary, names, unit_one)
    finally:
        if demo is not None:
            demo.kill()
            demo.communicate(timeout=10)
        if prom is not None:
            prom.stop()
        collector.stop()
        receiver.stop()
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.integration
def test_the_only_names_that_differ_are_the_ratio_gauges(paths: Paths) -> None:
    """Any other difference (a new unit, a counter without _total, ...) fails here before it empties a panel."""
    sdk, collector = paths.names[SDK_JOB], paths.names[COLLECTOR_JOB]
    assert SEMCONV_RATIO_GAUGES <= paths.unit_one_gauges
    assert sdk - collector == paths.unit_one_gauges
    assert collector - sdk == {f"{n}_ratio" for n in paths.unit_one_gauges}
    assert len(sdk & collector) >= 20  # histograms (_bucket/_sum/_count), counters, gauges: the same names


@pytest.mark.integration
def test_both_paths_carry_the_same_data(paths: Paths) -> None:
    def by(label: str, promql: str) -> dict[str, float]:
        return {r["metric"].get(label, ""): float(r["value"][1]) for r in paths.query(promql)}

    agents = paths.summary["agents"]
    for job in (SDK_JOB, COLLECTOR_JOB):
        cost = by("gen_ai_agent_name", f'sum by (gen_ai_agent_name) (gen_ai_client_operation_cost_sum{{job="{job}"}})')
        assert cost == pytest.approx({agent: row["llm_cost_usd"] for agent, row in agents.items()}, rel=1e-9)
        errors = by(
            "gen_ai_agent_name",
            f'sum by (gen_ai_agent_name) (gen_ai_invoke_agent_duration_seconds_count{{job="{job}",error_type!=""}})',
        )
        assert errors == {agent: row["errors"] for agent, row in agents.items() if row["errors"]}
        p95 = by(
            "gen_ai_agent_name",
            "histogram_quantile(0.95, sum by (le, gen_ai_agent_name) "
            f'(gen_ai_invoke_agent_duration_seconds_bucket{{job="{job}"}}))',
        )
        assert p95 == pytest.approx({agent: row["p95_seconds"] for agent, row in agents.items()}, rel=1e-9)
    gpu = paths.query('max by (job) ({__name__=~"gpu_utilization(_ratio)?"})')
    assert {r["metric"]["job"]: float(r["value"][1]) for r in gpu} == {SDK_JOB: 0.37, COLLECTOR_JOB: 0.37}


@pytest.mark.integration
def test_every_dashboard_query_has_data_on_both_paths(paths: Paths) -> None:
    queries = dashboard_queries()
    empty = [
        f"{job} · {uid} / {title}: {substitute(expr, job)}"
        for job in (SDK_JOB, COLLECTOR_JOB)
        for uid, title, expr in queries
        if not paths.query(substitute(expr, job))
    ]
    assert not empty, "queries without data:\n" + "\n".join(empty)
    assert len(queries) >= 45


def _alternatives(selector: str) -> list[str]:
    """``{__name__=~"a|b"}`` is two series names to check; a pattern with groups, like ``a(_ratio)?``, is one."""
    match = re.fullmatch(r'\{__name__=~"([\w|]+)"(,.*)?\}', selector)
    if not match:
        return [selector]
    return [f"{name}{{{(match.group(2) or ',').lstrip(',')}}}" for name in match.group(1).split("|")]


@pytest.mark.integration
def test_every_series_the_rules_read_exists_on_both_paths(paths: Paths) -> None:
    """Every selector of raw series behind every alert and recording rule (through the recording rules it uses)
    returns data for each path's job; the Collector's own telemetry and Prometheus' series aside."""
    rules = rule_groups()
    checked: set[str] = set()
    missing: list[str] = []
    for name in rules:
        for selector in raw_selectors(name, rules):
            if selector.startswith(NOT_FROM_THE_SDK) or '"otelcol_' in selector:
                continue
            for one in _alternatives(selector):
                checked.add(one)
                for job in (SDK_JOB, COLLECTOR_JOB):
                    scoped = one[:-1] + f',job="{job}"}}' if one.endswith("}") else f'{one}{{job="{job}"}}'
                    scoped = scoped.replace("{,", "{")
                    if not paths.query(scoped):
                        missing.append(f"{name} · {job}: {scoped}")
    assert not missing, "selectors without data:\n" + "\n".join(missing)
    assert {
        '{__name__=~"process_cpu_utilization(_ratio)?"}',
        'agentperf_suggestions_active{agentperf_suggestion_severity="high"}',
    } <= checked
    # and the recording rules themselves evaluate on both paths (those with a job label), or globally
    history = {"agentperf:cost_usd:rate1h_same_hour_avg7d"}  # needs the same hour 1–7 days ago
    # the regression baselines need the 3 hours before the last 30 minutes (compressed: 30 s of history first)
    history |= {n for n in rules if n.startswith("agentperf:regression:") and n.endswith(("_baseline", "_before"))}
    for name, rule in rules.items():
        if "record" not in rule or name in history:
            continue
        result = paths.query(name)
        jobs = {r["metric"].get("job") for r in result}
        assert result and (jobs == {None} or {SDK_JOB, COLLECTOR_JOB} <= jobs), f"{name}: {jobs}"


@pytest.mark.integration
def test_every_alert_fires_on_the_collectors_names(paths: Paths, tmp_path: Path) -> None:
    """The promtool cases of deploy/prometheus/tests, their input series renamed as the Collector names them.
    Cases whose series keep their name would replay identically; they are checked to use only names both
    paths really store, and the renamed cases run in promtool."""
    renames = {sdk: f"{sdk}_ratio" for sdk in paths.names[SDK_JOB] - paths.names[COLLECTOR_JOB]}
    both = paths.names[SDK_JOB] & paths.names[COLLECTOR_JOB]
    source = ROOT / "deploy" / "prometheus" / "tests" / "agentperf-alerts.test.yml"
    spec = yaml.safe_load(source.read_text())
    renamed_cases = []
    for case in spec["tests"]:
        changed = False
        for series in case["input_series"]:
            name = series["series"].split("{", 1)[0]
            if name in renames:
                series["series"] = renames[name] + series["series"][len(name) :]
                changed = True
            elif not name.startswith(("otelcol_", "up")):
                assert name in both, f"{name}: a promtool input series the SDK path or the Collector path lacks"
        if changed:
            renamed_cases.append(case)
    fired = {c["alertname"] for case in renamed_cases for c in case["alert_rule_test"] if c.get("exp_alerts")}
    assert fired == {"ProcessResourcePressure"}
    spec["tests"] = renamed_cases
    spec["rule_files"] = [str(ROOT / "deploy" / "prometheus" / "rules" / Path(f).name) for f in spec["rule_files"]]
    path = tmp_path / "collector-names.test.yml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = subprocess.run([require_binary("promtool"), "test", "rules", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr

    # and the same cases fail against the rules as they were (plain `process_cpu_utilization`)
    old = (ROOT / "deploy" / "prometheus" / "rules" / "agentperf-alerts.yml").read_text()
    old = old.replace('{__name__=~"process_cpu_utilization(_ratio)?"}', "process_cpu_utilization")
    old = old.replace('{__name__=~"system_memory_utilization(_ratio)?"}', "system_memory_utilization")
    (tmp_path / "agentperf-alerts.yml").write_text(old)
    spec["rule_files"] = [*spec["rule_files"][:-1], str(tmp_path / "agentperf-alerts.yml")]
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = subprocess.run([require_binary("promtool"), "test", "rules", str(path)], capture_output=True, text=True)
    assert out.returncode != 0 and "ProcessResourcePressure" in out.stdout + out.stderr
