"""The rich console every command prints with."""

from __future__ import annotations

import sys

from rich.console import Console


def terminal(stderr: bool = False) -> Console:
    """A console; piped output gets a fixed width so tables are not cut (a terminal uses its own width)."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 140)
