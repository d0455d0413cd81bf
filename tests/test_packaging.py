"""What a user sees of the package itself: its version everywhere the same, its license, its type marker."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import otel_agentperf as ap

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_one_number_everywhere() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert ap.__version__ == declared
    out = subprocess.run(
        [sys.executable, "-m", "otel_agentperf", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == f"agentperf {declared}"


def test_license_and_type_marker_ship() -> None:
    license_text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in license_text and "Version 2.0" in license_text
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == {"text": "Apache-2.0"}
    assert (ROOT / "otel_agentperf" / "py.typed").exists()
