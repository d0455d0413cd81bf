"""Optimization suggestions: small pure rules from a statistics ``Snapshot`` to ``Suggestion``s.

The same rules run on in-process statistics (``ap.suggestions()``) and on PromQL aggregates over a
fleet (``agentperf suggest --prometheus URL``): a rule only reads the ``Snapshot``. Every rule is guarded,
so one that raises does not stop the others. Users add rules with ``ap.register_rule``.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .._errors import AgentPerfConfigError, log_internal_error, logger
from ..telemetry.resources import Resources
from .stats import Row

SECONDS_PER_DAY = 86_400.0
THRESHOLDS_ENV = "AGENTPERF_THRESHOLDS"
THRESHOLDS_FILE_ENV = "AGENTPERF_THRESHOLDS_FILE"


@dataclass(frozen=True)
class Thresholds:
    """When rules fire. Argument > ``AGENTPERF_THRESHOLDS`` (``slow_p95_s=2,error_rate=0.2``) >
    ``AGENTPERF_THRESHOLDS_FILE`` (TOML ``[thresholds]``) > these defaults."""

    slow_p95_s: float = 5.0
    """p95 latency above which an agent, tool or model is slow (seconds)."""
    min_calls: int = 5
    """Fewer calls than this in the window: no judgement."""
    error_rate: float = 0.10
    """Error ratio above which a provider/model/tool/agent is error-prone."""
    retries_per_window: int = 3
    """Retries inside one agent's invocations in the window that make a retry loop."""
    downgrade_max_output_tokens: float = 300.0
    """Mean output tokens at or below which outputs count as short (model downgrade)."""
    downgrade_max_error_rate: float = 0.02
    downgrade_price_ratio: float = 0.5
    """A cheaper model must cost at most this share of the current one (input and output)."""
    repeat_min_extra_calls: int = 3
    """Identical calls beyond the first, in the window, that make a caching suggestion."""
    prompt_cache_min_repeats: int = 5
    prompt_cache_max_cached_share: float = 0.2
    context_growth_factor: float = 3.0
    context_min_tokens: int = 8_000
    cpu_utilization: float = 0.80
    memory_utilization: float = 0.85
    timeout_p99_factor: float = 1.5
    """Recommended timeout = p99 × this factor."""
    min_usd_per_day: float = 0.01
    """Savings below this are not worth a suggestion."""


def load_thresholds(overrides: Mapping[str, Any] | None = None) -> Thresholds:
    values: dict[str, Any] = {}
    known = {f.name: f.type for f in fields(Thresholds)}
    path = os.environ.get(THRESHOLDS_FILE_ENV)
    if path:
        try:
            import tomllib

            with open(path, "rb") as f:
                data = tomllib.load(f)
            values.update(data.get("thresholds", data))
        except (OSError, ValueError, ImportError) as exc:
            logger.warning("otel_agentperf: ignoring %s=%s: %s", THRESHOLDS_FILE_ENV, path, exc)
    for item in filter(None, (p.strip() for p in os.environ.get(THRESHOLDS_ENV, "").split(","))):
        name, _, raw = item.partition("=")
        try:
            values[name.strip()] = float(raw)
        except ValueError:
            logger.warning("otel_agentperf: ignoring %s entry %r", THRESHOLDS_ENV, item)
    env_values = {k: v for k, v in values.items() if k in known}
    for bad in set(values) - set(known):
        logger.warning("otel_agentperf: unknown threshold %r ignored", bad)
    explicit = dict(overrides or {})
    unknown = set(explicit) - set(known)
    if unknown:
        raise AgentPerfConfigError(f"unknown thresholds {sorted(unknown)}; known: {sorted(known)}")
    merged = {**env_values, **explicit}
    for name, value in merged.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            if name in explicit:
                raise AgentPerfConfigError(f"threshold {name} must be a non-negative number, got {value!r}")
            logger.warning("otel_agentperf: ignoring threshold %s=%r", name, value)
            merged.pop(name)
    typed = {k: int(v) if known[k] == "int" else float(v) for k, v in merged.items()}
    return replace(Thresholds(), **typed)


