"""The bundled ``genai-prices`` data: a model's prices on a given day, cheaper models of a family, and
the explicit refresh from the network (the only network access, and only when asked).

``genai-prices`` is imported lazily (~250 ms with its data), on the first lookup or by ``warm_up()`` from
a background thread started by ``configure()``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from .._errors import logger
from .prices import DAY_S, ModelPrices, PriceWindow, Rate, Tier


def from_genai_prices(provider_id: str | None, ref: str, day: int) -> ModelPrices | None:
    """The genai-prices record of ``ref`` as it stands on UTC day ``day`` (days since the epoch)."""
    from genai_prices.data_snapshot import get_snapshot
    from genai_prices.types import TimeOfDateConstraint

    try:
        provider, info = get_snapshot().find_provider_model(ref, None, provider_id, None)
    except LookupError:
        return None
    source = f"genai-prices {_genai_prices_version()} ({provider.id}/{info.id})"
    midnight = day * DAY_S
    # Where the price changes within the day: every start and end of a time-of-day condition.
    bounds = {0}
    for conditional in info.prices if isinstance(info.prices, list) else ():
        constraint = conditional.constraint
        if isinstance(constraint, TimeOfDateConstraint):
            for t in (constraint.start_time, constraint.end_time):
                at = datetime.combine(datetime(1970, 1, 1).date(), t)
                utc = (at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
                bounds.add((utc.hour * 3600 + utc.minute * 60 + utc.second) % DAY_S)
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
    ends = [s for s, _ in merged[1:]] + [merged[0][0] + DAY_S]
    wraps = len(merged) > 1 and merged[0][1] == merged[-1][1]

    def label(index: int) -> str:
        start = merged[index][0]
        end = ends[index]
        if wraps and index == len(merged) - 1:
            end = ends[0] + DAY_S
        elif wraps and index == 0:
            start = merged[-1][0]
        return f"{_hhmm(start)}-{_hhmm(end)} UTC"

    windows = tuple(
        PriceWindow(start, label(i), replace(prices, source=f"{source} {label(i)}"))
        for i, (start, prices) in enumerate(merged)
    )
    return replace(windows[0].prices, source=source, windows=windows)


def _hhmm(second: int) -> str:
    second %= DAY_S
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


def warm_up() -> None:
    """Import the bundled price data now (from a background thread) so the first priced call is not slow."""
    try:
        from_genai_prices("openai", "gpt-4o-mini", 0)
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
        resolved = from_genai_prices(provider.id, info.id, int(at // DAY_S))
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
