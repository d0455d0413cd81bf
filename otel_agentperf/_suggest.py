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

from ._errors import AgentPerfConfigError, log_internal_error, logger
from ._stats import Row

SECONDS_PER_DAY = 86_400.0
THRESHOLDS_ENV = "AGENTPERF_THRESHOLDS"
THRESHOLDS_FILE_ENV = "AGENTPERF_THRESHOLDS_FILE"
PROMPT_CACHING_PROVIDERS = frozenset({"openai", "anthropic", "gcp.gemini", "gcp.vertex_ai", "aws.bedrock", "deepseek"})


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
class Resources:
    process_cpu: float | None = None
    """Share of one machine's CPUs (0–1) used by this process."""
    memory: float | None = None
    """System memory in use (0–1)."""
    process_rss_bytes: float | None = None
    threads: float | None = None


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
    price_of: Callable[[str | None, str], Any] | None = None
    """``(provider, model) -> ModelPrices | None`` for rules that need prices."""

    def per_day(self, value: float) -> float:
        return value * SECONDS_PER_DAY / self.window_s if self.window_s > 0 else 0.0


Rule = Callable[[Snapshot, Thresholds], Sequence[Suggestion]]


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


def rule_model_downgrade(snap: Snapshot, t: Thresholds) -> list[Suggestion]:
    from ._pricing import cheaper_alternatives

    out: list[Suggestion] = []
    if snap.price_of is None:
        return out
    for row in snap.agent_models:
        agent, provider, model = row.key
        if row.count < max(t.min_calls, 10) or row.error_rate > t.downgrade_max_error_rate:
            continue
        mean_out = row.tokens_out / row.count
        if mean_out > t.downgrade_max_output_tokens:
            continue
        current = snap.price_of(provider or None, model)
        if current is None or current.output is None:
            continue
        alternatives = cheaper_alternatives(current, t.downgrade_price_ratio)
        if not alternatives:
            continue
        from ._usage import Usage

        volume = Usage(input_tokens=row.tokens_in, output_tokens=row.tokens_out, cache_read_tokens=row.tokens_cached)
        now_usd = current.cost(volume)
        options = [(alt, now_usd - alt.cost(volume)) for alt in alternatives]
        best_alt, best_saving = max(options, key=lambda o: o[1])
        usd_day = snap.per_day(best_saving)
        if usd_day < t.min_usd_per_day:
            continue
        names = ", ".join(f"{a.model} (saves ${snap.per_day(s):,.2f}/day)" for a, s in options)
        out.append(
            make(
                "model_downgrade",
                "agent",
                f"{agent or '(no agent)'}:{model}",
                title=f"{agent or 'Calls'} on {model}: short outputs, try {best_alt.model}",
                description=(
                    f"{row.count} calls averaged {mean_out:.0f} output tokens with "
                    f"{1 - row.error_rate:.1%} success, costing ${snap.per_day(now_usd):,.2f}/day at the observed "
                    f"volume. Cheaper models from the same provider: {names}. Evaluate quality on a sample first."
                ),
                impact=min(1.0, best_saving / now_usd) if now_usd else 0.0,
                complexity="low",
                usd=usd_day,
                evidence={"calls": row.count, "mean_output_tokens": mean_out, "usd_per_day_now": snap.per_day(now_usd)},
            )
        )
    return out


def _mean_of(rows: list[Row], name: str, attr: str) -> float:
    for row in rows:
        if row.key[-1] == name and row.count:
            return float(getattr(row, attr)) / row.count
    return 0.0


def rule_caching(snap: Snapshot, t: Thresholds) -> list[Suggestion]:
    out: list[Suggestion] = []
    for scope, (distinct, extra, seconds) in snap.repeats.items():
        if extra < t.repeat_min_extra_calls:
            continue
        kind, _, name = scope.partition(":")
        rows = snap.tools if kind == "tool" else snap.provider_models
        calls = sum(r.count for r in rows if r.key[-1] == name)
        mean_s = seconds / (extra + distinct) if extra + distinct else 0.0
        mean_usd = _mean_of(rows, name, "cost")
        share = extra / calls if calls else 1.0
        out.append(
            make(
                "caching",
                kind if kind == "tool" else "model",
                name,
                title=f"Cache {kind} {name!r}: {extra} identical repeated calls",
                description=(
                    f"{distinct} distinct argument sets were called again {extra} times within "
                    f"{snap.window_s / 60:.0f} min ({share:.0%} of {calls or extra + distinct} calls). "
                    f"A cache keyed on the arguments would save about {mean_s * 1000:,.0f} ms "
                    f"and ${mean_usd:.4f} per hit."
                ),
                impact=min(1.0, share * 2),
                complexity="low",
                seconds=snap.per_day(extra * mean_s),
                usd=snap.per_day(extra * mean_usd),
                evidence={"repeated_argument_sets": distinct, "extra_calls": extra, "mean_latency_s": mean_s},
            )
        )
    return out


