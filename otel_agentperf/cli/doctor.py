"""``agentperf doctor``: is telemetry flowing, and if not, what exactly to fix.

Each check returns OK, WARN, FAIL or SKIP with one plain sentence and, when something is wrong, the fix.
Checks run for what is configured (OTEL_* environment) or named on the command line.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from ..insights.fleet import EXPORT_FAILURES, SPANS_LOST
from ..setup.unreachable import otlp_target

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""


def _get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def check_config() -> list[Check]:
    out: list[Check] = []
    allowed = {
        "OTEL_TRACES_EXPORTER": {"otlp", "console", "none"},
        "OTEL_METRICS_EXPORTER": {"otlp", "prometheus", "console", "none"},
    }
    for var, values in allowed.items():
        raw = os.environ.get(var)
        if raw is None:
            continue
        bad = [v for v in (x.strip().lower() for x in raw.split(",")) if v and v not in values]
        out.append(
            Check(
                var,
                FAIL if bad else OK,
                f"{var}={raw}" + (f": unknown {bad}" if bad else ""),
                f"use one or more of {sorted(values)}" if bad else "",
            )
        )
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol is not None and protocol not in ("grpc", "http/protobuf"):
        out.append(
            Check("OTEL_EXPORTER_OTLP_PROTOCOL", FAIL, f"{protocol!r} is not supported", "set grpc or http/protobuf")
        )
    capture = os.environ.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "").lower()
    if capture in ("true", "span_only", "span_and_event", "1"):
        out.append(
            Check(
                "content capture",
                WARN,
                "prompts and completions are recorded on spans",
                "unset OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT unless you mean it",
            )
        )
    if not out:
        out.append(Check("configuration", OK, "no OTEL_* overrides: defaults apply (OTLP to localhost:4317)"))
    return out


DEFAULT_OTLP = {"grpc": "localhost:4317", "http/protobuf": "http://localhost:4318"}
"""Where configure() exports when no endpoint is set: the quickstart's setup."""


