"""``error.type`` of the user's exception (the span's status and exception event: ``content.record_exception``)."""

from __future__ import annotations


def error_type(exc: BaseException) -> str:
    """``error.type`` of an exception: its class, module-qualified except builtins (``ValueError``,
    ``openai.RateLimitError``), the value the SDK's exception event records as ``exception.type``."""
    cls = type(exc)
    module = getattr(cls, "__module__", None)
    name = cls.__qualname__
    return f"{module}.{name}" if module and module != "builtins" else name
