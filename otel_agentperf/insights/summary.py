"""Summaries computed from exported histogram metrics, the way Prometheus computes them.

The demo's end-of-run table uses these, so what it prints is what ``histogram_quantile`` over the
same series returns in Prometheus and Grafana (linear interpolation inside a bucket).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.metrics.export import HistogramDataPoint, MetricsData


@dataclass
class HistogramAgg:
    """Bucket counts (non-cumulative, one more than ``bounds`` for +Inf), count and sum."""

    bounds: tuple[float, ...]
    counts: list[int]
    count: int = 0
    total: float = 0.0

    @classmethod
    def empty(cls, bounds: Sequence[float]) -> HistogramAgg:
        return cls(tuple(bounds), [0] * (len(bounds) + 1))

    def add_point(self, point: HistogramDataPoint) -> None:
        if tuple(point.explicit_bounds) != self.bounds:
            return  # different boundaries cannot be merged bucket by bucket
        for i, c in enumerate(point.bucket_counts):
            self.counts[i] += c
        self.count += point.count
        self.total += point.sum

    def quantile(self, q: float) -> float:
        """``histogram_quantile(q, ...)``: NaN when empty; the highest finite bound when in +Inf."""
        if self.count == 0:
            return math.nan
        rank = q * self.count
        seen = 0
        for i, c in enumerate(self.counts):
            if c and seen + c >= rank:
                if i == len(self.bounds):  # +Inf bucket
                    return self.bounds[-1]
                lower = 0.0 if i == 0 else self.bounds[i - 1]
                upper = self.bounds[i]
                return lower + (upper - lower) * ((rank - seen) / c)
            seen += c
        return self.bounds[-1]

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else math.nan


@dataclass
class Group:
    """One row of a summary: latency histogram, error count and token sums for a label value."""

    latency: HistogramAgg | None = None
    errors: int = 0
    tokens: dict[str, float] = field(default_factory=lambda: {})
    cost_usd: float = 0.0
    priced_calls: int = 0

    @property
    def calls(self) -> int:
        return self.latency.count if self.latency else 0

    @property
    def success_rate(self) -> float:
        return 1.0 - self.errors / self.calls if self.calls else math.nan


def histogram_points(data: MetricsData | None, name: str) -> Iterable[HistogramDataPoint]:
    if data is None:
        return
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:
                        if isinstance(point, HistogramDataPoint):
                            yield point


def _keyed_points(
    data: MetricsData | None, metric: str, key: str
) -> Iterator[tuple[str, Mapping[str, Any], HistogramDataPoint]]:
    """The histogram points of ``metric`` that carry label ``key``, with that label's value."""
    for point in histogram_points(data, metric):
        attrs: Mapping[str, Any] = point.attributes or {}
        value = attrs.get(key)
        if value is not None:
            yield str(value), attrs, point


def group_latency(
    data: MetricsData | None, metric: str, key: str, groups: dict[str, Group] | None = None
) -> dict[str, Group]:
    """Merge the duration points of ``metric`` by the value of label ``key``."""
    groups = {} if groups is None else groups
    for value, attrs, point in _keyed_points(data, metric, key):
        group = groups.setdefault(value, Group())
        if group.latency is None:
            group.latency = HistogramAgg.empty(point.explicit_bounds)
        group.latency.add_point(point)
        if attrs.get("error.type"):
            group.errors += point.count
    return groups


def add_tokens(data: MetricsData | None, metric: str, key: str, groups: dict[str, Group]) -> None:
    """Add the token sums of ``metric`` to ``groups`` by label ``key`` and ``gen_ai.token.type``."""
    for value, attrs, point in _keyed_points(data, metric, key):
        kind = attrs.get("gen_ai.token.type")
        if kind is None:
            continue
        tokens = groups.setdefault(value, Group()).tokens
        tokens[str(kind)] = tokens.get(str(kind), 0.0) + point.sum


def add_cost(data: MetricsData | None, metric: str, key: str, groups: dict[str, Group]) -> None:
    """Add the USD sum of cost histogram ``metric`` to ``groups`` by the value of label ``key``."""
    for value, _, point in _keyed_points(data, metric, key):
        group = groups.setdefault(value, Group())
        group.cost_usd += point.sum
        group.priced_calls += point.count
