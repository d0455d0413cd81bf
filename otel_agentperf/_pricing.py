"""Prices per token, from the bundled ``genai-prices`` data and user overrides; cost arithmetic.

Nothing here touches the network. ``genai-prices`` is imported lazily (it takes ~250 ms with its data),
on the first lookup or by ``warm_up()`` from a background thread at ``configure()``. A model is resolved
once — normalised id, provider, price record — and cached; afterwards pricing a call is a dictionary hit
and a few multiplications. An unknown model resolves to ``None``: no cost, never a made-up 0.

Arithmetic follows ``genai-prices`` (and the GenAI conventions): ``input_tokens`` includes cache reads
and writes, which are billed at their own rates only when the model has such a rate (otherwise they stay
in the input at the input rate); ``output_tokens`` includes reasoning tokens; a tiered price applies the
tier's rate to all tokens of that kind once the request's total input tokens exceed the tier start.

Some prices depend on the time of the request (DeepSeek's off-peak hours, dated price changes). Nothing
here reads the wall clock on its own: every lookup and every cost takes the call's time (``at``, seconds
since the epoch), so the same call is priced the same whenever it is computed, and tests pin the time.
A model whose price changes within a UTC day carries its day split into ``windows``.
"""

from __future__ import annotations

import math
import os
import re
import threading
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, cast

from ._errors import AgentPerfConfigError, logger, warn_once
from ._usage import Usage

PRICES_FILE_ENV = "AGENTPERF_PRICES_FILE"
_MAX_CACHE = 2048
_DAY_S = 86_400

# OpenTelemetry provider names (gen_ai.provider.name) → genai-prices provider ids.
PROVIDER_IDS: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "aws.bedrock": "aws",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "az.ai.openai": "azure",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "google": "google",
    "mistral_ai": "mistral",
    "mistral": "mistral",
    "x_ai": "x-ai",
    "xai": "x-ai",
    "groq": "groq",
    "deepseek": "deepseek",
    "cohere": "cohere",
    "perplexity": "perplexity",
    "moonshot_ai": "moonshotai",
    "openrouter": "openrouter",
    "together": "together",
    "together_ai": "together",
    "fireworks": "fireworks",
    "cerebras": "cerebras",
    "aws": "aws",
    "azure": "azure",
}
# Prefixes seen in ``provider/model`` ids (LiteLLM, gateways) → genai-prices provider ids.
_PREFIXES: dict[str, str] = {
    **PROVIDER_IDS,
    "bedrock": "aws",
    "vertex_ai": "google",
    "gemini": "google",
    "google": "google",
    "azure": "azure",
    "mistralai": "mistral",
    "x-ai": "x-ai",
    "meta-llama": "meta",
}
_ARN = re.compile(r"^arn:aws[\w-]*:bedrock:[^:]*:[^:]*:(?:[\w-]+)/(.+)$")
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$")
_BEDROCK_REGION = re.compile(r"^(?:us|eu|apac|ap|ca|sa|jp|au|us-gov|global)\.(?=[a-z0-9-]+\.)")
_DATE_SUFFIX = re.compile(r"(?:[-@]\d{4}-?\d{2}-?\d{2}|-\d{4})$")


@dataclass(frozen=True)
class Tier:
    start: int
    per_mtok: float


@dataclass(frozen=True)
class Rate:
    """A price per million tokens, possibly tiered by the request's total input tokens."""

    per_mtok: float
    tiers: tuple[Tier, ...] = ()

    def at(self, total_input: int) -> float:
        for tier in reversed(self.tiers):  # ascending starts: the highest tier crossed wins
            if total_input > tier.start:
                return tier.per_mtok
        return self.per_mtok


