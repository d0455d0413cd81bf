"""OTLP/gRPC exporters built off configure()'s thread (setup/deferred_otlp.py): configure() imports no grpc,
the build thread does, a fork right after configure() leaves no child hanging, a process that exits at once
still exports, errors of bad settings still come from configure(), and the stand-in metric exporter gives
the reader the preferences the real one has."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from typing import Any

import pytest
from opentelemetry.sdk.trace.export import SpanExportResult

from otel_agentperf.setup import deferred_otlp
from otel_agentperf.setup.deferred_otlp import DeferredMetricExporter, DeferredSpanExporter, deferrable
from tests.support.otlp_receiver import GrpcReceiver


def run_py(code: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **env},
    )


AUDIT = """
import sys, threading
grpc_imports = []  # (thread name, module) of every import of grpc
def audit(event, args):
    if event == "import" and args[0].split(".")[0] == "grpc":
        grpc_imports.append((threading.current_thread().name, args[0]))
sys.addaudithook(audit)
"""


def test_configure_imports_no_grpc_the_build_thread_does_and_spans_arrive() -> None:
    receiver = GrpcReceiver()
    try:
        out = run_py(
            AUDIT
            + textwrap.dedent(
                """
            import otel_agentperf as ap
            ap.configure(service_name="deferred", otlp_endpoint=sys.argv[1], otlp_protocol="grpc")
            with ap.trace_tool("t"):
                pass
            assert ap.shutdown()
            print(sorted({thread for thread, _ in grpc_imports}))
            """
            ),
            receiver.endpoint,
        )
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        # "grpc" may already be in sys.modules, imported by the build thread started as configure() returns:
        # which thread imported it is what counts.
        assert lines[-1] == "['agentperf-warmup']", out.stdout
        assert [span.name for _, span in receiver.received.spans()] == ["execute_tool t"]
        assert receiver.received.metric_names()
    finally:
        receiver.stop()


def test_first_export_builds_when_no_thread_did() -> None:
    # With the build thread held off, configure() and everything up to the first export import no grpc; the
    # export (here the flush at shutdown) builds the exporter on the exporter's thread and delivers.
    receiver = GrpcReceiver()
    try:
        out = run_py(
            """
            import sys
            import otel_agentperf as ap
            from otel_agentperf.setup import configure as configure_module
            configure_module.build_in_background = lambda exporters, then: None
            ap.configure(service_name="deferred", otlp_endpoint=sys.argv[1], otlp_protocol="grpc")
            with ap.trace_tool("t"):
                pass
            print("grpc" in sys.modules)
            assert ap.shutdown()
            print("grpc" in sys.modules)
            """,
            receiver.endpoint,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["False", "True"]
        assert [span.name for _, span in receiver.received.spans()] == ["execute_tool t"]
    finally:
        receiver.stop()


def test_shutdown_of_an_exporter_never_built_imports_nothing() -> None:
    out = run_py(
        """
        import sys, time
        import otel_agentperf as ap
        from otel_agentperf.setup import configure as configure_module
        configure_module.build_in_background = lambda exporters, then: None
        ap.configure(service_name="idle", traces_exporter="otlp", metrics_exporter="none")
        t0 = time.monotonic()
        ok = ap.shutdown()
        print(ok, "grpc" in sys.modules, time.monotonic() - t0 < 2.0)
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False", "True"]


def test_process_that_exits_right_after_configure_still_exports() -> None:
    # No shutdown(): the interpreter's exit flushes. A build still under way then must not fail (the exit
    # refuses thread-pool work, which the exporters' imports once needed).
    receiver = GrpcReceiver()
    try:
        out = run_py(
            """
            import sys
            import otel_agentperf as ap
            ap.configure(service_name="brief", otlp_endpoint=sys.argv[1], otlp_protocol="grpc")
            with ap.trace_tool("t"):
                pass
            """,
            receiver.endpoint,
        )
        assert out.returncode == 0, out.stderr
        assert out.stderr == ""
        assert [span.name for _, span in receiver.received.spans()] == ["execute_tool t"]
    finally:
        receiver.stop()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")
def test_fork_right_after_configure_with_deferred_exporters() -> None:
    # The build thread imports grpc and protobuf just as configure() returns: a fork then must wait for it, or
    # the child's first export would wait for ever on an import lock held by a thread the child does not have.
    receiver = GrpcReceiver()
    script = """
        import os, sys, time
        import otel_agentperf as ap
        ap.configure(service_name="fork", otlp_endpoint=sys.argv[1], otlp_protocol="grpc")
        pid = os.fork()
        if pid == 0:
            with ap.trace_tool("child"):
                pass
            from otel_agentperf.setup.configure import current_setup
            setup = current_setup()
            os._exit(0 if setup is not None and setup.force_flush(5_000) else 3)
        deadline = time.monotonic() + 20
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                print(os.waitstatus_to_exitcode(status))
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                print("hung")
                break
            time.sleep(0.01)
        ap.shutdown()
        """
    try:
        # The fork lands inside the build thread's ~100 ms of imports nearly every time: three runs suffice
        # (without the join before fork, every run hung).
        results = [run_py(script, receiver.endpoint) for _ in range(3)]
        assert [r.returncode for r in results] == [0] * 3, [r.stderr for r in results]
        assert [r.stdout.strip() for r in results] == ["0"] * 3
        assert [span.name for _, span in receiver.received.spans()] == ["execute_tool child"] * 3
    finally:
        receiver.stop()


