"""The histograms and counters every traced call records into, and the cardinality guard of label sets.

Imports only OpenTelemetry's API: this is the bottom of the call path (our fast histograms, which need the
SDK, come in through ``configure()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry.metrics import Histogram, Meter

from .. import semconv as sc
from .._locks import new_lock

if TYPE_CHECKING:  # aggregate imports the SDK's metrics package: only configure() and capture() need it
    from .aggregate import FastMetrics

# Index of each histogram in ``Instruments.names``; the first four are the duration of each span kind.
KIND_AGENT = 0
KIND_TOOL = 1
KIND_LLM = 2
KIND_WORKFLOW = 3
TOKEN_USAGE = 4
TIME_TO_FIRST_CHUNK = 5
COST = 6
CACHE_READ = 7
TIME_PER_OUTPUT_CHUNK = 8
INFERENCE_CALLS = 9
TOOL_CALLS = 10

HISTOGRAMS: tuple[tuple[str, str, str, tuple[float, ...]], ...] = (
    (sc.INVOKE_AGENT_DURATION, sc.UNIT_SECONDS, "Duration of agent invocations", sc.AGENT_DURATION_BUCKETS),
    (sc.EXECUTE_TOOL_DURATION, sc.UNIT_SECONDS, "Duration of tool executions", sc.DURATION_BUCKETS),
    (sc.CLIENT_OPERATION_DURATION, sc.UNIT_SECONDS, "GenAI operation duration", sc.DURATION_BUCKETS),
    (sc.WORKFLOW_DURATION, sc.UNIT_SECONDS, "Duration of workflows", sc.WORKFLOW_DURATION_BUCKETS),
    (sc.CLIENT_TOKEN_USAGE, sc.UNIT_TOKENS, "Number of input and output tokens used", sc.TOKEN_BUCKETS),
    (sc.CLIENT_TIME_TO_FIRST_CHUNK, sc.UNIT_SECONDS, "Time to the first chunk of a stream", sc.DURATION_BUCKETS),
    (sc.CLIENT_OPERATION_COST, sc.UNIT_USD, "Cost of GenAI operations in USD", sc.COST_BUCKETS),
    (
        sc.CLIENT_TOKEN_CACHE_READ,
        sc.UNIT_TOKENS,
        "Input tokens read from the provider's prompt cache",
        sc.TOKEN_BUCKETS,
    ),
    (
        sc.CLIENT_TIME_PER_OUTPUT_CHUNK,
        sc.UNIT_SECONDS,
        "Time between consecutive chunks of a stream, after the first",
        sc.DURATION_BUCKETS,
    ),
    (
        sc.INVOKE_AGENT_INFERENCE_CALLS,
        sc.UNIT_INFERENCE_CALLS,
        "Model calls per agent invocation (failed ones included, sub-agents excluded)",
        sc.CALL_COUNT_BUCKETS,
    ),
    (
        sc.INVOKE_AGENT_TOOL_CALLS,
        sc.UNIT_TOOL_CALLS,
        "Tool calls per agent invocation (sub-agents excluded)",
        sc.CALL_COUNT_BUCKETS,
    ),
)


_INF = float("inf")


class Counter(Protocol):
    """A monotonic counter: the SDK's, or our fast one."""

    def add(self, amount: float, attributes: dict[str, Any] | None = None) -> None: ...


class Series(Protocol):
    """One label set of one histogram, resolved once and recorded into on every call."""

    def record(self, value: float) -> None: ...


class SdkSeries:
    """A label set recorded through a regular OpenTelemetry histogram (for providers we did not build)."""

    __slots__ = ("_histogram", "_attributes")

    def __init__(self, histogram: Histogram, attributes: dict[str, Any]) -> None:
        self._histogram = histogram
        self._attributes = attributes

    def record(self, value: float) -> None:
        self._histogram.record(value, self._attributes)


