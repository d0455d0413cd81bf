"""Our own exact histogram aggregation, exported through the OpenTelemetry SDK's metric readers.

Why: the SDK's ``Histogram.record`` costs 5–8 µs per call on this machine (a ``Measurement`` object,
attribute cleaning, hashing and sorting on every call), more than our whole per-call budget. Our call
path knows its label set at decoration time, so it can hold a reference to the aggregation cell of that
series and update it directly (bucket index by bisection, then counts under the cell's own lock:
~0.5 µs). At collection time the cells are turned into ordinary ``HistogramDataPoint``s and appended to
what the SDK collected, so every reader and exporter (Prometheus, OTLP, in-memory) sees standard data.

After ``os.fork()`` the child starts from empty cells (new locks, new start time): nothing the parent
recorded is exported again under the child's ``service.instance.id``, so a sum over the instances of a
pre-fork server counts every call once. Our two counters live here too, for the same reason (the SDK's
own storage keeps the parent's values in the child).

Used only for MeterProviders we build (``configure()``, ``testing.capture()``) whose readers all use
cumulative histogram temporality; anything else (your own provider, a delta-temporality exporter, views)
gets plain SDK instruments through ``SdkSeries``.
"""

from __future__ import annotations

import math
import time
import uuid
import weakref
from bisect import bisect_left
from collections.abc import Sequence
from threading import Lock
from typing import Any, cast

from opentelemetry.sdk.metrics import Histogram as SdkHistogramInstrument
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricReader,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from .._errors import log_internal_error
from .._locks import at_fork, new_lock
from .._text import clean

INSTANCE_ID = "service.instance.id"
OVERFLOW_ATTRIBUTES = {"otel.metric.overflow": True}
"""Attributes of the series that collects measurements past the cardinality limit (SDK semantics)."""


def safe_labels(attributes: dict[str, Any]) -> dict[str, Any]:
    """A copy whose string values can be exported (made once per new series, never per call)."""
    return {k: clean(v) if isinstance(v, str) else v for k, v in attributes.items()}


def with_instance_id(resource: Resource) -> Resource:
    """``resource`` with a ``service.instance.id`` (a random UUID, as the conventions say) if it has none."""
    if INSTANCE_ID in resource.attributes:
        return resource
    return resource.merge(Resource({INSTANCE_ID: str(uuid.uuid4())}))


class Cell:
    """One series of one histogram: cumulative bucket counts, count, sum, min and max.

    Every cell of one MeterProvider shares its ``lock``, so that the several series one call records into
    (an LLM call's duration, tokens and cost) are updated under one acquisition (``InferenceSeries``). Under
    the GIL that costs no concurrency: each update holds the lock for well under a microsecond.
    """

    __slots__ = ("attributes", "bounds", "counts", "count", "sum", "min", "max", "start_ns", "lock")

    def __init__(self, attributes: dict[str, Any], bounds: tuple[float, ...], lock: Lock) -> None:
        self.attributes = attributes
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.count = 0
        self.sum: float = 0  # stays an int for integer measurements (token counts), as in the SDK
        self.min = math.inf
        self.max = -math.inf
        self.start_ns = time.time_ns()
        self.lock = lock

    def reset(self) -> None:
        """Empty the cell (after a fork; the shared lock, a ``new_lock()``, is released in the child already)."""
        self.counts = [0] * (len(self.bounds) + 1)
        self.count = 0
        self.sum = 0
        self.min = math.inf
        self.max = -math.inf
        self.start_ns = time.time_ns()

    def record(self, value: float) -> None:
        if not 0 <= value < math.inf:  # also false for NaN: such values are dropped, as the SDK does
            return
        with self.lock:
            self.add(value)

    def add(self, value: float) -> None:
        """``record`` for a caller that holds ``lock`` and has checked ``value`` (finite, not negative)."""
        self.counts[bisect_left(self.bounds, value)] += 1  # bucket i holds (bounds[i-1], bounds[i]]
        self.count += 1
        self.sum += value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value

    def point(self, now_ns: int) -> HistogramDataPoint | None:
        with self.lock:
            if not self.count:
                return None
            counts, count, total, low, high = list(self.counts), self.count, self.sum, self.min, self.max
        return HistogramDataPoint(
            attributes=self.attributes,
            start_time_unix_nano=self.start_ns,
            time_unix_nano=now_ns,
            count=count,
            sum=total,
            bucket_counts=counts,
            explicit_bounds=self.bounds,
            min=low,
            max=high,
        )


