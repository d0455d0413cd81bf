"""Containment of our own failures: instrumentation must never break the user's program."""

from __future__ import annotations

import logging
import os
from collections import OrderedDict

from ._locks import new_lock

logger = logging.getLogger("otel_agentperf")

_RAISE_ENV = "AGENTPERF_RAISE_INTERNAL_ERRORS"
MAX_KEYS = 1024
# Sites and keys already logged, least recently seen first: a full table forgets its oldest key (which may
# then warn once more), never stops remembering; a set that stopped adding at its limit warned on every call.
_seen_sites: OrderedDict[str, None] = OrderedDict()
_seen_lock = new_lock()
forgotten: int = 0
"""Keys evicted from the full table (each may log once more when seen again)."""


class AgentPerfConfigError(ValueError):
    """An explicit, invalid argument to ``configure()`` (the only error we ever raise)."""


def raise_internal_errors() -> bool:
    """Whether internal errors re-raise (tests set ``AGENTPERF_RAISE_INTERNAL_ERRORS=1`` so bugs fail CI)."""
    return os.environ.get(_RAISE_ENV, "").strip().lower() in {"1", "true", "yes"}


def log_internal_error(site: str) -> None:
    """Log the exception being handled, once per call site, or re-raise it in test mode.

    Must be called from inside an ``except`` block.
    """
    if raise_internal_errors():
        raise
    if _first(site):
        logger.exception(
            "otel_agentperf caught an internal error in %s; your code is still running fine "
            "(further errors here are logged at debug level)",
            site,
        )
    else:
        logger.debug("otel_agentperf internal error in %s", site, exc_info=True)


def warn_once(key: str, message: str, *args: object) -> None:
    """Log a warning about bad input once per ``key`` (bounded), then at debug level."""
    logger.log(logging.WARNING if _first(key) else logging.DEBUG, message, *args)


def _first(key: str) -> bool:
    """Whether ``key`` is new to the table (it is then remembered, the least recently seen key forgotten)."""
    global forgotten
    with _seen_lock:
        if key in _seen_sites:
            _seen_sites.move_to_end(key)
            return False
        _seen_sites[key] = None
        if len(_seen_sites) > MAX_KEYS:
            _seen_sites.popitem(last=False)
            forgotten += 1
        return True


def reset_once_logs() -> None:
    """Forget which sites and keys were already logged (tests use this to see every first warning)."""
    with _seen_lock:
        _seen_sites.clear()
