"""What the commands print, end to end from the real SDK: every table fits 80 and 120 columns without
cutting a name, and hostile names (rich markup, ESC sequences, HTML, Markdown) are printed as text by the
demo's tables, the suggestions, `top`, and `report` in the terminal, Markdown and HTML."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console, RenderableType

import otel_agentperf as ap
from otel_agentperf.cli import report_render
from otel_agentperf.cli.demo import one_estimator, summary_data, summary_tables
from otel_agentperf.cli.report import Period, assemble
from otel_agentperf.cli.terminal import (
    Column,
    fit_table,
    printable,
    savings_text,
    suggestion_table,
    terminal,
)
from otel_agentperf.cli.top import compute, render
from otel_agentperf.insights.fleet import Samples, between, scrape
from otel_agentperf.insights.rules import BUILTIN_RULES
from otel_agentperf.insights.suggest import Thresholds, evaluate
from otel_agentperf.testing import Capture
from otel_agentperf.tracing.state import STATE
from tests.conftest import PINNED_PRICE_TIME
from tests.support.exported import metrics_page

MARKUP = "[/]"
BOLD = "[bold]boss[/bold]"
TITLE = "evil\x1b]0;pwned\x07"  # sets the terminal's window title
CLEAR = "wipe\x1b[2J\x1b[H"  # clears the screen
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
PIPES = "a|b`code`*em*"
LONG = "research-orchestrator-with-a-very-long-descriptive-agent-name"
HOSTILE = (MARKUP, BOLD, TITLE, CLEAR, SCRIPT, IMG, PIPES)


def traffic() -> None:
    """Agents, a model and tools named by an attacker, next to ordinary ones; one tool fails often."""

    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def paid() -> dict[str, Any]:
        return {"model": "gpt-4o-mini", "usage": {"prompt_tokens": 1000, "completion_tokens": 100}}

    @ap.trace_llm(provider="vllm", model=SCRIPT)
    def unpriced() -> dict[str, Any]:
        return {"model": SCRIPT, "usage": {"prompt_tokens": 50, "completion_tokens": 1}}

    tools = [ap.trace_tool(name)(lambda: None) for name in (IMG, PIPES, "text-embedding-3-small-lookup")]

    @ap.trace_tool(CLEAR)
    def flaky(i: int) -> None:
        if i % 5 < 2:
            raise ConnectionResetError("reset")

    for name in (*HOSTILE, LONG):

        @ap.trace_agent(name)
        def agent(i: int) -> None:
            paid()
            unpriced()
            for tool in tools:
                tool()
            try:
                flaky(i)
            except ConnectionResetError:
                pass

        for i in range(25):
            agent(i)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Samples:
    """``traffic()`` through a real configure() and its Prometheus endpoint, as `top`/`report` read it."""
    page = metrics_page("hostile", "tests.test_terminal_output:traffic", tmp_path_factory.mktemp("metrics"))
    # An hour's window, so that suggestions have the evidence to carry savings.
    return between({}, scrape(page.as_uri(), 5.0), 3600.0, PINNED_PRICE_TIME)


@pytest.fixture(scope="module")
def in_process() -> tuple[dict[str, Any], list[ap.Suggestion]]:
    """The demo's view of ``traffic()``: its summary and its suggestions (one estimator)."""
    with Capture() as cap:
        traffic()
        summary = summary_data(cap.reader)
        advisor = STATE.advisor
        ranked = evaluate(one_estimator(advisor.snapshot(), summary), advisor.thresholds, advisor.rules)
    return summary, ranked


@pytest.fixture(scope="module")
def report(exported: Samples) -> dict[str, Any]:
    period = Period(PINNED_PRICE_TIME - 3600, PINNED_PRICE_TIME)
    empty = Samples(3600.0, {}, {}, period.start)
    charts: dict[str, Any] = {"error_rate": [], "spend_by_agent": {}, "spend_by_model": {}}
    return assemble(f"http://x/{SCRIPT}", period, exported, empty, charts, thresholds=Thresholds(slow_p95_s=1e-6))


def screens(
    in_process: tuple[dict[str, Any], list[ap.Suggestion]], exported: Samples, report: dict[str, Any], width: int
) -> dict[str, str]:
    """Every terminal rendering, as a console of ``width`` columns without colour prints it."""
    summary, ranked = in_process

    def show(*renderables: RenderableType, report_data: dict[str, Any] | None = None) -> str:
        out = io.StringIO()
        console = Console(file=out, width=width, color_system=None, force_terminal=False)
        if report_data is not None:
            report_render.terminal(report_data, console)
        for r in renderables:
            console.print(r)
        return out.getvalue()

    frame = compute(exported, f"http://x/{TITLE}", Thresholds(slow_p95_s=1e-6), daily_budget=1.0)
    frame.alerts = [{"alertname": "AgentErrors", "severity": "page", "gen_ai_agent_name": CLEAR}]
    frame.app_suggestions = [{"agentperf_suggestion_rule": "slow", "agentperf_suggestion_scope": f"agent:{BOLD}"}]
    return {
        "demo": show(*summary_tables(summary, width), suggestion_table(ranked, width=width)),
        "top": show(render(frame, {"calls/s": [1.0, 2.0, 3.0]}, Thresholds(slow_p95_s=1e-6), width)),
        "report": show(report_data=report),
    }


