"""The ``agentperf`` command line (``python -m otel_agentperf`` too)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC

from .._version import VERSION

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


_EPILOG_ALERTS = """examples:
  agentperf alerts                      listen on 127.0.0.1:9095 (the default receiver of deploy/alertmanager)
  agentperf alerts --port 9095 --record alerts.jsonl
"""
_EPILOG_STACK = """examples:
  agentperf stack up                    Prometheus :9090 + Alertmanager :9093 + alert printer :9095, scraping :9464
  agentperf stack up --scrape 127.0.0.1:9464 --scrape 10.0.0.5:9464
  agentperf stack up --fast             1 s scrapes and rule durations ÷ 60: see alerts fire within a minute
  agentperf stack status
  agentperf stack down
  agentperf stack export ./agentperf-stack   docker-compose.yml, Dockerfile, deploy/, grafana/ for docker compose

exit status: 0 done, 1 not running (status), 3 cannot start (missing binaries, port in use)
"""


_EPILOG_REPORT = """examples:
  agentperf report --prometheus http://localhost:9090 --since 24h
  agentperf report --prometheus http://localhost:9090 --weekly --format html --output week.html
  agentperf report --prometheus http://localhost:9090 --start 2026-11-20T00:00Z --end 2026-11-21T00:00Z --format json
  agentperf report --prometheus http://localhost:9090 --daily --format markdown > daily.md

exit status: 0 done, 2 bad arguments, 3 the metrics source could not be read
"""
_EPILOG_TOP = """examples:
  agentperf top --prometheus http://localhost:9090          every service Prometheus scrapes (last 5 min)
  agentperf top --endpoint http://127.0.0.1:9464/metrics    one app, no Prometheus needed
  agentperf top --prometheus http://localhost:9090 --once   print one refresh and exit (scripts, CI)

exit status: 0 done, 3 the metrics source could not be read
"""
_EPILOG_DOCTOR = """examples:
  agentperf doctor                                          configuration and pricing data
  agentperf doctor --otlp http://localhost:4317 --endpoint http://127.0.0.1:9464/metrics \\
                   --prometheus http://localhost:9090 --alertmanager http://localhost:9093

