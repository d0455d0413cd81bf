"""The built-in suggestion rules: each a small pure function from a ``Snapshot`` to suggestions. Latency,
errors, timeouts and resources here; money and tokens in ``rules_cost``; ``BUILTIN_RULES`` lists them all.

Shared by the in-process engine (``ap.suggestions()``) and ``agentperf suggest`` on exported metrics.
"""

from __future__ import annotations

import math

from .rules_cost import (
    rule_budget_burn,
    rule_caching,
    rule_context_bloat,
    rule_model_downgrade,
    rule_prompt_caching,
    same_or_newer_generation,
)
from .stats import Row
from .suggest import Rule, Snapshot, Suggestion, Thresholds, make, recommended_timeout

__all__ = [
    "BUILTIN_RULES",
    "rule_budget_burn",
    "rule_caching",
    "rule_context_bloat",
    "rule_error_prone",
    "rule_model_downgrade",
    "rule_prompt_caching",
    "rule_resources",
    "rule_slow",
    "rule_timeout_fit",
    "same_or_newer_generation",
]


def _share(children: dict[str, float]) -> str:
    total = sum(children.values())
    if not total:
        return "no traced children"
    top = sorted(children.items(), key=lambda kv: -kv[1])[:3]
    return ", ".join(f"{name} {seconds / total:.0%}" for name, seconds in top)


def rule_slow(snap: Snapshot, t: Thresholds) -> list[Suggestion]:
    out: list[Suggestion] = []
    tables: list[tuple[str, list[Row]]] = [
        ("agent", snap.agents),
        ("tool", snap.tools),
        ("model", snap.provider_models),
    ]
    for kind, rows in tables:
        for row in rows:
            if row.count < t.min_calls or math.isnan(row.p95) or row.p95 <= t.slow_p95_s:
                continue
            name = row.key[-1] if kind != "model" else "/".join(k for k in row.key if k)
            over = row.p95 - t.slow_p95_s
            # If the slowest 5 % were brought down to the target, each saves at least p95 − target.
            seconds = snap.per_day(0.05 * row.count * over)
            breakdown = f" Time goes to: {_share(row.children)}." if kind == "agent" else ""
            out.append(
                make(
                    "slow",
                    kind,
                    name,
                    title=f"{kind.capitalize()} {name!r} is slow: p95 {row.p95:.2f} s (target {t.slow_p95_s:g} s)",
                    description=(
                        f"Over the last {snap.window_s / 60:.0f} min, {row.count} calls had p50 {row.p50:.2f} s, "
                        f"p95 {row.p95:.2f} s, p99 {row.p99:.2f} s.{breakdown} Parallelise independent steps, "
                        "stream, cache, or use a faster model for the dominant step."
                    ),
                    impact=over / t.slow_p95_s if t.slow_p95_s else 1.0,
                    seconds=seconds,
                    evidence={"calls": row.count, "p50_s": row.p50, "p95_s": row.p95, "p99_s": row.p99},
                )
            )
    return out


def rule_error_prone(snap: Snapshot, t: Thresholds) -> list[Suggestion]:
    out: list[Suggestion] = []
    tables: list[tuple[str, list[Row]]] = [
        ("model", snap.provider_models),
        ("tool", snap.tools),
        ("agent", snap.agents),
    ]
    for kind, rows in tables:
        for row in rows:
            if row.count < max(t.min_calls, 10) or row.error_rate <= t.error_rate:
                continue
            name = "/".join(k for k in row.key if k) if kind == "model" else row.key[-1]
            top = ", ".join(f"{k} ×{v}" for k, v in sorted(row.errors.items(), key=lambda kv: -kv[1])[:3])
            fix = (
                "add a fallback provider/model and retries with backoff"
                if kind == "model"
                else "add retries with backoff, a timeout and a fallback"
            )
            out.append(
                make(
                    "error_prone",
                    kind,
                    name,
                    title=f"{kind.capitalize()} {name!r} fails {row.error_rate:.0%} of calls",
                    description=f"{row.error_count} of {row.count} calls failed ({top}); {fix}.",
                    impact=min(1.0, row.error_rate * 3),
                    complexity="medium",
                    seconds=snap.per_day(
                        row.error_count * (row.mean_seconds if not math.isnan(row.mean_seconds) else 0.0)
                    ),
                    usd=snap.per_day(row.cost * row.error_rate),
                    evidence={"calls": row.count, "errors": row.error_count, "error_rate": row.error_rate},
                )
            )
    for row in snap.agents:
        if row.retries >= t.retries_per_window:
            out.append(
                make(
                    "retry_loop",
                    "agent",
                    row.key[-1],
                    title=f"Agent {row.key[-1]!r} retries failed calls {row.retries} times",
                    description=(
                        f"Inside {row.count} invocations, {row.retries} calls repeated a call that had just failed. "
                        "Cap retries, add jittered backoff, and fall back to another model or tool after the "
                        "first failure."
                    ),
                    impact=min(1.0, row.retries / max(row.count, 1)),
                    complexity="low",
                    evidence={"invocations": row.count, "retries": row.retries},
                )
            )
    return out


