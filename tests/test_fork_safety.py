"""No lock of ours survives a fork: children of a busy, configured process never hang.

A forked child gets copies of every lock in the state the parent's threads left them. A lock held by
another thread at that moment stays held forever in the child, and the child's first call that needs it
hangs. These tests fork while other threads record calls, and right after ``configure()`` (whose price
warm-up thread imports the price data), and require every child to finish its calls.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")

CHILD_CALLS = """
@ap.trace_llm(provider="openai", model="gpt-4o-mini")
def ask():
    ap.record_usage(input_tokens=1000, output_tokens=100)

@ap.trace_agent("busy")
def agent():
    with ap.conversation("c-1"):
        ask()

def wait_all(pids, seconds):
    import time
    deadline = time.monotonic() + seconds
    hung = []
    for pid in pids:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                assert os.waitstatus_to_exitcode(status) == 0, status
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                hung.append(pid)
                break
            time.sleep(0.01)
    return hung
"""


def run(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_fork_while_other_threads_record() -> None:
    out = run(
        "import os, threading\nimport otel_agentperf as ap\nap.configure(service_name='busy')\n"
        + CHILD_CALLS
        + textwrap.dedent(
            """
            stop = threading.Event()

            def hammer():
                while not stop.is_set():
                    agent()

            threads = [threading.Thread(target=hammer) for _ in range(3)]
            for t in threads:
                t.start()
            pids = []
            for _ in range(60):
                pid = os.fork()
                if pid == 0:
                    for _ in range(3):
                        agent()
                    os._exit(0)
                pids.append(pid)
            hung = wait_all(pids, 30)
            stop.set()
            for t in threads:
                t.join()
            print(len(hung))
            """
        )
    )
    assert out == "0", f"{out} of 60 forked children hung"


def test_fork_right_after_configure() -> None:
    # configure() starts a thread that imports the price data: a fork at that moment must not leave the
    # child waiting on an import lock for ever. Repeated in fresh processes, where the race is real.
    script = (
        "import os\nimport otel_agentperf as ap\nap.configure(service_name='pre')\n"
        + CHILD_CALLS
        + textwrap.dedent(
            """
            pid = os.fork()
            if pid == 0:
                agent()
                os._exit(0)
            print(len(wait_all([pid], 20)))
            """
        )
    )
    # Four at a time: the warm-up thread's timing then varies more between runs, and the 12 take ~1/3 the time.
    with ThreadPoolExecutor(4) as pool:
        hung = list(pool.map(run, [script] * 12))
    assert hung == ["0"] * 12, hung