class FastHistogram:
    """A histogram instrument whose series are ``Cell``s, at most ``max_series`` of them."""

    def __init__(
        self,
        name: str,
        unit: str,
        description: str,
        bounds: Sequence[float],
        max_series: int = 2000,
        lock: Lock | None = None,
    ) -> None:
        self.name = name
        self.unit = unit
        self.description = description
        self.bounds = tuple(float(b) for b in bounds)
        self.max_series = max_series
        self.dropped = 0
        self._cells: dict[frozenset[tuple[str, Any]], Cell] = {}
        self._cell_lock = lock or new_lock()  # the cells' (shared by a provider's histograms): taken on every record
        self._lock = new_lock()  # this table's: taken only to add a series

    def reset(self) -> None:
        self._lock = new_lock()
        for cell in list(self._cells.values()):  # kept: the call path holds references to them
            cell.reset()

    def series(self, attributes: dict[str, Any]) -> Cell:
        """The cell of this label set (created on first use; the overflow cell past the limit)."""
        key = frozenset(attributes.items())
        cell = self._cells.get(key)
        if cell is not None:
            return cell
        with self._lock:
            cell = self._cells.get(key)
            if cell is None:
                if len(self._cells) >= self.max_series:
                    self.dropped += 1
                    key = frozenset(OVERFLOW_ATTRIBUTES.items())
                    cell = self._cells.get(key)
                    if cell is None:
                        cell = self._cells[key] = Cell(dict(OVERFLOW_ATTRIBUTES), self.bounds, self._cell_lock)
                else:
                    cell = self._cells[key] = Cell(safe_labels(attributes), self.bounds, self._cell_lock)
        return cell

    def metric(self, now_ns: int) -> Metric | None:
        points = [p for p in (cell.point(now_ns) for cell in list(self._cells.values())) if p is not None]
        if not points:
            return None
        return Metric(
            name=self.name,
            description=self.description,
            unit=self.unit,
            data=Histogram(data_points=points, aggregation_temporality=AggregationTemporality.CUMULATIVE),
        )


class FastCounter:
    """A monotonic counter with dynamic labels (rare events: unpriced calls, non-token costs), bounded."""

    def __init__(self, name: str, unit: str, description: str, max_series: int = 2000) -> None:
        self.name = name
        self.unit = unit
        self.description = description
        self.max_series = max_series
        self.dropped = 0
        self._values: dict[frozenset[tuple[str, Any]], list[Any]] = {}  # key -> [attributes, value]
        self._lock = new_lock()
        self._start_ns = time.time_ns()

    def add(self, amount: float, attributes: dict[str, Any] | None = None) -> None:
        if not 0 <= amount < math.inf:  # the SDK drops negative and non-finite amounts too
            return
        attrs = attributes or {}
        key = frozenset(attrs.items())
        with self._lock:
            entry = self._values.get(key)
            if entry is None:
                if len(self._values) >= self.max_series:
                    self.dropped += 1
                    attrs = dict(OVERFLOW_ATTRIBUTES)
                    key = frozenset(attrs.items())
                    entry = self._values.get(key)
                if entry is None:
                    entry = self._values[key] = [safe_labels(attrs), 0]
            entry[1] += amount

    def reset(self) -> None:
        self._lock = new_lock()
        self._values = {}
        self._start_ns = time.time_ns()

    def metric(self, now_ns: int) -> Metric | None:
        with self._lock:
            entries = [(attrs, value) for attrs, value in self._values.values()]
        if not entries:
            return None
        points = [
            NumberDataPoint(attributes=attrs, start_time_unix_nano=self._start_ns, time_unix_nano=now_ns, value=value)
            for attrs, value in entries
        ]
        return Metric(
            name=self.name,
            description=self.description,
            unit=self.unit,
            data=Sum(data_points=points, aggregation_temporality=AggregationTemporality.CUMULATIVE, is_monotonic=True),
        )


_live: weakref.WeakSet[FastMetrics] = weakref.WeakSet()


def _reset_after_fork() -> None:
    for fast in list(_live):
        try:
            fast.reset()
        except Exception:  # noqa: BLE001 - runs inside os.fork(): never break the child
            log_internal_error("reset after fork")


