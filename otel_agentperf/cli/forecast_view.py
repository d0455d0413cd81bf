"""Forecasts and regressions in the CLI: the budget line of ``agentperf top``, the forecast section and the
regression flags of ``agentperf report`` (JSON, terminal, Markdown, HTML). The numbers come from
``insights.forecast`` and ``insights.rules_regression``; this module only gathers and renders them."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from rich.console import Console

from ..insights.forecast import SECONDS_PER_DAY, project_budget, rate_forecast
from ..insights.rules_regression import compare
from .terminal import Cell, Column, fit_table, md, printable, text

Instant = Callable[[str, str, float], list[tuple[dict[str, str], float]]]
"""``report.instant``: (Prometheus URL, PromQL, at) → [(labels, value)]."""
SPEND = '{__name__=~"gen_ai_client_operation_cost_sum|agentperf_cost_other_total"}'
FORECAST_SCHEMA = {
    "forecast": {
        "usd_per_day": "spend rate of the period, per day (float or null)",
        "previous_usd_per_day": "the previous period's",
        "trend_usd_per_day_per_hour": "the line through both (per hour of time)",
        "usd_per_day_at_day_end": "where that line is at the end of the UTC day",
        "daily_budget_usd": "float or null",
        "budget_crossed_at": "ISO 8601 when the line crosses the budget before the day ends, else null",
    },
    "regressions": [
        {
            "scope": "agent NAME | model PROVIDER/MODEL",
            "metric": "p95_s | error_rate",
            "before": "f",
            "after": "f",
            "calls_before": "int",
            "calls_after": "int",
            "compared_with": "previous period",
        }
    ],
}


# --- agentperf top ----------------------------------------------------------------------------------------------
def spent_last_day(prometheus: str | None, at: float, instant: Instant) -> float | None:
    """Spend over the last 24 hours from Prometheus (``None`` without one, or when it cannot say)."""
    if not prometheus:
        return None
    try:
        got = instant(prometheus, f"sum(increase({SPEND}[1d]))", at)
    except OSError:
        return None
    return got[0][1] if got else None


def budget_line(usd_per_hour: float | None, daily_budget: float | None, spent_day: float | None, now: float) -> str:
    """One line under the KPIs: where the daily budget stands at this window's rate."""
    if not daily_budget:
        return "Budget: none set (--budget USD/day shows when it is reached at this rate)"
    rate = usd_per_hour or 0.0
    if spent_day is None:
        return f"Budget: this window's rate costs ${rate * 24:,.2f}/day of ${daily_budget:,.2f}/day"
    return "Budget: " + project_budget(spent_day, rate, daily_budget, now).text()


# --- agentperf report ---------------------------------------------------------------------------------------------
def report_sections(now: Any, before: Any, seconds: float, end: float, daily_budget: float | None) -> dict[str, Any]:
    """``forecast`` and ``regressions`` of a report, from the two periods' ``Measured``."""

    def per_day(measured: Any) -> float | None:
        spend = measured.summary["spend_usd"]
        return spend * SECONDS_PER_DAY / seconds if spend is not None and seconds else None

    found = compare(
        {"agent": before.snap.agents, "model": before.snap.provider_models},
        {"agent": now.snap.agents, "model": now.snap.provider_models},
    )
    return {
        "forecast": rate_forecast(per_day(before), per_day(now), seconds, end, daily_budget),
        "regressions": [r.as_dict() for r in found],
    }


def _usd(x: float | None) -> str:
    return "-" if x is None else f"${x:,.2f}"


def _value(metric: str, x: float) -> str:
    return f"{x:.2f} s" if metric == "p95_s" else f"{x:.1%}"


def forecast_lines(report: dict[str, Any]) -> list[str]:
    """The forecast as sentences, shared by every rendering."""
    f: dict[str, Any] = report.get("forecast") or {}
    if f.get("usd_per_day") is None:
        return ["No spend in this period: nothing to forecast."]
    lines = [f"Spend runs at {_usd(f['usd_per_day'])}/day (previous period {_usd(f['previous_usd_per_day'])}/day)."]
    if f.get("trend_usd_per_day_per_hour") is not None:
        lines.append(
            f"Trend {f['trend_usd_per_day_per_hour']:+,.2f} $/day per hour: "
            f"{_usd(f['usd_per_day_at_day_end'])}/day by the end of the UTC day."
        )
    if f.get("daily_budget_usd"):
        crossed = f.get("budget_crossed_at")
        lines.append(
            f"Budget {_usd(f['daily_budget_usd'])}/day: "
            + (f"crossed at {crossed} on this trend." if crossed else "not crossed today on this trend.")
        )
    return lines


def regression_lines(report: dict[str, Any]) -> list[str]:
    found: list[dict[str, Any]] = report.get("regressions") or []
    return [
        f"{r['scope']}: {'p95' if r['metric'] == 'p95_s' else 'errors'} {_value(r['metric'], r['before'])} → "
        f"{_value(r['metric'], r['after'])} ({r['calls_before']} calls before, {r['calls_after']} now)"
        for r in found
    ]


def terminal(report: dict[str, Any], console: Console) -> None:
    rows: list[list[Cell]] = [[text(line)] for line in forecast_lines(report)]
    for line in regression_lines(report):  # agent and model names: printed as text, never as markup
        cell = text("regression ", "red")
        cell.append(printable(line))
        rows.append([cell])
    if not report.get("regressions"):
        rows.append([text("No regression against the previous period.")])
    columns = [Column("", justify="left", wrap=True, key=True)]
    console.print(fit_table(console.width, "Forecast and regressions (vs. the previous period)", columns, rows))


def markdown(report: dict[str, Any]) -> list[str]:
    lines = ["", "## Forecast and regressions", ""] + [f"- {md(x)}" for x in forecast_lines(report)]
    lines += [f"- **Regression** {md(x)}" for x in regression_lines(report)]
    if not report.get("regressions"):
        lines.append("- No regression against the previous period.")
    return lines


def html_section(report: dict[str, Any]) -> str:
    items = [f"<li>{html.escape(printable(x))}</li>" for x in forecast_lines(report)]
    items += [
        f'<li><span class="worse">Regression</span> {html.escape(printable(x))}</li>' for x in regression_lines(report)
    ]
    if not report.get("regressions"):
        items.append("<li>No regression against the previous period.</li>")
    return f"<h2>Forecast and regressions</h2><ul>{''.join(items)}</ul>"
