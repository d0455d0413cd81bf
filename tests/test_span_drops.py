"""Spans dropped by a full export queue are counted: exported + dropped = spans ended (within a race)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, time
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
    import otel_agentperf as ap

    class SlowExporter(SpanExporter):
        received = 0
        def export(self, spans):
            time.sleep(0.02)  # a slow backend: the queue fills faster than it drains
            SlowExporter.received += len(spans)
            return SpanExportResult.SUCCESS

    reader = InMemoryMetricReader()
    setup = ap.configure(service_name="drops", traces_exporter=SlowExporter(), metrics_exporter="none",
                         metric_readers=[reader])

    @ap.trace_tool("t")
    def t():
        return 1

    for _ in range(300):
        t()
    setup.force_flush()
    dropped = [p.value for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics
               for m in sm.metrics if m.name == "agentperf.spans.dropped" for p in m.data.data_points]
    print(json.dumps({"exported": SlowExporter.received, "dropped": dropped}))
    """
)


def test_dropped_spans_are_counted_exactly() -> None:
    env = {
        **os.environ,
        "OTEL_BSP_MAX_QUEUE_SIZE": "16",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "4",
        "OTEL_BSP_SCHEDULE_DELAY": "1",
    }
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    (dropped,) = out["dropped"]
    assert dropped > 0, out  # the slow exporter made the queue overflow
    # Exact but for a race: the worker can drain the queue between our check and the SDK's append (then a
    # span is counted that was not dropped); seen off by one on SDK 1.42, never more.
    assert 300 <= out["exported"] + dropped <= 303, out
