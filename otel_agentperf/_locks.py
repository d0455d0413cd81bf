"""Locks that do not survive a ``fork()``: in the child every lock of ours starts released.

A forked child gets a copy of each lock in the state the parent's threads left it; one held by another
thread at that instant would stay held for ever in the child, and the child's first call needing it would
hang (seen with pre-fork servers while the parent was busy). Every lock of the SDK is made here, and an
at-fork hook re-initialises them all in the child (CPython's own ``threading`` does the same for its locks).
The locks are plain ``threading.Lock`` objects: nothing is added to the cost of taking them.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

_all: weakref.WeakSet[Any] = weakref.WeakSet()
_registered: set[Callable[..., None]] = set()


def at_fork(*, after_in_child: Callable[[], None] | None = None, before: Callable[[], None] | None = None) -> None:
    """``os.register_at_fork``, once per callback however often it is asked (a no-op where fork does not exist).

    Every fork-time hook of the SDK goes through here: locks, metric cells, span queues, worker flushes. Two
    threads asking at once may both register a hook: every hook is idempotent, so it would only run twice.
    """
    if not hasattr(os, "register_at_fork"):
        return
    for hook, kind in ((after_in_child, "after_in_child"), (before, "before")):
        if hook is not None and hook not in _registered:
            _registered.add(hook)
            os.register_at_fork(**{kind: hook})


def new_lock() -> threading.Lock:
    """A ``threading.Lock`` that is released again in a forked child."""
    lock = threading.Lock()
    _all.add(lock)
    at_fork(after_in_child=_reinit_all)
    return lock


def _reinit_all() -> None:
    for lock in list(_all):
        reinit = getattr(lock, "_at_fork_reinit", None)  # CPython 3.9+
        if reinit is not None:
            reinit()
