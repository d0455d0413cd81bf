"""The README's reference tables list everything there is: every `agentperf demo` option (read from the
command's own help) and every metric the SDK exports (read from the names it registers)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from otel_agentperf import semconv as sc

README = Path(__file__).resolve().parents[1] / "README.md"


def section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_the_demo_options_table_lists_every_option() -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "otel_agentperf", "demo", "--help"], capture_output=True, text=True, check=True
    ).stdout
    options = set(re.findall(r"^\s+(--[a-z-]+)", help_text, re.M)) - {"--help"}
    assert {"--duration", "--seed", "--fault-at", "--fault-for"} <= options
    documented = set(re.findall(r"^\| `(--[a-z-]+)", section("The demo"), re.M))
    assert options == documented, f"missing from the README: {options - documented}; stale: {documented - options}"


def exported_names() -> set[str]:
    """Prometheus names of every metric the SDK creates: the semconv table and the resource gauges."""
    names = set(sc.PROMETHEUS_NAMES.values())
    source = (Path(sc.__file__).parent / "telemetry" / "resources.py").read_text()
    for name, unit in re.findall(r'create_observable_gauge\(\s*"([a-z_.]+)", \[\w+\], unit="([^"]+)"', source):
        names.add(name.replace(".", "_") + ("_bytes" if unit == "By" else ""))
    return names


def test_every_exported_metric_is_in_the_metric_table() -> None:
    names = exported_names()
    assert {"agentperf_client_token_cache_read", "process_memory_usage_bytes", "gpu_utilization"} <= names
    table = "\n".join(line for line in section("Metrics").splitlines() if line.startswith("|"))
    documented = set(re.findall(r"`([a-z_:]+)`", table))
    assert names <= documented, f"undocumented metrics: {sorted(names - documented)}"
