"""The rich console every command prints with."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

from ..insights.suggest import Suggestion


def terminal(stderr: bool = False) -> Console:
    """A console; piped output gets a fixed width so tables are not cut (a terminal uses its own width)."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 140)


def usd(x: float) -> str:
    return f"${x:,.4f}" if x < 10 else f"${x:,.2f}"


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
