"""Sustained span export over OTLP gRPC and HTTP: does everything arrive? (issue 14, point 4)

Run: ``python benchmarks/export_throughput.py`` (``--rate 5000 --seconds 20``; ``--rate 0`` = as fast as
possible, to find the ceiling). For each protocol, three processes: the local OTLP receiver of the tests
(``tests/support/otlp_receiver.py``, on the official protobuf messages), and the app, which calls a traced
tool (one span per call) paced to ``--rate`` spans/s on the pipeline ``configure()`` builds (the counting
batch span processor with its default settings, OTLP exporter), then shuts down within its bound. Printed:
the rate achieved, spans ended, received, dropped (``agentperf.spans.dropped``) and the share received.
The receiver runs in its own process so that it does not compete with the app for the GIL.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RECEIVER = textwrap.dedent(
    """
    import sys, threading
    from tests.support.otlp_receiver import GrpcReceiver, HttpReceiver
    receiver = GrpcReceiver() if sys.argv[1] == "grpc" else HttpReceiver()
    print(receiver.endpoint, flush=True)
    for line in sys.stdin:  # "count": spans received so far
        with receiver.received.lock:
            n = sum(len(ss.spans) for r in receiver.received.traces for rs in r.resource_spans for ss in rs.scope_spans)
        print(n, flush=True)
    """
)

APP = textwrap.dedent(
    """
    import json, sys, time
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    import otel_agentperf as ap

    endpoint, protocol, rate, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    reader = InMemoryMetricReader()
    ap.configure(service_name="throughput", traces_exporter="otlp", otlp_endpoint=endpoint, otlp_protocol=protocol,
                 metrics_exporter="none", metric_readers=[reader])

    @ap.trace_tool("work")
    def work(i):
        return i

    ended = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    tick = 0.01
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        due = int((now - t0) * rate) if rate else ended + 1000
        while ended < due:
            work(ended)
            ended += 1
        if rate:
            time.sleep(max(0.0, t0 + (ended / rate) - time.perf_counter()) or tick / 10)
    took = time.perf_counter() - t0
    dropped = [p.value for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics
               for m in sm.metrics if m.name == "agentperf.spans.dropped" for p in m.data.data_points]
    t1 = time.perf_counter()
    ok = ap.shutdown()
    print(json.dumps({"ended": ended, "seconds": took, "dropped": dropped[0] if dropped else None,
                      "shutdown_s": time.perf_counter() - t1, "shutdown_ok": ok}))
    """
)


def run(protocol: str, rate: float, seconds: float) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": ROOT}
    receiver = subprocess.Popen(
        [sys.executable, "-c", RECEIVER, "grpc" if protocol == "grpc" else "http"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert receiver.stdout is not None and receiver.stdin is not None
    try:
        endpoint = receiver.stdout.readline().strip()
        app = subprocess.run(
            [sys.executable, "-c", APP, endpoint, protocol, str(rate), str(seconds)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=seconds * 4 + 60,
            check=True,
        )
        out = json.loads(app.stdout.strip().splitlines()[-1])
        received = 0
        for _ in range(20):  # the receiver decodes what already arrived
            receiver.stdin.write("count\n")
            receiver.stdin.flush()
            received = int(receiver.stdout.readline())
            if received >= out["ended"]:
                break
            time.sleep(0.25)
        out["received"] = received
        return out
    finally:
        receiver.kill()
        receiver.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=5000.0, help="spans/s to sustain (0: as fast as possible)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--protocols", default="grpc,http/protobuf")
    args = parser.parse_args()
    print("| protocol | target spans/s | achieved spans/s | ended | received | dropped | received % | shutdown s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for protocol in args.protocols.split(","):
        r = run(protocol, args.rate, args.seconds)
        achieved = r["ended"] / r["seconds"]
        print(
            f"| {protocol} | {args.rate:,.0f} | {achieved:,.0f} | {r['ended']:,} | {r['received']:,} | "
            f"{r['dropped']:,} | {100 * r['received'] / r['ended']:.2f} | {r['shutdown_s']:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
