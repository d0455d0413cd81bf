"""Where spend is heading: when the daily budget is reached at the current rate, and where a trend ends the day.

Pure functions of numbers the callers already have (the budget tracker's sliding windows in-process, the
report's two periods from Prometheus), and one clock passed in: nothing here reads the time itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class BudgetProjection:
    """The daily budget against the spend of the sliding day and the last hour's rate."""

    spent_usd: float
    """Spend over the sliding day (the last 24 hours)."""
    usd_per_hour: float
    """Spend over the last hour: the rate the projection assumes."""
    limit_usd: float
    at: float
    """When the projection was made (Unix seconds)."""
    reached_at: float | None
    """When the budget is reached at this rate (``at`` when it already is); ``None`` when it is not within a day."""

    def text(self) -> str:
        if self.reached_at is None:
            return f"${self.spent_usd:,.2f} of ${self.limit_usd:,.2f}/day: budget not reached within a day at this rate"
        if self.reached_at <= self.at:
            return f"${self.spent_usd:,.2f} of ${self.limit_usd:,.2f}/day: budget reached"
        return (
            f"${self.spent_usd:,.2f} of ${self.limit_usd:,.2f}/day: budget reached at "
            f"{clock_text(self.reached_at, self.at)} at this rate (${self.usd_per_hour:,.2f}/hour)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "spent_usd": self.spent_usd,
            "usd_per_hour": self.usd_per_hour,
            "daily_budget_usd": self.limit_usd,
            "reached_at": iso(self.reached_at) if self.reached_at is not None else None,
            "text": self.text(),
        }


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


def clock_text(ts: float, now: float) -> str:
    """``16:40 UTC`` today, ``tomorrow 02:10 UTC``, else the date."""
    when, today = datetime.fromtimestamp(ts, tz=UTC), datetime.fromtimestamp(now, tz=UTC).date()
    days = (when.date() - today).days
    prefix = "" if days == 0 else "tomorrow " if days == 1 else f"{when.date().isoformat()} "
    return f"{prefix}{when:%H:%M} UTC"


def project_budget(spent_usd: float, usd_per_hour: float, limit_usd: float, now: float) -> BudgetProjection:
    """When ``spent_usd`` grows to ``limit_usd`` at ``usd_per_hour`` (within a day, else ``None``)."""
    if spent_usd >= limit_usd:
        reached: float | None = now
    elif usd_per_hour > 0 and math.isfinite(usd_per_hour):
        seconds = (limit_usd - spent_usd) / usd_per_hour * 3600
        reached = now + seconds if seconds <= SECONDS_PER_DAY else None
    else:
        reached = None
    return BudgetProjection(spent_usd, usd_per_hour, limit_usd, now, reached)


def budget_projection(tracker: Any, now: float) -> BudgetProjection | None:
    """The projection of a ``cost.ledger.BudgetTracker`` with a daily limit (``None`` without one)."""
    if tracker is None or tracker.budget.daily_usd is None:
        return None
    status = tracker.status()
    return project_budget(status["day"], status["hour"], float(tracker.budget.daily_usd), now)


def rate_forecast(
    before_per_day: float | None,
    after_per_day: float | None,
    period_s: float,
    end: float,
    limit_per_day: float | None,
) -> dict[str, Any]:
    """A spend rate's trend over two consecutive periods, extended to the end of the UTC day of ``end``.

    The two rates are taken as the values at the periods' middles; the line through them is the trend. Returns the
    rate now, the trend per hour, the rate the line reaches at the end of the day and, when it crosses the daily
    budget before then, when.
    """
    out: dict[str, Any] = {
        "usd_per_day": after_per_day,
        "previous_usd_per_day": before_per_day,
        "trend_usd_per_day_per_hour": None,
        "usd_per_day_at_day_end": None,
        "daily_budget_usd": limit_per_day,
        "budget_crossed_at": None,
    }
    if before_per_day is None or after_per_day is None or period_s <= 0:
        return out
    slope = (after_per_day - before_per_day) / period_s  # per second, from middle to middle
    day_end = (end // SECONDS_PER_DAY + 1) * SECONDS_PER_DAY
    at_end = after_per_day + slope * (day_end - (end - period_s / 2))
    out["trend_usd_per_day_per_hour"] = slope * 3600
    out["usd_per_day_at_day_end"] = max(0.0, at_end)
    if limit_per_day and slope > 0 and after_per_day < limit_per_day <= at_end:
        crossing = end - period_s / 2 + (limit_per_day - after_per_day) / slope
        out["budget_crossed_at"] = iso(max(crossing, end))
    elif limit_per_day and after_per_day >= limit_per_day:
        out["budget_crossed_at"] = iso(end)
    return out


class Health(tuple[float, dict[str, float]]):
    """What ``ap.health()`` returns: ``score, parts = ap.health()`` as before, plus ``budget``, the daily budget's
    projection (``None`` without a daily budget): ``ap.health().budget.text()`` says
    "budget reached at 16:40 UTC at this rate"."""

    budget: BudgetProjection | None

    def __new__(cls, score: float, parts: dict[str, float], budget: BudgetProjection | None = None) -> Health:
        self = super().__new__(cls, (score, parts))
        self.budget = budget
        return self
