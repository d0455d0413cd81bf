"""Containment of our own failures: instrumentation must never break the user's program."""

from __future__ import annotations

import logging
import os

from ._locks import new_lock

logger = logging.getLogger("otel_agentperf")

_RAISE_ENV = "AGENTPERF_RAISE_INTERNAL_ERRORS"
_MAX_SITES = 256
_seen_sites: set[str] = set()
_seen_lock = new_lock()


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
    with _seen_lock:
        first = site not in _seen_sites
        if first and len(_seen_sites) < _MAX_SITES:
            _seen_sites.add(site)
    if first:
        logger.exception(
            "otel_agentperf caught an internal error in %s; your code is still running fine "
            "(further errors here are logged at debug level)",
            site,
        )
    else:
        logger.debug("otel_agentperf internal error in %s", site, exc_info=True)


def warn_once(key: str, message: str, *args: object) -> None:
    """Log a warning about bad input once per ``key`` (bounded), then at debug level."""
    with _seen_lock:
        first = key not in _seen_sites
        if first and len(_seen_sites) < _MAX_SITES:
            _seen_sites.add(key)
    logger.log(logging.WARNING if first else logging.DEBUG, message, *args)


def reset_once_logs() -> None:
    """Forget which sites and keys were already logged (tests use this to see every first warning)."""
    with _seen_lock:
        _seen_sites.clear()
