"""The one piece of mutable global state: which tracer and instruments traced calls use.

Decorated functions read ``STATE`` on every call, so decorators applied before ``configure()`` start
using the configured providers as soon as it runs. Until then ``STATE`` holds OpenTelemetry's global
proxies, which forward to whatever providers are set globally later (or do nothing without an SDK).
"""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import Histogram, Meter
from opentelemetry.trace import Tracer

from . import semconv as sc
from ._version import VERSION

# Index of the duration histogram of each span kind in ``Instruments.durations``.
KIND_AGENT = 0
KIND_TOOL = 1
KIND_LLM = 2
KIND_WORKFLOW = 3


class Instruments:
    """The histograms, created once per meter from constant names (an invalid name would raise)."""

    __slots__ = ("durations", "token_usage", "time_to_first_chunk")

    def __init__(self, meter: Meter) -> None:
        def hist(name: str, unit: str, desc: str, buckets: tuple[float, ...]) -> Histogram:
            return meter.create_histogram(
                name, unit=unit, description=desc, explicit_bucket_boundaries_advisory=list(buckets)
            )

        agent = hist(
            sc.INVOKE_AGENT_DURATION, sc.UNIT_SECONDS, "Duration of agent invocations", sc.AGENT_DURATION_BUCKETS
        )
        tool = hist(sc.EXECUTE_TOOL_DURATION, sc.UNIT_SECONDS, "Duration of tool executions", sc.DURATION_BUCKETS)
        llm = hist(sc.CLIENT_OPERATION_DURATION, sc.UNIT_SECONDS, "GenAI operation duration", sc.DURATION_BUCKETS)
        workflow = hist(sc.WORKFLOW_DURATION, sc.UNIT_SECONDS, "Duration of workflows", sc.WORKFLOW_DURATION_BUCKETS)
        self.durations: tuple[Histogram, Histogram, Histogram, Histogram] = (agent, tool, llm, workflow)
        self.token_usage = hist(
            sc.CLIENT_TOKEN_USAGE, sc.UNIT_TOKENS, "Number of input and output tokens used", sc.TOKEN_BUCKETS
        )
        self.time_to_first_chunk = hist(
            sc.CLIENT_TIME_TO_FIRST_CHUNK, sc.UNIT_SECONDS, "Time to the first chunk of a stream", sc.DURATION_BUCKETS
        )


class State:
    """What the call path needs, swapped in place by ``configure()``."""

    __slots__ = ("tracer", "instruments", "capture_content", "max_content_length", "configured")

    def __init__(self) -> None:
        self.configured = False
        self.capture_content = False
        self.max_content_length = 8192
        self.use(trace.get_tracer(sc.SCOPE_NAME, VERSION), metrics.get_meter(sc.SCOPE_NAME, VERSION))

    def use(self, tracer: Tracer, meter: Meter) -> None:
        self.instruments = Instruments(meter)
        self.tracer = tracer


STATE = State()


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
        self._lock = threading.Lock()

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