@pytest.mark.parametrize("width", [80, 120])
def test_every_table_fits_without_cutting_a_name(
    in_process: tuple[dict[str, Any], list[ap.Suggestion]], exported: Samples, report: dict[str, Any], width: int
) -> None:
    for name, screen in screens(in_process, exported, report, width).items():
        lines = screen.splitlines()
        assert max(cell_len(line) for line in lines) <= width, name
        assert "…" not in screen, f"{name}: a cell was cut"
        # Names fold, never cut: a name that fits the column is on one line, a longer one continues below.
        for agent in ("text-embedding-3-small-lookup", "a|b`code`*em*"):
            assert agent in screen or name == "top", (name, agent)
        first_column = "".join(line.split("│")[1].strip() for line in lines if line.startswith("│"))
        assert LONG in first_column, f"{name}: the long name is not all there"
    wide = screens(in_process, exported, report, 200)
    assert "not shown at" not in wide["demo"] + wide["report"]  # wide screens hide nothing


def test_columns_are_dropped_by_priority_and_said_so() -> None:
    columns = [Column("name", justify="left", key=True), Column("p95"), Column("tokens", priority=2)]
    columns.append(Column("p50", priority=1))
    rows = [["planner", "1.20 s", "1,234,567,890", "300 ms"]]
    out = io.StringIO()
    Console(file=out, width=30, color_system=None).print(fit_table(30, "t", columns, rows))
    screen = out.getvalue()
    assert "planner" in screen and "1.20 s" in screen and "300 ms" in screen
    assert "1,234,567,890" not in screen and "not shown at 30 columns: tokens" in " ".join(screen.split())


def test_hostile_names_are_printed_as_text_everywhere(
    in_process: tuple[dict[str, Any], list[ap.Suggestion]], exported: Samples, report: dict[str, Any]
) -> None:
    for name, screen in screens(in_process, exported, report, 200).items():
        assert "\x1b" not in screen and "\x07" not in screen, f"{name}: a control character reached the terminal"
        joined = re.sub(r"[│┃\n ]", "", screen)
        for shown in (printable(TITLE), printable(CLEAR), MARKUP, BOLD, SCRIPT):
            assert shown.replace(" ", "") in joined, (name, shown)
    ranked = in_process[1]
    assert any(printable(CLEAR) in s.title for s in ranked)  # the failing tool's suggestion names it


def test_markdown_and_html_reports_escape_names(report: dict[str, Any]) -> None:
    markdown = report_render.markdown(report)
    assert "\x1b" not in markdown and "\x07" not in markdown
    assert "<script" not in markdown and "<img" not in markdown and "&lt;script&gt;" in markdown
    assert "\\[/\\]" in markdown and "a\\|b\\`code\\`\\*em\\*" in markdown
    for table in re.findall(r"(?ms)^\| name \|.*?(?=^$|\Z)", markdown):
        rows = table.strip().splitlines()
        cells = {len(re.findall(r"(?<!\\)\|", row)) for row in rows}
        assert len(cells) == 1, f"a name added a column:\n{table}"
    assert "Evidence:" in markdown and "confidence" in markdown
    page = report_render.html_page(report)
    assert "\x1b" not in page and "<script" not in page and "<img" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "Evidence:" in page


def test_report_recommendations_carry_their_evidence(report: dict[str, Any]) -> None:
    recs = report["recommendations"]
    assert recs, "the hour of traffic has something to improve"
    for s in recs:
        assert s["confidence"] in ("low", "medium", "high") and s["evidence"]["observed_s"] == 3600.0
    out = io.StringIO()
    report_render.terminal(report, Console(file=out, width=120, color_system=None))
    assert "over 1.0 h · confidence" in out.getvalue()


def test_savings_read_in_sensible_units() -> None:
    assert savings_text(12.56, 0.0) == "$12.56"
    assert savings_text(0.0, 0.04) == "-"  # not "0.0 h"
    assert savings_text(0.0, 0.0) == "-"
    assert savings_text(0.0, 7200.0) == "2.0 h"
    assert savings_text(1.0, 300.0) == "$1.0000 + 5 min"
    assert savings_text(0.0, 42.0) == "42 s"


def test_every_builtin_rule_runs_on_hostile_names(exported: Samples) -> None:
    from otel_agentperf.insights.fleet import snapshot

    found = evaluate(snapshot(exported), Thresholds(slow_p95_s=1e-6), BUILTIN_RULES)
    assert {s.rule for s in found} >= {"slow", "error_prone"}


def test_piped_output_follows_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert terminal().width == 80
    monkeypatch.delenv("COLUMNS")
    assert terminal().width == 120  # pytest's stdout is not a terminal


@pytest.mark.parametrize("width", [80, 120])
def test_doctor_and_prices_fit(width: int) -> None:
    from otel_agentperf.cli.doctor import Check, check_otlp
    from otel_agentperf.cli.views import doctor_table
    from tests.support.prom import free_port

    checks = [
        check_otlp(f"http://127.0.0.1:{free_port()}", "grpc"),  # a failure with a long fix
        Check("app metrics endpoint", "fail", f"http://x/{TITLE} is unreachable {IMG}", f"fix {BOLD}"),
    ]
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(doctor_table(checks, width))
    screen = out.getvalue()
    assert max(cell_len(line) for line in screen.splitlines()) <= width and "…" not in screen
    assert "\x1b" not in screen and "\x07" not in screen and BOLD in screen
    prices = subprocess.run(
        [sys.executable, "-m", "otel_agentperf", "prices", "claude-sonnet-4-5", "deepseek-chat", MARKUP, CLEAR],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": str(width)},
    )
    assert prices.returncode == 1  # two unknown models
    assert max(cell_len(line) for line in prices.stdout.splitlines()) <= width
    assert f"{MARKUP}: unknown" in prices.stdout and printable(CLEAR) in prices.stdout
    assert "\x1b" not in prices.stdout