def check_otlp(endpoint: str | None, protocol: str | None) -> Check:
    endpoint = endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    protocol = protocol or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    default = not endpoint
    if not endpoint:
        exporters = {name: os.environ.get(name, "otlp") for name in ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER")}
        if not any("otlp" in value for value in exporters.values()):
            return Check(
                "OTLP endpoint",
                SKIP,
                "OTLP export is off (" + ", ".join(f"{k}={v}" for k, v in exporters.items()) + ")",
            )
        # Nothing set: configure() still exports to the default endpoint, so that is the one to check.
        endpoint = DEFAULT_OTLP.get(protocol, DEFAULT_OTLP["grpc"])
    host, port = otlp_target(endpoint, protocol)  # read as configure() reads it
    scheme = urllib.parse.urlsplit(endpoint).scheme if "://" in endpoint else "http"
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        return Check(
            "OTLP endpoint",
            WARN if default else FAIL,  # the app may export elsewhere in code: a problem, unless it does
            f"nothing listens on {host}:{port}"
            + (" (the default: no OTEL_EXPORTER_OTLP_ENDPOINT)" if default else "")
            + f" ({exc.strerror or exc}): traces and metrics are not exported",
            "start the Collector (docker compose up otel-collector) or set OTEL_EXPORTER_OTLP_ENDPOINT; without "
            "a Collector: configure(traces_exporter='none', metrics_exporter='prometheus') or "
            "OTEL_TRACES_EXPORTER=none OTEL_METRICS_EXPORTER=prometheus",
        )
    try:
        if protocol == "grpc":
            import grpc
            from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

            with grpc.insecure_channel(f"{host}:{port}") as channel:
                stub: Any = trace_service_pb2_grpc.TraceServiceStub(channel)
                stub.Export(trace_service_pb2.ExportTraceServiceRequest(), timeout=5)
        else:
            from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

            body = trace_service_pb2.ExportTraceServiceRequest().SerializeToString()
            request = urllib.request.Request(
                f"{scheme}://{host}:{port}/v1/traces",
                data=body,
                headers={"Content-Type": "application/x-protobuf"},
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status != 200:
                    raise OSError(f"HTTP {response.status}")
    except Exception as exc:  # noqa: BLE001 - any failure here is the diagnosis
        return Check(
            "OTLP endpoint",
            FAIL,
            f"{host}:{port} is open but does not accept OTLP/{protocol}: {str(exc).splitlines()[0][:160]}",
            "check the protocol (gRPC 4317 vs HTTP 4318: OTEL_EXPORTER_OTLP_PROTOCOL) and the otlp receiver",
        )
    return Check("OTLP endpoint", OK, f"{host}:{port} accepts OTLP/{protocol} exports")


def check_endpoint(url: str | None) -> Check:
    if not url:
        return Check("app metrics endpoint", SKIP, "not given (--endpoint http://host:9464/metrics)")
    try:
        status, body = _get(url)
    except OSError as exc:
        return Check(
            "app metrics endpoint",
            FAIL,
            f"{url} is unreachable ({exc})",
            "configure the app with metrics_exporter='prometheus' (port 9464) or fix the URL",
        )
    text = body.decode(errors="replace")
    if status != 200:
        return Check(
            "app metrics endpoint", FAIL, f"{url} answered HTTP {status}", "point --endpoint at the /metrics path"
        )
    if "gen_ai_" not in text:
        return Check(
            "app metrics endpoint",
            FAIL,
            f"{url} serves metrics, but none of ours (no gen_ai_* series)",
            "call ap.configure(metrics_exporter='prometheus') in the app and trace at least one call",
        )
    lost = _losses(
        sum(float(line.rsplit(" ", 1)[-1]) for line in text.splitlines() if line.startswith((f"{name}{{", f"{name} ")))
        for name in (SPANS_LOST, EXPORT_FAILURES)
    )
    if lost is not None:
        return Check("app metrics endpoint", WARN, f"{url}: {lost[0]} since the app started", lost[1])
    return Check(
        "app metrics endpoint",
        OK,
        f"{url} serves {sum(1 for line in text.splitlines() if line.startswith('gen_ai_'))} gen_ai_* samples",
    )


def _losses(counts: Any) -> tuple[str, str] | None:
    """(what was lost, the fix) when spans were lost or metric exports failed (issue 14), else None."""
    spans, failures = (int(c) for c in counts)
    if not spans and not failures:
        return None
    return (
        f"{spans} spans lost (full export queue or failed export), {failures} metric exports failed",
        "check the exporter's endpoint (agentperf doctor --otlp ...) and its capacity; runbook SpansDropped",
    )


def _prom(base: str, path: str) -> Any:
    status, body = _get(base.rstrip("/") + path)
    if status != 200:
        raise OSError(f"HTTP {status}")
    return json.loads(body)


def check_prometheus(base: str | None) -> list[Check]:
    if not base:
        return [Check("Prometheus", SKIP, "not given (--prometheus http://host:9090)")]
    try:
        _get(base.rstrip("/") + "/-/ready")
        up = _prom(base, "/api/v1/query?" + urllib.parse.urlencode({"query": 'count({__name__=~"gen_ai_.+"})'}))
    except (OSError, ValueError) as exc:
        return [
            Check(
                "Prometheus",
                FAIL,
                f"{base} is unreachable ({exc})",
                "start it (agentperf stack up, or docker compose up prometheus) or fix the URL",
            )
        ]
    out = [Check("Prometheus", OK, f"{base} is up")]
    result: list[Any] = up["data"]["result"]
    if result:
        out.append(Check("our metrics in Prometheus", OK, f"{int(float(result[0]['value'][1]))} gen_ai_* series"))
    else:
        out.append(
            Check(
                "our metrics in Prometheus",
                FAIL,
                "Prometheus has no gen_ai_* series",
                "add the app's :9464/metrics (or the Collector's :8889) to scrape_configs; see /targets",
            )
        )
    rules = _prom(base, "/api/v1/rules")
    groups: list[Any] = rules["data"]["groups"]
    ours = [str(g["name"]) for g in groups if str(g["name"]).startswith("agentperf")]
    if len(ours) >= 3:
        out.append(Check("alert and recording rules", OK, f"{len(ours)} agentperf rule groups loaded"))
    else:
        out.append(
            Check(
                "alert and recording rules",
                FAIL,
                "the agentperf rules are not loaded",
                "add deploy/prometheus/rules/*.yml to rule_files and reload (POST /-/reload)",
            )
        )
    lost = _losses(
        sum(
            float(r["value"][1])
            for r in _prom(base, "/api/v1/query?" + urllib.parse.urlencode({"query": q}))["data"]["result"]
        )
        for q in (f"sum(increase({SPANS_LOST}[1h]))", f"sum(increase({EXPORT_FAILURES}[1h]))")
    )
    if lost is not None:
        out.append(Check("telemetry losses", WARN, f"over the last hour: {lost[0]}", lost[1]))
    managers = _prom(base, "/api/v1/alertmanagers")
    active: list[Any] = managers["data"]["activeAlertmanagers"]
    if not active:
        out.append(
            Check(
                "Prometheus → Alertmanager",
                WARN,
                "no Alertmanager configured: alerts fire but notify nobody",
                "set alerting.alertmanagers in prometheus.yml",
            )
        )
    else:
        out.append(Check("Prometheus → Alertmanager", OK, f"sends alerts to {active[0]['url']}"))
    return out


def check_alertmanager(base: str | None) -> Check:
    if not base:
        return Check("Alertmanager", SKIP, "not given (--alertmanager http://host:9093)")
    try:
        status, _ = _get(base.rstrip("/") + "/-/ready")
    except OSError as exc:
        return Check(
            "Alertmanager",
            FAIL,
            f"{base} is unreachable ({exc})",
            "start it (agentperf stack up, or docker compose up alertmanager)",
        )
    if status != 200:
        return Check(
            "Alertmanager",
            FAIL,
            f"{base} is not ready (HTTP {status})",
            "check its logs: a config error keeps it from starting",
        )
    return Check("Alertmanager", OK, f"{base} is ready")


def check_pricing() -> list[Check]:
    from ..cost.pricing import PRICES_FILE_ENV, PriceBook, load_prices_file

    out: list[Check] = []
    try:
        prices = PriceBook().lookup("openai", "gpt-4o-mini", time.time())
    except Exception as exc:  # noqa: BLE001
        return [
            Check("pricing data", FAIL, f"cannot load the bundled price data: {exc}", "pip install -U genai-prices")
        ]
    if prices is None:
        out.append(
            Check(
                "pricing data", FAIL, "the bundled price data does not know gpt-4o-mini", "pip install -U genai-prices"
            )
        )
    else:
        out.append(Check("pricing data", OK, f"bundled prices load ({prices.source})"))
    path = os.environ.get(PRICES_FILE_ENV)
    if path:
        try:
            models = load_prices_file(path)
            out.append(Check("price overrides", OK, f"{PRICES_FILE_ENV}: {len(models)} models from {path}"))
        except (OSError, ValueError) as exc:
            out.append(
                Check(
                    "price overrides",
                    FAIL,
                    f"{PRICES_FILE_ENV}={path} cannot be read: {exc}",
                    'fix the file (TOML: [models."name"] input = 0.5)',
                )
            )
    return out


def run_checks(
    *, otlp: str | None, protocol: str | None, endpoint: str | None, prometheus: str | None, alertmanager: str | None
) -> list[Check]:
    return [
        *check_config(),
        check_otlp(otlp, protocol),
        check_endpoint(endpoint),
        *check_prometheus(prometheus),
        check_alertmanager(alertmanager),
        *check_pricing(),
    ]
