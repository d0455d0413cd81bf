"""``agentperf report``, ``top`` and ``doctor``: argument handling and output."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ..insights.fleet import SourceError, parse_duration
from ..insights.suggest import load_thresholds
from .terminal import Cell, Column, fit_table, terminal, text

if TYPE_CHECKING:
    from rich.table import Table

    from .doctor import Check


def run_view(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        if args.command == "report":
            return _report(args, parser)
        if args.command == "top":
            return _top(args)
        return _doctor(args)
    except SourceError as exc:
        print(f"agentperf {args.command}: {exc}", file=sys.stderr)
        return 3


def _period(args: argparse.Namespace, parser: argparse.ArgumentParser) -> tuple[float, float]:
    from .report import parse_time

    today = datetime.now(tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        if args.daily:
            return (today - timedelta(days=1)).timestamp(), today.timestamp()
        if args.weekly:
            return (today - timedelta(days=7)).timestamp(), today.timestamp()
        if args.start:
            start, end = parse_time(args.start), parse_time(args.end)
        else:
            end = time.time()
            start = end - parse_duration(args.since)
    except ValueError as exc:
        parser.error(str(exc))
    if end <= start:
        parser.error("the period is empty: --end must be after --start")
    return start, end


def _report(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from . import report_render as render
    from .report import Period, build

    start, end = _period(args, parser)
    overrides = {"slow_p95_s": args.latency_target} if args.latency_target else None
    with terminal(stderr=True).status(
        f"querying {args.prometheus} for {(end - start) / 3600:,.1f} h (and the period before)"
    ):
        report = build(
            args.prometheus, Period(start, end), thresholds=load_thresholds(overrides), daily_budget=args.daily_budget
        )
    if args.format == "terminal":
        console = terminal() if not args.output else None
        if console is None:
            from rich.console import Console

            with open(args.output, "w", encoding="utf-8") as f:
                render.terminal(report, Console(file=f, width=terminal().width))  # COLUMNS, the tty, or 120
        else:
            render.terminal(report, console)
        return 0
    text = (
        json.dumps(report, indent=2)
        if args.format == "json"
        else render.markdown(report)
        if args.format == "markdown"
        else render.html_page(report)
    )
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _top(args: argparse.Namespace) -> int:
    from .top import Source, run

    overrides = {"slow_p95_s": args.latency_target} if args.latency_target else None
    if args.prometheus:
        parse_duration(args.window)
    try:
        return run(
            Source(args.prometheus, args.endpoint, args.window),
            thresholds=load_thresholds(overrides),
            daily_budget=args.daily_budget,
            interval=args.interval,
            once=args.once,
            console=terminal(),
        )
    except KeyboardInterrupt:
        return 0


def _doctor(args: argparse.Namespace) -> int:
    from .doctor import FAIL, run_checks

    with terminal(stderr=True).status("checking"):
        checks = run_checks(
            otlp=args.otlp,
            protocol=args.protocol,
            endpoint=args.endpoint,
            prometheus=args.prometheus,
            alertmanager=args.alertmanager,
        )
    console = terminal()
    console.print(doctor_table(checks, console.width))
    failed = [c for c in checks if c.status == FAIL]
    return 1 if failed else 0


def doctor_table(checks: list[Check], width: int) -> Table:
    """The checks as a table of ``width`` columns: what was found and the fix wrap, names fold."""
    colours = {"ok": "green", "warn": "yellow", "fail": "red", "skip": "dim"}
    columns = [Column("check", justify="left", key=True), Column("status", justify="left")]
    columns += [Column("what we found", justify="left", wrap=True), Column("how to fix", justify="left", wrap=True)]
    rows: list[list[Cell]] = [
        [text(c.name), text(c.status.upper(), colours[c.status]), text(c.detail), text(c.fix)] for c in checks
    ]
    return fit_table(width, "agentperf doctor", columns, rows)
