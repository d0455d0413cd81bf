"""``agentperf prices`` and ``agentperf cost``: what the SDK will charge, and why."""

from __future__ import annotations

import argparse
import time

from ..cost.prices import ModelPrices, Rate
from ..cost.pricing import PriceBook
from ..cost.usage import Usage
from .terminal import safe, terminal


def _rate(rate: Rate | None) -> str:
    if rate is None:
        return "-"
    text = f"${rate.per_mtok:g}"
    for tier in rate.tiers:
        text += f" (>{tier.start:,}: ${tier.per_mtok:g})"
    return text


def _rates_line(prices: ModelPrices) -> str:
    parts = [
        ("input", prices.input),
        ("cached input", prices.cache_read),
        ("cache write", prices.cache_write),
        ("output", prices.output),
        ("reasoning", prices.reasoning),
    ]
    line = "  ".join(f"{name} {_rate(rate)}" for name, rate in parts if rate is not None)
    extra = f"  + ${prices.per_request:g} per request" if prices.per_request else ""
    return line + extra


def show_prices(models: list[str], provider: str | None, at: float | None = None) -> int:
    console = terminal()
    book = PriceBook()
    when = time.time() if at is None else at
    missing = 0
    for model in models:
        prices = book.lookup(provider, model, when)
        if prices is None:
            missing += 1
            console.print(
                f"[bold]{safe(model)}[/]: [red]unknown[/] (no cost is recorded; add one with configure(prices=...))"
            )
            continue
        console.print(f"[bold]{safe(model)}[/]: {safe(prices.source)}")
        if not prices.windows:
            console.print(f"  USD per million tokens: {_rates_line(prices)}")
            continue
        # Time-of-day prices: every window, never just the rate of the moment.
        console.print("  USD per million tokens, by time of day (the call's start time decides):")
        for window in prices.windows:
            console.print(f"    {safe(window.label):<19} {_rates_line(window.prices)}")
    return 1 if missing else 0


def show_cost(args: argparse.Namespace) -> int:
    console = terminal()
    at: float = time.time() if args.at is None else args.at
    found: ModelPrices | None = PriceBook().lookup(args.provider, args.model, at)
    if found is None:
        console.print(f"[red]error:[/] no price known for {safe(repr(args.model))}; add one with configure(prices=...)")
        return 1
    prices = found.at(at)
    usage = Usage(
        input_tokens=args.input_tokens,
        output_tokens=args.output_tokens,
        cache_read_tokens=args.cache_read_tokens,
        cache_write_tokens=args.cache_write_tokens,
        reasoning_tokens=args.reasoning_tokens,
    )
    usd = prices.cost(usage, at)
    console.print(f"{safe(args.model)} ({safe(prices.source)}): [bold]${usd:.6f}[/]")
    window = found.window_at(at)
    if window is not None:
        console.print(f"  price window {window} (the price changes with the time of day; --at TIME to pick one)")
    parts = [
        ("uncached input", prices.input, args.input_tokens - args.cache_read_tokens - args.cache_write_tokens),
        ("cache read", prices.cache_read, args.cache_read_tokens),
        ("cache write", prices.cache_write, args.cache_write_tokens),
        ("output", prices.output, args.output_tokens),
    ]
    for name, rate, tokens in parts:
        if rate is not None and tokens:
            console.print(f"  {name:15} {tokens:>10,} tokens × {_rate(rate)}/Mtok")
    return 0
