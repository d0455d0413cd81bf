"""OTLP/gRPC exporters built off ``configure()``'s thread: grpc and protobuf, about 100 ms of a cold start, are
imported by a thread that ``configure()`` starts as it returns instead of by ``configure()`` itself.

The span processor and the metric reader get stand-ins that forward to the real exporter once it is built.
What the reader reads at once, the metric exporter's preferred temporality and aggregation, is computed here
from the same environment variables as the SDK's ``OTLPMetricExporterMixin`` does (a test compares them).

- Errors stay where they were: an exporter is deferred only when building it can neither raise nor log (no
  certificate, credential-provider or retry-code settings; valid timeouts, compression, headers and metric
  preferences; a parseable endpoint; grpc installed). Otherwise ``configure()`` builds it, as before.
- Fork: the build runs on the price warm-up thread, before the warm-up; ``finish_before_fork`` joins that
  thread before any ``fork()`` (bounded), so a child never inherits a half-done import.
- An export (or the flush at shutdown) that comes before the build is done waits for it, or builds on its
  own thread if no build is under way. A stand-in shut down before it was built never builds: stopping an
  exporter that never ran imports nothing.
- The exporter reads its ``OTEL_EXPORTER_OTLP_*`` variables when built, a moment after ``configure()``.
- The import still costs the process its CPU time: the thread shares the GIL with the application's thread
  for the ~100 ms after ``configure()`` returns (then the price warm-up does, as before).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable, Sequence
from importlib.util import find_spec
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlparse

from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import AggregationTemporality, MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.metrics.view import (
    Aggregation,
    ExplicitBucketHistogramAggregation,
    ExponentialBucketHistogramAggregation,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from .._errors import logger
from .._locks import new_lock
from .processes import finish_before_fork

MODULES = {
    "traces": "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
    "metrics": "opentelemetry.exporter.otlp.proto.grpc.metric_exporter",
}
_PREFIX = "OTEL_EXPORTER_OTLP_"
_TEMPORALITIES = frozenset({"CUMULATIVE", "DELTA", "LOWMEMORY"})
_EXPONENTIAL = "base2_exponential_bucket_histogram"
_HISTOGRAMS = frozenset({"explicit_bucket_histogram", _EXPONENTIAL})


def deferrable(signal: str, endpoint: str | None) -> bool:
    """True when building the gRPC exporter of ``signal`` (traces or metrics) can neither raise nor log."""
    try:
        if find_spec("grpc") is None or find_spec(MODULES[signal]) is None:
            return False  # building raises the ImportError, in configure() as before
    except (ImportError, ValueError):
        return False
    if os.environ.get("OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED", "").strip().lower() == "true":
        return False  # the exporter's own metrics go to the meter provider global when it is built
    own = signal.upper() + "_"
    for key, value in os.environ.items():
        if key.startswith("OTEL_PYTHON_EXPORTER_OTLP_"):
            return False  # credential providers, retryable codes: entry points and parsing that may raise
        if not key.startswith(_PREFIX):
            continue
        name = key[len(_PREFIX) :]
        if name.startswith(own):
            name = name[len(own) :]
        elif name.startswith(("TRACES_", "METRICS_", "LOGS_")):
            continue  # another signal's
        if not _valid(name, value):
            return False
    return _parses(endpoint)


def _valid(name: str, value: str) -> bool:
    """Whether the exporter takes this setting silently; certificates and unknown settings count as not."""
    if name == "ENDPOINT":
        return _parses(value)
    if name in ("INSECURE", "PROTOCOL"):
        return True
    if name == "TIMEOUT":
        try:
            float(value)
        except ValueError:
            return False
        return True
    if name == "COMPRESSION":
        return value.lower().strip() == "gzip"  # unset is fine; anything else but gzip raises
    if name == "HEADERS":
        return _clean_headers(value)
    if name == "TEMPORALITY_PREFERENCE":
        return value.upper().strip() in _TEMPORALITIES
    if name == "DEFAULT_HISTOGRAM_AGGREGATION":
        return value in _HISTOGRAMS
    return False


def _parses(endpoint: str | None) -> bool:
    try:
        urlparse(endpoint or "")
    except ValueError:  # an unclosed IPv6 bracket: the exporter raises it
        return False
    return True


def _clean_headers(raw: str) -> bool:
    """True when the SDK's header parsing (``parse_env_headers``, liberal) would log no warning."""
    from opentelemetry.util import re as otel_re

    found: list[Any] = [
        getattr(otel_re, n, None) for n in ("_DELIMITER_PATTERN", "_HEADER_PATTERN", "_LIBERAL_HEADER_PATTERN")
    ]
    delimiter, strict, liberal = found
    if delimiter is None or strict is None or liberal is None:
        return False  # a later SDK parses differently: build in configure() as before
    return all(not h or strict.fullmatch(h.strip()) or liberal.fullmatch(h.strip()) for h in re.split(delimiter, raw))


