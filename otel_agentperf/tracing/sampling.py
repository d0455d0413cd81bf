"""How a provider ``configure(sample_ratio=r)`` builds samples: the SDK's ``ParentBased(TraceIdRatioBased(r))``,
and an id generator giving the SDK's own ids, except that a root span's trace id can be one drawn already on
this thread (``hand_over``).

Why: under ``ParentBased(TraceIdRatioBased(r))`` a root span's fate is a function of its trace id, so
``unsampled.py`` draws the id itself and, when the ratio drops it, builds the non-recording span the SDK would
have built without the tracer (~3 µs of a call). When the id falls in the sampled range, the tracer must start
the span with that very id: a fresh one would be sampled with probability r again (r² in all). The id is
handed over on the calling thread immediately before ``tracer.start_span``, which takes it as the first
thing it generates for a root. This module imports the SDK: it is loaded by ``configure()`` and by the
shortcut's verdict on a tracer, never by importing the package.
"""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased


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


def provider_sampling(sample_ratio: float | None) -> dict[str, Any]:
    """The ``sampler`` and ``id_generator`` arguments of the ``TracerProvider`` ``configure()`` builds: none
    without a ratio (the SDK's defaults: parent-based always on, or ``OTEL_TRACES_SAMPLER``); with one, the
    parent-based ratio sampler and, when the ratio can drop a root (below 1), our generator around the SDK's
    default (the provider's own choice too: only the SDK's auto-configuration reads ``OTEL_PYTHON_ID_GENERATOR``)."""
    if sample_ratio is None:
        return {}
    sampler = ParentBased(TraceIdRatioBased(sample_ratio))
    if sample_ratio >= 1.0:
        return {"sampler": sampler}
    return {"sampler": sampler, "id_generator": HandOverIdGenerator(RandomIdGenerator())}
