"""``configure_worker``: the initializer for process pools whose workers start fresh (spawn, forkserver)."""

from __future__ import annotations

from typing import Any

from .configure import configure, current_setup
from .processes import flush_at_worker_exit


def configure_worker(**kwargs: Any) -> None:
    """A pool ``initializer``: configure this worker (unless it inherited a configuration by fork) and flush
    its telemetry when it exits. Keyword arguments are ``configure()``'s; ``OTEL_*`` variables apply.

    Example::

        from concurrent.futures import ProcessPoolExecutor
        from functools import partial

        pool = ProcessPoolExecutor(4, initializer=partial(ap.configure_worker, service_name="batch"))
    """
    if current_setup() is None:
        configure(**kwargs)
    flush_at_worker_exit()
