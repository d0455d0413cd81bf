"""Forecasts and regressions in-process: the budget projection (``ap.health().budget``, ``agentperf top``), the
report's forecast and regression sections, and the regression rule. Every clock is pinned."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest
from rich.console import Console

from otel_agentperf.cli import forecast_view
from otel_agentperf.cost.ledger import Budget, BudgetTracker
from otel_agentperf.insights.advisor import Advisor
from otel_agentperf.insights.forecast import Health, budget_projection, clock_text, project_budget, rate_forecast
from otel_agentperf.insights.rules_regression import RegressionRule, RegressionThresholds, compare
from otel_agentperf.insights.stats import Row
from otel_agentperf.insights.suggest import Snapshot, Thresholds

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC).timestamp()  # a Monday, 12:00 UTC


def test_budget_reached_at_this_rate() -> None:
    # $300 of $500 spent over the sliding day, $48/hour: $200 more take 4 h 10 min -> 16:10 UTC
    p = project_budget(300.0, 48.0, 500.0, T0)
    assert p.reached_at == pytest.approx(T0 + 4 * 3600 + 600)
    assert p.text() == "$300.00 of $500.00/day: budget reached at 16:10 UTC at this rate ($48.00/hour)"
    assert p.as_dict()["reached_at"] == "2026-03-02T16:10:00+00:00"


def test_budget_projection_past_midnight_over_or_never() -> None:
    late = project_budget(300.0, 10.0, 500.0, T0 + 6 * 3600)  # 18:00 + 20 h
    assert "tomorrow 14:00 UTC" in late.text()
    assert project_budget(600.0, 10.0, 500.0, T0).text() == "$600.00 of $500.00/day: budget reached"
    never = project_budget(10.0, 0.1, 500.0, T0)  # 4,900 hours away
    assert never.reached_at is None and "not reached within a day" in never.text()
    assert project_budget(10.0, 0.0, 500.0, T0).reached_at is None
    assert clock_text(T0 + 3 * 86400, T0) == "2026-03-05 12:00 UTC"


def test_health_carries_the_budget_projection_and_still_unpacks() -> None:
    now = [T0]
    tracker = BudgetTracker(Budget(daily_usd=100.0), clock=lambda: now[0])
    for minute in range(1, 61):  # $0.5 a minute over the sliding hour (its 60 one-minute slots): $30, $30/hour
        now[0] = T0 - 3600 + minute * 60
        tracker.add(0.5, "writer")
    now[0] = T0
    projection = budget_projection(tracker, T0)
    assert projection is not None
    assert projection.spent_usd == pytest.approx(30.0) and projection.usd_per_hour == pytest.approx(30.0)
    assert projection.text().startswith("$30.00 of $100.00/day: budget reached at 14:20 UTC")
    health = Health(97.5, {"success": 1.0}, projection)
    score, parts = health
    assert (score, parts) == (97.5, {"success": 1.0}) and health.budget is projection
    assert budget_projection(None, T0) is None
    assert budget_projection(BudgetTracker(Budget(hourly_usd=5.0)), T0) is None  # no daily limit, no projection


def test_ap_health_has_no_budget_projection_without_a_budget() -> None:
    import otel_agentperf as ap
    from otel_agentperf.testing import capture

    with capture():
        health = ap.health()
        score, _parts = health
        assert 0 <= score <= 100 and health.budget is None


def test_rate_forecast_extends_the_trend_to_the_end_of_the_day() -> None:
    # two hours: $2,400/day then $3,600/day; the line through the middles rises $1,200/day per hour
    end = T0
    f = rate_forecast(2400.0, 3600.0, 3600.0, end, 6000.0)
    assert f["trend_usd_per_day_per_hour"] == pytest.approx(1200.0)
    # from 11:30 (the last period's middle) to midnight: 12.5 h
    assert f["usd_per_day_at_day_end"] == pytest.approx(3600.0 + 1200.0 * 12.5)
    assert f["budget_crossed_at"] == "2026-03-02T13:30:00+00:00"  # (6000 - 3600) / 1200 = 2 h after 11:30
    flat = rate_forecast(3600.0, 3600.0, 3600.0, end, 6000.0)
    assert flat["budget_crossed_at"] is None and flat["usd_per_day_at_day_end"] == pytest.approx(3600.0)
    assert rate_forecast(None, 3600.0, 3600.0, end, 6000.0)["trend_usd_per_day_per_hour"] is None


def row(key: tuple[str, ...], calls: int, p95: float, errors: int = 0) -> Row:
    return Row(key, count=calls, errors={"TimeoutError": errors} if errors else {}, p95=p95)


def snap(at: float, agents: list[Row], models: list[Row] | None = None) -> Snapshot:
    return Snapshot(window_s=900.0, agents=agents, provider_models=models or [], at=at)


def test_regression_rule_against_the_baseline_with_evidence() -> None:
    rule, t = RegressionRule(), Thresholds()
    assert rule(snap(T0, [row(("writer",), 100, 1.0, 1)]), t) == []  # the first window becomes the baseline
    assert rule(snap(T0 + 60, [row(("writer",), 100, 3.0, 1)]), t) == []  # same window: not judged against itself
    found = rule(snap(T0 + 1000, [row(("writer",), 120, 3.0, 1)]), t)
    assert [(s.rule, s.scope_kind, s.scope_name) for s in found] == [("regression", "agent", "writer:p95_s")]
    evidence = found[0].evidence
    assert (evidence["before"], evidence["after"], evidence["calls_before"], evidence["calls"]) == (1.0, 3.0, 100, 120)
    assert evidence["compared_with"] == "baseline"
    assert "p95 1.00 s → 3.00 s" in found[0].title
    # the regression never becomes the baseline: still flagged a window later
    assert len(rule(snap(T0 + 2000, [row(("writer",), 120, 3.0, 1)]), t)) == 1
    # back to normal: quiet
    assert rule(snap(T0 + 3000, [row(("writer",), 120, 1.1, 1)]), t) == []


def test_regression_rule_error_rate_and_models() -> None:
    rule, t = RegressionRule(), Thresholds()
    model = ("openai", "gpt-4o")
    rule(snap(T0, [], [row(model, 200, 0.8, 2)]), t)
    found = rule(snap(T0 + 1000, [], [row(model, 200, 0.8, 30)]), t)
    assert [(s.scope_kind, s.scope_name) for s in found] == [("model", "openai/gpt-4o:error_rate")]
    assert found[0].evidence["before"] == pytest.approx(0.01) and found[0].evidence["after"] == pytest.approx(0.15)


def test_regression_rule_never_judges_thin_data_or_small_changes() -> None:
    rule, t = RegressionRule(), Thresholds()
    rule(snap(T0, [row(("writer",), 10, 1.0), row(("fast",), 100, 0.02)]), t)
    found = rule(snap(T0 + 1000, [row(("writer",), 10, 9.0, 5), row(("fast",), 100, 0.06)]), t)
    assert found == []  # 10 calls: thin; 20 ms -> 60 ms: 3x but only 40 ms slower


def test_regression_rule_compares_with_the_same_hour_a_day_earlier() -> None:
    """A daily pattern is not a regression: slow at noon yesterday, fast all afternoon, slow at noon again."""
    rule, t = RegressionRule(), Thresholds()
    rule(snap(T0, [row(("writer",), 100, 3.0)]), t)
    for hour in range(1, 24):
        assert rule(snap(T0 + hour * 3600, [row(("writer",), 100, 1.0)]), t) == []
    assert rule(snap(T0 + 86400, [row(("writer",), 100, 3.0)]), t) == []  # as slow as a day earlier
    found = rule(snap(T0 + 86400 + 3600, [row(("writer",), 100, 3.0)]), t)  # 1 s a day earlier at this hour
    assert [s.evidence["compared_with"] for s in found] == ["a day earlier"]


def test_regression_memory_is_bounded_and_each_advisor_has_its_own() -> None:
    rule, t = RegressionRule(), Thresholds()
    rule(snap(T0, [row((f"agent{i}",), 100, 1.0) for i in range(200)]), t)
    assert len(rule._memory) == 128 and rule.dropped == 72  # pyright: ignore[reportPrivateUsage]
    a, b = Advisor(), Advisor()
    assert isinstance(a.rules["regression"], RegressionRule) and a.rules["regression"] is not b.rules["regression"]


def test_compare_for_the_report() -> None:
    before = {"agent": [row(("writer",), 100, 1.0)], "model": [row(("openai", "gpt-4o"), 100, 0.5, 1)]}
    after = {"agent": [row(("writer",), 100, 2.0)], "model": [row(("openai", "gpt-4o"), 100, 0.5, 12)]}
    found = [r.as_dict() for r in compare(before, after)]
    assert [(r["scope"], r["metric"]) for r in found] == [
        ("agent writer", "p95_s"),
        ("model openai/gpt-4o", "error_rate"),
    ]
    assert found[0]["calls_before"] == 100 and found[0]["compared_with"] == "previous period"
    assert compare(before, after, RegressionThresholds(min_calls=200)) == []
    assert math.isnan(row(("x",), 0, math.nan).p95)


def report_with(forecast: dict[str, Any], regressions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"forecast": forecast, "regressions": regressions}


def test_report_renders_the_forecast_and_flags_regressions() -> None:
    report = report_with(
        rate_forecast(2400.0, 3600.0, 3600.0, T0, 6000.0),
        [r.as_dict() for r in compare({"agent": [row(("writer",), 100, 1.0)]}, {"agent": [row(("writer",), 90, 2.0)]})],
    )
    lines = forecast_view.forecast_lines(report)
    assert lines[0] == "Spend runs at $3,600.00/day (previous period $2,400.00/day)."
    assert lines[2] == "Budget $6,000.00/day: crossed at 2026-03-02T13:30:00+00:00 on this trend."
    flagged = "agent writer: p95 1.00 s → 2.00 s (100 calls before, 90 now)"
    assert forecast_view.regression_lines(report) == [flagged]
    assert f"- **Regression** {flagged}" in forecast_view.markdown(report)
    assert "Regression</span> agent writer: p95 1.00 s → 2.00 s" in forecast_view.html_section(report)
    console = Console(record=True, width=200)
    forecast_view.terminal(report, console)
    assert flagged in console.export_text()
    quiet = forecast_view.markdown(report_with(rate_forecast(None, None, 3600.0, T0, None), []))
    assert "- No spend in this period: nothing to forecast." in quiet
    assert "- No regression against the previous period." in quiet


def test_top_budget_line() -> None:
    def instant(base: str, promql: str, at: float) -> list[tuple[dict[str, str], float]]:
        assert "increase(" in promql and "[1d]" in promql and at == T0
        return [({}, 300.0)]

    spent = forecast_view.spent_last_day("http://prom", T0, instant)
    assert forecast_view.budget_line(48.0, 500.0, spent, T0) == (
        "Budget: $300.00 of $500.00/day: budget reached at 16:10 UTC at this rate ($48.00/hour)"
    )
    assert forecast_view.spent_last_day(None, T0, instant) is None
    assert forecast_view.budget_line(48.0, 500.0, None, T0) == (
        "Budget: this window's rate costs $1,152.00/day of $500.00/day"
    )
    assert forecast_view.budget_line(48.0, None, None, T0).startswith("Budget: none set")


def test_demo_drift_ramps_latency_and_tokens_then_recovers() -> None:
    """The drift follows each request's planned start (as the fault does): the same for a seed at any speed."""
    import contextvars

    from otel_agentperf.cli import demo_system

    sim = demo_system.Sim(1, 0.1, drift_window=(10.0, 50.0))

    def at(planned: float, what: str) -> float:
        def inside() -> float:
            sim.stream("request", at=planned)  # what the demo does first thing in each request's task
            return sim.drift() if what == "drift" else float(sim.tokens(1000, 1000))

        return contextvars.copy_context().run(inside)

    factors = [at(t, "drift") for t in (5.0, 10.0, 30.0, 49.0, 50.0)]
    assert factors == pytest.approx([1.0, 1.0, 2.5, 1 + 3 * 39 / 40, 1.0])
    assert (at(30.0, "tokens"), at(60.0, "tokens")) == (2500.0, 1000.0)
    assert demo_system.Sim(1, 0.1).drift() == 1.0  # no --drift-at: no drift