@dataclass(frozen=True)
class ModelPrices:
    """What one model costs; ``source`` says where the numbers come from."""

    model: str
    provider: str | None
    input: Rate | None
    output: Rate | None
    cache_read: Rate | None = None
    cache_write: Rate | None = None
    reasoning: Rate | None = None
    per_request: float = 0.0
    source: str = "override"
    # Time-of-day prices: the UTC day split into windows, each with its own flat-rate ``ModelPrices``.
    windows: tuple[PriceWindow, ...] = ()

    def at(self, when: float) -> ModelPrices:
        """The flat rates in force at ``when`` (seconds since the epoch)."""
        if not self.windows:
            return self
        second = int(when) % _DAY_S
        index = bisect_right([w.start_s for w in self.windows], second) - 1
        return self.windows[index].prices

    def window_at(self, when: float) -> str | None:
        """The label of the time-of-day window in force at ``when`` (``None`` for a flat price)."""
        if not self.windows:
            return None
        second = int(when) % _DAY_S
        index = bisect_right([w.start_s for w in self.windows], second) - 1
        return self.windows[index].label

    def cost(self, usage: Usage, at: float) -> float:
        """USD for one call made at ``at`` (seconds since the epoch).

        Inconsistent counts (cache above input) are clamped with a warning.
        """
        if self.windows:
            return self.at(at).cost(usage, at)
        total_in = usage.input_tokens or 0
        out = usage.output_tokens or 0
        # Cached and reasoning tokens leave the plain rate only when the model has a rate for them.
        read = (usage.cache_read_tokens or 0) if self.cache_read is not None else 0
        write = (usage.cache_write_tokens or 0) if self.cache_write is not None else 0
        reasoning = (usage.reasoning_tokens or 0) if self.reasoning is not None else 0
        uncached = total_in - read - write
        if uncached < 0:
            warn_once(
                f"cache-above-input:{self.model}",
                "otel_agentperf: cached tokens exceed input tokens for %s",
                self.model,
            )
            uncached = 0
        plain_out = out - reasoning
        if plain_out < 0:
            plain_out = 0
        usd = 0.0
        if self.input is not None:
            usd += uncached * self.input.at(total_in)
        if self.cache_read is not None:
            usd += read * self.cache_read.at(total_in)
        if self.cache_write is not None:
            usd += write * self.cache_write.at(total_in)
        if self.output is not None:
            usd += plain_out * self.output.at(total_in)
        if self.reasoning is not None:
            usd += reasoning * self.reasoning.at(total_in)
        return usd / 1_000_000 + self.per_request


@dataclass(frozen=True)
class PriceWindow:
    """A part of the UTC day, from ``start_s`` (seconds after midnight) to the next window's start."""

    start_s: int
    label: str
    prices: ModelPrices


