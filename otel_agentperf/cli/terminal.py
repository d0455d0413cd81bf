"""The rich console every command prints with, and what every printed name passes through.

Names come from the traced program (agents, models, tools, conversation ids) or from Prometheus labels:
anything can be in them. ``printable`` turns control characters (ESC sequences that set a window title
or clear the screen, BEL, bidi overrides) into visible escapes, and ``text``/``safe`` keep rich from
reading ``[bold]`` or ``[/]`` in a name as markup. Tables fit the console (``fit_table``): columns have
priorities, the lowest are dropped (and said so) when the screen is narrow, long text wraps, and key
columns fold instead of being cut with '…'.
"""

from __future__ import annotations

import html
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console, JustifyMethod
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .._text import clean
from ..insights.suggest import Suggestion

PIPED_WIDTH = 120
"""Width of output that goes to a file or a pipe when ``COLUMNS`` does not say."""


def terminal(stderr: bool = False) -> Console:
    """A console as wide as the terminal, or ``COLUMNS``; piped output without ``COLUMNS`` gets a fixed width."""
    stream = sys.stderr if stderr else sys.stdout
    sized = stream.isatty() or os.environ.get("COLUMNS", "").isdigit()
    return Console(stderr=stderr, width=None if sized else PIPED_WIDTH)


def printable(value: object) -> str:
    """``value`` as text with every non-printable character (C0/C1 controls, ESC, DEL, bidi and zero-width
    format characters, line separators, lone surrogates) written as a visible escape such as ``\\x1b``."""
    raw = clean(value, limit=1024)
    if raw.isprintable():
        return raw
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in raw)


