"""Unpriced is unpriced everywhere: calls of a model without a price never show as $0 (demo summary,
`agentperf report` in every format, `agentperf top`); totals say how many calls they leave out."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from rich.console import Console

import otel_agentperf as ap
from otel_agentperf.cli import report_render
from otel_agentperf.cli.demo import summary_data, summary_tables
from otel_agentperf.cli.report import SCHEMA, SCHEMA_VERSION, Period, assemble
from otel_agentperf.cli.top import compute, render
from otel_agentperf.cost.pricing import PriceBook
from otel_agentperf.cost.usage import Usage
from otel_agentperf.insights.fleet import Samples, between, scrape
from otel_agentperf.insights.suggest import Thresholds
from otel_agentperf.insights.summary import Coverage
from otel_agentperf.testing import Capture
from tests.conftest import PINNED_PRICE_TIME
from tests.support.exported import metrics_page

PAID = Usage(input_tokens=1000, output_tokens=100)


def paid_cost() -> float:
    prices = PriceBook().lookup("openai", "gpt-4o-mini", PINNED_PRICE_TIME)
    assert prices is not None
    return prices.cost(PAID, PINNED_PRICE_TIME)


# Three agents: one priced only, one unpriced only (a self-hosted model whose response names a dated
# version; one of its calls fails before any usage: that one is not "unpriced", it has no tokens), one mixed.
@ap.trace_llm(provider="openai", model="gpt-4o-mini")
def paid() -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "usage": {"prompt_tokens": 1000, "completion_tokens": 100}}


@ap.trace_llm(provider="vllm", model="acme-guard-1")
def guard(fail: bool = False) -> dict[str, Any]:
    if fail:
        raise TimeoutError("guard timed out")
    return {"model": "acme-guard-1-0926", "usage": {"prompt_tokens": 50, "completion_tokens": 1}}


@ap.trace_agent("buyer")
def buyer() -> None:
    paid()


@ap.trace_agent("guardian")
def guardian(fail: bool = False) -> None:
    guard(fail)


@ap.trace_agent("mixed")
def mixed() -> None:
    paid()
    guard()


def traffic() -> None:
    for _ in range(4):
        buyer()
    for _ in range(2):
        guardian()
    with pytest.raises(TimeoutError):
        guardian(fail=True)
    for _ in range(3):
        mixed()


def check_summary(data: dict[str, Any]) -> None:
    """The demo's JSON summary of ``traffic()``."""
    cost = paid_cost()
    agents, models = data["agents"], data["models"]
    assert agents["buyer"]["llm_cost_usd"] == pytest.approx(4 * cost) and agents["buyer"]["unpriced_calls"] == 0
    assert agents["guardian"]["llm_cost_usd"] is None and agents["guardian"]["unpriced_calls"] == 2
    assert agents["mixed"]["llm_cost_usd"] == pytest.approx(3 * cost) and agents["mixed"]["unpriced_calls"] == 3
    assert models["acme-guard-1"]["calls"] == 6 and models["acme-guard-1"]["errors"] == 1
    assert models["acme-guard-1"]["llm_cost_usd"] is None and models["acme-guard-1"]["unpriced_calls"] == 5
    assert models["gpt-4o-mini"]["llm_cost_usd"] == pytest.approx(7 * cost)
    assert models["gpt-4o-mini"]["unpriced_calls"] == 0
    assert data["spend"]["llm_usd"] == pytest.approx(7 * cost) and data["spend"]["unpriced_calls"] == 5


def test_demo_summary_and_tables_from_an_in_memory_reader() -> None:
    with Capture() as cap:
        traffic()
        data = summary_data(cap.reader)
    check_summary(json.loads(json.dumps(data)))
    console = Console(file=io.StringIO(), width=200, record=True)
    for table in summary_tables(data):
        console.print(table)
    text = console.export_text()
    assert re.search(r"│ guardian .*│\s+unpriced \(2 calls\) │", text)
    assert re.search(r"│ mixed .*│\s+\$0\.\d{4} \(\+ 3 unpriced calls\) │", text)
    assert re.search(r"│ acme-guard-1 .*│\s+unpriced \(5 calls\) │", text)
    assert re.search(r"│ buyer .*│\s+\$0\.\d{4} │", text)
    assert "$0.0000" not in text


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Samples:
    """``traffic()`` run by a real configure(): what its Prometheus endpoint serves, as `top --endpoint` reads it."""
    page = metrics_page("unpriced", "tests.test_unpriced_views:traffic", tmp_path_factory.mktemp("metrics"))
    assert "agentperf_cost_unpriced_calls_total" in page.read_text()
    # The process started with every counter at 0: the scrape is the increase over its life.
    return between({}, scrape(page.as_uri(), 5.0), 60.0, PINNED_PRICE_TIME)


