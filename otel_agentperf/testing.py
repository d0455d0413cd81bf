"""Test helpers: capture what traced code emits, in memory, without touching global providers.

Example::

    from otel_agentperf.testing import capture

    def test_my_agent():
        with capture() as cap:
            run_my_agent()
        assert cap.span_names() == ["chat gpt-4o-mini", "invoke_agent planner"]
        assert cap.histogram_count("gen_ai.invoke_agent.duration", {"gen_ai.agent.name": "planner"}) == 1
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, Metric
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Sampler
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from . import semconv as sc
from ._version import VERSION
from .cost.ledger import ConversationLedger
from .insights.advisor import Advisor
from .insights.suggest import load_thresholds
from .setup.gauges import register_gauges_if_collected
from .telemetry.aggregate import install
from .tracing.state import STATE


class Capture:
    """In-memory spans and metrics of everything traced while it is active."""

    def __init__(
        self,
        *,
        sampler: Sampler | None = None,
        span_processors: Sequence[SpanProcessor] = (),
        fast_metrics: bool = True,
        thresholds: Mapping[str, float] | None = None,
        timeouts: Mapping[str, float] | None = None,
    ) -> None:
        self.exporter = InMemorySpanExporter()
        self.reader = InMemoryMetricReader()
        self.tracer_provider = TracerProvider(sampler=sampler) if sampler is not None else TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        for processor in span_processors:
            self.tracer_provider.add_span_processor(processor)
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        scope = InstrumentationScope(sc.SCOPE_NAME, VERSION)
        # The same aggregation path configure() uses for providers it builds (or the SDK's, to compare).
        self._fast = install([self.reader], Resource.create({}), scope) if fast_metrics else None
        # Fresh in-process state (suggestions, conversations) so captures do not see each other.
        self.advisor = Advisor(load_thresholds(thresholds), timeouts=timeouts)
        self.advisor.prices = STATE.prices.lookup
        self.ledger = ConversationLedger()
        self._saved: tuple[Any, ...] | None = None

    def __enter__(self) -> Capture:
        self._saved = (
            STATE.tracer,
            STATE.instruments,
            STATE.capture_content,
            STATE.max_content_length,
            STATE.advisor,
            STATE.ledger,
        )
        STATE.advisor = self.advisor
        STATE.ledger = self.ledger
        meter = self.meter_provider.get_meter(sc.SCOPE_NAME, VERSION)
        STATE.use(self.tracer_provider.get_tracer(sc.SCOPE_NAME, VERSION), meter, self._fast)
        register_gauges_if_collected(meter, STATE)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._saved is not None:
            (
                STATE.tracer,
                STATE.instruments,
                STATE.capture_content,
                STATE.max_content_length,
                STATE.advisor,
                STATE.ledger,
            ) = self._saved
            STATE.generation += 1
        self.tracer_provider.shutdown()

    # --- spans ---------------------------------------------------------------------------------------
    def spans(self) -> list[ReadableSpan]:
        """Finished spans, in the order they ended."""
        return list(self.exporter.get_finished_spans())

    def span_names(self) -> list[str]:
        return [s.name for s in self.spans()]

    def span(self, name: str) -> ReadableSpan:
        """The one finished span called ``name`` (fails if there are none or several)."""
        found = [s for s in self.spans() if s.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one span {name!r}, found {len(found)} among {self.span_names()}")
        return found[0]

    # --- metrics -------------------------------------------------------------------------------------
    def metrics(self) -> dict[str, Metric]:
        """The metrics collected so far, by name (cumulative)."""
        data = self.reader.get_metrics_data()
        out: dict[str, Metric] = {}
        if data is None:
            return out
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    out[metric.name] = metric
        return out

    def points(self, name: str, where: Mapping[str, Any] | None = None) -> list[HistogramDataPoint]:
        """Histogram points of metric ``name`` whose attributes include ``where``."""
        metric = self.metrics().get(name)
        if metric is None:
            return []
        return [p for p in _points(metric) if _matches(p.attributes or {}, where or {})]

    def histogram_count(self, name: str, where: Mapping[str, Any] | None = None) -> int:
        return sum(p.count for p in self.points(name, where))

    def histogram_sum(self, name: str, where: Mapping[str, Any] | None = None) -> float:
        return float(sum(p.sum for p in self.points(name, where)))


def _points(metric: Metric) -> Iterator[HistogramDataPoint]:
    for point in metric.data.data_points:
        if isinstance(point, HistogramDataPoint):
            yield point


def _matches(attributes: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    return all(attributes.get(k) == v for k, v in where.items())


def capture(
    *,
    sampler: Sampler | None = None,
    span_processors: Sequence[SpanProcessor] = (),
    fast_metrics: bool = True,
    thresholds: Mapping[str, float] | None = None,
    timeouts: Mapping[str, float] | None = None,
) -> Capture:
    """A context manager that routes all traced calls to in-memory exporters while active, with fresh
    suggestion statistics (``thresholds``/``timeouts`` as in ``configure``) and conversation ledger."""
    return Capture(
        sampler=sampler,
        span_processors=span_processors,
        fast_metrics=fast_metrics,
        thresholds=thresholds,
        timeouts=timeouts,
    )
