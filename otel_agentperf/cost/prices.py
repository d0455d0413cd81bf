"""What a model costs: rates per million tokens (tiered, by time of day) and the cost of one call.

Arithmetic follows ``genai-prices`` (and the GenAI conventions): ``input_tokens`` includes cache reads
and writes, which are billed at their own rates only when the model has such a rate (otherwise they stay
in the input at the input rate); ``output_tokens`` includes reasoning tokens; a tiered price applies the
tier's rate to all tokens of that kind once the request's total input tokens exceed the tier start.
A model whose price changes within a UTC day (DeepSeek's off-peak hours) carries its day split into
``windows``; ``cost(usage, at)`` applies the window of the call's time.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from .._errors import warn_once
from .usage import Usage

DAY_S = 86_400


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
        if not self.tiers:  # most models: one flat rate
            return self.per_mtok
        for tier in reversed(self.tiers):  # ascending starts: the highest tier crossed wins
            if total_input > tier.start:
                return tier.per_mtok
        return self.per_mtok


Rates = tuple[float | None, float | None, float | None, float | None, float | None]
"""Input, cache read, cache write, output and reasoning USD per million tokens (``None``: no such rate)."""


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
    # The rates when none is tiered (most models): ``cost`` then calls no ``Rate.at`` (~0.5 µs of each call).
    _flat: Rates | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        rates = (self.input, self.cache_read, self.cache_write, self.output, self.reasoning)
        if not any(rate is not None and rate.tiers for rate in rates):
            object.__setattr__(self, "_flat", self._rates(0))  # frozen: set once, here

    def _rates(self, total_input: int) -> Rates:
        """The rates of a request with ``total_input`` input tokens (tiers applied)."""
        return (
            None if self.input is None else self.input.at(total_input),
            None if self.cache_read is None else self.cache_read.at(total_input),
            None if self.cache_write is None else self.cache_write.at(total_input),
            None if self.output is None else self.output.at(total_input),
            None if self.reasoning is None else self.reasoning.at(total_input),
        )

    def window(self, when: float) -> PriceWindow | None:
        """The time-of-day window in force at ``when`` (seconds since the epoch); ``None`` for a flat price."""
        if not self.windows:
            return None
        index = bisect_right(self.windows, int(when) % DAY_S, key=_start) - 1
        return self.windows[index]

    def at(self, when: float) -> ModelPrices:
        """The flat rates in force at ``when`` (seconds since the epoch)."""
        window = self.window(when)
        return self if window is None else window.prices

    def window_at(self, when: float) -> str | None:
        """The label of the time-of-day window in force at ``when`` (``None`` for a flat price)."""
        window = self.window(when)
        return None if window is None else window.label

    def cost(self, usage: Usage, at: float) -> float:
        """USD for one call made at ``at`` (seconds since the epoch).

        Inconsistent counts (cache above input) are clamped with a warning.
        """
        if self.windows:
            return self.at(at).cost(usage, at)
        total_in = usage.input_tokens or 0
        rate_in, rate_read, rate_write, rate_out, rate_reasoning = self._flat or self._rates(total_in)
        out = usage.output_tokens or 0
        # Cached and reasoning tokens leave the plain rate only when the model has a rate for them.
        read = (usage.cache_read_tokens or 0) if rate_read is not None else 0
        write = (usage.cache_write_tokens or 0) if rate_write is not None else 0
        reasoning = (usage.reasoning_tokens or 0) if rate_reasoning is not None else 0
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
        if rate_in is not None:
            usd += uncached * rate_in
        if rate_read is not None:
            usd += read * rate_read
        if rate_write is not None:
            usd += write * rate_write
        if rate_out is not None:
            usd += plain_out * rate_out
        if rate_reasoning is not None:
            usd += reasoning * rate_reasoning
        return usd / 1_000_000 + self.per_request


@dataclass(frozen=True)
class PriceWindow:
    """A part of the UTC day, from ``start_s`` (seconds after midnight) to the next window's start."""

    start_s: int
    label: str
    prices: ModelPrices


def _start(window: PriceWindow) -> int:
    return window.start_s
