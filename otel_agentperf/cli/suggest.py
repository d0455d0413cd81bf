"""``agentperf suggest``: the in-process rules, run on exported metrics."""

from __future__ import annotations

import argparse
import json
import sys

from ..insights.fleet import SourceError, from_endpoint, from_prometheus, parse_duration, snapshot
from ..insights.rules import BUILTIN_RULES
from ..insights.suggest import evaluate, health_score, load_thresholds
from .terminal import safe, suggestion_table, terminal

_SEVERITY = {"low": 0, "medium": 1, "high": 2}


def run_suggest(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    overrides: dict[str, float] = {}
    for item in args.threshold:
        name, _, value = item.partition("=")
        try:
            overrides[name.strip()] = float(value)
        except ValueError:
            parser.error(f"--threshold expects NAME=NUMBER, got {item!r}")
    try:
        thresholds = load_thresholds(overrides)
        if args.prometheus:
            parse_duration(args.window)
    except ValueError as exc:
        parser.error(str(exc))
    err = terminal(stderr=True)
    try:
        if args.prometheus:
            with err.status(f"querying {args.prometheus} over the last {args.window}"):
                samples = from_prometheus(args.prometheus, args.window)
        else:
            with err.status(f"scraping {args.endpoint} twice, {args.interval:g} s apart"):
                samples = from_endpoint(args.endpoint, args.interval)
    except SourceError as exc:
        print(f"agentperf suggest: {exc}", file=sys.stderr)
        return 3
    snap = snapshot(samples, daily_budget_usd=args.daily_budget)
    ranked = evaluate(snap, thresholds, BUILTIN_RULES)
    score, parts = health_score(snap, thresholds)
    if args.json:
        print(json.dumps({"window_s": snap.window_s, "suggestions": [s.as_dict() for s in ranked],
                          "health": {"score": score, **parts}}, indent=2))  # fmt: skip
    else:
        console = terminal()
        calls = sum(r.count for r in snap.agents) or sum(r.count for r in snap.provider_models)
        console.print(f"{calls:,} calls over {snap.window_s:,.0f} s from {safe(args.prometheus or args.endpoint)}")
        console.print(suggestion_table(ranked, "Suggestions, ranked (fleet rules on exported metrics)", console.width))
        console.print(f"Health score {score:.0f}/100 " + " · ".join(f"{k} {v:.0%}" for k, v in parts.items()))
    if args.fail_on and any(_SEVERITY[s.severity] >= _SEVERITY[args.fail_on] for s in ranked):
        return 1
    return 0