class FastMetrics:
    """The fast histograms and counters of one MeterProvider, appended to each of its readers' collections."""

    def __init__(self, resource: Resource, scope: InstrumentationScope) -> None:
        self.resource = resource
        self.scope = scope
        self.histograms: list[FastHistogram] = []
        self.counters: list[FastCounter] = []
        self.lock = new_lock()  # every cell's (see Cell)
        _live.add(self)
        at_fork(after_in_child=_reset_after_fork)

    def histogram(self, name: str, unit: str, description: str, bounds: Sequence[float]) -> FastHistogram:
        hist = FastHistogram(name, unit, description, bounds, lock=self.lock)
        self.histograms.append(hist)
        return hist

    def counter(self, name: str, unit: str, description: str) -> FastCounter:
        counter = FastCounter(name, unit, description)
        self.counters.append(counter)
        return counter

    def reset(self) -> None:
        """Start every series anew (a forked child must not export what its parent recorded)."""
        for instrument in (*self.histograms, *self.counters):
            instrument.reset()
        # The child is another instance: a new service.instance.id, or its series would merge with the
        # parent's in any backend (the SDK regenerates it itself only since 1.4x; we do it on every version).
        attributes = {k: v for k, v in self.resource.attributes.items() if k != INSTANCE_ID}
        self.resource = with_instance_id(Resource.create(attributes))

    def metrics(self) -> list[Metric]:
        now = time.time_ns()
        out = [m for m in (h.metric(now) for h in self.histograms) if m is not None]
        out.extend(m for m in (c.metric(now) for c in self.counters) if m is not None)
        return out

    def merge(self, data: MetricsData | None) -> MetricsData | None:
        ours = self.metrics()
        if not ours:
            return data
        resource_metrics = list(data.resource_metrics) if data is not None else []
        if not resource_metrics:
            return MetricsData(
                resource_metrics=[ResourceMetrics(self.resource, [ScopeMetrics(self.scope, ours, "")], "")]
            )
        first = resource_metrics[0]
        scopes = list(first.scope_metrics)
        for i, sm in enumerate(scopes):
            if sm.scope.name == self.scope.name:
                scopes[i] = ScopeMetrics(sm.scope, [*sm.metrics, *ours], sm.schema_url)
                break
        else:
            scopes.append(ScopeMetrics(self.scope, ours, ""))
        # Our resource, not the one the SDK collected with: after a fork only ours is sure to name this process.
        resource_metrics[0] = ResourceMetrics(self.resource, scopes, first.schema_url)
        return MetricsData(resource_metrics=resource_metrics)


def hook_available(readers: Sequence[MetricReader]) -> bool:
    """Whether the SDK still has the private reader hooks we use (checked, not assumed: the SDK may change them).

    Without them the caller falls back to the SDK's own histograms: slower, never wrong.
    """
    for reader in readers:
        if not callable(getattr(reader, "_set_collect_callback", None)):
            return False
        if not hasattr(reader, "_collect") or not isinstance(
            getattr(reader, "_instrument_class_temporality", None), dict
        ):
            return False
    return True


def cumulative_histograms(readers: Sequence[MetricReader]) -> bool:
    """Whether every reader wants cumulative histograms (the only temporality our cells produce)."""
    for reader in readers:
        temporality: dict[Any, Any] = reader._instrument_class_temporality  # pyright: ignore[reportPrivateUsage]
        # Keyed by the SDK's internal instrument classes: match any subclass of the SDK Histogram.
        wanted = [
            t for cls, t in temporality.items() if isinstance(cls, type) and issubclass(cls, SdkHistogramInstrument)
        ]
        if not wanted or any(t is not AggregationTemporality.CUMULATIVE for t in wanted):
            return False
    return True


def install(readers: Sequence[MetricReader], resource: Resource, scope: InstrumentationScope) -> FastMetrics | None:
    """Hook ``FastMetrics`` into the collection of the readers of a MeterProvider we built.

    ``None`` when a reader needs the SDK path (delta temporality, or not registered with a provider).
    """
    if not readers or not hook_available(readers) or not cumulative_histograms(readers):
        return None
    if any(r._collect is None for r in readers):  # pyright: ignore[reportPrivateUsage]
        return None
    fast = FastMetrics(resource, scope)
    for reader in readers:
        original = reader._collect  # pyright: ignore[reportPrivateUsage]

        def collect(r: MetricReader, timeout_millis: float = 10_000, _original: Any = original) -> MetricsData | None:
            data = _original(r, timeout_millis=timeout_millis)
            try:
                return fast.merge(data)
            except Exception:  # noqa: BLE001 - collection runs in the reader's thread; never break it
                log_internal_error("collect")
                return data

        reader._set_collect_callback(cast(Any, collect))  # pyright: ignore[reportPrivateUsage]
    return fast
