"""A WSGI app configured at import: with gunicorn ``--preload`` that happens once, in the master, before
the workers are forked (the pattern that used to count the master's cells in every worker)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import otel_agentperf as ap

ap.configure(service_name="wsgi")


@ap.trace_agent("handler")
def handle() -> bytes:
    return b"ok"


handle()  # a call in the master before the fork: must never be counted by a worker


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = handle()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
