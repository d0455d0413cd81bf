"""``agentperf stack up|down|status``: Prometheus, Alertmanager and the alert printer without Docker.

Uses the installed binaries (Debian: ``apt-get install prometheus prometheus-alertmanager``) with the same
rule files and the same Alertmanager route tree as the docker-compose stack, scraping the apps' Prometheus
endpoints directly (or a Collector's Prometheus exporter, with ``honor_labels``). Every alert reaches the
printer once, through the console receiver; receivers that need secrets stay off. Links carry the local
addresses (``--web.external-url``, runbooks on the printer's port). Processes are started in their own
sessions and killed by PID. The integration tests drive exactly this code.

``fast=True`` (``--fast``) is for demos and tests: 1 s scrape/evaluation and every duration in the rules
divided by 60 (``[5m]`` → ``[5s]``, ``for: 10m`` → ``for: 10s``, ``offset 1d`` → ``offset 1440s``, the
forecasts' horizon thresholds); the PromQL is otherwise unchanged, and per-hour/per-day arithmetic still uses
real seconds.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bundle import DEPLOY_ENV, StackError, deploy_dir

__all__ = ["DEPLOY_ENV", "StackError", "StackInfo", "deploy_dir", "start", "status", "stop", "write_configs"]

RULE_FILES = (
    "agentperf-thresholds.yml",
    "agentperf-recording.yml",
    "agentperf-alerts.yml",
    "agentperf-forecast.yml",
)
RUNBOOK_BASE = "http://127.0.0.1:9095/runbooks/"
"""Where the alert rules' ``runbook_url`` point (the printer's default port); rewritten to the chosen port."""
_DURATION = re.compile(r"(\[|offset |for: )(\d+)([smhdw])(\])?")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass
class StackInfo:
    dir: Path
    prometheus_url: str
    alertmanager_url: str
    alerts_url: str
    pids: dict[str, int]


def find_binary(*names: str) -> str:
    for name in names:
        path = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None)
        if path:
            return path
    raise StackError(f"{names[0]} not found: apt-get install prometheus prometheus-alertmanager")


def compress(text: str, factor: int = 60) -> str:
    """Divide every duration in PromQL ranges, offsets and ``for:`` by ``factor`` (fast mode)."""

    def repl(m: re.Match[str]) -> str:
        seconds = max(1, int(m.group(2)) * _SECONDS[m.group(3)] // factor)
        return f"{m.group(1)}{seconds}s{m.group(4) or ''}"

    return _DURATION.sub(repl, text)


_HORIZON = re.compile(r"(- record: agentperf:forecast:\w*horizon_seconds\s*\n\s*expr: vector\()([^)]*)(\))")


def compress_horizons(text: str, factor: int = 60) -> str:
    """The forecasts' look-ahead thresholds are durations too: divided by ``factor`` in fast mode, so a forecast
    looks one compressed hour ahead, as in real time (not 60 compressed hours, where noise would cross anything)."""
    return _HORIZON.sub(lambda m: f"{m.group(1)}{float(m.group(2)) / factor:g}{m.group(3)}", text)


def set_thresholds(text: str, values: dict[str, float]) -> str:
    """Replace ``expr: vector(N)`` of the named threshold records (the thresholds file's one-place edit)."""
    for name, value in values.items():
        pattern = re.compile(rf"(- record: {re.escape(name)}\s*\n\s*expr: vector\()([^)]*)(\))")
        text, count = pattern.subn(lambda m, v=value: f"{m.group(1)}{v:g}{m.group(3)}", text)
        if count != 1:
            raise StackError(f"unknown threshold {name!r} (see deploy/prometheus/rules/agentperf-thresholds.yml)")
    return text


def write_configs(
    directory: Path,
    scrape_targets: list[str],
    *,
    prometheus_port: int,
    alertmanager_port: int,
    alerts_port: int,
    fast: bool,
    thresholds: dict[str, float] | None = None,
    honor_labels: bool = False,
) -> tuple[Path, Path]:
    """Write the rules, prometheus.yml and alertmanager.yml into ``directory``.

    ``honor_labels``: the targets are Collector Prometheus exporters, whose series carry their own ``job`` and
    ``instance`` (from service.name and service.instance.id), as in deploy/prometheus/prometheus.yml.
    """
    import yaml

    deploy = deploy_dir()
    directory.mkdir(parents=True, exist_ok=True)
    rules_dir = directory / "rules"
    rules_dir.mkdir(exist_ok=True)
    for name in RULE_FILES:
        text = (deploy / "prometheus" / "rules" / name).read_text()
        if name == RULE_FILES[0] and thresholds:
            text = set_thresholds(text, thresholds)
        text = text.replace(RUNBOOK_BASE, f"http://127.0.0.1:{alerts_port}/runbooks/")
        (rules_dir / name).write_text(compress_horizons(compress(text)) if fast else text)
    interval = "1s" if fast else "15s"
    apps: dict[str, Any] = {"job_name": "agentperf", "static_configs": [{"targets": scrape_targets}]}
    if honor_labels:
        apps["honor_labels"] = True
    prometheus = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(rules_dir / name) for name in RULE_FILES],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]}]},
        "scrape_configs": [
            apps,
            {"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{prometheus_port}"]}]},
        ],
    }
    prometheus_path = directory / "prometheus.yml"
    prometheus_path.write_text(yaml.safe_dump(prometheus, sort_keys=False))

    # The same route tree, grouping, inhibition and templates. Webhooks to the compose printer go to the local
    # one; integrations that read secrets from /run/secrets (paging, chat, once turned on) are dropped: a
    # laptop has none. So every alert is printed once, by the console receiver.
    am: dict[str, Any] = yaml.safe_load((deploy / "alertmanager" / "alertmanager.yml").read_text())
    am["templates"] = [str(deploy / "alertmanager" / "templates" / "*.tmpl")]
    receivers: list[dict[str, Any]] = []
    for receiver in am["receivers"]:
        configured: list[dict[str, Any]] = receiver.get("webhook_configs") or []
        hooks = [dict(h) for h in configured]
        for hook in hooks:
            if "//agentperf-alerts:" in str(hook.get("url", "")):
                hook["url"] = f"http://127.0.0.1:{alerts_port}/alerts"
        receivers.append({"name": receiver["name"], **({"webhook_configs": hooks} if hooks else {})})
    am["receivers"] = receivers
    if fast:
        am["route"].update({"group_wait": "1s", "group_interval": "2s", "repeat_interval": "1m"})
        for child in am["route"].get("routes", []):
            child.pop("repeat_interval", None)
    alertmanager_path = directory / "alertmanager.yml"
    alertmanager_path.write_text(yaml.safe_dump(am, sort_keys=False))
    return prometheus_path, alertmanager_path


