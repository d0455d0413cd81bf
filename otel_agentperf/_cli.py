"""The ``agentperf`` command line (``python -m otel_agentperf`` too)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

_EPILOG_DEMO = """examples:
  agentperf demo                          30 s of simulated agents, metrics on http://127.0.0.1:9464/metrics
  agentperf demo --duration 120 --rate 5  a longer, busier run
  agentperf demo --otlp http://localhost:4317   also send traces and metrics to a Collector
"""


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentperf",
        description="OpenTelemetry-native performance, cost and suggestions for AI agents.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="run a simulated multi-agent system (offline) with live output",
        description="Run a simulated planner → researchers → writer system, fully offline, instrumented "
        "with otel_agentperf, and print a summary per agent, model and tool.",
        epilog=_EPILOG_DEMO,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--duration", type=_positive, default=30.0, help="seconds to generate requests (default 30)")
    demo.add_argument("--rate", type=_positive, default=2.0, help="new requests per second (default 2)")
    demo.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    demo.add_argument("--otlp", metavar="ENDPOINT", help="also export traces and metrics over OTLP to ENDPOINT")
    demo.add_argument("--port", type=int, default=9464, help="Prometheus endpoint port on 127.0.0.1 (0: any free)")
    demo.add_argument("--time-scale", type=_positive, default=1.0, help="multiply simulated latencies (e.g. 0.1)")
    demo.add_argument("--json", metavar="PATH", help="also write the summary as JSON to PATH")
    demo.add_argument("--linger", type=float, default=0.0, help="keep serving metrics this many seconds after")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ._demo import run_demo

        try:
            return run_demo(
                duration=args.duration,
                rate=args.rate,
                seed=args.seed,
                otlp=args.otlp,
                port=args.port,
                time_scale=args.time_scale,
                linger=args.linger,
                json_path=args.json,
            )
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
