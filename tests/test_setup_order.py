"""Import and configure in any order, whatever OpenTelemetry setup already exists.

Each case runs in a fresh interpreter: global providers can be set only once per process, and the bug
this guards against (a crash at import when an SDK MeterProvider was already set) only shows in a
process whose providers exist before ``import otel_agentperf``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, logging, sys
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    WHAT, WHEN, CONFIGURE = sys.argv[1], sys.argv[2], sys.argv[3] == "configure"
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()

    def set_providers():
        resource = Resource.create({"service.name": "app-own-name"})
        if WHAT in ("tracer", "both"):
            tp = TracerProvider(resource=resource)
            tp.add_span_processor(SimpleSpanProcessor(spans))
            trace.set_tracer_provider(tp)
        if WHAT in ("meter", "both"):
            metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))

    if WHEN == "before":
        set_providers()
    import otel_agentperf as ap

    @ap.trace_agent("triage")
    def triage(x):
        return x * 2

    assert triage(2) == 4
    if WHEN == "after":
        set_providers()
    if CONFIGURE:
        ap.configure(service_name="from-configure", traces_exporter="none" if WHAT in ("none", "meter") else None,
                     metrics_exporter="none" if WHAT in ("none", "tracer") else None)
    assert triage(3) == 6
    data = reader.get_metrics_data()
    names = sorted({m.name for rm in (data.resource_metrics if data else []) for sm in rm.scope_metrics
                    for m in sm.metrics})
    print(json.dumps({"spans": [s.name for s in spans.get_finished_spans()], "metrics": names}))
    """
)


def run(what: str, when: str, configure: bool) -> tuple[dict[str, list[str]], str]:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, what, when, "configure" if configure else "plain"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


@pytest.mark.parametrize("configure", [False, True], ids=["no-configure", "configure"])
@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("what", ["none", "tracer", "meter", "both"])
def test_any_import_order(what: str, when: str, configure: bool) -> None:
    out, stderr = run(what, when, configure)
    assert "Traceback" not in stderr and "internal error" not in stderr.lower(), stderr
    traced = what in ("tracer", "both")
    metered = what in ("meter", "both")
    # Set before import: both calls are seen. Set after: the proxies forward the second call.
    expected_calls = 2 if when == "before" else 1
    if traced:
        assert out["spans"] == ["invoke_agent triage"] * expected_calls
    else:
        assert out["spans"] == []
    if metered:
        assert "gen_ai.invoke_agent.duration" in out["metrics"], out
    if configure and (traced or metered) and when == "before":
        # Adopted providers keep their own resource: say so, in one warning naming what was not applied.
        lines = [line for line in stderr.splitlines() if "not applied to them" in line]
        assert len(lines) == 1, stderr
        assert "service_name='from-configure'" in lines[0] and "OTEL_SERVICE_NAME" in lines[0]