# Processes this Python process started (when `start` is called in-process, e.g. by the tests): kept so
# that `stop` can reap them; the CLI exits right after `up` and leaves them to run on their own.
_children: dict[int, subprocess.Popen[bytes]] = {}


def _spawn(args: list[str], log: Path) -> int:
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    _children[proc.pid] = proc
    return proc.pid


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start(
    directory: Path,
    scrape_targets: list[str],
    *,
    prometheus_port: int = 9090,
    alertmanager_port: int = 9093,
    alerts_port: int = 9095,
    fast: bool = False,
    thresholds: dict[str, float] | None = None,
    honor_labels: bool = False,
    timeout: float = 30.0,
) -> StackInfo:
    if (directory / "pids.json").exists() and any(status(directory).values()):
        raise StackError(f"a stack is already running from {directory}; run `agentperf stack down` first")
    prometheus_bin = find_binary("prometheus")
    alertmanager_bin = find_binary("prometheus-alertmanager", "alertmanager")
    prometheus_cfg, alertmanager_cfg = write_configs(
        directory,
        scrape_targets,
        prometheus_port=prometheus_port,
        alertmanager_port=alertmanager_port,
        alerts_port=alerts_port,
        fast=fast,
        thresholds=thresholds,
        honor_labels=honor_labels,
    )
    pids = {
        "alerts": _spawn(
            [sys.executable, "-m", "otel_agentperf", "alerts", "--port", str(alerts_port),
             "--record", str(directory / "alerts.jsonl")],
            directory / "alerts.log",
        ),
        "alertmanager": _spawn(
            [alertmanager_bin, f"--config.file={alertmanager_cfg}", f"--storage.path={directory / 'am-data'}",
             f"--web.listen-address=127.0.0.1:{alertmanager_port}", "--cluster.listen-address=",
             f"--web.external-url=http://127.0.0.1:{alertmanager_port}"],
            directory / "alertmanager.log",
        ),
        "prometheus": _spawn(
            [prometheus_bin, f"--config.file={prometheus_cfg}", f"--storage.tsdb.path={directory / 'prom-data'}",
             f"--web.listen-address=127.0.0.1:{prometheus_port}", "--web.enable-lifecycle",
             f"--web.external-url=http://127.0.0.1:{prometheus_port}"],
            directory / "prometheus.log",
        ),
    }  # fmt: skip
    (directory / "pids.json").write_text(json.dumps(pids))
    info = StackInfo(
        directory,
        f"http://127.0.0.1:{prometheus_port}",
        f"http://127.0.0.1:{alertmanager_port}",
        f"http://127.0.0.1:{alerts_port}/alerts",
        pids,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = status(directory)
        dead = [name for name, ok in alive.items() if not ok]
        if dead:
            stop(directory)
            raise StackError(f"{', '.join(dead)} exited; see the logs in {directory}")
        printer = f"http://127.0.0.1:{alerts_port}/"
        if _ready(info.prometheus_url + "/-/ready") and _ready(info.alertmanager_url + "/-/ready") and _ready(printer):
            return info
        time.sleep(0.2)
    stop(directory)
    raise StackError(f"the stack did not become ready within {timeout:g} s; see the logs in {directory}")


def _pids(directory: Path) -> dict[str, int]:
    try:
        data = json.loads((directory / "pids.json").read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): int(v) for k, v in data.items()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie child of ours is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def status(directory: Path) -> dict[str, bool]:
    return {name: _alive(pid) for name, pid in _pids(directory).items()}


def stop(directory: Path) -> list[str]:
    stopped: list[str] = []
    for name, pid in _pids(directory).items():
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGTERM)
                stopped.append(name)
            except OSError:
                continue
    deadline = time.monotonic() + 10
    for pid in _pids(directory).values():
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        child = _children.pop(pid, None)
        if child is not None:
            child.wait(timeout=5)  # reap our own child
    (directory / "pids.json").unlink(missing_ok=True)
    return stopped


def default_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "agentperf" / "stack"