class CostSeries:
    """The cost histogram of one label set, split by ``gen_ai.usage.cost.source``.

    Each source's series is resolved on first use: most label sets only ever see locally computed costs,
    and a series that never records would still count against the histogram's series limit.
    """

    __slots__ = ("_instruments", "_attributes", "_local", "_provider")

    def __init__(self, instruments: Instruments, attributes: dict[str, Any]) -> None:
        self._instruments = instruments
        self._attributes = {**attributes, sc.GEN_AI_USAGE_COST_CURRENCY: sc.COST_CURRENCY}
        self._local: Series | None = None
        self._provider: Series | None = None

    def record(self, usd: float, source: str) -> None:
        self.of(source).record(usd)

    def of(self, source: str) -> Series:
        """The series of one cost source."""
        if source == sc.COST_SOURCE_LOCAL:
            series = self._local
            if series is None:
                series = self._local = self._resolve(source)
        else:
            series = self._provider
            if series is None:
                series = self._provider = self._resolve(source)
        return series

    def _resolve(self, source: str) -> Series:
        return self._instruments.series(COST, {**self._attributes, sc.GEN_AI_USAGE_COST_SOURCE: source})


def record_tokens(usage: Any, input_series: Series, output_series: Series, cache_series: Series) -> None:
    """The token counts of a ``Usage`` (sane counts: ints within 0…10¹²), one ``record`` each."""
    if usage.input_tokens is not None:
        input_series.record(usage.input_tokens)
    if usage.output_tokens is not None:
        output_series.record(usage.output_tokens)
    if usage.cache_read_tokens:
        cache_series.record(usage.cache_read_tokens)


class InferenceSeries:
    """What one LLM label set records at the end of each call: duration, input and output tokens, cache reads
    and cost. On our own cells (which share one lock per provider) all of them are updated under a single
    acquisition, ~1 µs less than one ``record`` each; on SDK instruments, one ``record`` each."""

    __slots__ = ("duration", "input", "output", "cache", "cost", "_cells")

    def __init__(
        self, duration: Series, tokens_in: Series, tokens_out: Series, cache: Series, cost: CostSeries
    ) -> None:
        self.duration = duration
        self.input = tokens_in
        self.output = tokens_out
        self.cache = cache
        self.cost = cost
        # Our cells (``record`` and, for a holder of ``lock``, ``add``), all under one lock: the fast path.
        lock: Any = getattr(duration, "lock", None)
        shared = lock is not None and all(getattr(s, "lock", None) is lock for s in (tokens_in, tokens_out, cache))
        self._cells: tuple[Any, Any, Any, Any, Any] | None = (
            (lock, duration, tokens_in, tokens_out, cache) if shared else None
        )

    def record(self, seconds: float, usage: Any, usd: float | None, source: str) -> None:
        """``usage`` is a ``Usage`` (sane counts: ints within 0…10¹²); ``usd`` was checked by the pricing."""
        cost: Any = self.cost.of(source) if usd is not None else None  # resolved first: that may take a lock
        cells = self._cells
        if cells is None or (cost is not None and getattr(cost, "lock", None) is not cells[0]):
            self.duration.record(seconds)
            record_tokens(usage, self.input, self.output, self.cache)
            if cost is not None:
                cost.record(usd)
            return
        lock, duration, tokens_in, tokens_out, cache = cells
        count_in, count_out, cached = usage.input_tokens, usage.output_tokens, usage.cache_read_tokens
        with lock:
            if 0 <= seconds < _INF:  # a perf_counter difference: never negative or NaN, but checked as record does
                duration.add(seconds)
            if count_in is not None:
                tokens_in.add(count_in)
            if count_out is not None:
                tokens_out.add(count_out)
            if cached:
                cache.add(cached)
            if cost is not None:
                cost.add(usd)


