"""`agentperf doctor`: every failure it diagnoses, with a fix."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from otel_agentperf.cli import doctor as _doctor
from tests.support.otlp_receiver import GrpcReceiver, HttpReceiver
from tests.support.prom import free_port


def test_otlp_unreachable() -> None:
    check = _doctor.check_otlp(f"http://127.0.0.1:{free_port()}", "grpc")
    assert check.status == "fail" and "nothing listens" in check.detail and "Collector" in check.fix


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_otlp_accepting(protocol: str) -> None:
    receiver = GrpcReceiver() if protocol == "grpc" else HttpReceiver()
    try:
        check = _doctor.check_otlp(receiver.endpoint, protocol)
    finally:
        receiver.stop()
    assert check.status == "ok", check


def test_otlp_wrong_protocol() -> None:
    receiver = HttpReceiver()  # HTTP on the port, but we speak gRPC to it
    try:
        check = _doctor.check_otlp(receiver.endpoint, "grpc")
    finally:
        receiver.stop()
    assert check.status == "fail" and "does not accept OTLP/grpc" in check.detail and "4318" in check.fix


def test_otlp_not_configured_checks_the_default_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """The quickstart's setup (nothing set) exports to localhost:4317: with nothing there, that is a problem."""
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_TRACES_EXPORTER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("OTEL_METRICS_EXPORTER", raising=False)
    monkeypatch.setitem(_doctor.DEFAULT_OTLP, "grpc", f"localhost:{free_port()}")
    check = _doctor.check_otlp(None, None)
    assert check.status == "warn" and "the default" in check.detail and "not exported" in check.detail
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in check.fix and "metrics_exporter='prometheus'" in check.fix
    receiver = GrpcReceiver()
    try:
        monkeypatch.setitem(_doctor.DEFAULT_OTLP, "grpc", receiver.endpoint)
        assert _doctor.check_otlp(None, None).status == "ok"
    finally:
        receiver.stop()


def test_otlp_export_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "prometheus")
    check = _doctor.check_otlp(None, None)
    assert check.status == "skip" and "OTLP export is off" in check.detail


def check_served(body: bytes, status: int = 200) -> _doctor.Check:
    """``check_endpoint`` on a local server answering ``body`` with ``status``, stopped afterwards."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        return _doctor.check_endpoint(f"http://127.0.0.1:{server.server_address[1]}/metrics")
    finally:
        server.shutdown()
        server.server_close()


def test_endpoint_without_our_metrics() -> None:
    check = check_served(b"# TYPE up gauge\nup 1\n")
    assert check.status == "fail" and "none of ours" in check.detail and "metrics_exporter='prometheus'" in check.fix


def test_endpoint_with_our_metrics_and_errors() -> None:
    assert check_served(b'gen_ai_invoke_agent_duration_seconds_count{gen_ai_agent_name="a"} 3\n').status == "ok"
    assert check_served(b"nope", status=404).status == "fail"
    assert _doctor.check_endpoint(f"http://127.0.0.1:{free_port()}/metrics").status == "fail"


def test_prometheus_and_alertmanager_unreachable() -> None:
    (check,) = _doctor.check_prometheus(f"http://127.0.0.1:{free_port()}")
    assert check.status == "fail" and "agentperf stack up" in check.fix
    assert _doctor.check_alertmanager(f"http://127.0.0.1:{free_port()}").status == "fail"


def test_bad_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "udp")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    checks = {c.name: c for c in _doctor.check_config()}
    assert checks["OTEL_TRACES_EXPORTER"].status == "fail"
    assert checks["OTEL_EXPORTER_OTLP_PROTOCOL"].status == "fail"
    assert checks["content capture"].status == "warn"


def test_pricing(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    assert [c.status for c in _doctor.check_pricing()] == ["ok"]
    bad = tmp_path / "prices.toml"
    bad.write_text("this is not toml = = =")
    monkeypatch.setenv("AGENTPERF_PRICES_FILE", str(bad))
    checks = {c.name: c for c in _doctor.check_pricing()}
    assert checks["price overrides"].status == "fail"

    from otel_agentperf.cost import pricing as _pricing

    def broken(*args: Any) -> None:
        raise ImportError("No module named 'genai_prices'")

    monkeypatch.delenv("AGENTPERF_PRICES_FILE")
    monkeypatch.setattr(_pricing, "from_genai_prices", broken)
    (check,) = _doctor.check_pricing()
    assert check.status == "fail" and "genai-prices" in check.fix


def test_endpoint_with_lost_telemetry_warns() -> None:
    body = (
        b'gen_ai_invoke_agent_duration_seconds_count{gen_ai_agent_name="a"} 3\n'
        b"# TYPE agentperf_spans_dropped_total counter\n"
        b'agentperf_spans_dropped_total{job="x"} 7.0\n'
        b"agentperf_metrics_export_failures_total 2.0\n"
    )
    check = check_served(body)
    assert check.status == "warn" and "7 spans lost" in check.detail and "2 metric exports failed" in check.detail
    assert "SpansDropped" in check.fix
