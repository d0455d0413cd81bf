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


_EPILOG_PRICES = """examples:
  agentperf prices gpt-4o claude-haiku-4-5 gemini-2.5-pro
  agentperf prices --provider aws.bedrock us.anthropic.claude-3-5-sonnet-20241022-v2:0
  AGENTPERF_PRICES_FILE=prices.toml agentperf prices my-finetune

exit status: 0 all models priced, 1 some model unknown
"""
_EPILOG_COST = """examples:
  agentperf cost --model gpt-4o-mini --input-tokens 12000 --output-tokens 800
  agentperf cost --model claude-sonnet-4-6 --input-tokens 50000 --cache-read-tokens 40000 --output-tokens 2000

exit status: 0 priced, 1 unknown model
"""


_EPILOG_SUGGEST = """examples:
  agentperf suggest --prometheus http://localhost:9090            every process and service Prometheus scrapes
  agentperf suggest --prometheus http://mimir:9009/prometheus --window 1h --daily-budget 200
  agentperf suggest --endpoint http://127.0.0.1:9464/metrics      one running app: two scrapes 10 s apart
  agentperf suggest --prometheus http://localhost:9090 --json --fail-on high

exit status: 0 done, 1 a suggestion at or above --fail-on, 3 the metrics source could not be read
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
    prices = sub.add_parser(
        "prices",
        help="show what the SDK charges per million tokens for models, and where the price comes from",
        description="Resolve model ids the way the SDK does (provider prefixes, Bedrock ids and ARNs, dated "
        "snapshots, your overrides) and print USD per million tokens.",
        epilog=_EPILOG_PRICES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    prices.add_argument("models", nargs="+", metavar="MODEL")
    prices.add_argument("--provider", help="gen_ai.provider.name, e.g. openai, anthropic, aws.bedrock, gcp.gemini")
    cost = sub.add_parser(
        "cost",
        help="price one call from token counts",
        description="Compute the USD cost of one LLM call as the SDK would record it.",
        epilog=_EPILOG_COST,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cost.add_argument("--model", required=True)
    cost.add_argument("--provider")
    cost.add_argument("--input-tokens", type=int, required=True, help="all input tokens, cached ones included")
    cost.add_argument("--output-tokens", type=int, default=0, help="all output tokens, reasoning included")
    cost.add_argument("--cache-read-tokens", type=int, default=0)
    cost.add_argument("--cache-write-tokens", type=int, default=0)
    cost.add_argument("--reasoning-tokens", type=int, default=0)
    suggest = sub.add_parser(
        "suggest",
        help="optimization suggestions from Prometheus (fleet-wide) or an app's /metrics endpoint",
        description="Run the suggestion rules on our metrics over a window: slow agents/tools/models, "
        "model downgrades, error-prone providers and tools, resource pressure, budget burn.",
        epilog=_EPILOG_SUGGEST,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = suggest.add_mutually_exclusive_group(required=True)
    source.add_argument("--prometheus", metavar="URL", help="a Prometheus-compatible API (Prometheus, Mimir, Thanos)")
    source.add_argument(
        "--endpoint", metavar="URL", help="an app's Prometheus endpoint, e.g. http://127.0.0.1:9464/metrics"
    )
    suggest.add_argument("--window", default="15m", help="window over which to judge (Prometheus mode; default 15m)")
    suggest.add_argument("--interval", type=_positive, default=10.0, help="seconds between the two scrapes (endpoint)")
    suggest.add_argument("--daily-budget", type=_positive, help="USD per day, for the budget-burn rule")
    suggest.add_argument("--threshold", action="append", default=[], metavar="NAME=VALUE", help="override a threshold")
    suggest.add_argument("--json", action="store_true", help="print JSON (suggestions and health)")
    suggest.add_argument(
        "--fail-on", choices=("low", "medium", "high"), help="exit 1 if a suggestion this severe exists"
    )
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
    if args.command == "prices":
        from ._cli_cost import show_prices

        return show_prices(args.models, args.provider)
    if args.command == "cost":
        from ._cli_cost import show_cost

        for name in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens"):
            if getattr(args, name) < 0:
                parser.error(f"--{name.replace('_', '-')} must be >= 0")
        return show_cost(args)
    if args.command == "suggest":
        from ._cli_suggest import run_suggest

        return run_suggest(args, parser)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