class Instruments:
    """The histograms of one meter: fast cells when the provider is ours, SDK instruments otherwise."""

    __slots__ = ("_sdk", "_fast", "unpriced_calls", "other_cost", "deduplicated_calls")

    def __init__(self, meter: Meter, fast: FastMetrics | None = None) -> None:
        # Rare events (unpriced calls, non-token costs). On our own providers they are fast cells too, so
        # that a forked child starts them from zero like every other series.
        unpriced = (sc.UNPRICED_CALLS, sc.UNIT_CALLS, "LLM calls whose model has no known price")
        other = (sc.OTHER_COST, sc.UNIT_USD, "Non-token costs recorded with record_cost, in USD")
        dedup = (sc.DEDUPLICATED_CALLS, sc.UNIT_CALLS, "Inference spans not priced: another span has the call's cost")
        self.unpriced_calls: Counter
        self.other_cost: Counter
        self.deduplicated_calls: Counter
        if fast is not None:
            self.unpriced_calls = fast.counter(*unpriced)
            self.other_cost = fast.counter(*other)
            self.deduplicated_calls = fast.counter(*dedup)
        else:
            self.unpriced_calls = meter.create_counter(unpriced[0], unit=unpriced[1], description=unpriced[2])
            self.other_cost = meter.create_counter(other[0], unit=other[1], description=other[2])
            self.deduplicated_calls = meter.create_counter(dedup[0], unit=dedup[1], description=dedup[2])
        if fast is not None:
            self._fast = tuple(fast.histogram(n, u, d, b) for n, u, d, b in HISTOGRAMS)
            self._sdk: tuple[Histogram, ...] = ()
        else:
            self._fast = ()
            # Created once per meter from constant names (an invalid name would raise).
            self._sdk = tuple(
                meter.create_histogram(n, unit=u, description=d, explicit_bucket_boundaries_advisory=list(b))
                for n, u, d, b in HISTOGRAMS
            )

    @property
    def fast(self) -> bool:
        """Whether series are our own cells (True) or SDK instruments."""
        return bool(self._fast)

    def cost_series(self, attributes: dict[str, Any]) -> CostSeries:
        return CostSeries(self, attributes)

    def inference_series(
        self, attributes: dict[str, Any], tokens_in: dict[str, Any], tokens_out: dict[str, Any]
    ) -> tuple[InferenceSeries, Series, Series]:
        """The series of one LLM label set (``attributes``: the duration's; token labels add the token type),
        and its time-to-first-chunk and time-per-chunk series (labelled without ``error.type``)."""
        no_error = {k: v for k, v in attributes.items() if k != sc.ERROR_TYPE}
        inference = InferenceSeries(
            self.series(KIND_LLM, attributes),  # the LLM kind's duration
            self.series(TOKEN_USAGE, tokens_in),
            self.series(TOKEN_USAGE, tokens_out),
            self.series(CACHE_READ, no_error),
            self.cost_series(attributes),
        )
        return inference, self.series(TIME_TO_FIRST_CHUNK, no_error), self.series(TIME_PER_OUTPUT_CHUNK, no_error)

    def series(self, index: int, attributes: dict[str, Any]) -> Series:
        if self._fast:
            return self._fast[index].series(attributes)
        return SdkSeries(self._sdk[index], attributes)


class LabelTable:
    """A bounded cache of metric attribute sets: the cardinality guard of one traced operation.

    Once ``max_size`` distinct keys exist, new keys map to ``_OTHER`` label values (and are counted in
    ``overflowed``) so a dynamic agent or model name can never explode a metric's series count.
    """

    __slots__ = ("_table", "max_size", "overflowed", "_lock")

    def __init__(self, max_size: int = 128) -> None:
        self._table: dict[Any, Any] = {}
        self.max_size = max_size
        self.overflowed = 0
        self._lock = new_lock()

    def get(self, key: Any) -> Any:
        return self._table.get(key)

    def put(self, key: Any, value: Any) -> bool:
        """Store ``value``; False when the table is full (the caller then uses overflow labels)."""
        with self._lock:  # only on the first call with a new label set
            if len(self._table) >= self.max_size:
                self.overflowed += 1
                return False
            self._table[key] = value
            return True

    def clear(self) -> None:
        with self._lock:
            self._table.clear()
