"""Package version (kept apart so the call path imports no packaging metadata)."""

VERSION = "0.2.0"
