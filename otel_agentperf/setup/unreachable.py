"""Telemetry with nowhere to go: one clear line instead of the exporters' retry noise, and an exit that does
not wait for a Collector that is not there.

The quickstart's default is OTLP to ``localhost:4317``. Run where nothing listens, the SDK's exporters log a
"Transient error … UNAVAILABLE" (gRPC) or one per retry (HTTP) for every batch, and the exit waited out the
shutdown bound. Here the first such record becomes one line of ours saying where telemetry would go and how to
change it (again at most every 10 minutes); the failures themselves stay counted in
``agentperf_spans_dropped_total`` and ``agentperf_metrics_export_failures_total``. At shutdown a 200 ms connect
tells an absent endpoint from a slow one, and an absent one is not waited for.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from urllib.parse import urlsplit

from .._errors import logger

DEFAULT_PORTS = {"grpc": 4317, "http/protobuf": 4318}
EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.proto.http._common",
)
_NOISE = ("Transient error", "Failed to export")
REPEAT_S = 600.0


def otlp_target(endpoint: str | None, protocol: str) -> tuple[str, int]:
    """(host, port) the OTLP exporters send to: ``endpoint``, else the environment, else the default."""
    raw = (
        endpoint
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )
    default_port = DEFAULT_PORTS.get(protocol, 4317)
    if not raw:
        return "localhost", default_port
    parts = urlsplit(raw if "://" in raw else f"//{raw}")
    try:
        port = parts.port or default_port
    except ValueError:  # a malformed port: the exporter will complain; we only need a guess
        port = default_port
    return parts.hostname or "localhost", port


def reachable(host: str, port: int, timeout_s: float = 0.2) -> bool | None:
    """True if something accepts a TCP connection, False if refused or silent, None if we could not tell in time
    (a name that takes long to resolve): the caller then does what it would have done anyway."""
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, name="agentperf-otlp-probe", daemon=True)
    thread.start()
    thread.join(timeout_s + 0.1)
    return result[0] if result else None


def advice(host: str, port: int, protocol: str) -> str:
    return (
        f"otel_agentperf: cannot export to the OTLP endpoint {host}:{port} ({protocol}): nothing answers there. "
        "Start a Collector (`docker compose up`: the native `agentperf stack` has none), point "
        "OTEL_EXPORTER_OTLP_ENDPOINT at yours, or keep telemetry local with "
        "configure(traces_exporter='none', metrics_exporter='prometheus'). "
        "Lost spans and failed metric exports are counted (agentperf_spans_dropped_total, "
        "agentperf_metrics_export_failures_total), not logged again for 10 minutes"
    )


class QuietExportErrors(logging.Filter):
    """Turns the OTLP exporters' per-batch retry and failure records into one line of ours."""

    def __init__(self, host: str, port: int, protocol: str) -> None:
        super().__init__()
        self.message = advice(host, port, protocol)
        self.said_at: float | None = None
        self.swallowed = 0

    def say_once(self) -> None:
        """The line, unless it was already said."""
        if self.said_at is None:
            self.said_at = time.monotonic()
            logger.warning(self.message)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.msg if isinstance(record.msg, str) else ""
            if not text.startswith(_NOISE):
                return True
            self.swallowed += 1
            now = time.monotonic()
            if self.said_at is None or now - self.said_at >= REPEAT_S:
                self.said_at = now
                logger.warning(self.message)
            return False
        except Exception:  # noqa: BLE001 - a logging filter must never break the caller's logging
            return True


_installed: QuietExportErrors | None = None


def quiet_export_errors(host: str, port: int, protocol: str) -> QuietExportErrors:
    """Install (once per process; a later configure() retargets it) the filter on the exporters' loggers."""
    global _installed
    if _installed is None:
        _installed = QuietExportErrors(host, port, protocol)
        for name in EXPORTER_LOGGERS:
            logging.getLogger(name).addFilter(_installed)
    else:
        _installed.message = advice(host, port, protocol)
    return _installed
