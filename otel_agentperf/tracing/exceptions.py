"""What a span says about the user's exception: ``error.type`` and the status description."""

from __future__ import annotations


def error_type(exc: BaseException) -> str:
    """``error.type`` of an exception: its class, module-qualified except builtins (``ValueError``,
    ``openai.RateLimitError``), the value the SDK's exception event records as ``exception.type``."""
    cls = type(exc)
    module = getattr(cls, "__module__", None)
    name = cls.__qualname__
    return f"{module}.{name}" if module and module != "builtins" else name


def describe(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a user's __str__ may itself raise
        text = ""
    return f"{type(exc).__qualname__}: {text}"[:512] if text else type(exc).__qualname__