def rule_timeout_fit(snap: Snapshot, t: Thresholds) -> list[Suggestion]:
    out: list[Suggestion] = []
    lookup: dict[str, Row] = {}
    for row in snap.tools:
        lookup[f"tool:{row.key[-1]}"] = row
    for row in snap.agents:
        lookup[f"agent:{row.key[-1]}"] = row
    for row in snap.provider_models:
        lookup[f"model:{row.key[-1]}"] = row
    for scope, configured in snap.timeouts.items():
        row = lookup.get(scope)
        if row is None or row.count < t.min_calls or math.isnan(row.p99):
            continue
        recommended = recommended_timeout(row.p99, t)
        if configured < row.p99:
            problem = f"cuts off calls: p99 is {row.p99:.2f} s"
            impact = 0.8
        elif configured > 4 * recommended:
            problem = f"waits far too long for hung calls: p99 is only {row.p99:.2f} s"
            impact = 0.4
        else:
            continue
        out.append(
            make(
                "timeout_fit",
                scope.partition(":")[0],
                scope.partition(":")[2],
                title=f"Timeout of {scope} is {configured:g} s: set {recommended:g} s",
                description=(
                    f"The configured {configured:g} s timeout {problem} (p95 {row.p95:.2f} s, {row.count} calls)."
                ),
                impact=impact,
                complexity="low",
                evidence={"configured_s": configured, "recommended_s": recommended, "p99_s": row.p99},
            )
        )
    return out


def rule_resources(snap: Snapshot, t: Thresholds) -> list[Suggestion]:
    res = snap.resources
    if res is None or not any(r.count for r in snap.agents):
        return []
    out: list[Suggestion] = []
    if res.process_cpu is not None and res.process_cpu > t.cpu_utilization:
        out.append(
            make(
                "resource_contention",
                "process",
                "cpu",
                title=f"CPU at {res.process_cpu:.0%} while agents run: lower concurrency",
                description=(
                    f"This process uses {res.process_cpu:.0%} of the machine's CPUs "
                    f"(threshold {t.cpu_utilization:.0%}). "
                    "Agents wait for CPU, which inflates latency: reduce concurrent tasks or move parsing and "
                    "embedding work out of the event loop."
                ),
                impact=min(1.0, (res.process_cpu - t.cpu_utilization) / max(1e-9, 1 - t.cpu_utilization) + 0.3),
                evidence={"process_cpu": res.process_cpu},
            )
        )
    if res.memory is not None and res.memory > t.memory_utilization:
        out.append(
            make(
                "resource_contention",
                "process",
                "memory",
                title=f"Memory at {res.memory:.0%} while agents run: lower concurrency",
                description=(
                    f"System memory is {res.memory:.0%} used (threshold {t.memory_utilization:.0%})"
                    + (
                        f"; this process holds {res.process_rss_bytes / 2**20:,.0f} MiB"
                        if res.process_rss_bytes
                        else ""
                    )
                    + ". Bound in-flight requests and conversation histories."
                ),
                impact=min(1.0, (res.memory - t.memory_utilization) / max(1e-9, 1 - t.memory_utilization) + 0.3),
                evidence={"memory": res.memory},
            )
        )
    return out


BUILTIN_RULES: dict[str, Rule] = {
    "slow": rule_slow,
    "model_downgrade": rule_model_downgrade,
    "caching": rule_caching,
    "prompt_caching": rule_prompt_caching,
    "context_bloat": rule_context_bloat,
    "error_prone": rule_error_prone,
    "timeout_fit": rule_timeout_fit,
    "resource_contention": rule_resources,
    "budget_burn": rule_budget_burn,
}
