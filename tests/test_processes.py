"""Forked children, process pools and a pre-fork server: each process exports its own telemetry and every
call is counted exactly once in a sum across instances.

Real processes (``os.fork``, ``multiprocessing`` with the fork and spawn start methods, gunicorn with
``--preload``) export OTLP/HTTP to a local receiver. Metric export intervals are long on purpose: what
arrives is what the processes flush when they end, so a lost flush or a re-exported parent cell shows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.otlp_receiver import HttpReceiver

AGENT = "gen_ai.invoke_agent.duration"
TOOL = "gen_ai.execute_tool.duration"


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    r = HttpReceiver()
    yield r
    r.stop()


def env_for(receiver: HttpReceiver) -> dict[str, str]:
    return {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_METRIC_EXPORT_INTERVAL": "600000",  # only the flush at exit exports
        "OTEL_BSP_SCHEDULE_DELAY": "600000",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }


def run_script(code: str, receiver: HttpReceiver) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env_for(receiver),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


def test_forked_child_counts_only_its_own_calls(receiver: HttpReceiver) -> None:
    run_script(
        """
        import os, sys
        import otel_agentperf as ap

        ap.configure(service_name="forky")

        @ap.trace_agent("triage")
        def triage():
            return 1

        for _ in range(3):
            triage()                      # before the fork: the parent's calls
        pid = os.fork()
        if pid == 0:
            for _ in range(2):
                triage()                  # the child's own calls
            sys.exit(0)                   # a normal exit: the SDK flushes at exit
        os.waitpid(pid, 0)
        for _ in range(4):
            triage()
        """,
        receiver,
    )
    counts = receiver.received.counts(AGENT)
    assert sorted(counts.values()) == [2.0, 7.0], counts  # child 2, parent 3 + 4: 9 calls, each once
    spans = [s for _, s in receiver.received.spans() if s.name == "invoke_agent triage"]
    assert len(spans) == 9
    assert len({s.span_id for s in spans}) == 9


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_process_pool_workers_export(receiver: HttpReceiver, method: str) -> None:
    run_script(
        f"""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from functools import partial
        import otel_agentperf as ap
        from tests.support.pool_work import lookup

        if __name__ == "__main__":
            ap.configure(service_name="pool")
            lookup(-1)                    # one call in the parent
            ctx = multiprocessing.get_context({method!r})
            init = partial(ap.configure_worker, service_name="pool")
            with ProcessPoolExecutor(2, mp_context=ctx, initializer=init) as pool:
                assert sorted(pool.map(lookup, range(10))) == list(range(0, 20, 2))
        """,
        receiver,
    )
    counts = receiver.received.counts(TOOL)
    assert sum(counts.values()) == 11.0, counts  # 10 in the workers + 1 in the parent, each once
    assert len(counts) >= 2  # the parent and the workers that ran tasks, each its own instance
    spans = [s for _, s in receiver.received.spans() if s.name == "execute_tool lookup"]
    assert len(spans) == 11


def test_gunicorn_preload_counts_every_request_once(receiver: HttpReceiver, tmp_path: Path) -> None:
    import socket
    import urllib.request

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [str(gunicorn), "--preload", "-w", "2", "-b", f"127.0.0.1:{port}", "tests.support.wsgi_app:app"],
        env=env_for(receiver),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        for _ in range(29):  # 30 requests in all, spread over both workers by the kernel
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
    finally:
        proc.terminate()  # SIGTERM: graceful stop, workers exit normally and flush
        output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, output
    counts = receiver.received.counts(AGENT)
    # Every request once, plus the master's one call at import, counted by the master alone: the workers
    # start from empty cells.
    assert sum(counts.values()) == 31.0, (counts, output)
    assert sorted(counts.values())[0] == 1.0 and len(counts) in (2, 3), counts


def test_prometheus_port_taken_in_a_worker_warns_once_and_keeps_working(receiver: HttpReceiver) -> None:
    import socket

    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    port = held.getsockname()[1]
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                textwrap.dedent(
                    f"""
                    import otel_agentperf as ap
                    setup = ap.configure(service_name="w", metrics_exporter=["prometheus", "otlp"],
                                         prometheus_port={port})
                    assert setup.prometheus_url is None

                    @ap.trace_agent("a")
                    def a():
                        return 1

                    assert [a() for _ in range(3)] == [1, 1, 1]
                    """
                ),
            ],
            env=env_for(receiver),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        held.close()
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "cannot serve Prometheus metrics" in line]
    assert len(warnings) == 1, proc.stderr
    assert sum(receiver.received.counts(AGENT).values()) == 3.0  # the other exporter still works
