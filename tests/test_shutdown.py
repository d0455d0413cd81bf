"""Shutdown is bounded: an unreachable exporter never holds ``ap.shutdown()`` or the process' exit.

Real OTLP exporters (gRPC and HTTP) point at a closed port and at a black hole (a socket that accepts
connections and never answers); the process makes 100 calls, then shuts down or just exits.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.prom import free_port

BOUND_S = 5.0  # SHUTDOWN_TIMEOUT_S
SLACK_S = 3.0  # exit, on a loaded 2-core machine


@pytest.fixture
def black_hole() -> Iterator[int]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(128)  # the kernel completes handshakes; nothing is ever read or answered
    yield s.getsockname()[1]
    s.close()


SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import otel_agentperf as ap

    ap.configure(service_name="down", otlp_endpoint=sys.argv[1], otlp_protocol=sys.argv[2])

    @ap.trace_agent("a")
    def a():
        return 1

    for _ in range(100):
        a()
    print(json.dumps({"done_at": time.time()}), flush=True)  # from here on, nothing may wait past the bound
    if sys.argv[3] == "shutdown":
        t0 = time.monotonic()
        ok = ap.shutdown()
        print(json.dumps({"ok": ok, "seconds": time.monotonic() - t0}))
    """
)
CASES = [
    (protocol, target, mode)
    for protocol in ("grpc", "http/protobuf")
    for target in ("closed", "black_hole")
    for mode in ("shutdown", "exit")
]


def test_unreachable_exporter_never_holds_shutdown_or_exit(black_hole: int, tmp_path: Path) -> None:
    """Every case at once, in its own process: most wait out the bound, which one after another took ~25 s.
    Each is timed from the end of its work (its own clock line) to its exit, so that eight interpreters
    starting together on two cores do not count against the bound."""
    runs: dict[tuple[str, str, str], tuple[int, subprocess.Popen[bytes], Path, Path]] = {}
    for case in CASES:
        protocol, target, mode = case
        port = free_port() if target == "closed" else black_hole  # free: nothing listens there
        out, err = tmp_path / f"{len(runs)}.out", tmp_path / f"{len(runs)}.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-c", SCRIPT, f"http://127.0.0.1:{port}", protocol, mode],
                stdout=stdout,
                stderr=stderr,
                env={**os.environ, "OTEL_EXPORTER_OTLP_TIMEOUT": "30"},  # the exporters' own patience: above ours
            )
        runs[case] = (port, proc, out, err)
    exited: dict[tuple[str, str, str], float] = {}
    deadline = time.monotonic() + 60
    while len(exited) < len(runs) and time.monotonic() < deadline:
        for case, (_, proc, _, _) in runs.items():
            if case not in exited and proc.poll() is not None:
                exited[case] = time.time()
        time.sleep(0.02)
    for _, proc, _, _ in runs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for case, (port, proc, out_path, err_path) in runs.items():
        check(case, port, proc.returncode, exited.get(case), out_path.read_text(), err_path.read_text())


def check(case: tuple[str, str, str], port: int, returncode: int, exited: float | None, out: str, err: str) -> None:
    protocol, target, mode = case
    assert returncode == 0 and exited is not None, (case, returncode, err[-2000:])
    lines = out.strip().splitlines()
    elapsed = exited - json.loads(lines[0])["done_at"]
    assert elapsed < BOUND_S + SLACK_S, (case, elapsed, err[-2000:])
    if mode == "shutdown":
        result = json.loads(lines[-1])
        assert result["seconds"] < BOUND_S + 1.0, (case, result)
        if not result["ok"] and target == "black_hole":  # it accepts connections: maybe only slow, so waited for
            assert "shutdown gave up after 5.0 s" in err, case
    if target == "closed":
        # Nothing listens: one line of ours says where telemetry would go and how to change that; none of the
        # exporters' per-batch retry noise; and nothing waited for (no "gave up after 5.0 s").
        err_lines = [line for line in err.splitlines() if line.strip()]
        assert len(err_lines) == 1, (case, err)
        assert f"cannot export to the OTLP endpoint 127.0.0.1:{port} ({protocol})" in err_lines[0], case
        assert "OTEL_EXPORTER_OTLP_ENDPOINT" in err_lines[0] and "traces_exporter='none'" in err_lines[0], case
