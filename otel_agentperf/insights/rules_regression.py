"""Regressions: an agent's or a model's p95 latency or error rate significantly worse than before.

``compare`` is pure: two sets of rows (an earlier window and the current one) in, the regressions with their
evidence out. ``agentperf report`` runs it on the previous and the current period. In-process,
``RegressionRule`` (one per advisor: it remembers) compares the advisor's window with the same scope a day
earlier when it has seen one, else with the scope's own baseline: the last window that was not a regression,
refreshed at most once a window, so a regression never becomes its own baseline. Memory is bounded: at most
``MAX_SCOPES`` scopes, each with a baseline and ``_DAY_SLOTS`` hourly checkpoints.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .stats import Row
from .suggest import Snapshot, Suggestion, Thresholds, make

MAX_SCOPES = 128
_HOUR = 3600.0
_DAY_SLOTS = 25  # hourly checkpoints: a day and one hour of them, enough to find "a day earlier"


@dataclass(frozen=True)
class RegressionThresholds:
    """When "worse" is significant. The Prometheus rules use the same defaults (agentperf-thresholds.yml)."""

    latency_factor: float = 1.5
    """p95 at least this many times the earlier p95 ..."""
    min_latency_delta_s: float = 0.5
    """... and at least this much slower (20 ms → 40 ms is not a regression)."""
    error_rate_delta: float = 0.05
    """Error rate at least this many points (0.05 = 5 %) over the earlier one."""
    min_calls: int = 20
    """Calls needed in both windows: never judge on thin data."""


@dataclass(frozen=True)
class Point:
    """What one scope looked like over one window."""

    p95: float
    error_rate: float
    calls: int
    at: float


@dataclass(frozen=True)
class Regression:
    scope_kind: str
    """``agent`` or ``model``."""
    scope_name: str
    metric: str
    """``p95_s`` or ``error_rate``."""
    before: float
    after: float
    calls_before: int
    calls_after: int
    compared_with: str
    """What "before" is: ``previous period``, ``a day earlier`` or ``baseline``."""

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "scope": f"{self.scope_kind} {self.scope_name}",
            "metric": self.metric,
            "before": self.before,
            "after": self.after,
            "calls_before": self.calls_before,
            "calls_after": self.calls_after,
            "compared_with": self.compared_with,
        }

    def text(self) -> str:
        if self.metric == "p95_s":
            change = f"p95 {self.before:.2f} s → {self.after:.2f} s"
        else:
            change = f"errors {self.before:.1%} → {self.after:.1%}"
        return (
            f"{self.scope_kind} {self.scope_name}: {change} ({self.calls_before} calls {self.compared_with}, "
            f"{self.calls_after} now)"
        )


def point(row: Row, at: float) -> Point:
    return Point(row.p95, row.error_rate, row.count, at)


def scope_of(kind: str, row: Row) -> str:
    return row.key[-1] if kind == "agent" else "/".join(k for k in row.key if k)


def judge(
    kind: str, name: str, before: Point, after: Point, t: RegressionThresholds, compared_with: str
) -> list[Regression]:
    """The regressions of one scope between two points (none when either has fewer than ``min_calls``)."""
    if before.calls < t.min_calls or after.calls < t.min_calls:
        return []
    out: list[Regression] = []
    if (
        math.isfinite(before.p95)
        and math.isfinite(after.p95)
        and after.p95 >= before.p95 * t.latency_factor
        and after.p95 - before.p95 >= t.min_latency_delta_s
    ):
        out.append(Regression(kind, name, "p95_s", before.p95, after.p95, before.calls, after.calls, compared_with))
    if after.error_rate - before.error_rate >= t.error_rate_delta:
        out.append(
            Regression(
                kind, name, "error_rate", before.error_rate, after.error_rate, before.calls, after.calls, compared_with
            )
        )
    return out


def compare(
    before: Mapping[str, Sequence[Row]],
    after: Mapping[str, Sequence[Row]],
    t: RegressionThresholds | None = None,
    compared_with: str = "previous period",
) -> list[Regression]:
    """Regressions from ``before`` to ``after``, rows by scope kind (``{"agent": [...], "model": [...]}``)."""
    t = t or RegressionThresholds()
    out: list[Regression] = []
    for kind, rows in after.items():
        earlier = {scope_of(kind, r): r for r in before.get(kind, ())}
        for row in rows:
            name = scope_of(kind, row)
            old = earlier.get(name)
            if old is not None:
                out += judge(kind, name, point(old, 0.0), point(row, 0.0), t, compared_with)
    return out


class _Memory:
    """One scope: its baseline and hourly checkpoints (a ring indexed by hour number)."""

    __slots__ = ("baseline", "hours")

    def __init__(self) -> None:
        self.baseline: Point | None = None
        self.hours: list[Point | None] = [None] * _DAY_SLOTS


class RegressionRule:
    """The in-process rule (``Rule``): remembers, so one instance per advisor, never shared."""

    def __init__(self, thresholds: RegressionThresholds | None = None) -> None:
        self.thresholds = thresholds or RegressionThresholds()
        self.dropped = 0
        self._memory: OrderedDict[tuple[str, str], _Memory] = OrderedDict()

    def __call__(self, snap: Snapshot, t: Thresholds) -> list[Suggestion]:
        rt = self.thresholds
        if max(t.min_calls, rt.min_calls) != rt.min_calls:
            rt = RegressionThresholds(rt.latency_factor, rt.min_latency_delta_s, rt.error_rate_delta, t.min_calls)
        now = snap.at
        out: list[Suggestion] = []
        for kind, rows in (("agent", snap.agents), ("model", snap.provider_models)):
            for row in rows:
                if row.count < rt.min_calls:
                    continue  # thin: neither judged nor remembered
                name = scope_of(kind, row)
                memory = self._remember(kind, name)
                if memory is None:
                    continue
                current = point(row, now)
                found = self._judge(kind, name, memory, current, snap.window_s, rt)
                out += [_suggestion(r, snap.window_s) for r in found]
                if not found:
                    self._keep(memory, current, snap.window_s)
        return out

    def _remember(self, kind: str, name: str) -> _Memory | None:
        key = (kind, name)
        memory = self._memory.get(key)
        if memory is None:
            if len(self._memory) >= MAX_SCOPES:
                self._memory.popitem(last=False)  # the least recently seen scope goes
                self.dropped += 1
            memory = self._memory[key] = _Memory()
        self._memory.move_to_end(key)
        return memory

    def _judge(
        self, kind: str, name: str, memory: _Memory, current: Point, window_s: float, rt: RegressionThresholds
    ) -> list[Regression]:
        day_ago = memory.hours[int((current.at - 86_400) // _HOUR) % _DAY_SLOTS]
        if day_ago is not None and abs(current.at - 86_400 - day_ago.at) <= _HOUR:
            return judge(kind, name, day_ago, current, rt, "a day earlier")
        base = memory.baseline
        if base is None or current.at - base.at < window_s:
            return []  # the baseline must be an earlier window, not this one
        return judge(kind, name, base, current, rt, "baseline")

    @staticmethod
    def _keep(memory: _Memory, current: Point, window_s: float) -> None:
        """A window that is not a regression: refresh the baseline (once a window) and this hour's checkpoint."""
        if memory.baseline is None or current.at - memory.baseline.at >= window_s:
            memory.baseline = current
        slot = int(current.at // _HOUR) % _DAY_SLOTS
        kept = memory.hours[slot]
        if kept is None or int(kept.at // _HOUR) != int(current.at // _HOUR):
            memory.hours[slot] = current


def _suggestion(r: Regression, window_s: float) -> Suggestion:
    latency = r.metric == "p95_s"
    worse = r.after / r.before if latency and r.before > 0 else None
    impact = min(1.0, (worse - 1) / 2) if worse is not None else min(1.0, (r.after - r.before) * 5)
    what = "p95 latency" if latency else "error rate"
    return make(
        "regression",
        r.scope_kind,
        f"{r.scope_name}:{r.metric}",
        title=f"{r.scope_kind.capitalize()} {r.scope_name!r} regressed: {r.text().split(': ', 1)[1].split(' (')[0]}",
        description=(
            f"{what.capitalize()} over the last {window_s / 60:.0f} min is worse than {r.compared_with}: "
            f"{r.text()}. Look at what changed since (a deploy, a prompt or model change, a provider incident); "
            "roll it back or move the step to a faster or more reliable model."
        ),
        impact=impact,
        complexity="low",
        evidence={
            "calls": r.calls_after,
            "calls_before": r.calls_before,
            "before": r.before,
            "after": r.after,
            "metric": r.metric,
            "compared_with": r.compared_with,
        },
    )
