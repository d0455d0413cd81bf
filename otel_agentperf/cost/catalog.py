"""The bundled ``genai-prices`` data: a model's prices on a given day, cheaper models of a family, and
the explicit refresh from the network (the only network access, and only when asked).

Only the public API of ``genai-prices`` is used (``genai_prices.__all__``: ``calc_price``, ``Usage``,
``UpdatePrices``, ``__version__``) and the objects it returns: ``calc_price`` of an empty usage finds a
model the way genai-prices prices a call, and its result carries the model (with every conditional price:
dated changes, time-of-day windows, tiers) and the provider (with its models). That lookup runs once per
model and UTC day (``PriceBook`` caches the result); pricing a call never calls into genai-prices.

``genai-prices`` is imported lazily (~250 ms with its data), on the first lookup or by ``warm_up()`` from
a background thread started by ``configure()``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from datetime import UTC, datetime, time
from typing import Any

from .._errors import logger, warn_once
from .prices import DAY_S, ModelPrices, PriceWindow, Rate, Tier

REFRESH_TIMEOUT_S = 60.0
"""How long ``refresh_from_network`` waits for the fetch (each HTTP request has genai-prices' own timeout)."""

# The providers of the models looked up so far, by id (the newest data wins): cheaper_alternatives()
# lists a provider's models without a second lookup.
_providers: dict[str, Any] = {}

MAX_DISTINCT_REFS = 10_000
"""Distinct model ids asked of genai-prices per process: it caches every id it is asked about, for good
(~330 B each), so a stream of made-up ids (a per-request deployment name) would grow memory without end.
Past the limit a new id is left unpriced (counted in ``refused_refs``, one warning)."""
_asked: set[tuple[str | None, str]] = set()
refused_refs: int = 0


def _calculation(provider_id: str | None, ref: str, when: datetime):
    """genai-prices' own lookup of ``ref`` (``calc_price`` of an empty usage), or ``None`` if unknown.

    The result's ``.model`` and ``.provider`` are what genai-prices would price a call of ``ref`` with.
    """
    from genai_prices import Usage, calc_price

    global refused_refs
    key = (provider_id, ref)
    if key not in _asked:
        if len(_asked) >= MAX_DISTINCT_REFS:
            refused_refs += 1
            warn_once(
                "genai-prices:full",
                "otel_agentperf: %d distinct model ids were looked up already; new ones are left unpriced "
                "(set prices=... or model_aliases=... in configure() for them)",
                MAX_DISTINCT_REFS,
            )
            return None
        _asked.add(key)
    try:
        found = calc_price(Usage(), ref, provider_id=provider_id, genai_request_timestamp=when)
    except LookupError:
        return None
    _providers[found.provider.id] = found.provider
    return found


def from_genai_prices(provider_id: str | None, ref: str, day: int) -> ModelPrices | None:
    """The genai-prices record of ``ref`` as it stands on UTC day ``day`` (days since the epoch)."""
    midnight = day * DAY_S
    found = _calculation(provider_id, ref, datetime.fromtimestamp(midnight, tz=UTC))
    if found is None:
        return None
    provider, info = found.provider, found.model
    source = f"genai-prices {_genai_prices_version()} ({provider.id}/{info.id})"
    # Where the price changes within the day: every start and end of a time-of-day condition.
    bounds = {0}
    for conditional in info.prices if isinstance(info.prices, list) else ():
        constraint: object = conditional.constraint
        for t in (getattr(constraint, "start_time", None), getattr(constraint, "end_time", None)):
            if isinstance(t, time):
                at = datetime.combine(datetime(1970, 1, 1).date(), t)
                utc = (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(UTC)
                bounds.add((utc.hour * 3600 + utc.minute * 60 + utc.second) % DAY_S)
    starts = sorted(bounds)
    flat = [
        _flat_prices(info.get_prices(datetime.fromtimestamp(midnight + start, tz=UTC)), info.id, provider.id)
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


def _flat_prices(price: object, model: str, provider: str) -> ModelPrices:
    def rate(key: str) -> Rate | None:
        value: Any = getattr(price, key, None)
        if value is None:
            return None
        tiers: Any = getattr(value, "tiers", None)
        if tiers is not None:  # genai-prices' TieredPrices: a base price and tiers by total input tokens
            return Rate(float(value.base), tuple(Tier(int(t.start), float(t.price)) for t in tiers))
        return Rate(float(value))

    per_request: Any = getattr(price, "requests_kcount", None)
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
    try:
        from genai_prices import __version__
    except ImportError:
        return "?"
    return __version__


def warm_up() -> None:
    """Import the bundled price data now (from a background thread) so the first priced call is not slow."""
    try:
        from_genai_prices("openai", "gpt-4o-mini", 0)
    except Exception:  # noqa: BLE001 - warming up is an optimisation only
        logger.debug("otel_agentperf: price data warm-up failed", exc_info=True)


def refresh_from_network(url: str | None) -> bool:
    """Fetch the latest genai-prices data (the only network access, and only when asked).

    Through genai-prices' ``UpdatePrices``: started, it fetches at once in its background task and puts
    what it fetched in use (for every later lookup, also after ``stop()``); we wait for that first fetch
    and stop. If an ``UpdatePrices`` of the application is already running, genai-prices shares its task:
    the wait then reports that task's latest fetch instead of starting a new one.
    """
    from genai_prices import UpdatePrices

    updater = UpdatePrices(url=url) if url else UpdatePrices()
    before = set(threading.enumerate())
    try:
        updater.start()
        started = [t for t in threading.enumerate() if t not in before and t.name.startswith("genai_prices")]
        try:
            updated = updater.wait(timeout=REFRESH_TIMEOUT_S)
        finally:
            updater.stop()
            # The task we started ends once stopped. Let it: a refresh right after this one would otherwise
            # share it and be told this fetch's outcome.
            for thread in started:
                thread.join(timeout=5.0)
    except Exception as exc:  # noqa: BLE001 - a failed refresh keeps the bundled prices
        logger.warning("otel_agentperf: price refresh failed, keeping the current prices: %s", exc)
        return False
    if not updated:
        logger.warning(
            "otel_agentperf: price refresh timed out after %g s, keeping the current prices", REFRESH_TIMEOUT_S
        )
    return updated


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
    looked_up = _calculation(prices.provider, prices.model, datetime.fromtimestamp(at, tz=UTC))
    provider = looked_up.provider if looked_up is not None else _providers.get(prices.provider)
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
