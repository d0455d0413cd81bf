"""Pull-based gauges: suggestions, savings, health and resources, read when a metric reader collects."""

from __future__ import annotations

from typing import Any

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from .. import semconv as sc
from ..telemetry import resources
from ..tracing.state import State
from .queues import observe_dropped, observe_export_failures


def register_gauges(meter: Meter, state: State) -> None:
    """Create the gauges on ``meter``; the advisor is looked up at collection time, so a later
    ``configure()`` is picked up."""

    def delegate(name: str) -> Any:
        def callback(options: CallbackOptions) -> list[Observation]:
            return list(state.advisor.gauge_callbacks[name](options))

        return callback

    meter.create_observable_gauge(
        sc.SUGGESTIONS_ACTIVE, [delegate("active")], unit="{suggestion}", description="Active optimization suggestions"
    )
    meter.create_observable_gauge(
        sc.SUGGESTIONS_SAVINGS, [delegate("savings")], unit="{USD}", description="USD per day the suggestions save"
    )
    meter.create_observable_gauge(
        sc.HEALTH_SCORE, [delegate("health")], unit="{score}", description="Health score 0-100"
    )
    meter.create_observable_counter(
        sc.SPANS_DROPPED, [observe_dropped], unit="{span}", description="Spans lost by a full queue or a failed export"
    )
    meter.create_observable_counter(
        sc.METRIC_EXPORT_FAILURES,
        [observe_export_failures],
        unit="{export}",
        description="Metric exports that failed",
    )
    resources.register(meter)


def register_gauges_if_collected(meter: Meter, state: State) -> None:
    """Register the gauges unless ``meter`` can never be collected (no-op or proxy meters)."""
    from opentelemetry import metrics

    if not isinstance(meter, metrics.NoOpMeter) and type(meter).__name__ != "_ProxyMeter":
        register_gauges(meter, state)
