"""Spans dropped by a full export queue, counted: the SDK's ``BatchSpanProcessor`` drops them with a log line
and nothing else, so nobody can alert on a pipeline that loses data. Ours counts each drop into
``agentperf.spans.dropped`` (an observable counter registered with the other gauges).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from .._locks import at_fork

_live: weakref.WeakSet[CountingBatchSpanProcessor] = weakref.WeakSet()


class CountingBatchSpanProcessor(BatchSpanProcessor):
    """A ``BatchSpanProcessor`` that counts the spans its full queue drops."""

    def __init__(self, exporter: SpanExporter, **kwargs: Any) -> None:
        super().__init__(exporter, **kwargs)
        self.dropped = 0
        # The SDK's queue (a bounded deque that drops the oldest span when full): read, never changed. If a
        # later SDK moves it, drops are simply not counted.
        inner = getattr(self, "_batch_processor", None)
        self._queue: Any = getattr(inner, "_queue", None)
        self._limit: int | None = getattr(inner, "_max_queue_size", None)
        _live.add(self)
        at_fork(after_in_child=_reset_after_fork)

    def on_end(self, span: ReadableSpan) -> None:
        queue = self._queue
        if queue is not None and self._limit is not None and len(queue) >= self._limit:
            # The SDK's queue is full: appending drops one span. Checked without a lock (the hot path), so a drain
            # by the worker between this check and the append makes one count too many: an upper bound by a hair.
            self.dropped += 1
        super().on_end(span)


def _reset_after_fork() -> None:
    for processor in list(_live):
        processor.dropped = 0  # the child's queue starts empty; the parent's drops are the parent's


def observe_dropped(options: CallbackOptions) -> Iterable[Observation]:
    """The callback of ``agentperf.spans.dropped``: drops of every counting processor of this process."""
    return [Observation(sum(p.dropped for p in list(_live)))]
