"""Telemetry lost on the way out, counted: the SDK drops spans from a full export queue, and loses a batch
whose export fails, with a log line and nothing else, so nobody could alert on a pipeline that loses data.

- ``agentperf.spans.dropped``: spans dropped by a full export queue or lost with a failed export;
- ``agentperf.metrics.export_failures``: metric exports that failed (each loses that collection; cumulative
  counters catch up with the next export that succeeds, histograms' and gauges' points in between are lost).

Both are observable counters registered with the other gauges; a Prometheus scrape serves them even when
the OTLP export is what fails.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from .._locks import at_fork

MAX_QUEUE_SIZE = 8192
MAX_EXPORT_BATCH_SIZE = 1024
"""Our defaults where the SDK's are 2048 and 512 (``OTEL_BSP_*`` still win): with the SDK's, a sustained
5,000 spans/s over OTLP/HTTP lost 5.5 % of the spans to the full queue; with these, none over gRPC or HTTP
(``benchmarks/export_throughput.py``, figures in ``benchmarks/RESULTS.md``). The queue holds ~1.6 s of
spans at that rate: a few MB at most."""

_live: weakref.WeakSet[CountingBatchSpanProcessor] = weakref.WeakSet()
_metric_exporters: weakref.WeakSet[CountingMetricExporter] = weakref.WeakSet()


class _CountingSpanExporter(SpanExporter):
    """Passes every batch on; counts the spans of a batch whose export fails (or raises)."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.failed = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except BaseException:
            self.failed += len(spans)
            raise  # the SDK's worker logs it, as without us
        if result is not SpanExportResult.SUCCESS:
            self.failed += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


class CountingBatchSpanProcessor(BatchSpanProcessor):
    """A ``BatchSpanProcessor`` that counts the spans its full queue drops and its failed exports lose."""

    def __init__(self, exporter: SpanExporter, **kwargs: Any) -> None:
        self._counting = _CountingSpanExporter(exporter)
        for key, env, default in (
            ("max_queue_size", "OTEL_BSP_MAX_QUEUE_SIZE", MAX_QUEUE_SIZE),
            ("max_export_batch_size", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", MAX_EXPORT_BATCH_SIZE),
        ):
            if kwargs.get(key) is None and not os.environ.get(env):
                kwargs[key] = default
        super().__init__(self._counting, **kwargs)
        self.dropped = 0
        # The SDK's queue (a bounded deque that drops the oldest span when full): read, never changed. If a
        # later SDK moves it, drops are simply not counted.
        inner = getattr(self, "_batch_processor", None)
        self._queue: Any = getattr(inner, "_queue", None)
        self._limit: int | None = getattr(inner, "_max_queue_size", None)
        _live.add(self)
        at_fork(after_in_child=_reset_after_fork)

    @property
    def lost(self) -> int:
        """Spans dropped from the full queue plus spans of failed exports."""
        return self.dropped + self._counting.failed

    def on_end(self, span: ReadableSpan) -> None:
        queue = self._queue
        if queue is not None and self._limit is not None and len(queue) >= self._limit:
            # The SDK's queue is full: appending drops one span. Checked without a lock (the hot path), so a drain
            # by the worker between this check and the append makes one count too many: an upper bound by a hair.
            self.dropped += 1
        super().on_end(span)


class CountingMetricExporter(MetricExporter):
    """Wraps a metric exporter: counts the exports that fail (or raise)."""

    def __init__(self, inner: MetricExporter) -> None:
        super().__init__(
            preferred_temporality=inner._preferred_temporality,  # the SDK keeps them there; no getter
            preferred_aggregation=inner._preferred_aggregation,
        )
        self.inner = inner
        self.failures = 0
        _metric_exporters.add(self)
        at_fork(after_in_child=_reset_after_fork)

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        try:
            result = self.inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)  # pyright: ignore[reportUnknownMemberType]
        except BaseException:
            self.failures += 1
            raise  # the SDK's reader logs it, as without us
        if result is not MetricExportResult.SUCCESS:
            self.failures += 1
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self.inner.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.inner.shutdown(timeout_millis=timeout_millis, **kwargs)  # pyright: ignore[reportUnknownMemberType]


def _reset_after_fork() -> None:
    # The child's queues start empty and its exports are its own: the parent's losses are the parent's.
    for processor in list(_live):
        processor.dropped = 0
        processor._counting.failed = 0  # pyright: ignore[reportPrivateUsage]
    for exporter in list(_metric_exporters):
        exporter.failures = 0


def observe_dropped(options: CallbackOptions) -> Iterable[Observation]:
    """The callback of ``agentperf.spans.dropped``: spans lost by every counting processor of this process."""
    return [Observation(sum(p.lost for p in list(_live)))]


def observe_export_failures(options: CallbackOptions) -> Iterable[Observation]:
    """The callback of ``agentperf.metrics.export_failures``: failed exports of this process."""
    return [Observation(sum(e.failures for e in list(_metric_exporters)))]
