"""Thread pools run submitted work in a copy of the submitter's context, so spans keep their parent.

``loop.run_in_executor`` goes through ``ThreadPoolExecutor.submit`` too.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

_patched = False


def patch_thread_pools() -> None:
    """Run work submitted to thread pools in a copy of the submitter's context (spans keep their parent)."""
    global _patched
    if _patched:
        return
    import contextvars

    original = ThreadPoolExecutor.submit

    def submit(self: ThreadPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        return original(self, contextvars.copy_context().run, fn, *args, **kwargs)

    submit.__wrapped__ = original  # type: ignore[attr-defined]
    submit.__doc__ = original.__doc__
    ThreadPoolExecutor.submit = submit
    _patched = True
