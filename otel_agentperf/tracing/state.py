"""The one piece of mutable global state: what the call path reads on every call.

Decorated functions read ``STATE`` on every call, so decorators applied before ``configure()`` start
using the configured providers as soon as it runs. Until then ``STATE`` holds OpenTelemetry's global
proxies, which forward to whatever providers are set globally later (or do nothing without an SDK).

``STATE`` is built at the end of this module, once every class it needs is complete, and it has no
side effects on OpenTelemetry: gauges are registered by ``configure()`` (or the zero-code instrumentor),
never by an import. ``configure()`` hands the state its price book, ledger, budget and advisor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import Meter
from opentelemetry.trace import Tracer

from .. import semconv as sc
from .._version import VERSION
from ..cost.ledger import BudgetTracker, ConversationLedger
from ..cost.pricing import PriceBook
from ..insights.advisor import Advisor
from ..telemetry.instruments import Instruments, LabelTable
from .unsampled import hand_over_ids

if TYPE_CHECKING:  # the SDK's metrics package (~60 ms to import) is loaded by configure(), not by us
    from ..telemetry.aggregate import FastMetrics


class State:
    """What the call path needs, swapped in place by ``configure()``.

    ``generation`` changes with every swap so that series cached by traced operations are re-resolved.
    """

    __slots__ = (
        "tracer",
        "instruments",
        "capture_content",
        "resource_deltas",
        "max_content_length",
        "configured",
        "generation",
        "prices",
        "ledger",
        "budget",
        "advisor",
    )

    def __init__(self) -> None:
        self.advisor = Advisor()
        self.advisor.prices = lambda provider, model, at: self.prices.lookup(provider, model, at)
        self.prices = PriceBook()
        self.ledger = ConversationLedger()
        self.budget: BudgetTracker | None = None
        self.configured = False
        self.capture_content = False
        self.resource_deltas = False
        self.max_content_length = 8192
        self.generation = 0
        self.use(trace.get_tracer(sc.SCOPE_NAME, VERSION), metrics.get_meter(sc.SCOPE_NAME, VERSION))

    def use(self, tracer: Tracer, meter: Meter, fast: FastMetrics | None = None) -> None:
        self.instruments = Instruments(meter, fast)
        hand_over_ids(tracer)  # roots a ratio drops are built without the tracer (unsampled.py); the proxy: nothing
        self.tracer = tracer
        self.generation += 1


class SeriesCache(LabelTable):
    """A ``LabelTable`` of resolved series, emptied whenever ``configure()`` swaps the instruments."""

    __slots__ = ("generation",)

    def __init__(self, max_size: int = 128) -> None:
        super().__init__(max_size)
        self.generation = STATE.generation

    def lookup(self, key: Any) -> Any:
        if self.generation != STATE.generation:
            self.clear()
            self.generation = STATE.generation
            return None
        return self._table.get(key)


STATE = State()
