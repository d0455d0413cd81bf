"""A traced function importable by process-pool workers (spawned workers import it by name)."""

from __future__ import annotations

import otel_agentperf as ap


@ap.trace_tool("lookup")
def lookup(x: int) -> int:
    return x * 2