def safe(value: object) -> str:
    """``value`` for a rich markup string: printable, and ``[...]`` shown as written, never as a style."""
    return escape(printable(value))


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md(value: object) -> str:
    """``value`` for Markdown: printable, HTML-escaped (``<script>`` is text), and backslash before every
    character that could start code, emphasis, a link or a table column (``\\ ` * _ [ ] | ~``)."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(printable(value), quote=False))


def text(value: object, style: str = "") -> Text:
    """``value`` as a rich ``Text`` (never parsed as markup), printable."""
    return Text(printable(value), style=style)


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


def duration(seconds: float) -> str:
    """A span of time in the unit that reads best: ``850 ms``, ``12 s``, ``4 min``, ``2.5 h``."""
    if seconds < 1:
        return f"{seconds * 1000:,.0f} ms"
    if seconds < 60:
        return f"{seconds:,.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:,.0f} min"
    return f"{seconds / 3600:,.1f} h"


@dataclass(frozen=True)
class Column:
    """One column of a ``fit_table``."""

    header: str
    priority: int = 0
    """0: always shown (the key and the numbers the table is about); higher numbers are dropped first."""
    justify: JustifyMethod = "right"
    wrap: bool = False
    """Long text (a title, a cost with its note): wraps instead of widening the table."""
    key: bool = False
    """Names: fold onto the next line when too long, never cut with '…'."""
    min_width: int = 0
    """A wrap column narrower than this reads badly: drop other columns first."""


Cell = str | Text

_FOLD_AT = 32
"""A key column is never narrower than this (or its longest name): longer names fold."""
_WRAP_MIN = 12


def _width(cell: Cell) -> int:
    plain = cell.plain if isinstance(cell, Text) else cell
    return max((cell_len(line) for line in plain.splitlines()), default=0)


def _min_width(column: Column, cells: list[Cell]) -> int:
    natural = max([cell_len(column.header), *(_width(c) for c in cells)])
    if column.key:
        return min(natural, max(_FOLD_AT, cell_len(column.header)))
    if column.wrap:
        words = [w for c in cells for w in (c.plain if isinstance(c, Text) else c).split()]
        longest = min(max(map(cell_len, words), default=0), _FOLD_AT)  # a longer word folds
        return min(natural, max(column.min_width or _WRAP_MIN, cell_len(column.header), longest))
    return natural


def fit_table(
    width: int, title: str, columns: Sequence[Column], rows: Sequence[Sequence[Cell]], caption: str = ""
) -> Table:
    """A table no wider than ``width``: while its narrowest layout does not fit, the column of highest
    ``priority`` is dropped (a caption says which); wrap columns wrap, key columns fold, numbers never wrap."""
    shown = list(range(len(columns)))

    def narrowest(indexes: list[int]) -> int:
        # Rich's default box with padding 1: "│ " before each column, " │" after the last one.
        return sum(_min_width(columns[i], [r[i] for r in rows]) + 3 for i in indexes) + 1

    hidden: list[str] = []
    while narrowest(shown) > width:
        droppable = [i for i in shown if columns[i].priority > 0]
        if not droppable:
            break
        drop = max(droppable, key=lambda i: (columns[i].priority, i))
        shown.remove(drop)
        hidden.append(columns[drop].header)
    notes = [caption] if caption else []
    if hidden:
        notes.append(f"not shown at {width} columns: {', '.join(reversed(hidden))}")
    table = Table(title=title, title_justify="left", caption=" · ".join(notes) or None, caption_justify="left")
    widths = _widths(width, [columns[i] for i in shown], [[r[i] for r in rows] for i in shown])
    for i, w in zip(shown, widths, strict=True):
        c = columns[i]
        folds = c.key or c.wrap
        table.add_column(
            c.header, justify=c.justify, no_wrap=not folds, overflow="fold" if folds else "ellipsis", width=w
        )
    for row in rows:
        table.add_row(*(row[i] for i in shown))
    return table


def _widths(width: int, columns: list[Column], cells: list[list[Cell]]) -> list[int]:
    """Each column's width: numbers at their natural width; names and text share what is left, from their
    minimum up to their natural width. (Rich would shrink every wrappable column by one ratio, names too.)"""
    natural = [max([cell_len(c.header), *(_width(x) for x in col)]) for c, col in zip(columns, cells, strict=True)]
    least = [_min_width(c, col) for c, col in zip(columns, cells, strict=True)]
    flexible = [i for i, c in enumerate(columns) if c.key or c.wrap]
    widths = list(natural)
    spare = width - sum(w + 3 for w in natural) - 1
    if spare >= 0 or not flexible:
        return widths
    for i in flexible:
        widths[i] = least[i]
    room = width - sum(w + 3 for w in widths) - 1
    while room < 0 and max(widths[i] for i in flexible) > _WRAP_MIN:
        widest = max(flexible, key=lambda i: widths[i])  # still too wide: the widest text gives way first
        widths[widest] -= 1
        room += 1
    slack = [natural[i] - least[i] for i in flexible]
    total = sum(slack)
    if room > 0 and total:
        for i, extra in zip(flexible, slack, strict=True):
            widths[i] += min(extra, room * extra // total)
    return widths


def evidence_line(evidence: Mapping[str, object], confidence: object) -> str:
    """What stands behind a suggestion: calls observed, the window, the confidence."""
    parts: list[str] = []
    for key in ("calls", "invocations", "repeats", "extra_calls", "conversations"):
        value = evidence.get(key)
        if isinstance(value, (int, float)):
            parts.append(f"{value:,.0f} {key.replace('_', ' ') if key != 'calls' else 'calls'}")
            break
    observed = evidence.get("observed_s")
    if isinstance(observed, (int, float)):
        parts.append(f"over {duration(observed)}")
    parts.append(f"confidence {printable(confidence)}")
    return " · ".join(parts)


def savings_text(usd_per_day: float, seconds_per_day: float) -> str:
    """What a suggestion saves per day: money and call time in sensible units, ``-`` when nothing."""
    saves: list[str] = []
    if usd_per_day >= 0.005:
        saves.append(usd(usd_per_day))
    if seconds_per_day >= 1:
        saves.append(duration(seconds_per_day))
    return " + ".join(saves) or "-"


SEVERITY_STYLE = {"high": "red", "medium": "yellow", "low": ""}


def suggestion_table(
    ranked: list[Suggestion],
    title: str = "Suggestions, ranked (ap.suggestions())",
    width: int = PIPED_WIDTH,
) -> Table:
    columns = [
        Column("#"),
        Column("severity", justify="left"),
        Column("rule", priority=2, justify="left"),
        Column("suggestion (evidence)", justify="left", wrap=True, min_width=40),
        Column("saves/day", priority=1),
    ]
    rows: list[list[Cell]] = []
    for i, s in enumerate(ranked, 1):
        what = text(s.title)
        what.append("\n" + evidence_line(s.evidence, s.confidence), style="dim")
        rows.append(
            [
                str(i),
                text(s.severity, SEVERITY_STYLE.get(s.severity, "")),
                text(s.rule),
                what,
                savings_text(s.savings_usd_per_day, s.savings_seconds_per_day),
            ]
        )
    if not ranked:
        rows.append(["-", "-", "-", "nothing to improve in this window", "-"])
    caption = (
        "saves/day: money and call time per day, extrapolated from the window; "
        "'-' until it holds 5 min and 20 calls (confidence low)"
    )
    return fit_table(width, title, columns, rows, caption)
