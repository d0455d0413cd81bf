"""The id generator of our tracer under a ratio sampler: the provider's own ids, except that a root span's trace
id can be one drawn already on this thread (``hand_over``).

Why: under ``ParentBased(TraceIdRatioBased(r))`` a root span's fate is a function of its trace id, so ``unsampled.py``
draws the id itself and, when the ratio drops it, builds the non-recording span the SDK would have built without the
tracer (~2 µs of an unsampled call). When the id falls in the sampled range, the tracer must start the span with that
very id: a fresh one would be sampled with probability r again (r² in all). The id is handed over on the calling
thread immediately before ``tracer.start_span``, which takes it as the first thing it generates for a root. This
module imports the SDK: it is loaded only for a tracer that is the SDK's (``unsampled.hand_over_ids``), never by
importing the package.
"""

from __future__ import annotations

import threading

from opentelemetry.sdk.trace.id_generator import IdGenerator


class HandOverIdGenerator(IdGenerator):
    """``inner``'s ids; the next trace id generated on a thread is the one handed over there, if any."""

    def __init__(self, inner: IdGenerator) -> None:
        self.inner = inner
        self._handed = threading.local()

    def hand_over(self, trace_id: int) -> None:
        """The next ``generate_trace_id()`` on this thread returns ``trace_id`` (drawn with ``draw_trace_id``)."""
        self._handed.trace_id = trace_id

    def draw_trace_id(self) -> int:
        """A trace id as ``inner`` makes them, bypassing anything handed over."""
        return self.inner.generate_trace_id()

    def generate_trace_id(self) -> int:
        handed = self._handed
        trace_id: int = getattr(handed, "trace_id", 0)
        if trace_id:
            handed.trace_id = 0
            return trace_id
        return self.inner.generate_trace_id()

    def generate_span_id(self) -> int:
        return self.inner.generate_span_id()

    def is_trace_id_random(self) -> bool:
        return self.inner.is_trace_id_random()
