"""Where the money goes in-process: cost per conversation (bounded LRU) and budgets with callbacks.

Conversation ids never become metric labels (unbounded cardinality); they are kept here instead, at
most ``max_conversations`` of them, least recently used evicted first and counted.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from .._errors import logger
from .._locks import new_lock

_MAX_BREAKDOWN = 64
OTHER = "_OTHER"


@dataclass
class ConversationCost:
    """What one conversation cost so far, with a breakdown by agent and by model (USD)."""

    conversation_id: str
    total_usd: float = 0.0
    priced_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    by_agent: dict[str, float] = field(default_factory=lambda: {})
    by_model: dict[str, float] = field(default_factory=lambda: {})
    first_seen: float = field(default_factory=time.time)
    last_seen: float = field(default_factory=time.time)
    rating: str = "A"
    """Efficiency rating A–D from the total cost and ``configure(cost_rating_thresholds=...)``."""


def _add(breakdown: dict[str, float], key: str, usd: float) -> None:
    if key not in breakdown and len(breakdown) >= _MAX_BREAKDOWN:
        key = OTHER
    breakdown[key] = breakdown.get(key, 0.0) + usd


class ConversationLedger:
    """Bounded LRU of ``ConversationCost`` by ``gen_ai.conversation.id``."""

    def __init__(
        self, max_conversations: int = 10_000, rating_thresholds: Sequence[float] = (0.01, 0.05, 0.25)
    ) -> None:
        if len(rating_thresholds) != 3 or list(rating_thresholds) != sorted(rating_thresholds):
            raise ValueError("rating thresholds must be three ascending USD amounts (A|B, B|C, C|D)")
        self.max_conversations = max_conversations
        self.thresholds = tuple(float(t) for t in rating_thresholds)
        self.evicted = 0
        self._items: OrderedDict[str, ConversationCost] = OrderedDict()
        self._lock = new_lock()

    def rate(self, usd: float) -> str:
        for letter, limit in zip("ABC", self.thresholds, strict=True):
            if usd <= limit:
                return letter
        return "D"

    def add(
        self,
        conversation_id: str,
        usd: float,
        *,
        agent: str | None,
        model: str | None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        priced_call: bool = True,
    ) -> None:
        with self._lock:
            entry = self._items.get(conversation_id)
            if entry is None:
                if len(self._items) >= self.max_conversations:
                    self._items.popitem(last=False)
                    self.evicted += 1
                entry = self._items[conversation_id] = ConversationCost(conversation_id)
            else:
                self._items.move_to_end(conversation_id)
            entry.total_usd += usd
            entry.priced_calls += 1 if priced_call else 0
            entry.input_tokens += input_tokens
            entry.output_tokens += output_tokens
            _add(entry.by_agent, agent or "(none)", usd)
            if model:
                _add(entry.by_model, model, usd)
            entry.last_seen = time.time()
            entry.rating = self.rate(entry.total_usd)

    def get(self, conversation_id: str) -> ConversationCost | None:
        with self._lock:
            entry = self._items.get(conversation_id)
            return None if entry is None else _copy(entry)

    def top(self, n: int = 10) -> list[ConversationCost]:
        with self._lock:
            entries = [_copy(e) for e in self._items.values()]
        return sorted(entries, key=lambda e: e.total_usd, reverse=True)[:n]


def _copy(entry: ConversationCost) -> ConversationCost:
    return ConversationCost(
        entry.conversation_id,
        entry.total_usd,
        entry.priced_calls,
        entry.input_tokens,
        entry.output_tokens,
        dict(entry.by_agent),
        dict(entry.by_model),
        entry.first_seen,
        entry.last_seen,
        entry.rating,
    )


@dataclass(frozen=True)
class BudgetAlert:
    """Passed to ``Budget.on_exceeded`` when spending crosses a limit."""

    window: str
    """``hour`` or ``day`` (sliding windows)."""
    scope: str
    """``total`` or ``agent:<name>``."""
    spent_usd: float
    limit_usd: float


@dataclass(frozen=True)
class Budget:
    """Spending limits; ``on_exceeded`` is called once per crossing (again after spend falls back below).

    Example::

        def slow_down(alert: ap.BudgetAlert) -> None:
            router.prefer_cheaper_models()

        ap.configure(budget=ap.Budget(hourly_usd=5, daily_usd=50, per_agent_daily_usd={"writer": 20},
                                      on_exceeded=slow_down))
    """

    hourly_usd: float | None = None
    daily_usd: float | None = None
    per_agent_daily_usd: Mapping[str, float] = field(default_factory=lambda: {})
    on_exceeded: Callable[[BudgetAlert], None] | None = None

    def __post_init__(self) -> None:
        limits: list[tuple[str, object]] = [("hourly_usd", self.hourly_usd), ("daily_usd", self.daily_usd)]
        limits += list(self.per_agent_daily_usd.items())
        for name, value in limits:
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"budget {name} must be a positive number, got {value!r}")


class _Window:
    """Spend over a sliding window, in one-minute buckets (ring buffer; O(1) per add)."""

    __slots__ = ("_buckets", "_minutes", "_total", "_last")

    def __init__(self, minutes: int) -> None:
        self._buckets = [0.0] * minutes
        self._minutes = minutes
        self._total = 0.0
        self._last = 0

    def add(self, usd: float, minute: int) -> float:
        self._advance(minute)
        self._buckets[minute % self._minutes] += usd
        self._total += usd
        return self._total

    def total(self, minute: int) -> float:
        self._advance(minute)
        return max(self._total, 0.0)

    def _advance(self, minute: int) -> None:
        if minute <= self._last:
            return
        for m in range(self._last + 1, min(minute, self._last + self._minutes) + 1):
            slot = m % self._minutes
            self._total -= self._buckets[slot]
            self._buckets[slot] = 0.0
        self._last = minute


class BudgetTracker:
    """Sliding-hour and sliding-day spend against a ``Budget``; calls the callback on crossings."""

    def __init__(self, budget: Budget, clock: Callable[[], float] = time.time) -> None:
        self.budget = budget
        self._clock = clock
        self._hour = _Window(60)
        self._day = _Window(1440)
        self._agents: dict[str, _Window] = {}
        self._over: set[tuple[str, str]] = set()
        self._lock = new_lock()

    def add(self, usd: float, agent: str | None) -> None:
        minute = int(self._clock() // 60)
        alerts: list[BudgetAlert] = []
        with self._lock:
            b = self.budget
            hour = self._hour.add(usd, minute)
            day = self._day.add(usd, minute)
            self._check(alerts, "hour", "total", hour, b.hourly_usd)
            self._check(alerts, "day", "total", day, b.daily_usd)
            if agent is not None and agent in b.per_agent_daily_usd:
                window = self._agents.setdefault(agent, _Window(1440))
                self._check(alerts, "day", f"agent:{agent}", window.add(usd, minute), b.per_agent_daily_usd[agent])
        callback = self.budget.on_exceeded
        for alert in alerts:
            logger.warning(
                "otel_agentperf: budget exceeded: %s spend %.4f USD over the last %s (limit %.4f)",
                alert.scope,
                alert.spent_usd,
                alert.window,
                alert.limit_usd,
            )
            if callback is not None:
                try:
                    callback(alert)
                except Exception:  # noqa: BLE001 - the user's callback must not break the traced call
                    logger.exception("otel_agentperf: the budget on_exceeded callback raised")

    def _check(self, alerts: list[BudgetAlert], window: str, scope: str, spent: float, limit: float | None) -> None:
        if limit is None:
            return
        key = (window, scope)
        if spent > limit:
            if key not in self._over:
                self._over.add(key)
                alerts.append(BudgetAlert(window, scope, spent, limit))
        else:
            self._over.discard(key)

    def status(self) -> dict[str, float]:
        minute = int(self._clock() // 60)
        with self._lock:
            out = {"hour": self._hour.total(minute), "day": self._day.total(minute)}
            for agent, window in self._agents.items():
                out[f"day agent:{agent}"] = window.total(minute)
        return out