class PriceBook:
    """Resolves (provider, model) to ``ModelPrices`` through overrides, aliases and genai-prices; cached."""

    def __init__(
        self,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self._overrides: dict[str, ModelPrices] = {}
        self._aliases = {k.lower(): v for k, v in (aliases or {}).items()}
        # (provider, model) -> (prices, UTC day they were resolved for): dated changes apply at day bounds.
        self._cache: dict[tuple[str | None, str], tuple[ModelPrices | None, int]] = {}
        self._lock = threading.Lock()
        self.uncached_lookups = 0
        file_path = os.environ.get(PRICES_FILE_ENV)
        if file_path:
            try:
                for key, spec in load_prices_file(file_path).items():
                    self._overrides[key.lower()] = parse_override(key, spec, source=f"file {file_path}")
            except (OSError, ValueError) as exc:
                logger.warning("otel_agentperf: ignoring %s=%s: %s", PRICES_FILE_ENV, file_path, exc)
        for key, spec in (overrides or {}).items():  # arguments win over the file
            self._overrides[key.lower()] = parse_override(key, spec, source="configure(prices=...)")

    def lookup(self, provider: str | None, model: str, at: float) -> ModelPrices | None:
        """The prices for a model id as reported or requested, on the UTC day of ``at``; ``None`` if unknown.

        ``at`` is the call's time in seconds since the epoch. Price the call with ``cost(usage, at)`` so that
        time-of-day windows apply too.
        """
        key = (provider, model)
        day = int(at // _DAY_S)
        hit = self._cache.get(key)
        if hit is not None and hit[1] == day:
            return hit[0]
        prices = self._resolve(provider, model, day)
        with self._lock:
            if key not in self._cache and len(self._cache) >= _MAX_CACHE:
                self._cache.pop(next(iter(self._cache)))  # oldest first: dicts keep insertion order
            self._cache[key] = (prices, day)
        return prices

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def _resolve(self, provider: str | None, model: str, day: int) -> ModelPrices | None:
        self.uncached_lookups += 1
        for provider_id, ref in candidates(provider, model, self._aliases):
            override = self._overrides.get(ref.lower()) or (
                self._overrides.get(f"{provider_id}/{ref}".lower()) if provider_id else None
            )
            if override is not None:
                return override
        for provider_id, ref in candidates(provider, model, self._aliases):
            found = _from_genai_prices(provider_id, ref, day)
            if found is not None:
                return found
        return None


def candidates(provider: str | None, model: str, aliases: Mapping[str, str]) -> list[tuple[str | None, str]]:
    """The (genai-prices provider id, model ref) pairs to try, most specific first."""
    provider_id = PROVIDER_IDS.get(provider.lower()) if provider else None
    ref = model.strip()
    ref = aliases.get(ref.lower(), ref)  # e.g. Azure deployment names
    out: list[tuple[str | None, str]] = []

    def add(pid: str | None, r: str) -> None:
        if r and (pid, r) not in out:
            out.append((pid, r))

    arn = _ARN.match(ref)
    if arn:
        ref = arn.group(1)
        provider_id = provider_id or "aws"
    add(provider_id, ref)
    if "/" in ref and provider_id != "openrouter":
        prefix, rest = ref.split("/", 1)
        mapped = _PREFIXES.get(prefix.lower())
        if mapped:
            add(mapped, rest)
            provider_id = provider_id or mapped
            ref = rest
    if provider_id == "aws" or _BEDROCK_REGION.match(ref) or ref.startswith(("anthropic.", "meta.", "amazon.")):
        bare = _BEDROCK_REGION.sub("", ref)
        add("aws", bare)
        vendor, _, name = bare.partition(".")
        if name:
            add(_PREFIXES.get(vendor), _BEDROCK_VERSION.sub("", name))
    undated = _DATE_SUFFIX.sub("", ref)
    if undated != ref:
        add(provider_id, undated)
    if provider_id is not None:
        add(None, ref)
    return out


def _from_genai_prices(provider_id: str | None, ref: str, day: int) -> ModelPrices | None:
    """The genai-prices record of ``ref`` as it stands on UTC day ``day`` (days since the epoch)."""
    from genai_prices.data_snapshot import get_snapshot
    from genai_prices.types import TimeOfDateConstraint

    try:
        provider, info = get_snapshot().find_provider_model(ref, None, provider_id, None)
    except LookupError:
        return None
    source = f"genai-prices {_genai_prices_version()} ({provider.id}/{info.id})"
    midnight = day * _DAY_S
    # Where the price changes within the day: every start and end of a time-of-day condition.
    bounds = {0}
    for conditional in info.prices if isinstance(info.prices, list) else ():
        constraint = conditional.constraint
        if isinstance(constraint, TimeOfDateConstraint):
            for t in (constraint.start_time, constraint.end_time):
                at = datetime.combine(datetime(1970, 1, 1).date(), t)
                utc = (at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
                bounds.add((utc.hour * 3600 + utc.minute * 60 + utc.second) % _DAY_S)
    starts = sorted(bounds)
    flat = [
        _flat_prices(info.get_prices(datetime.fromtimestamp(midnight + start, tz=timezone.utc)), info.id, provider.id)
        for start in starts
    ]
    if len(set(flat)) == 1:
        return replace(flat[0], source=source)
    # Merge neighbours with equal rates (the last window wraps around midnight into the first).
    merged: list[tuple[int, ModelPrices]] = []
    for start, prices in zip(starts, flat, strict=True):
        if not merged or merged[-1][1] != prices:
            merged.append((start, prices))
    ends = [s for s, _ in merged[1:]] + [merged[0][0] + _DAY_S]
    wraps = len(merged) > 1 and merged[0][1] == merged[-1][1]

    def label(index: int) -> str:
        start = merged[index][0]
        end = ends[index]
        if wraps and index == len(merged) - 1:
            end = ends[0] + _DAY_S
        elif wraps and index == 0:
            start = merged[-1][0]
        return f"{_hhmm(start)}-{_hhmm(end)} UTC"

    windows = tuple(
        PriceWindow(start, label(i), replace(prices, source=f"{source} {label(i)}"))
        for i, (start, prices) in enumerate(merged)
    )
    return replace(windows[0].prices, source=source, windows=windows)


def _hhmm(second: int) -> str:
    second %= _DAY_S
    return f"{second // 3600:02d}:{second % 3600 // 60:02d}"


def _flat_prices(price: Any, model: str, provider: str) -> ModelPrices:
    from genai_prices.types import TieredPrices

    def rate(key: str) -> Rate | None:
        value = getattr(price, key, None)
        if value is None:
            return None
        if isinstance(value, TieredPrices):
            return Rate(float(value.base), tuple(Tier(t.start, float(t.price)) for t in value.tiers))
        return Rate(float(value))

    per_request = getattr(price, "requests_kcount", None)
    return ModelPrices(
        model=model,
        provider=provider,
        input=rate("input_mtok"),
        output=rate("output_mtok"),
        cache_read=rate("cache_read_mtok"),
        cache_write=rate("cache_write_mtok"),
        reasoning=rate("output_reasoning_mtok"),
        per_request=float(per_request) / 1000 if per_request is not None else 0.0,
        source="",
    )


def _genai_prices_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("genai-prices")
    except PackageNotFoundError:
        return "?"


_OVERRIDE_KEYS = {"input", "output", "cache_read", "cache_write", "reasoning", "per_request"}


def parse_override(model: str, spec: Mapping[str, Any], *, source: str) -> ModelPrices:
    """A user price: ``{"input": 0.5, "output": 1.5, "cache_read": 0.05}`` in USD per million tokens."""
    given = cast(object, spec)
    if not isinstance(given, Mapping):
        raise AgentPerfConfigError(f"price for {model!r} must be a mapping, got {type(spec).__name__}")
    unknown = set(spec) - _OVERRIDE_KEYS
    if unknown:
        raise AgentPerfConfigError(f"price for {model!r}: unknown keys {sorted(unknown)}; use {sorted(_OVERRIDE_KEYS)}")

    def rate(key: str) -> Rate | None:
        value = spec.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise AgentPerfConfigError(f"price for {model!r}: {key} must be a non-negative number, got {value!r}")
        return Rate(float(value))

    per_request = rate("per_request")
    if rate("input") is None and rate("output") is None:
        raise AgentPerfConfigError(f"price for {model!r} needs at least 'input' or 'output'")
    return ModelPrices(
        model=model,
        provider=None,
        input=rate("input"),
        output=rate("output"),
        cache_read=rate("cache_read"),
        cache_write=rate("cache_write"),
        reasoning=rate("reasoning"),
        per_request=per_request.per_mtok if per_request else 0.0,
        source=source,
    )


def load_prices_file(path: str) -> dict[str, Any]:
    """Read overrides from TOML (``[models."my-model"] input = 0.5``) or YAML (``models: {...}``)."""
    with open(path, "rb") as f:
        raw = f.read()
    if path.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError as exc:
            raise ValueError("YAML price files need PyYAML (pip install pyyaml); TOML needs nothing") from exc
        data: Any = yaml.safe_load(raw)
    else:
        try:
            import tomllib
        except ImportError as exc:  # Python 3.10
            raise ValueError("TOML price files need Python 3.11+ (or use YAML with PyYAML)") from exc
        data = tomllib.loads(raw.decode())
    if not isinstance(data, dict):
        raise ValueError("expected a table of models")
    table = cast("dict[str, Any]", data)
    models: object = table.get("models", table)
    if not isinstance(models, dict):
        raise ValueError("expected a table of models")
    return dict(cast("dict[str, Any]", models))


def warm_up() -> None:
    """Import the bundled price data now (from a background thread) so the first priced call is not slow."""
    try:
        _from_genai_prices("openai", "gpt-4o-mini", 0)
    except Exception:  # noqa: BLE001 - warming up is an optimisation only
        logger.debug("otel_agentperf: price data warm-up failed", exc_info=True)


def refresh_from_network(url: str | None) -> bool:
    """Fetch the latest genai-prices data (the only network access, and only when asked)."""
    from genai_prices.data_snapshot import set_custom_snapshot
    from genai_prices.update_prices import UpdatePrices

    updater = UpdatePrices(url=url) if url else UpdatePrices()
    try:
        snapshot = updater.fetch()
    except Exception as exc:  # noqa: BLE001 - a failed refresh keeps the bundled prices
        logger.warning("otel_agentperf: price refresh failed, keeping the current prices: %s", exc)
        return False
    if snapshot is None:
        return False
    set_custom_snapshot(snapshot)
    return True


_NOT_CHAT = re.compile(
    r"audio|tts|image|realtime|transcri|embed|search|vision|ocr|live|robotic|ft:|instruct|computer|codex|"
    r"banana|moderation|whisper|dall|:free|:extended"
)
_FAMILY = re.compile(r"^[a-z]+")


def family(model_id: str) -> str:
    match = _FAMILY.match(model_id.lower())
    return match.group(0) if match else model_id.lower()


def cheaper_alternatives(prices: ModelPrices, at: float, max_ratio: float = 0.5, limit: int = 3) -> list[ModelPrices]:
    """Chat models of the same provider and family whose input and output rates at ``at`` are both at most
    ``max_ratio`` of ``prices``, closest in price first (the likeliest to be capable enough)."""
    prices = prices.at(at)
    if prices.provider is None or prices.input is None or prices.output is None:
        return []
    from genai_prices.data_snapshot import get_snapshot

    snapshot = get_snapshot()
    provider = next((p for p in snapshot.providers if p.id == prices.provider), None)
    if provider is None:
        return []
    wanted = family(prices.model)
    found: list[ModelPrices] = []
    for info in provider.models:
        if info.deprecated or info.id == prices.model or family(info.id) != wanted or _NOT_CHAT.search(info.id):
            continue
        resolved = _from_genai_prices(provider.id, info.id, int(at // _DAY_S))
        candidate = resolved.at(at) if resolved is not None else None
        if candidate is None or candidate.input is None or candidate.output is None:
            continue
        if (
            candidate.input.per_mtok <= prices.input.per_mtok * max_ratio
            and candidate.output.per_mtok <= prices.output.per_mtok * max_ratio
            and candidate.output.per_mtok > 0
        ):
            found.append(candidate)
    found.sort(key=lambda c: -(c.input.per_mtok + c.output.per_mtok if c.input and c.output else 0.0))
    unique: list[ModelPrices] = []
    for candidate in found:
        if all(candidate.model != u.model for u in unique):
            unique.append(candidate)
    return unique[:limit]
