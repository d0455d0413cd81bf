"""Exporters and readers from arguments and the standard ``OTEL_*`` environment variables.

A bad argument raises ``AgentPerfConfigError``; a bad environment value logs a warning and falls back to
the default, as OpenTelemetry's own SDK does. Nothing here connects: exporters connect from their threads.
"""

from __future__ import annotations

import os
from functools import partial
from typing import Any

from opentelemetry.sdk.metrics.export import MetricExporter, MetricReader
from opentelemetry.sdk.trace.export import SpanExporter

from .._errors import AgentPerfConfigError, logger
from .deferred_otlp import DeferredMetricExporter, DeferredSpanExporter, deferrable

TRACE_EXPORTERS = frozenset({"otlp", "console", "none"})


METRIC_EXPORTERS = frozenset({"otlp", "prometheus", "console", "none"})


PROTOCOLS = frozenset({"grpc", "http/protobuf"})


def exporter_names(value: Any, env: str, allowed: frozenset[str]) -> list[str]:
    """Exporter names from an argument (a bad one raises) or the env var (a bad one warns)."""
    if value is None or isinstance(value, (SpanExporter, MetricExporter)):
        raw = [] if value is not None else os.environ.get(env, "otlp").split(",")
        names: list[str] = []
        for name in (n.strip().lower() for n in raw):
            if name in allowed:
                names.append(name)
            elif name:
                logger.warning("otel_agentperf: ignoring unknown %s value %r (allowed: %s)", env, name, sorted(allowed))
        return names
    items = [value] if isinstance(value, str) else list(value)
    names = []
    for item in items:
        for name in (n.strip().lower() for n in str(item).split(",")):
            if name not in allowed:
                raise AgentPerfConfigError(f"unknown exporter {name!r}; allowed: {sorted(allowed)}")
            names.append(name)
    return names


def otlp_protocol_from(value: str | None) -> str:
    if value is not None:
        if value not in PROTOCOLS:
            raise AgentPerfConfigError(f"otlp_protocol must be one of {sorted(PROTOCOLS)}, got {value!r}")
        return value
    env = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc").strip().lower()
    if env not in PROTOCOLS:
        logger.warning("otel_agentperf: ignoring OTEL_EXPORTER_OTLP_PROTOCOL=%r, using grpc", env)
        return "grpc"
    return env


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value <= 0:
        logger.warning("otel_agentperf: ignoring %s=%r, using %d", name, raw, default)
        return default
    return value


def is_console(exporter: SpanExporter) -> bool:
    return type(exporter).__name__ == "ConsoleSpanExporter"


def is_otlp(exporter: object) -> bool:
    deferred = isinstance(exporter, (DeferredSpanExporter, DeferredMetricExporter))
    return deferred or type(exporter).__module__.startswith("opentelemetry.exporter.otlp")


def http_url(endpoint: str | None, path: str) -> str | None:
    if endpoint is None:
        return None
    base = endpoint if "://" in endpoint else f"http://{endpoint}"
    return base.rstrip("/") + path


def span_exporters(value: Any, endpoint: str | None, protocol: str) -> list[SpanExporter]:
    if isinstance(value, SpanExporter):
        return [value]
    exporters: list[SpanExporter] = []
    for name in exporter_names(value, "OTEL_TRACES_EXPORTER", TRACE_EXPORTERS):
        if name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter())
        elif name == "otlp" and protocol == "grpc":
            build = partial(grpc_span_exporter, endpoint)
            exporters.append(DeferredSpanExporter(build) if deferrable("traces", endpoint) else build())
        elif name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

            exporters.append(HttpSpanExporter(endpoint=http_url(endpoint, "/v1/traces")))
    return exporters


def metric_exporter(name: str, endpoint: str | None, protocol: str) -> MetricExporter:
    if name == "console":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        return ConsoleMetricExporter()
    if protocol == "grpc":
        build = partial(grpc_metric_exporter, endpoint)
        return DeferredMetricExporter(build) if deferrable("metrics", endpoint) else build()
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter

    return HttpMetricExporter(endpoint=http_url(endpoint, "/v1/metrics"))


def grpc_span_exporter(endpoint: str | None) -> SpanExporter:
    """Imports grpc and protobuf: built off configure()'s thread when it can be (``deferred_otlp``)."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter

    return GrpcSpanExporter(endpoint=endpoint, insecure=insecure(endpoint))


def grpc_metric_exporter(endpoint: str | None) -> MetricExporter:
    """Imports grpc and protobuf: built off configure()'s thread when it can be (``deferred_otlp``)."""
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter

    return GrpcMetricExporter(endpoint=endpoint, insecure=insecure(endpoint))


def insecure(endpoint: str | None) -> bool | None:
    if endpoint is None:
        return None  # let OTEL_EXPORTER_OTLP_INSECURE / the scheme of the env endpoint decide
    return not endpoint.startswith("https://")


def prometheus_endpoint(host: str | None, port: int | None) -> tuple[MetricReader | None, Any | None, str | None]:
    """A Prometheus reader on its own registry, served on host:port (port 0 picks a free one)."""
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from prometheus_client import CollectorRegistry, start_http_server

    host = host or os.environ.get("OTEL_EXPORTER_PROMETHEUS_HOST") or "127.0.0.1"
    if port is None:
        port = env_int("OTEL_EXPORTER_PROMETHEUS_PORT", 9464)
    registry = CollectorRegistry(auto_describe=True)
    reader = PrometheusMetricReader(registry=registry)
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        logger.warning(
            "otel_agentperf: cannot serve Prometheus metrics on %s:%s (%s); endpoint disabled", host, port, exc
        )
        return reader, None, None
    real_port = server.server_address[1]
    shown = f"[{host}]" if ":" in host else host
    return reader, server, f"http://{shown}:{real_port}/metrics"