def rule_prompt_caching(snap: Snapshot, t: Thresholds) -> list[Suggestion]:
    out: list[Suggestion] = []
    for scope, (distinct, extra, _seconds) in snap.prefixes.items():
        provider, _, model = scope.partition("/")
        if extra < t.prompt_cache_min_repeats or provider not in PROMPT_CACHING_PROVIDERS:
            continue
        row = next((r for r in snap.provider_models if r.key == (provider, model)), None)
        if row is None or not row.tokens_in:
            continue
        cached_share = row.tokens_cached / row.tokens_in
        if cached_share > t.prompt_cache_max_cached_share:
            continue
        prefix_tokens = snap.prefix_chars.get(scope, 0.0) / 4  # ~4 characters per token
        usd = 0.0
        prices = snap.price_of(provider, model) if snap.price_of else None
        if prices is not None and prices.input is not None:
            cached_rate = prices.cache_read.per_mtok if prices.cache_read is not None else prices.input.per_mtok * 0.1
            usd = snap.per_day(extra * prefix_tokens * (prices.input.per_mtok - cached_rate) / 1e6)
        out.append(
            make(
                "prompt_caching",
                "model",
                scope,
                title=f"Enable prompt caching on {model}: a long prefix repeats {extra}×, {cached_share:.0%} cached",
                description=(
                    f"The same ~{prefix_tokens:,.0f}-token prompt prefix was sent {extra + distinct} times in "
                    f"{snap.window_s / 60:.0f} min, yet only {cached_share:.0%} of input tokens were cache reads. "
                    "Put the stable part first and mark it cacheable (Anthropic cache_control; OpenAI caches "
                    "prefixes of 1024+ identical tokens automatically)."
                ),
                impact=min(1.0, 0.3 + (1 - cached_share) * 0.5),
                complexity="low",
                usd=usd,
                evidence={"repeats": extra, "cached_share": cached_share, "prefix_tokens": prefix_tokens},
            )
        )
    return out


def rule_context_bloat(snap: Snapshot, t: Thresholds) -> list[Suggestion]:
    growing: list[tuple[str, list[int]]] = []
    for cid, series in snap.conversations.items():
        if len(series) >= 4 and series[0] > 0 and series[-1] >= t.context_min_tokens:
            if series[-1] >= t.context_growth_factor * series[0]:
                growing.append((cid, series))
    if not growing:
        return []
    extra_tokens = sum(sum(s) - len(s) * s[0] for _, s in growing)
    total_in = sum(r.tokens_in for r in snap.provider_models)
    total_cost = sum(r.cost for r in snap.provider_models)
    usd_per_token = total_cost / total_in if total_in else 0.0  # blended: an upper bound (includes output)
    worst = max(growing, key=lambda g: g[1][-1] / g[1][0])
    factor = worst[1][-1] / worst[1][0]
    return [
        make(
            "context_bloat",
            "conversations",
            "conversations",
            title=f"{len(growing)} conversations grow their context up to ×{factor:.1f}: summarise or compact",
            description=(
                f"Input tokens per call grow along {len(growing)} conversations (worst: {worst[1][0]:,} → "
                f"{worst[1][-1]:,} tokens). Summarising history beyond the first turns would avoid about "
                f"{extra_tokens:,} input tokens in the window."
            ),
            impact=min(1.0, factor / 10),
            complexity="medium",
            usd=snap.per_day(extra_tokens * usd_per_token * 0.5),
            evidence={"conversations": len(growing), "worst_growth": factor, "extra_input_tokens": extra_tokens},
        )
    ]


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


def recommended_timeout(p99: float, t: Thresholds) -> float:
    return max(1.0, math.ceil(p99 * t.timeout_p99_factor * 2) / 2)


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


def rule_budget_burn(snap: Snapshot, t: Thresholds) -> list[Suggestion]:
    if snap.hourly_spend_usd is None:
        return []
    out: list[Suggestion] = []
    projected = snap.hourly_spend_usd * 24
    if snap.daily_budget_usd and projected > snap.daily_budget_usd:
        out.append(
            make(
                "budget_burn",
                "budget",
                "daily",
                title=f"Spending ${projected:,.2f}/day at the last hour's rate: budget ${snap.daily_budget_usd:,.2f}",
                description=(
                    f"The last hour cost ${snap.hourly_spend_usd:,.2f}; at that rate the day costs ${projected:,.2f}, "
                    f"{projected / snap.daily_budget_usd:.1f}× the daily budget. Apply the model-downgrade and caching "
                    "suggestions first, or lower traffic."
                ),
                impact=min(1.0, projected / snap.daily_budget_usd - 1 + 0.4),
                usd=projected - snap.daily_budget_usd,
                evidence={"hourly_spend_usd": snap.hourly_spend_usd, "projected_usd_per_day": projected},
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


def evaluate(snapshot: Snapshot, thresholds: Thresholds, rules: Mapping[str, Rule]) -> list[Suggestion]:
    """Run every rule (each guarded) and rank: impact first, then savings."""
    found: list[Suggestion] = []
    for name, rule in rules.items():
        try:
            found.extend(rule(snapshot, thresholds))
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