@dataclass
class Suggestion:
    """One thing to change, with its evidence and what it would save."""

    id: str
    """Stable across evaluations: a hash of the rule and the scope."""
    rule: str
    severity: str
    """``high``, ``medium`` or ``low``."""
    title: str
    description: str
    impact: float
    """0–1: how much acting on it matters (used for ranking)."""
    complexity: str
    """``low``, ``medium`` or ``high`` effort to implement."""
    savings_seconds_per_day: float
    savings_usd_per_day: float
    scope_kind: str
    """``agent``, ``tool``, ``model``, ``provider``, ``conversations``, ``process`` or ``budget``."""
    scope_name: str
    evidence: dict[str, float | str] = field(default_factory=lambda: {})
    confidence: str = "low"
    """``low``, ``medium`` or ``high``: how much data stands behind it (window length and calls)."""
    first_seen: float = 0.0
    last_seen: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def make(
    rule: str,
    scope_kind: str,
    scope_name: str,
    *,
    title: str,
    description: str,
    impact: float,
    complexity: str = "medium",
    seconds: float = 0.0,
    usd: float = 0.0,
    evidence: dict[str, float | str] | None = None,
) -> Suggestion:
    impact = max(0.0, min(1.0, impact))
    severity = "high" if impact >= 0.66 else "medium" if impact >= 0.33 else "low"
    digest = hashlib.sha1(f"{rule}|{scope_kind}|{scope_name}".encode()).hexdigest()[:12]
    return Suggestion(
        id=f"{rule}-{digest}",
        rule=rule,
        severity=severity,
        title=title,
        description=description,
        impact=round(impact, 3),
        complexity=complexity,
        savings_seconds_per_day=max(0.0, seconds),
        savings_usd_per_day=max(0.0, usd),
        scope_kind=scope_kind,
        scope_name=scope_name,
        evidence=evidence or {},
    )


@dataclass
class Snapshot:
    """Everything the rules may read. Built from in-process stats or from Prometheus."""

    window_s: float
    source: str = "process"
    agents: list[Row] = field(default_factory=lambda: [])
    agent_models: list[Row] = field(default_factory=lambda: [])
    provider_models: list[Row] = field(default_factory=lambda: [])
    tools: list[Row] = field(default_factory=lambda: [])
    repeats: dict[str, tuple[int, int, float]] = field(default_factory=lambda: {})
    prefixes: dict[str, tuple[int, int, float]] = field(default_factory=lambda: {})
    prefix_chars: dict[str, float] = field(default_factory=lambda: {})
    conversations: dict[str, list[int]] = field(default_factory=lambda: {})
    resources: Resources | None = None
    hourly_spend_usd: float | None = None
    daily_budget_usd: float | None = None
    hourly_budget_usd: float | None = None
    timeouts: dict[str, float] = field(default_factory=lambda: {})
    price_of: Callable[[str | None, str, float], Any] | None = None
    """``(provider, model, at) -> ModelPrices | None`` for rules that need prices."""
    at: float = 0.0
    """When the window ends, in seconds since the epoch: the time prices are taken at."""

    def per_day(self, value: float) -> float:
        """``value`` observed over the window, as a daily rate.

        A window shorter than ``MIN_EXTRAPOLATION_S`` counts as that long: a few seconds of calls do not
        make a day (extrapolating half a second of a demo gave $135,069/day). Conservative, never inflated.
        """
        return value * SECONDS_PER_DAY / max(self.window_s, MIN_EXTRAPOLATION_S) if self.window_s > 0 else 0.0


Rule = Callable[[Snapshot, Thresholds], Sequence[Suggestion]]

MIN_EXTRAPOLATION_S = 300.0


SAVINGS_MIN_CALLS = 20
SAVINGS_WITHHELD = "not estimated: needs 5 min and 20 calls of data"


