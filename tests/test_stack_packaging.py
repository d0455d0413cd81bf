"""`agentperf stack` from a pip install: a real wheel, built from this tree, installed into a fresh venv and run
from outside the source tree. The wheel carries deploy/, grafana/ and docker-compose.yml as data files;
`deploy_dir()` finds them in the install; `python -m otel_agentperf.stack export DIR` writes a runnable compose
folder; `agentperf stack up` starts Prometheus and Alertmanager with the wheel's rules (real binaries).

The scratch venv gets otel_agentperf from the wheel only; its dependencies (OpenTelemetry, rich, ...) are made
visible from the test's own environment by a path entry, so the test needs no network for them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import otel_agentperf as ap
from tests.support.prom import free_port, require_binary

ROOT = Path(__file__).resolve().parents[1]
SHARE = "share/otel_agentperf"


@dataclass
class Installed:
    wheel: Path
    venv: Path
    cwd: Path  # outside the source tree

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("AGENTPERF_DEPLOY_DIR", "PYTHONPATH")}
        return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, cwd=self.cwd, env=env)

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")


def source_files() -> list[str]:
    """The tree as it is now (tracked and new files, ignored ones left out)."""
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return [line for line in out.stdout.splitlines() if line and (ROOT / line).is_file()]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"  # a copy, so the build leaves nothing (build/, egg-info) in the working tree
    for name in source_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "-w", str(base / "dist"), "--no-deps", "-q"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    (wheel,) = (base / "dist").glob("otel_agentperf-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    out = subprocess.run([*pip, "install", "--no-deps", "-q", str(wheel)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    site = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # The dependencies: a plain path entry (no .pth of that folder runs, so no editable install leaks in).
    (Path(site) / "deps-from-the-test-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    cwd = base / "elsewhere"
    cwd.mkdir()
    yield Installed(wheel, venv, cwd)
    shutil.rmtree(base, ignore_errors=True)


def test_the_wheel_carries_every_file_of_deploy_and_grafana(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as z:
        names = z.namelist()
    data = {n.split(f".data/data/{SHARE}/", 1)[1] for n in names if f".data/data/{SHARE}/" in n}
    expected = {
        f for f in source_files() if f.startswith(("deploy/", "grafana/")) and f != "grafana/build_dashboards.py"
    } | {"docker-compose.yml"}
    assert expected - data == set(), "files of deploy/ or grafana/ missing from the wheel (pyproject data-files)"
    assert "deploy/prometheus/runbooks.md" in data and "grafana/dashboards/agentperf-overview.json" in data


def test_the_installed_package_finds_its_stack_files(installed: Installed) -> None:
    code = (
        "import otel_agentperf, otel_agentperf.stack.bundle as b; "
        "print(otel_agentperf.__file__); print(b.deploy_dir()); print(b.grafana_dir())"
    )
    out = installed.run(installed.python, "-c", code)
    assert out.returncode == 0, out.stderr
    package, deploy, grafana = out.stdout.split()
    assert Path(package).is_relative_to(installed.venv), "otel_agentperf must come from the wheel"
    assert Path(deploy) == (installed.venv / SHARE / "deploy").resolve()
    assert Path(grafana) == (installed.venv / SHARE / "grafana").resolve()
    assert not str(deploy).startswith(str(ROOT))


def test_agentperf_stack_help_runs_from_the_wheel(installed: Installed) -> None:
    out = installed.run(str(installed.venv / "bin" / "agentperf"), "stack", "up", "--help")
    assert out.returncode == 0, out.stderr
    assert "--fast" in out.stdout and "--scrape" in out.stdout


def test_export_writes_a_compose_folder(installed: Installed) -> None:
    target = installed.cwd / "my-stack"
    out = installed.run(installed.python, "-m", "otel_agentperf.stack", "export", str(target))
    assert out.returncode == 0, out.stderr
    compose = yaml.safe_load((target / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():  # every file the services mount is in the folder
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            assert not source.startswith("./") or (target / source).exists(), f"{name}: {source}"
        if "build" in service:
            assert (target / service["build"] / "Dockerfile").is_file()
    for secret in compose["secrets"].values():
        assert (target / secret["file"].split(":-", 1)[1].rstrip("}")).is_file()
    dockerfile = (target / "Dockerfile").read_text()
    assert f"otel_agentperf=={ap.__version__}" in dockerfile and "COPY otel_agentperf" not in dockerfile
    again = installed.run(installed.python, "-m", "otel_agentperf.stack", "export", str(target))
    assert again.returncode == 3 and "exists" in again.stderr  # never overwrites without --force


@pytest.mark.integration
def test_agentperf_stack_up_runs_from_the_wheel(installed: Installed) -> None:
    require_binary("prometheus")
    require_binary("prometheus-alertmanager", "alertmanager")
    agentperf = str(installed.venv / "bin" / "agentperf")
    state = installed.cwd / "state"
    ports = {"prometheus": free_port(), "alertmanager": free_port(), "alerts": free_port()}
    out = installed.run(
        agentperf, "stack", "up", "--fast", "--dir", str(state), "--prometheus-port", str(ports["prometheus"]),
        "--alertmanager-port", str(ports["alertmanager"]), "--alerts-port", str(ports["alerts"]),
    )  # fmt: skip
    try:
        assert out.returncode == 0, out.stdout + out.stderr
        with urllib.request.urlopen(f"http://127.0.0.1:{ports['prometheus']}/api/v1/rules", timeout=10) as r:
            groups = {g["name"] for g in json.loads(r.read())["data"]["groups"]}
        assert {"agentperf-slo", "agentperf-spend", "agentperf-thresholds"} <= groups
        assert str(installed.venv) in (state / "alertmanager.yml").read_text()  # templates from the wheel
        url = f"http://127.0.0.1:{ports['alerts']}/runbooks/SpendOverBudget"
        with urllib.request.urlopen(url, timeout=10) as r:
            assert "SpendOverBudget" in r.read().decode()
    finally:
        down = installed.run(agentperf, "stack", "down", "--dir", str(state))
    assert down.returncode == 0, down.stderr
