"""The rich console every command prints with."""

from __future__ import annotations

import sys
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from ..insights.suggest import Suggestion


def terminal(stderr: bool = False) -> Console:
    """A console; piped output gets a fixed width so tables are not cut (a terminal uses its own width)."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 140)


def usd(x: float) -> str:
    if 0 < x < 0.00005:
        return "<$0.0001"  # priced, just tiny: not to be read as an unknown cost
    return f"${x:,.4f}" if x < 10 else f"${x:,.2f}"


def calls(n: int) -> str:
    return f"{n:,} call" if n == 1 else f"{n:,} calls"


def cost_text(value: float | None, unpriced: int = 0, money: Callable[[float], str] = usd) -> str:
    """A cost that says which calls it leaves out, never a made-up $0: ``$1.2345``, ``$1.2345 (+ 3 unpriced
    calls)`` when some calls have no price, ``unpriced (3 calls)`` when none has one (``value`` is ``None``)."""
    if value is None:
        return f"unpriced ({calls(unpriced)})" if unpriced else "-"
    return (
        f"{money(value)} (+ {unpriced:,} unpriced {'call' if unpriced == 1 else 'calls'})" if unpriced else money(value)
    )


def suggestion_table(
    ranked: list[Suggestion],
    title: str = "Suggestions, ranked (ap.suggestions()); savings per day are extrapolated from the calls observed",
) -> Table:
    table = Table(
        title=title,
        title_justify="left",
    )
    for col in ("#", "severity", "rule", "suggestion", "saves/day"):
        table.add_column(col, justify="right" if col in ("#", "saves/day") else "left", no_wrap=col != "suggestion")
    for i, s in enumerate(ranked, 1):
        saves: list[str] = []
        if s.savings_usd_per_day:
            saves.append(usd(s.savings_usd_per_day))
        if s.savings_seconds_per_day:
            saves.append(f"{s.savings_seconds_per_day / 3600:,.1f} h")
        color = {"high": "red", "medium": "yellow"}.get(s.severity, "white")
        table.add_row(str(i), f"[{color}]{s.severity}[/]", s.rule, s.title, " + ".join(saves) or "-")
    if not ranked:
        table.add_row("-", "-", "-", "nothing to improve in this window", "-")
    return table
