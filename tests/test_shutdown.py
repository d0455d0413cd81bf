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

import pytest

from tests.support.prom import free_port

BOUND_S = 5.0  # SHUTDOWN_TIMEOUT_S
SLACK_S = 3.0  # interpreter start and exit, on a loaded 2-core machine


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
    if sys.argv[3] == "shutdown":
        t0 = time.monotonic()
        ok = ap.shutdown()
        print(json.dumps({"ok": ok, "seconds": time.monotonic() - t0}))
    """
)


def run(endpoint: str, protocol: str, mode: str) -> tuple[float, str, str]:
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, endpoint, protocol, mode],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "OTEL_EXPORTER_OTLP_TIMEOUT": "30"},  # the exporters' own patience: far above ours
    )
    assert proc.returncode == 0, proc.stderr
    return time.monotonic() - t0, proc.stdout, proc.stderr


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
@pytest.mark.parametrize("target", ["closed", "black_hole"])
@pytest.mark.parametrize("mode", ["shutdown", "exit"])
def test_unreachable_exporter_never_holds_shutdown_or_exit(
    protocol: str, target: str, mode: str, black_hole: int
) -> None:
    port = free_port() if target == "closed" else black_hole  # free: nothing listens there
    endpoint = f"http://127.0.0.1:{port}"
    elapsed, out, err = run(endpoint, protocol, mode)
    assert elapsed < BOUND_S + SLACK_S, (elapsed, err[-2000:])
    if mode == "shutdown":
        result = json.loads(out.strip().splitlines()[-1])
        assert result["seconds"] < BOUND_S + 1.0, result
        if not result["ok"] and target == "black_hole":  # it accepts connections: maybe only slow, so waited for
            assert "shutdown gave up after 5.0 s" in err
    if target == "closed":
        # Nothing listens: one line of ours says where telemetry would go and how to change that; none of the
        # exporters' per-batch retry noise; and nothing waited for (no "gave up after 5.0 s").
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1, err
        assert f"cannot export to the OTLP endpoint 127.0.0.1:{port} ({protocol})" in lines[0]
        assert "OTEL_EXPORTER_OTLP_ENDPOINT" in lines[0] and "traces_exporter='none'" in lines[0]
