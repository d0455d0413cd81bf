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
from typing import Any

_all: weakref.WeakSet[Any] = weakref.WeakSet()
_hooked = False


def new_lock() -> threading.Lock:
    """A ``threading.Lock`` that is released again in a forked child."""
    global _hooked
    lock = threading.Lock()
    _all.add(lock)
    if not _hooked and hasattr(os, "register_at_fork"):
        _hooked = True
        os.register_at_fork(after_in_child=_reinit_all)
    return lock


def _reinit_all() -> None:
    for lock in list(_all):
        reinit = getattr(lock, "_at_fork_reinit", None)  # CPython 3.9+
        if reinit is not None:
            reinit()
