"""Summaries computed from exported histogram metrics, the way Prometheus computes them.

The demo's end-of-run table uses these, so what it prints is what ``histogram_quantile`` over the
same series returns in Prometheus and Grafana (linear interpolation inside a bucket).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.metrics.export import HistogramDataPoint, MetricsData, NumberDataPoint

from .. import semconv as sc


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
    unpriced_calls: int = 0
    """LLM calls that reported tokens but whose model has no price (``cost_usd`` leaves them out)."""

    @property
    def cost(self) -> float | None:
        """``cost_usd``, or ``None`` when no call was priced and some were not: unknown, never 0."""
        return known_cost(self.cost_usd, self.priced_calls, self.unpriced_calls)

    @property
    def calls(self) -> int:
        return self.latency.count if self.latency else 0

    @property
    def success_rate(self) -> float:
        return 1.0 - self.errors / self.calls if self.calls else math.nan


def known_cost(usd: float, priced: int, unpriced: int) -> float | None:
    """What the priced calls cost; ``None`` when no call was priced but some were not (never a made-up 0)."""
    return None if unpriced and not priced else usd


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


Cell = tuple[str, str, str, str]
"""(agent, provider, request model, response model) of an LLM call's series; ``""`` for an absent label."""

_CELL = ("gen_ai_agent_name", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_response_model")


def _names(labels: Mapping[str, Any]) -> dict[str, str]:
    """Labels as Prometheus names them (``gen_ai.agent.name`` → ``gen_ai_agent_name``)."""
    return {str(k).replace(".", "_"): str(v) for k, v in labels.items()}


@dataclass
class Coverage:
    """Which LLM calls have a cost: priced and unpriced calls by agent and by (provider, request model).

    The unpriced-calls counter (``agentperf.cost.unpriced_calls``) is exact but labelled by provider and
    model only (the response model when there is one). The token and cost histograms of one call share all
    other labels, so in a series the calls that reported tokens but have no cost are its unpriced ones:
    they attribute the counter to agents and request models (never more than the counter says). What the
    series cannot place (tokens recorded under other labels) stays with the (provider, model) of the counter.
    """

    usage: dict[Cell, dict[str, float]] = field(default_factory=lambda: {})
    """Calls that reported tokens, by token type (the token histogram's count)."""
    priced: dict[Cell, float] = field(default_factory=lambda: {})
    """Calls with a cost (the cost histogram's count)."""
    unpriced: dict[tuple[str, str], float] = field(default_factory=lambda: {})
    """The unpriced-calls counter by (provider, model)."""

    def add_tokens(self, labels: Mapping[str, Any], calls: float) -> None:
        named = _names(labels)
        kind = named.get("gen_ai_token_type")
        if kind:
            by_kind = self.usage.setdefault(_cell(named), {})
            by_kind[kind] = by_kind.get(kind, 0.0) + calls

    def add_priced(self, labels: Mapping[str, Any], calls: float) -> None:
        cell = _cell(_names(labels))
        self.priced[cell] = self.priced.get(cell, 0.0) + calls

    def add_unpriced(self, labels: Mapping[str, Any], calls: float) -> None:
        named = _names(labels)
        key = (named.get("gen_ai_provider_name", ""), named.get("gen_ai_request_model", ""))
        self.unpriced[key] = self.unpriced.get(key, 0.0) + calls

    @property
    def priced_calls(self) -> int:
        return round(sum(self.priced.values()))

    @property
    def unpriced_calls(self) -> int:
        return round(sum(self.unpriced.values()))

    def split(self) -> tuple[dict[str, tuple[int, int]], dict[tuple[str, str], tuple[int, int]]]:
        """(priced, unpriced) calls by agent and by (provider, request model)."""
        # Series with an agent first: ours, where tokens and cost share every label.
        cells = sorted(self.usage.keys() | self.priced.keys(), key=lambda c: (not c[0], c))
        placed: dict[Cell, float] = {}
        models: dict[tuple[str, str], list[float]] = {}
        for key, count in sorted(self.unpriced.items()):
            left = count
            for cell in cells:
                if left <= 0:
                    break
                if (cell[1], cell[3] or cell[2]) != key:
                    continue
                gap = max(self.usage.get(cell, {}).values(), default=0.0) - self.priced.get(cell, 0.0)
                if gap > 0:
                    taken = min(gap, left)
                    placed[cell] = placed.get(cell, 0.0) + taken
                    left -= taken
            if left > 0:  # calls no series of ours explains: the counter's own model keeps them
                models.setdefault(key, [0.0, 0.0])[1] += left
        agents: dict[str, list[float]] = {}
        for cell in cells:
            counts = (self.priced.get(cell, 0.0), placed.get(cell, 0.0))
            targets = [models.setdefault((cell[1], cell[2]), [0.0, 0.0])]
            if cell[0]:
                targets.append(agents.setdefault(cell[0], [0.0, 0.0]))
            for target in targets:
                target[0] += counts[0]
                target[1] += counts[1]
        return (
            {k: (round(v[0]), round(v[1])) for k, v in agents.items()},
            {k: (round(v[0]), round(v[1])) for k, v in models.items()},
        )


def _cell(named: Mapping[str, str]) -> Cell:
    return (named.get(_CELL[0], ""), named.get(_CELL[1], ""), named.get(_CELL[2], ""), named.get(_CELL[3], ""))


def coverage(data: MetricsData | None) -> Coverage:
    """The ``Coverage`` of exported metrics (the token and cost histograms, the unpriced-calls counter)."""
    found = Coverage()
    for point in histogram_points(data, sc.CLIENT_TOKEN_USAGE):
        found.add_tokens(point.attributes or {}, point.count)
    for point in histogram_points(data, sc.CLIENT_OPERATION_COST):
        found.add_priced(point.attributes or {}, point.count)
    for rm in data.resource_metrics if data is not None else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == sc.UNPRICED_CALLS:
                    for point in metric.data.data_points:
                        if isinstance(point, NumberDataPoint):
                            found.add_unpriced(point.attributes or {}, point.value)
    return found
