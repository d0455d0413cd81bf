"""The agentperf command line: prices, cost, help and exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def agentperf(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "otel_agentperf", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_prices_known_and_unknown() -> None:
    out = agentperf("prices", "gpt-4o-mini", "us.anthropic.claude-3-5-sonnet-20241022-v2:0", "nope-model")
    assert out.returncode == 1  # one model unknown
    assert "gpt-4o-mini: genai-prices" in out.stdout and "input $0.15  cached input $0.075  output $0.6" in out.stdout
    assert "(aws/regional.anthropic.claude-3-5-sonnet-20241022-v2:0)" in out.stdout
    assert "nope-model: unknown" in out.stdout
    assert agentperf("prices", "gpt-4o").returncode == 0


def test_prices_from_override_file(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "p.toml")
    with open(path, "w") as f:
        f.write('[models."my-finetune"]\ninput = 0.4\noutput = 1.2\n')
    out = agentperf("prices", "my-finetune", env={"AGENTPERF_PRICES_FILE": path})
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"my-finetune: file {path}" in out.stdout and "input $0.4  output $1.2" in out.stdout


def test_cost() -> None:
    out = agentperf(
        "cost", "--model", "claude-sonnet-4-6", "--input-tokens", "50000", "--cache-read-tokens", "40000",
        "--output-tokens", "2000",
    )  # fmt: skip
    assert out.returncode == 0
    assert "$0.072000" in out.stdout  # 10k × $3 + 40k × $0.3 + 2k × $15 per Mtok
    unknown = agentperf("cost", "--model", "nope", "--input-tokens", "1")
    assert unknown.returncode == 1 and "no price known" in unknown.stdout


@pytest.mark.parametrize("args", [("cost", "--model", "x", "--input-tokens", "-1"), ("demo", "--rate", "0")])
def test_bad_arguments_exit_2_with_one_line(args: tuple[str, ...]) -> None:
    out = agentperf(*args)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("agentperf")


@pytest.mark.parametrize("command", ["demo", "prices", "cost"])
def test_help_has_examples(command: str) -> None:
    out = agentperf(command, "--help")
    assert out.returncode == 0 and "examples:" in out.stdout


def test_stack_export_writes_a_compose_folder(tmp_path: Path) -> None:
    target = tmp_path / "stack"
    out = agentperf("stack", "export", str(target))
    assert out.returncode == 0, out.stderr
    for name in ("docker-compose.yml", "Dockerfile", "deploy/prometheus/rules", "grafana/dashboards"):
        assert (target / name).exists(), name
    again = agentperf("stack", "export", str(target))
    assert again.returncode == 3 and "--force" in again.stderr
    assert agentperf("stack", "export", str(target), "--force").returncode == 0
    assert agentperf("stack", "export").returncode == 2