def preferred_temporality() -> dict[type, AggregationTemporality]:
    """What ``OTLPMetricExporterMixin._get_temporality`` gives for a valid preference (others are not deferred)."""
    preference = os.environ.get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "CUMULATIVE").upper().strip()
    cumulative, delta = AggregationTemporality.CUMULATIVE, AggregationTemporality.DELTA
    counted = delta if preference in ("DELTA", "LOWMEMORY") else cumulative
    return {
        Counter: counted,
        UpDownCounter: cumulative,
        Histogram: counted,
        ObservableCounter: delta if preference == "DELTA" else cumulative,
        ObservableUpDownCounter: cumulative,
        ObservableGauge: cumulative,
    }


def preferred_aggregation() -> dict[type, Aggregation]:
    """What ``OTLPMetricExporterMixin._get_aggregation`` gives for a valid setting (others are not deferred)."""
    name = os.environ.get("OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION", "explicit_bucket_histogram")
    if name == _EXPONENTIAL:
        return {Histogram: ExponentialBucketHistogramAggregation()}
    return {Histogram: ExplicitBucketHistogramAggregation()}


class _Stoppable(Protocol):
    def shutdown(self) -> None: ...


_E = TypeVar("_E", bound=_Stoppable)


class _Pending(Generic[_E]):
    """The real exporter: built once, by whichever thread needs it first; never once closed."""

    def __init__(self, build: Callable[[], _E]) -> None:
        self._build = build
        self._building = new_lock()  # held while building: a second asker waits for the first's result
        self._state = new_lock()  # guards real/closed only, never held while building
        self.real: _E | None = None
        self.closed = False

    def ensure(self) -> _E | None:
        """The real exporter, built now if it is not yet; None when closed before it was built."""
        real = self.real
        if real is not None:
            return real
        with self._building:
            with self._state:
                if self.real is not None or self.closed:
                    return self.real
            built: _E | None = self._build()
            with self._state:
                if not self.closed:
                    self.real, built = built, None
            if built is not None:
                built.shutdown()  # closed while it was being built: it never runs
            return self.real

    def close(self) -> _E | None:
        """Mark closed, without waiting for a build under way; the real exporter to shut down, if built."""
        with self._state:
            self.closed = True
            return self.real


class DeferredSpanExporter(SpanExporter):
    """Stands in for an OTLP span exporter until it is built (this module's docstring says when)."""

    def __init__(self, build: Callable[[], SpanExporter]) -> None:
        self.pending = _Pending(build)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        real = self.pending.ensure()
        return SpanExportResult.FAILURE if real is None else real.export(spans)

    def shutdown(self) -> None:
        real = self.pending.close()
        if real is not None:
            real.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        real = self.pending.real
        return True if real is None else real.force_flush(timeout_millis)


class DeferredMetricExporter(MetricExporter):
    """Stands in for an OTLP metric exporter until it is built, with the preferences the real one will have."""

    def __init__(self, build: Callable[[], MetricExporter]) -> None:
        super().__init__(preferred_temporality=preferred_temporality(), preferred_aggregation=preferred_aggregation())
        self.pending = _Pending(build)

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        real = self.pending.ensure()
        if real is None:
            return MetricExportResult.FAILURE
        return real.export(metrics_data, timeout_millis=timeout_millis, **kwargs)  # pyright: ignore[reportUnknownMemberType]

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        real = self.pending.real
        return True if real is None else real.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        real = self.pending.close()
        if real is not None:
            real.shutdown(timeout_millis=timeout_millis, **kwargs)  # pyright: ignore[reportUnknownMemberType]


def build_in_background(exporters: Sequence[object], then: Callable[[], None]) -> threading.Thread:
    """Start the one thread that builds the deferred ones among ``exporters``, one after the other (they import
    the same packages), and then runs ``then`` (the price warm-up); joined before any fork.

    One thread, in this order: concurrent, the two imports would share the GIL and both finish late; in turn,
    the exporters are ready when they were when ``configure()`` built them, and the prices no later than then.
    """
    pending = [e.pending for e in exporters if isinstance(e, (DeferredSpanExporter, DeferredMetricExporter))]
    if pending:
        # On this thread: the exporters import the SDK's logs package, whose import runs resource detection on a
        # thread pool, and a pool takes no work once the interpreter exits: a build under way then would fail.
        with contextlib.suppress(ImportError):  # a private package: if it goes, the exporters stop importing it too
            import opentelemetry.sdk._logs  # noqa: F401  # pyright: ignore[reportUnusedImport]

    def run() -> None:
        for one in pending:
            try:
                one.ensure()
            except Exception:  # noqa: BLE001 - exports retry the build and fail (counted) while it fails
                logger.warning("otel_agentperf: building the OTLP exporter failed", exc_info=True)
        then()

    thread = threading.Thread(target=run, name="agentperf-warmup", daemon=True)
    thread.start()
    finish_before_fork(thread)
    return thread