def test_report_json_has_the_forecast_and_the_regressions() -> None:
    """``agentperf report`` assembled from two periods' samples: the writer got slower and spend rose."""
    from otel_agentperf.cli.report import Period, assemble
    from otel_agentperf.insights.fleet import AGENT, COST, Samples

    def period(le: str, usd: float, end: float) -> Samples:
        writer = (("gen_ai_agent_name", "writer"), ("job", "bot"))
        increases = {
            (f"{AGENT}_count", writer): 100.0,
            (f"{AGENT}_bucket", (*writer, ("le", le))): 100.0,
            (f"{AGENT}_bucket", (*writer, ("le", "+Inf"))): 100.0,
            (f"{COST}_sum", writer): usd,
        }
        return Samples(3600.0, increases, {}, end)

    report = assemble(
        "test", Period(T0 - 3600, T0), period("4", 150.0, T0), period("1", 100.0, T0 - 3600), {},
        thresholds=Thresholds(), daily_budget=5000.0,
    )  # fmt: skip
    forecast = report["forecast"]
    assert forecast["usd_per_day"] == pytest.approx(3600.0) and forecast["previous_usd_per_day"] == pytest.approx(
        2400.0
    )
    assert forecast["budget_crossed_at"] == "2026-03-02T12:40:00+00:00"  # 11:30 + (5000 - 3600) / 1200 h
    assert [(r["scope"], r["metric"], r["calls_before"]) for r in report["regressions"]] == [
        ("agent writer", "p95_s", 100)
    ]
    assert report["regressions"][0]["after"] > 2 * report["regressions"][0]["before"]