def confidence(observed_s: float, calls: object) -> str:
    """How much evidence a window holds: ``low`` (< 5 min or < 20 calls), ``high`` (≥ 1 h and ≥ 200 calls)."""
    n = calls if isinstance(calls, (int, float)) else None
    if observed_s < MIN_EXTRAPOLATION_S or (n is not None and n < SAVINGS_MIN_CALLS):
        return "low"
    if observed_s >= 3600 and (n is None or n >= 200):
        return "high"
    return "medium"


def recommended_timeout(p99: float, t: Thresholds) -> float:
    return max(1.0, math.ceil(p99 * t.timeout_p99_factor * 2) / 2)


def evaluate(snapshot: Snapshot, thresholds: Thresholds, rules: Mapping[str, Rule]) -> list[Suggestion]:
    """Run every rule (each guarded) and rank: impact first, then savings.

    Every suggestion says how much evidence stands behind it: ``evidence["observed_s"]`` (the window it was
    seen over) and ``confidence`` (``low`` under 5 minutes or 20 calls, ``high`` from an hour and 200 calls).
    A ``low`` one carries no savings (``evidence["savings"]`` says why): they are shown only past 5 minutes
    and 20 calls.
    """
    found: list[Suggestion] = []
    for name, rule in rules.items():
        try:
            for suggestion in rule(snapshot, thresholds):
                suggestion.evidence.setdefault("observed_s", round(snapshot.window_s, 1))
                suggestion.confidence = confidence(snapshot.window_s, suggestion.evidence.get("calls"))
                if suggestion.confidence == "low" and (
                    suggestion.savings_usd_per_day or suggestion.savings_seconds_per_day
                ):
                    # A day extrapolated from seconds or a handful of calls is a guess, not an estimate.
                    suggestion.savings_usd_per_day = suggestion.savings_seconds_per_day = 0.0
                    suggestion.evidence["savings"] = SAVINGS_WITHHELD
                found.append(suggestion)
        except Exception:  # noqa: BLE001 - one broken rule must not hide the others
            log_internal_error(f"rule {name}")
    found.sort(key=lambda s: (-s.impact, -s.savings_usd_per_day, -s.savings_seconds_per_day, s.id))
    return found


def health_score(snapshot: Snapshot, thresholds: Thresholds) -> tuple[float, dict[str, float]]:
    """0–100 = 40·success + 25·latency + 15·cost + 20·resources, each component in [0, 1]:

    - success: 1 − agent errors / agent calls (LLM calls when there are no agents);
    - latency: mean over agents of min(1, slow_p95_s / p95);
    - cost: min(1, daily budget / spend projected from the last hour) (1 without a budget);
    - resources: min(1, (1 − cpu) / (1 − cpu threshold), (1 − memory) / (1 − memory threshold)).
    """
    rows = snapshot.agents or snapshot.provider_models
    calls = sum(r.count for r in rows)
    success = 1 - sum(r.error_count for r in rows) / calls if calls else 1.0
    timed = [r for r in snapshot.agents if r.count and not math.isnan(r.p95) and r.p95 > 0]
    latency = sum(min(1.0, thresholds.slow_p95_s / r.p95) for r in timed) / len(timed) if timed else 1.0
    cost = 1.0
    if snapshot.daily_budget_usd and snapshot.hourly_spend_usd:
        cost = min(1.0, snapshot.daily_budget_usd / (snapshot.hourly_spend_usd * 24))
    resources = 1.0
    res = snapshot.resources
    if res is not None:
        parts = [1.0]
        if res.process_cpu is not None:
            parts.append((1 - res.process_cpu) / max(1e-9, 1 - thresholds.cpu_utilization))
        if res.memory is not None:
            parts.append((1 - res.memory) / max(1e-9, 1 - thresholds.memory_utilization))
        resources = max(0.0, min(parts))
    components = {"success": success, "latency": latency, "cost": cost, "resources": resources}
    score = 100 * (0.40 * success + 0.25 * latency + 0.15 * cost + 0.20 * resources)
    return round(max(0.0, min(100.0, score)), 1), components