def test_report_json_has_null_costs_and_unpriced_counts(exported: Samples) -> None:
    period = Period(PINNED_PRICE_TIME - 60, PINNED_PRICE_TIME)
    empty = Samples(60.0, {}, {}, period.start)
    charts: dict[str, Any] = {"error_rate": [], "spend_by_agent": {}, "spend_by_model": {}}  # range queries: none here
    report = json.loads(json.dumps(assemble("test", period, exported, empty, charts, thresholds=Thresholds())))
    assert report["schema_version"] == SCHEMA_VERSION == 2 and "unpriced_calls" in SCHEMA["summary"]
    cost = paid_cost()
    agents = {a["name"]: a for a in report["agents"]}
    assert (agents["buyer"]["cost_usd"], agents["buyer"]["unpriced_calls"]) == (pytest.approx(4 * cost), 0)
    assert (agents["guardian"]["cost_usd"], agents["guardian"]["unpriced_calls"]) == (None, 2)
    assert (agents["mixed"]["cost_usd"], agents["mixed"]["unpriced_calls"]) == (pytest.approx(3 * cost), 3)
    models = {m["name"]: m for m in report["models"]}
    # The counter names the response model (acme-guard-1-0926); the row is the requested one.
    assert (models["vllm/acme-guard-1"]["cost_usd"], models["vllm/acme-guard-1"]["unpriced_calls"]) == (None, 5)
    assert models["openai/gpt-4o-mini"]["unpriced_calls"] == 0
    summary = report["summary"]
    assert summary["unpriced_calls"] == 5 and summary["llm_spend_usd"] == pytest.approx(7 * cost)
    assert summary["spend_usd"] == pytest.approx(7 * cost)
    assert all("cost_usd" not in t for t in report["tools"])

    terminal = Console(file=io.StringIO(), width=220, record=True)
    report_render.terminal(report, terminal)
    screen = terminal.export_text()
    assert re.search(r"│ guardian .*│\s+unpriced \(2 calls\) │", screen)
    assert re.search(r"│ mixed .*│\s+\$0\.\d{4} \(\+ 3 unpriced calls\) │", screen)
    assert re.search(r"│ vllm/acme-guard-1 .*│\s+unpriced \(5 calls\) │", screen)
    assert re.search(r"│ Spend +│ \$0\.\d{4} \(\+ 5 unpriced calls\) │", screen)
    markdown = report_render.markdown(report)
    assert re.search(r"^\| guardian \|.*\| unpriced \(2 calls\) \|", markdown, re.M)
    assert re.search(r"^\| vllm/acme-guard-1 \|.*\| unpriced \(5 calls\) \|", markdown, re.M)
    assert re.search(r"^\| Spend \| \$0\.\d{4} \(\+ 5 unpriced calls\) \|", markdown, re.M)
    page = report_render.html_page(report)
    assert "<td>unpriced (5 calls)</td>" in page and "(+ 3 unpriced calls)</td>" in page
    for text in (screen, markdown, page):
        assert "$0.0000" not in text


def test_top_shows_unpriced_rows_and_totals(exported: Samples) -> None:
    frame = compute(exported, "test", Thresholds(), None)
    assert (frame.priced_calls, frame.unpriced_calls) == (7, 5)
    console = Console(file=io.StringIO(), width=220, record=True)
    console.print(render(frame, {}, Thresholds()))
    screen = console.export_text()
    assert re.search(r"│ guardian .*│\s+unpriced \(2 calls\) │", screen)
    assert re.search(r"│ mixed .*│\s+\$\d+\.\d\d \(\+ 3 unpriced calls\) │", screen)
    assert re.search(r"│ vllm/acme-guard-1 .*│\s+unpriced \(5 calls\) │", screen)
    assert re.search(r"│ spend/hour \(USD\) +│ \$\d+\.\d\d \(\+ 5 unpriced calls\) │", screen)
    assert "$0.00 " not in screen and "$0.00 │" not in screen


def test_unpriced_calls_are_placed_where_their_series_say_never_beyond_the_counter() -> None:
    covered = Coverage()
    agent = {"gen_ai.agent.name": "a", "gen_ai.provider.name": "vllm", "gen_ai.request.model": "m"}
    covered.add_tokens({**agent, "gen_ai.token.type": "input"}, 3)
    covered.add_tokens({**agent, "gen_ai.token.type": "output"}, 3)
    covered.add_priced(agent, 1)  # e.g. one call priced by a provider-reported cost
    # Tokens another instrumentation recorded, without an agent; the counter knows 4 unpriced calls.
    covered.add_tokens({"gen_ai_provider_name": "vllm", "gen_ai_request_model": "m", "gen_ai_token_type": "input"}, 9)
    covered.add_unpriced({"gen_ai.provider.name": "vllm", "gen_ai.request.model": "m"}, 4)
    covered.add_unpriced({"gen_ai.provider.name": "", "gen_ai.request.model": "unseen"}, 1)
    agents, models = covered.split()
    assert agents == {"a": (1, 2)}
    assert models == {("vllm", "m"): (1, 4), ("", "unseen"): (0, 1)}
    assert (covered.priced_calls, covered.unpriced_calls) == (1, 5)
