"""Static checks of deploy/ and grafana/: promtool, amtool (routing per severity), dashboards in sync,
Collector configs structurally complete. Real binaries; under CI a missing binary is a failure."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.prom import require_binary

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
RULES = sorted((DEPLOY / "prometheus" / "rules").glob("*.yml"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


def test_promtool_check_rules() -> None:
    out = run(require_binary("promtool"), "check", "rules", *map(str, RULES))
    assert out.returncode == 0, out.stdout + out.stderr


def test_promtool_unit_tests_cover_every_alert() -> None:
    tests = sorted((DEPLOY / "prometheus" / "tests").glob("*.yml"))
    out = run(require_binary("promtool"), "test", "rules", *map(str, tests))
    assert out.returncode == 0, out.stdout + out.stderr
    alerts = {
        r["alert"]
        for g in yaml.safe_load((DEPLOY / "prometheus/rules/agentperf-alerts.yml").read_text())["groups"]
        for r in g["rules"]
    }
    tested: set[str] = set()
    for path in tests:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                if check.get("exp_alerts"):
                    tested.add(check["alertname"])
    assert alerts - tested == set(), "alerts without a must-fire test"
    assert len(alerts) >= 12


def test_promtool_check_config(tmp_path: Path) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    config["rule_files"] = [str(p) for p in RULES]  # the container path, mapped to the checkout
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    out = run(require_binary("promtool"), "check", "config", str(path))
    assert out.returncode == 0, out.stdout + out.stderr


def alertmanager_config(tmp_path: Path) -> Path:
    text = (DEPLOY / "alertmanager" / "alertmanager.yml").read_text()
    text = text.replace("/etc/alertmanager/templates", str(DEPLOY / "alertmanager" / "templates"))
    path = tmp_path / "alertmanager.yml"
    path.write_text(text)
    return path


def test_amtool_check_config(tmp_path: Path) -> None:
    out = run(require_binary("amtool"), "check-config", str(alertmanager_config(tmp_path)))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["severity=critical", "gen_ai_agent_name=planner"], "paging,agentperf-console"),
        (["severity=warning", "gen_ai_agent_name=planner"], "chat,agentperf-console"),
        (["severity=info"], "agentperf-console"),
    ],
)
def test_amtool_routes(tmp_path: Path, labels: list[str], receivers: str) -> None:
    config = alertmanager_config(tmp_path)
    out = run(
        require_binary("amtool"),
        "config",
        "routes",
        "test",
        f"--config.file={config}",
        f"--verify.receivers={receivers}",
        *labels,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_no_secrets_in_alertmanager_config() -> None:
    config = yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text())
    text = json.dumps(config)
    assert "hooks.slack.com" not in text and 'auth_password"' not in text
    for receiver in config["receivers"]:
        for slack in receiver.get("slack_configs", []):
            assert "api_url_file" in slack and "api_url" not in slack
        for email in receiver.get("email_configs", []):
            assert "auth_password_file" in email and "auth_password" not in email


def test_dashboards_in_sync_with_code() -> None:
    sys.path.insert(0, str(ROOT / "grafana"))
    try:
        import build_dashboards  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    rendered = build_dashboards.render()
    committed = {p.name: p.read_text() for p in (ROOT / "grafana" / "dashboards").glob("*.json")}
    assert rendered == committed, "run: python grafana/build_dashboards.py"
    for name, text in rendered.items():
        board = json.loads(text)
        assert board["uid"].startswith("agentperf-"), name
        refs = [[t["refId"] for t in p["targets"]] for p in board["panels"]]
        assert all(len(r) == len(set(r)) and all(r) for r in refs), name


def _components(section: Any) -> set[str]:
    return set(section or {})


@pytest.mark.parametrize("name", ["otel-collector.yaml", "otel-collector-gateway.yaml"])
def test_collector_config_structure(name: str) -> None:
    """No Collector binary can be installed here: check that every pipeline component is defined and every
    defined component is used, that memory_limiter runs first and batch last, and health_check is on."""
    config = yaml.safe_load((DEPLOY / "collector" / name).read_text())
    service = config["service"]
    used: dict[str, set[str]] = {"receivers": set(), "processors": set(), "exporters": set(), "connectors": set()}
    for pipeline_name, pipeline in service["pipelines"].items():
        assert re.match(r"^(traces|metrics|logs)(/[\w-]+)?$", pipeline_name), pipeline_name
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                defined = _components(config.get(kind)) | _components(config.get("connectors"))
                assert component in defined, f"{pipeline_name}: {component} is not defined"
                used[kind].add(component)
        processors = pipeline.get("processors", [])
        assert processors and processors[0].startswith("memory_limiter"), pipeline_name
        assert any(p.startswith("batch") for p in processors), pipeline_name
    for kind in ("receivers", "processors", "exporters"):
        unused = _components(config.get(kind)) - used[kind] - used["connectors"]
        assert not unused, f"defined but unused {kind}: {unused}"
    assert "health_check" in service.get("extensions", [])
    assert set(service.get("extensions", [])) <= _components(config.get("extensions"))
    assert "telemetry" in service


def test_compose_file_pins_images_and_binds_localhost() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"otel-collector", "prometheus", "alertmanager", "grafana", "tempo", "demo", "agentperf-alerts"} <= set(
        services
    )
    for name, svc in services.items():
        image = svc.get("image")
        if image:
            assert re.search(r":[\w.\-]+$", image) and not image.endswith(":latest"), f"{name}: pin {image}"
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:") or str(port).startswith("${"), f"{name}: {port}"
        assert "healthcheck" in svc or name in ("demo",), f"{name} has no health check"
    assert compose.get("volumes"), "named volumes"
    grafana_env = services["grafana"]["environment"]
    assert any(
        "GF_SECURITY_ADMIN_PASSWORD" in str(e)
        for e in (grafana_env if isinstance(grafana_env, list) else grafana_env.keys())
    )
    mounts = json.dumps(services["prometheus"].get("volumes", []))
    assert "deploy/prometheus/rules" in mounts


def test_native_stack_configs_are_valid(tmp_path: Path) -> None:
    """What `agentperf stack up` writes passes promtool and amtool too (normal and fast mode)."""
    from otel_agentperf.stack.runner import write_configs

    for fast in (False, True):
        directory = tmp_path / ("fast" if fast else "normal")
        prom, am = write_configs(
            directory,
            ["127.0.0.1:9464"],
            prometheus_port=9090,
            alertmanager_port=9093,
            alerts_port=9095,
            fast=fast,
            thresholds={"agentperf:budget:usd_per_day": 250},
        )
        out = run(require_binary("promtool"), "check", "config", str(prom))
        assert out.returncode == 0, out.stdout + out.stderr
        out = run(require_binary("amtool"), "check-config", str(am))
        assert out.returncode == 0, out.stdout + out.stderr
        assert "vector(250)" in (directory / "rules" / "agentperf-thresholds.yml").read_text()
    assert "[5s]" in (tmp_path / "fast" / "rules" / "agentperf-recording.yml").read_text()
    assert os.path.exists(tmp_path / "normal" / "rules" / "agentperf-alerts.yml")
