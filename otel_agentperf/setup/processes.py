"""Processes: forked children and worker pools export their own telemetry, and every call counts once.

- After ``os.fork()`` (gunicorn ``--preload``, uWSGI, ``multiprocessing`` with the fork start method) the
  child starts its own metric series (``telemetry.aggregate`` resets our cells; the SDK regenerates
  ``service.instance.id`` and restarts its exporter threads, and its batch span queue starts empty).
- ``multiprocessing`` workers leave by ``os._exit`` after running their finalizers, so ``atexit`` (where the
  SDK flushes) never runs in them: a child that inherited a configuration flushes from a multiprocessing
  finalizer instead, registered right after the fork.
- Workers started fresh (the spawn and forkserver start methods) have no configuration: pass
  ``configure_worker`` as the pool's ``initializer``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .._errors import log_internal_error, logger
from .._locks import at_fork

_current_setup: Callable[[], Any] = lambda: None  # noqa: E731 - replaced by configure()
_pending: list[threading.Thread] = []
_JOIN_TIMEOUT_S = 5.0


def install_fork_hook(current_setup: Callable[[], Any]) -> None:
    """Register (once per process) what a forked child of a configured process needs.

    ``current_setup`` returns the live ``Setup`` (or ``None``); handed in by ``configure()`` so that this
    module does not import it.
    """
    global _current_setup
    _current_setup = current_setup
    at_fork(after_in_child=_after_fork_in_child)


def finish_before_fork(thread: threading.Thread) -> None:
    """Let ``thread`` finish before any ``fork()`` (bounded): the warm-up thread imports modules (the OTLP
    exporters', the price data), and a child forked while it holds an import lock would wait for it for ever."""
    _pending.append(thread)
    at_fork(before=_join_pending)


def _join_pending() -> None:
    for waiting in list(_pending):
        waiting.join(_JOIN_TIMEOUT_S)  # returns at once when the thread is done
    _pending[:] = [t for t in _pending if t.is_alive()]


def current_setup() -> Any:
    return _current_setup()


def _after_fork_in_child() -> None:
    try:
        if current_setup() is not None:
            flush_at_worker_exit()
    except Exception:  # noqa: BLE001 - runs inside os.fork(): never break the child
        log_internal_error("after fork")


def flush_at_worker_exit() -> None:
    """Flush spans and metrics when this process ends as a ``multiprocessing`` worker (``os._exit``)."""
    from multiprocessing import util

    util.Finalize(None, _flush, exitpriority=100)


def _flush() -> None:
    setup = current_setup()
    if setup is None:
        return
    try:
        setup.force_flush(5_000)
    except Exception:  # noqa: BLE001 - best effort at exit
        logger.warning("otel_agentperf: flush at worker exit failed", exc_info=True)
