"""Strings safe to export: every name and id we put on a span or a metric label passes through ``clean``.

Python strings can carry lone surrogates (``'a\\udcffb'``, from bytes decoded with ``surrogateescape``);
such a string cannot be encoded as UTF-8, and one of them in a label or a span attribute makes the whole
Prometheus page or OTLP batch fail, for every series. ``clean`` replaces what cannot be encoded, bounds the
length, and turns objects whose ``__str__`` raises into a placeholder, each with one warning.
"""

from __future__ import annotations

from ._errors import warn_once

UNPRINTABLE = "<unprintable>"


def clean(value: object, limit: int = 256) -> str:
    """``value`` as a UTF-8-encodable string of at most ``limit`` characters (never raises)."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = str(value)
        except Exception:  # noqa: BLE001 - a user object's __str__ may raise anything
            warn_once(
                f"unprintable:{type(value).__name__}",
                "otel_agentperf: cannot turn a %s into text; using %r",
                type(value).__name__,
                UNPRINTABLE,
            )
            return UNPRINTABLE
        if not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance] - a broken __str__
            return UNPRINTABLE
    if len(text) > limit:
        text = text[:limit]
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            warn_once(
                "surrogates",
                "otel_agentperf: a name or id held characters that cannot be encoded as UTF-8 (lone surrogates); "
                "they are replaced by '?' so that export keeps working",
            )
            text = text.encode("utf-8", "replace").decode("utf-8")
    return text
