"""The real-time optimizer behind ``ap.recommend``: which model to call next, from the window's statistics."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .suggest import Snapshot, Thresholds, recommended_timeout


@dataclass(frozen=True)
class Recommendation:
    """What ``ap.recommend`` advises for the next call."""

    model: str | None
    timeout_s: float | None
    reason: str
    scores: dict[str, float]


def recommend(
    snap: Snapshot,
    thresholds: Thresholds,
    operation: str,
    candidates: Sequence[str],
    latency_weight: float,
    min_success: float,
) -> Recommendation:
    """The candidate (a model id, or ``provider/model``) scoring best on success, p95 latency and cost per call
    among those observed for ``operation`` (an agent's name), else across all agents."""
    rows = [r for r in snap.agent_models if r.key[0] == operation] or snap.provider_models
    scores: dict[str, float] = {}
    stats: dict[str, tuple[float, float, float, float]] = {}
    for candidate in candidates:
        matching = [r for r in rows if r.key[-1] == candidate or "/".join(r.key[-2:]) == candidate]
        count = sum(r.count for r in matching)
        if not count:
            continue
        errors = sum(r.error_count for r in matching)
        p95 = max((r.p95 for r in matching if not math.isnan(r.p95)), default=math.nan)
        p99 = max((r.p99 for r in matching if not math.isnan(r.p99)), default=math.nan)
        cost = sum(r.cost for r in matching) / count
        stats[candidate] = (1 - errors / count, p95, p99, cost)
    if not stats:
        first = candidates[0] if candidates else None
        return Recommendation(first, None, "no observations yet for any candidate: using the first", {})
    eligible = {c: s for c, s in stats.items() if s[0] >= min_success} or stats
    max_p95 = max((s[1] for s in eligible.values() if not math.isnan(s[1])), default=1.0) or 1.0
    max_cost = max((s[3] for s in eligible.values()), default=0.0) or 1.0
    for candidate, (success, p95, _p99, cost) in eligible.items():
        lat = (p95 / max_p95) if not math.isnan(p95) else 1.0
        scores[candidate] = round(success - latency_weight * lat - (1 - latency_weight) * cost / max_cost, 4)
    best = max(scores, key=lambda c: scores[c])
    success, p95, p99, cost = stats[best]
    timeout = recommended_timeout(p99, thresholds) if not math.isnan(p99) else None
    reason = f"{best}: success {success:.1%}, p95 {p95:.2f} s, ${cost:.5f}/call over the last window"
    return Recommendation(best, timeout, reason, scores)
