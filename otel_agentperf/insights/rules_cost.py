"""The built-in rules about money and tokens: cheaper models, caching, prompt caching, context growth, and
budget burn. Pure functions from a ``Snapshot`` to suggestions, like every rule (see ``rules``)."""

from __future__ import annotations

import re

from .stats import Row
from .suggest import Snapshot, Suggestion, Thresholds, make

PROMPT_CACHING_PROVIDERS = frozenset({"openai", "anthropic", "gcp.gemini", "gcp.vertex_ai", "aws.bedrock", "deepseek"})


_GENERATION = re.compile(r"^([a-z]+)\D*?(\d+)(?:[.-](\d)(?!\d))?")


_SNAPSHOT_DATE = re.compile(r"(?:-\d{4}-?\d{2}-?\d{2}|-\d{4})$")


def generation(model_id: str) -> tuple[str, float] | None:
    """(family, version) of a model id: ``gpt-4o-mini`` → (gpt, 4.0), ``claude-3-5-haiku`` → (claude, 3.5),
    ``claude-haiku-4-5`` → (claude, 4.5), ``gemini-2.5-flash`` → (gemini, 2.5); ``None`` without a version."""
    match = _GENERATION.match(model_id.lower())
    if match is None:
        return None
    major, minor = match.group(2), match.group(3)
    return match.group(1), float(f"{major}.{minor or 0}")


def same_or_newer_generation(candidate: str, current: str) -> bool:
    """Whether ``candidate`` is worth suggesting instead of ``current``: not a dated snapshot when ``current``
    is not one, and not an older generation of the same family."""
    if _SNAPSHOT_DATE.search(candidate) and not _SNAPSHOT_DATE.search(current):
        return False
    new, old = generation(candidate), generation(current)
    if new is None:  # "gemini-pro" for "gemini-2.5-pro": without a version it cannot be shown to be current
        return old is None
    if old is None:
        return True
    return new[0] == old[0] and new[1] >= old[1]


_LADDERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "claude": (("opus",), ("sonnet",), ("haiku",)),
    "gpt": ((), ("mini",), ("nano",)),  # no keyword: the family's full model (gpt-4o, gpt-5, gpt-4.1)
    "gemini": (("ultra", "pro"), ("flash",), ("flash-lite", "lite", "8b")),
}
"""Each family's tiers, largest first: a downgrade goes at most one rung down (opus → sonnet, gpt-4o → mini,
pro → flash), never from a flagship straight to its smallest model."""


_NOT_CURRENT = re.compile(r"preview|experimental|-exp\b|\.ft\b|\.ft-|^ft:|:ft-")
"""Previews, experiments and fine-tune price entries: not a model to move production traffic to."""


def tier(model_id: str) -> int | None:
    """The rung of ``model_id`` on its family's ladder (0 = largest), ``None`` for a family we do not rank."""
    found = generation(model_id)
    ladder = _LADDERS.get(found[0]) if found is not None else None
    if ladder is None:
        return None
    words = set(re.split(r"[-_.:/]", model_id.lower()))
    for rung in range(len(ladder) - 1, -1, -1):  # smallest first: "flash-lite" is not "flash"
        if any(all(part in words for part in keyword.split("-")) for keyword in ladder[rung]):
            return rung
    return 0 if not ladder[0] else None


def comparable(candidate: str, current: str) -> bool:
    """Whether ``candidate`` is a current model of a comparable tier: same or newer generation, not a preview
    or a fine-tune entry, and at most one rung below ``current`` on the family's ladder."""
    if _NOT_CURRENT.search(candidate.lower()) or not same_or_newer_generation(candidate, current):
        return False
    new, old = tier(candidate), tier(current)
    return new is None or old is None or old <= new <= old + 1


EVALUATE_FIRST = (
    "Before switching, replay a sample of this agent's real prompts (50–100) on both models and compare answer "
    "quality (or run your eval suite), tool-call and output-format adherence, and p95 latency; then move a "
    "small share of traffic and watch its error rate and this cost."
)


def rule_model_downgrade(snap: Snapshot, t: Thresholds) -> list[Suggestion]:
    from ..cost.catalog import cheaper_alternatives

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
        found = snap.price_of(provider or None, model, snap.at)
        current = found.at(snap.at) if found is not None else None
        if current is None or current.output is None:
            continue
        # Never an older generation, a dated legacy snapshot, a preview or a model two tiers down:
        # "gpt-4o → gpt-3.5-turbo-1106" or "opus → haiku" is not advice.
        alternatives = [
            a
            for a in cheaper_alternatives(current, snap.at, t.downgrade_price_ratio, limit=20)
            if comparable(a.model, current.model)
        ][:3]
        if not alternatives:
            continue
        from ..cost.usage import Usage

        volume = Usage(input_tokens=row.tokens_in, output_tokens=row.tokens_out, cache_read_tokens=row.tokens_cached)
        now_usd = current.cost(volume, snap.at)
        options = [(alt, now_usd - alt.cost(volume, snap.at)) for alt in alternatives]
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
                    f"volume. Cheaper models from the same provider: {names}. {EVALUATE_FIRST}"
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
        found = snap.price_of(provider, model, snap.at) if snap.price_of else None
        prices = found.at(snap.at) if found is not None else None
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