exit status: 0 no failure, 1 at least one check failed
"""


def _when(text: str) -> float:
    """An ISO 8601 time as seconds since the epoch (UTC when no zone is given)."""
    from datetime import datetime

    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r} (e.g. 2026-11-22T18:00)") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


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
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
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
    demo.add_argument(
        "--fault-at", type=float, metavar="S", help="inject a fault S seconds in (writer crashes, spend spike)"
    )
    demo.add_argument("--fault-for", type=_positive, default=30.0, metavar="S", help="how long the fault lasts (30)")
    demo.add_argument("--drift-at", type=float, metavar="S", help="from S seconds in, latency and spend creep up")
    demo.add_argument("--drift-for", type=_positive, default=60.0, metavar="S", help="how long the drift lasts (60)")
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
    prices.add_argument("--at", type=_when, metavar="TIME", help="prices on this date (ISO 8601, UTC if no zone)")
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
    cost.add_argument(
        "--at", type=_when, metavar="TIME", help="when the call is made (ISO 8601, UTC if no zone; default now)"
    )
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
    alerts = sub.add_parser(
        "alerts",
        help="receive Alertmanager webhooks and print the notifications",
        description="A webhook receiver for Alertmanager that prints alerts readably (no Slack or e-mail needed).",
        epilog=_EPILOG_ALERTS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    alerts.add_argument("--host", default="127.0.0.1")
    alerts.add_argument("--port", type=int, default=9095)
    alerts.add_argument("--record", metavar="FILE", help="also append every notification to FILE as a JSON line")
    alerts.add_argument("--grafana", default="http://localhost:3000", help="base URL for dashboard links")
    stack = sub.add_parser(
        "stack",
        help="run Prometheus + Alertmanager + the alert printer from installed binaries (no Docker)",
        description="Start, stop or inspect a local monitoring stack with the same rules as deploy/.",
        epilog=_EPILOG_STACK,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    stack.add_argument("action", choices=("up", "down", "status", "export"))
    stack.add_argument("target", nargs="?", metavar="DIR", help="export: the folder for docker compose")
    stack.add_argument("--force", action="store_true", help="export: overwrite files already in DIR")
    stack.add_argument("--dir", help="state directory (default ~/.local/state/agentperf/stack)")
    stack.add_argument("--scrape", action="append", metavar="HOST:PORT", help="app endpoints (default 127.0.0.1:9464)")
    stack.add_argument("--prometheus-port", type=int, default=9090)
    stack.add_argument("--alertmanager-port", type=int, default=9093)
    stack.add_argument("--alerts-port", type=int, default=9095)
    stack.add_argument("--fast", action="store_true", help="1 s intervals and rule durations divided by 60")
    stack.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="RECORD=VALUE",
        help="override a threshold, e.g. agentperf:budget:usd_per_day=500",
    )
    report = sub.add_parser(
        "report",
        help="executive report for a time range (terminal, Markdown, JSON, HTML with charts)",
        description="Summarise a period from a Prometheus-compatible API: KPIs against targets, trends against "
        "the previous period, agents, models, tools, and recommendations by priority.",
        epilog=_EPILOG_REPORT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("--prometheus", required=True, metavar="URL")
    period = report.add_mutually_exclusive_group()
    period.add_argument("--since", default="24h", help="the last DURATION up to now (default 24h)")
    period.add_argument("--daily", action="store_true", help="the previous full UTC day")
    period.add_argument("--weekly", action="store_true", help="the previous 7 full UTC days")
    period.add_argument("--start", help="ISO date/time or Unix time (with --end)")
    report.add_argument("--end", default="now", help="ISO date/time, Unix time or now (with --start)")
    report.add_argument("--format", choices=("terminal", "markdown", "json", "html"), default="terminal")
    report.add_argument("--output", metavar="FILE", help="write to FILE instead of standard output")
    report.add_argument("--daily-budget", type=_positive, help="USD per day, shown as the spend target")
    report.add_argument("--latency-target", type=_positive, help="agent p95 target in seconds (default 5)")
    top = sub.add_parser(
        "top",
        help="live terminal dashboard: KPIs vs targets, agents, models, suggestions, alerts",
        description="A live dashboard in the terminal (works over SSH) from Prometheus or one app's /metrics.",
        epilog=_EPILOG_TOP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top_source = top.add_mutually_exclusive_group(required=True)
    top_source.add_argument("--prometheus", metavar="URL")
    top_source.add_argument("--endpoint", metavar="URL")
    top.add_argument("--window", default="5m", help="window of the numbers (Prometheus mode; default 5m)")
    top.add_argument("--interval", type=_positive, default=5.0, help="seconds between refreshes (default 5)")
    top.add_argument("--once", action="store_true", help="print one refresh and exit")
    top.add_argument("--daily-budget", type=_positive, help="USD per day: the spend/hour target is 1/24 of it")
    top.add_argument("--latency-target", type=_positive, help="agent p95 target in seconds (default 5)")
    doctor = sub.add_parser(
        "doctor",
        help="check configuration and connectivity, and say how to fix what is wrong",
        description="Check OTEL_* configuration, the OTLP endpoint (accepting exports), an app's metrics endpoint, "
        "Prometheus (our metrics, rules, Alertmanager), Alertmanager, and the pricing data.",
        epilog=_EPILOG_DOCTOR,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    doctor.add_argument("--otlp", metavar="ENDPOINT", help="OTLP endpoint (default OTEL_EXPORTER_OTLP_ENDPOINT)")
    doctor.add_argument("--protocol", choices=("grpc", "http/protobuf"), help="OTLP protocol (default from env, grpc)")
    doctor.add_argument("--endpoint", metavar="URL", help="an app's Prometheus endpoint")
    doctor.add_argument("--prometheus", metavar="URL")
    doctor.add_argument("--alertmanager", metavar="URL")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run_demo

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
                fault_at=args.fault_at,
                fault_for=args.fault_for,
                drift_at=args.drift_at,
                drift_for=args.drift_for,
            )
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
    if args.command == "prices":
        from .cost import show_prices

        return show_prices(args.models, args.provider, args.at)
    if args.command == "cost":
        from .cost import show_cost

        for name in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens"):
            if getattr(args, name) < 0:
                parser.error(f"--{name.replace('_', '-')} must be >= 0")
        return show_cost(args)
    if args.command in ("report", "top", "doctor"):
        from .views import run_view

        return run_view(args, parser)
    if args.command == "alerts":
        return _run_alerts(args)
    if args.command == "stack":
        return _run_stack(args)
    if args.command == "suggest":
        from .suggest import run_suggest

        return run_suggest(args, parser)
    parser.print_help()
    return 2


def _run_alerts(args: argparse.Namespace) -> int:
    from ..stack.alerts import AlertPrinter

    record = open(args.record, "a", encoding="utf-8") if args.record else None
    try:
        printer = AlertPrinter(args.host, args.port, record=record, grafana=args.grafana)
    except OSError as exc:
        print(f"agentperf alerts: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 3
    printer.console.print(f"Waiting for Alertmanager notifications on http://{args.host}:{printer.port}/alerts")
    try:
        printer.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        printer.close()
        if record is not None:
            record.close()
    return 0


def _parse_sets(items: list[str]) -> dict[str, float]:
    from ..stack.runner import StackError

    out: dict[str, float] = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise StackError(f"--set expects RECORD=NUMBER, got {item!r}") from None
    return out


def _run_stack(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..stack import runner as _stack

    directory = Path(args.dir) if args.dir else _stack.default_dir()
    try:
        if args.action == "export":
            from ..stack import bundle

            if not args.target:
                print("agentperf stack export: give the folder to write, e.g. ./agentperf-stack", file=sys.stderr)
                return 2
            written = bundle.export(Path(args.target), force=args.force)
            print(
                f"wrote {len(written)} entries to {args.target}; start with: cd {args.target} && docker compose up -d"
            )
            return 0
        if args.action == "up":
            info = _stack.start(
                directory,
                args.scrape or ["127.0.0.1:9464"],
                prometheus_port=args.prometheus_port,
                alertmanager_port=args.alertmanager_port,
                alerts_port=args.alerts_port,
                fast=args.fast,
                thresholds=_parse_sets(args.set),
            )
            print(f"Prometheus    {info.prometheus_url}   (rules from deploy/prometheus/rules)")
            print(f"Alertmanager  {info.alertmanager_url}")
            print(f"Alerts        {info.alerts_url}   printed to {directory / 'alerts.log'}")
            print(f"State and logs in {directory}; stop with: agentperf stack down")
            return 0
        if args.action == "down":
            stopped = _stack.stop(directory)
            print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
            return 0
        states = _stack.status(directory)
        if not states:
            print(f"no stack in {directory}")
            return 1
        for name, alive in states.items():
            print(f"{name:13} {'running' if alive else 'stopped'}")
        return 0 if all(states.values()) else 1
    except _stack.StackError as exc:
        print(f"agentperf stack: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
