"""The price book: (provider, model) as an application reports it → ``ModelPrices``, through user
overrides (arguments, a TOML/YAML file), aliases, id normalisation and the bundled ``genai-prices`` data.

Nothing here touches the network. A model is resolved
once — normalised id, provider, price record — and cached; afterwards pricing a call is a dictionary hit
and a few multiplications. An unknown model resolves to ``None``: no cost, never a made-up 0.

Some prices depend on the time of the request (DeepSeek's off-peak hours, dated price changes). Nothing
here reads the wall clock on its own: every lookup and every cost takes the call's time (``at``, seconds
since the epoch), so the same call is priced the same whenever it is computed, and tests pin the time.
A model whose price changes within a UTC day carries its day split into ``windows``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from typing import Any, cast

from .._errors import AgentPerfConfigError, logger
from .._locks import new_lock
from .catalog import from_genai_prices
from .prices import DAY_S, ModelPrices, Rate

PRICES_FILE_ENV = "AGENTPERF_PRICES_FILE"
_MAX_CACHE = 2048

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
        self._lock = new_lock()
        self.uncached_lookups = 0
        self.evicted = 0  # cache entries dropped to make room (distinct model ids beyond the bound)
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
        day = int(at // DAY_S)
        hit = self._cache.get(key)
        if hit is not None and hit[1] == day:
            return hit[0]
        prices = self._resolve(provider, model, day)
        with self._lock:
            if key not in self._cache and len(self._cache) >= _MAX_CACHE:
                self._cache.pop(next(iter(self._cache)))  # oldest first: dicts keep insertion order
                self.evicted += 1
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
            found = from_genai_prices(provider_id, ref, day)
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