@pytest.mark.parametrize(
    ("env", "raised"),
    [
        ({"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd-nope"}, "InvalidCompressionValueException"),
        ({"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "soon"}, "ValueError"),
    ],
)
def test_bad_settings_still_raise_in_configure(env: dict[str, str], raised: str) -> None:
    out = run_py(
        """
        import otel_agentperf as ap
        try:
            ap.configure(service_name="bad", traces_exporter="otlp", metrics_exporter="otlp")
        except Exception as exc:
            print(type(exc).__name__)
        """,
        **env,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == raised


def test_bad_metric_preference_still_warns_in_configure() -> None:
    out = run_py(
        """
        import sys
        import otel_agentperf as ap
        ap.configure(service_name="bad", traces_exporter="none", metrics_exporter="otlp")
        print("configured", file=sys.stderr)
        ap.shutdown(0.5)
        """,
        OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="sometimes",
    )
    assert out.returncode == 0, out.stderr
    warned = out.stderr.index("Unrecognized OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE")
    assert warned < out.stderr.index("configured")


@pytest.mark.parametrize(
    ("env", "traces", "metrics"),
    [
        ({}, True, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_INSECURE": "true"}, True, True),
        ({"OTEL_EXPORTER_OTLP_COMPRESSION": " GZIP "}, True, True),
        ({"OTEL_EXPORTER_OTLP_COMPRESSION": "none"}, False, False),  # the gRPC exporter raises on it
        ({"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "2.5"}, True, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "2,5"}, False, True),
        ({"OTEL_EXPORTER_OTLP_HEADERS": "api-key=abc,x-team=agents"}, True, True),
        ({"OTEL_EXPORTER_OTLP_HEADERS": "no equals sign"}, False, False),
        ({"OTEL_EXPORTER_OTLP_CERTIFICATE": "/etc/ca.pem"}, False, False),
        ({"OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY": "/etc/key.pem"}, True, False),
        ({"OTEL_PYTHON_EXPORTER_OTLP_GRPC_CREDENTIAL_PROVIDER": "mine"}, False, False),
        ({"OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED": "true"}, False, False),
        ({"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "delta"}, True, True),
        ({"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "sometimes"}, True, False),
        ({"OTEL_EXPORTER_OTLP_LOGS_COMPRESSION": "bogus"}, True, True),  # not read by our exporters
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://[::1"}, False, True),
    ],
)
def test_deferrable_only_when_building_is_silent(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], traces: bool, metrics: bool
) -> None:
    for key in list(os.environ):
        if key.startswith(("OTEL_EXPORTER_OTLP_", "OTEL_PYTHON_")):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert (deferrable("traces", None), deferrable("metrics", None)) == (traces, metrics)


def test_bad_endpoint_argument_is_not_deferred() -> None:
    assert deferrable("traces", "http://collector:4317")
    assert not deferrable("traces", "http://[::1")


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "delta"},
        {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": " LowMemory "},
        {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "CUMULATIVE"},
        {"OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION": "base2_exponential_bucket_histogram"},
        {"OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION": "explicit_bucket_histogram"},
    ],
)
def test_metric_preferences_match_the_real_exporter(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert deferrable("metrics", None)
    real = OTLPMetricExporter(endpoint="127.0.0.1:1", insecure=True)
    try:
        stand_in = DeferredMetricExporter(lambda: real)
        assert stand_in._preferred_temporality == real._preferred_temporality  # pyright: ignore[reportPrivateUsage]
        ours = stand_in._preferred_aggregation or {}  # pyright: ignore[reportPrivateUsage]
        theirs = real._preferred_aggregation or {}  # pyright: ignore[reportPrivateUsage]
        assert {k: type(v) for k, v in ours.items()} == {k: type(v) for k, v in theirs.items()}
    finally:
        real.shutdown()  # pyright: ignore[reportUnknownMemberType]


class FakeExporter:
    def __init__(self) -> None:
        self.exported = 0
        self.stopped = 0

    def export(self, spans: Any) -> SpanExportResult:
        self.exported += 1
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.stopped += 1

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def test_stand_in_builds_once_and_never_after_shutdown() -> None:
    built: list[FakeExporter] = []

    def build() -> Any:
        built.append(FakeExporter())
        return built[-1]

    never = DeferredSpanExporter(build)
    never.shutdown()
    assert never.export([]) is SpanExportResult.FAILURE and never.force_flush() and built == []

    once = DeferredSpanExporter(build)
    threads = [threading.Thread(target=once.export, args=([],)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and built[0].exported == 8
    once.shutdown()
    assert built[0].stopped == 1


def test_stand_in_closed_while_building_stops_what_it_built() -> None:
    release = threading.Event()
    made: list[FakeExporter] = []

    def slow_build() -> Any:
        release.wait(5)
        made.append(FakeExporter())
        return made[-1]

    stand_in = DeferredSpanExporter(slow_build)
    thread = deferred_otlp.build_in_background([stand_in], then=lambda: None)
    stand_in.shutdown()  # returns at once: the build under way is not waited for
    release.set()
    thread.join(5)
    assert len(made) == 1 and made[0].stopped == 1 and stand_in.pending.real is None
