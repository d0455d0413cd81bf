"""Cost: an independently computed price table, normalisation, overrides, unknown models, provider cost,
tiers, roll-ups, conversations and budgets."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from typing import Any

import pytest

import otel_agentperf as ap
from otel_agentperf import semconv as sc
from otel_agentperf.cost.ledger import Budget, BudgetAlert, BudgetTracker, ConversationLedger
from otel_agentperf.cost.pricing import PriceBook
from otel_agentperf.cost.usage import Usage
from otel_agentperf.testing import Capture, capture
from otel_agentperf.tracing.state import STATE

M = 1_000_000
# Every price is taken at a pinned time: DeepSeek's rates change with the time of day, other models' with
# the date. 10:00 UTC is inside DeepSeek's standard (peak) hours, 00:30-16:30 UTC.
AT_DT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
AT = AT_DT.timestamp()

# (provider, model id as an application reports it, published USD per Mtok: input, output, cache read, cache write)
PRICES: list[tuple[str | None, str, tuple[float, float, float | None, float | None]]] = [
    ("openai", "gpt-4o", (2.5, 10.0, 1.25, None)),
    ("openai", "gpt-4o-mini-2024-07-18", (0.15, 0.6, 0.075, None)),  # dated snapshot
    ("openai", "o4-mini", (1.1, 4.4, 0.275, None)),  # reasoning model: reasoning billed as output
    ("openai", "gpt-5", (1.25, 10.0, 0.125, None)),
    ("openai", "text-embedding-3-small", (0.02, 0.0, None, None)),
    ("anthropic", "claude-haiku-4-5", (1.0, 5.0, 0.1, 1.25)),
    ("anthropic", "claude-sonnet-4-6", (3.0, 15.0, 0.3, 3.75)),
    ("anthropic", "claude-3-5-haiku-20241022", (0.8, 4.0, 0.08, 1.0)),
    ("anthropic", "claude-opus-4-5", (5.0, 25.0, 0.5, 6.25)),
    ("gcp.gemini", "gemini-2.0-flash", (0.1, 0.4, 0.025, None)),
    ("gcp.vertex_ai", "gemini-2.5-flash", (0.3, 2.5, 0.03, None)),
    ("mistral_ai", "mistral-large-latest", (2.0, 6.0, None, None)),
    ("mistral_ai", "mistral-small-latest", (0.15, 0.6, 0.015, None)),
    ("aws.bedrock", "us.anthropic.claude-3-5-sonnet-20241022-v2:0", (3.0, 15.0, 0.3, 3.75)),  # region prefix
    (
        "aws.bedrock",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        (3.0, 15.0, 0.3, 3.75),
    ),
    ("aws.bedrock", "anthropic.claude-3-haiku-20240307-v1:0", (0.25, 1.25, None, None)),
    ("aws.bedrock", "meta.llama3-1-70b-instruct-v1:0", (0.72, 0.72, None, None)),
    ("openrouter", "anthropic/claude-3.5-sonnet", (3.0, 15.0, None, None)),
    ("openrouter", "google/gemini-2.0-flash-001", (0.1, 0.4, None, None)),
    (None, "openai/gpt-4o", (2.5, 10.0, 1.25, None)),  # provider prefix, no provider given
    ("x_ai", "grok-3", (3.0, 15.0, 0.75, None)),
    ("deepseek", "deepseek-chat", (0.27, 1.1, 0.07, None)),
    ("groq", "llama-3.3-70b-versatile", (0.59, 0.79, None, None)),
]
USAGES = [
    Usage(input_tokens=1200, output_tokens=300),
    Usage(input_tokens=50_000, output_tokens=2_000, cache_read_tokens=30_000, cache_write_tokens=10_000),
    Usage(input_tokens=8_000, output_tokens=4_000, reasoning_tokens=3_000),
    Usage(input_tokens=0, output_tokens=0),
]


def expected(prices: tuple[float, float, float | None, float | None], usage: Usage) -> float:
    """By hand: cached tokens are part of the input and billed at their own rate when the model has one."""
    p_in, p_out, p_read, p_write = prices
    read = usage.cache_read_tokens or 0 if p_read is not None else 0
    write = usage.cache_write_tokens or 0 if p_write is not None else 0
    uncached = (usage.input_tokens or 0) - read - write
    return (uncached * p_in + read * (p_read or 0) + write * (p_write or 0) + (usage.output_tokens or 0) * p_out) / M


@pytest.mark.parametrize(("provider", "model", "prices"), PRICES, ids=[m for _, m, _ in PRICES])
@pytest.mark.parametrize("usage_index", range(len(USAGES)))
def test_price_table(provider: str | None, model: str, prices: Any, usage_index: int) -> None:
    book = PriceBook()
    found = book.lookup(provider, model, AT)
    assert found is not None, model
    usage = USAGES[usage_index]
    assert found.cost(usage, AT) == pytest.approx(expected(prices, usage), abs=1e-9)
    assert found.source.startswith("genai-prices ")


def test_price_table_is_broad() -> None:
    providers = {p for p, _, _ in PRICES}
    assert len(PRICES) >= 20
    assert {"openai", "anthropic", "gcp.gemini", "mistral_ai", "aws.bedrock", "openrouter"} <= providers


# DeepSeek's published rates: standard 00:30-16:30 UTC, half price (off-peak) 16:30-00:30 UTC.
DEEPSEEK_PEAK = (0.27, 1.1, 0.07)
DEEPSEEK_OFF_PEAK = (0.135, 0.55, 0.035)


@pytest.mark.parametrize(
    ("hour", "minute", "rates", "window"),
    [
        (0, 29, DEEPSEEK_OFF_PEAK, "16:30-00:30 UTC"),
        (0, 30, DEEPSEEK_PEAK, "00:30-16:30 UTC"),
        (10, 0, DEEPSEEK_PEAK, "00:30-16:30 UTC"),
        (16, 29, DEEPSEEK_PEAK, "00:30-16:30 UTC"),
        (16, 30, DEEPSEEK_OFF_PEAK, "16:30-00:30 UTC"),
        (20, 0, DEEPSEEK_OFF_PEAK, "16:30-00:30 UTC"),
        (23, 59, DEEPSEEK_OFF_PEAK, "16:30-00:30 UTC"),
    ],
)
def test_deepseek_peak_and_off_peak(hour: int, minute: int, rates: tuple[float, float, float], window: str) -> None:
    at = datetime(2026, 11, 20, hour, minute, tzinfo=UTC).timestamp()
    found = PriceBook().lookup("deepseek", "deepseek-chat", at)
    assert found is not None
    usage = USAGES[1]
    assert found.cost(usage, at) == pytest.approx(expected((*rates, None), usage), abs=1e-12)
    assert found.window_at(at) == window
    assert [w.label for w in found.windows] == ["16:30-00:30 UTC", "00:30-16:30 UTC", "16:30-00:30 UTC"]


def reference_usd(ours: Any, usage: Usage, when: datetime) -> float:
    """genai-prices' own Decimal ``calc_price`` for the model our price book resolved (named in its source)."""
    import warnings

    from genai_prices import Usage as GUsage
    from genai_prices import calc_price

    ref_provider, ref_model = ours.source.split("(", 1)[1].split(")", 1)[0].split("/", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = calc_price(
            GUsage(
                input_tokens=usage.input_tokens or 0,
                output_tokens=usage.output_tokens or 0,
                cache_read_tokens=usage.cache_read_tokens or 0,
                cache_write_tokens=usage.cache_write_tokens or 0,
            ),
            ref_model,
            provider_id=ref_provider,
            genai_request_timestamp=when,
        )
    return float(theirs.total_price)


@pytest.mark.parametrize("hour", [3, 12, 18, 23])
def test_price_table_at_any_hour(hour: int) -> None:
    """The same call costs what genai-prices says at that hour, for every row (time-of-day prices included)."""

    when = datetime(2026, 11, 20, hour, 15, tzinfo=UTC)
    book = PriceBook()
    usage = USAGES[1]
    for provider, model, _ in PRICES:
        ours = book.lookup(provider, model, when.timestamp())
        assert ours is not None
        assert ours.cost(usage, when.timestamp()) == pytest.approx(reference_usd(ours, usage, when), abs=1e-9), model


def test_traced_call_records_the_price_window(monkeypatch: pytest.MonkeyPatch) -> None:
    from otel_agentperf.tracing import accounting as _accounting

    off_peak = datetime(2026, 11, 20, 20, 0, tzinfo=UTC).timestamp()
    monkeypatch.setattr(_accounting, "clock", lambda: off_peak)

    @ap.trace_llm(provider="deepseek", model="deepseek-chat")
    def ask() -> None:
        ap.record_usage(input_tokens=M, output_tokens=M)

    with capture() as cap:
        ask()
    (span,) = cap.spans()
    attrs = span.attributes or {}
    assert attrs[sc.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(0.135 + 0.55)
    assert attrs[sc.AGENTPERF_COST_PRICE_WINDOW] == "16:30-00:30 UTC"


def test_prices_command_shows_every_window() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "otel_agentperf", "prices", "--provider", "deepseek", "deepseek-chat", "gpt-4o"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
    ).stdout
    assert "by time of day" in out
    assert "00:30-16:30 UTC" in out and "input $0.27" in out
    assert "16:30-00:30 UTC" in out and "input $0.135" in out
    assert "gpt-4o" in out and "input $2.5" in out


def test_tiered_long_context_prices() -> None:
    book = PriceBook()
    pro = book.lookup("gcp.gemini", "gemini-2.5-pro", AT)
    assert pro is not None
    short = Usage(input_tokens=200_000, output_tokens=1_000)  # at the threshold: base rates
    long = Usage(input_tokens=250_000, output_tokens=1_000, cache_read_tokens=100_000)  # above: all tokens at tier
    assert pro.cost(short, AT) == pytest.approx((200_000 * 1.25 + 1_000 * 10.0) / M, abs=1e-12)
    assert pro.cost(long, AT) == pytest.approx((150_000 * 2.5 + 100_000 * 0.25 + 1_000 * 15.0) / M, abs=1e-12)
    sonnet = book.lookup("anthropic", "claude-sonnet-4-5-20250929", AT)
    assert sonnet is not None
    assert sonnet.cost(Usage(input_tokens=300_000, output_tokens=10), AT) == pytest.approx(
        (300_000 * 6.0 + 10 * 22.5) / M, abs=1e-12
    )


def test_matches_genai_prices_reference_implementation() -> None:
    """Our cached float arithmetic equals genai-prices' own Decimal calc_price across many models."""

    book = PriceBook()
    checked = 0
    for provider, model, _ in PRICES:
        for usage in USAGES:
            ours = book.lookup(provider, model, AT)
            assert ours is not None
            assert ours.cost(usage, AT) == pytest.approx(reference_usd(ours, usage, AT_DT), abs=1e-9), model
            checked += 1
    assert checked == len(PRICES) * len(USAGES)


def test_overrides_win_and_custom_models() -> None:
    book = PriceBook(
        overrides={
            "gpt-4o": {"input": 1.0, "output": 2.0},
            "my-finetune": {"input": 0.5, "output": 1.5, "cache_read": 0.05},
        },
    )
    gpt = book.lookup("openai", "gpt-4o", AT)
    assert gpt is not None and gpt.source == "configure(prices=...)"
    assert gpt.cost(Usage(input_tokens=M, output_tokens=M), AT) == pytest.approx(3.0)
    tuned = book.lookup("vllm", "my-finetune", AT)
    assert tuned is not None
    assert tuned.cost(Usage(input_tokens=M, output_tokens=0, cache_read_tokens=M // 2), AT) == pytest.approx(0.275)


@pytest.mark.parametrize("bad", [{"input": -1}, {"input": "cheap"}, {"foo": 1}, {}, 5])
def test_bad_override_raises_config_error(bad: Any) -> None:
    with pytest.raises(ap.AgentPerfConfigError):
        PriceBook(overrides={"m": bad})


@pytest.mark.parametrize("suffix", [".toml", ".yaml"])
def test_prices_file_from_env(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    path = tmp_path / f"prices{suffix}"
    if suffix == ".toml":
        path.write_text('[models."llama-3.1-8b-selfhosted"]\ninput = 0.05\noutput = 0.08\n')
    else:
        path.write_text("models:\n  llama-3.1-8b-selfhosted:\n    input: 0.05\n    output: 0.08\n")
    monkeypatch.setenv("AGENTPERF_PRICES_FILE", str(path))
    book = PriceBook(overrides={"other": {"input": 1.0}})
    found = book.lookup("vllm", "llama-3.1-8b-selfhosted", AT)
    assert found is not None and found.source == f"file {path}"
    assert found.cost(Usage(input_tokens=M, output_tokens=M), AT) == pytest.approx(0.13)


def test_unreadable_prices_file_warns(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    monkeypatch.setenv("AGENTPERF_PRICES_FILE", str(tmp_path / "missing.toml"))
    with caplog.at_level(logging.WARNING, logger="otel_agentperf"):
        PriceBook()
    assert "AGENTPERF_PRICES_FILE" in caplog.text


def test_lookups_are_cached() -> None:
    book = PriceBook()
    for _ in range(100):
        book.lookup("openai", "gpt-4o-mini", AT)
        book.lookup("acme", "unknown-model", AT)
    assert book.uncached_lookups == 2


def test_no_network_when_pricing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("network access while pricing")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    book = PriceBook()
    assert book.lookup("anthropic", "claude-haiku-4-5", AT) is not None


def llm(provider: str, model: str, response: dict[str, Any]) -> Any:
    @ap.trace_llm(provider=provider, model=model)
    def call() -> dict[str, Any]:
        return response

    return call


def test_cost_on_spans_metric_and_rollups(cap: Capture) -> None:
    ask = llm(
        "openai",
        "gpt-4o-mini",
        {
            "model": "gpt-4o-mini-2024-07-18",
            "usage": {
                "prompt_tokens": 10_000,
                "completion_tokens": 1_000,
                "prompt_tokens_details": {"cached_tokens": 4_000},
            },
        },
    )
    one_call = (6_000 * 0.15 + 4_000 * 0.075 + 1_000 * 0.6) / M

    @ap.trace_tool("browser")
    def browse() -> None:
        ap.record_cost(0.01, kind="browser_minutes")

    @ap.trace_agent("researcher")
    def researcher() -> None:
        ask()
        browse()

    @ap.trace_agent("writer")
    def writer() -> None:
        ask()
        researcher()

    with ap.trace_workflow("report"):
        writer()

    llm_spans = [s for s in cap.spans() if s.name == "chat gpt-4o-mini"]
    assert len(llm_spans) == 2
    for span in llm_spans:
        attrs = dict(span.attributes or {})
        assert attrs[sc.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(one_call, abs=1e-12)
        assert attrs[sc.GEN_AI_USAGE_COST_CURRENCY] == "USD"
        assert attrs[sc.GEN_AI_USAGE_COST_SOURCE] == "local"
    totals = {s.name: (s.attributes or {}).get(sc.AGENTPERF_COST_TOTAL) for s in cap.spans()}
    assert totals["invoke_agent researcher"] == pytest.approx(one_call + 0.01)
    assert totals["invoke_agent writer"] == pytest.approx(2 * one_call + 0.01)
    assert totals["invoke_workflow report"] == pytest.approx(2 * one_call + 0.01)
    assert totals["execute_tool browser"] is None  # totals only on agents and workflows
    by_agent = {
        agent: cap.histogram_sum(sc.CLIENT_OPERATION_COST, {sc.GEN_AI_AGENT_NAME: agent})
        for agent in ("researcher", "writer")
    }
    assert by_agent == {"researcher": pytest.approx(one_call), "writer": pytest.approx(one_call)}
    point = cap.points(sc.CLIENT_OPERATION_COST)[0]
    assert point.attributes is not None and point.attributes[sc.GEN_AI_PROVIDER_NAME] == "openai"
    other = cap.metrics()[sc.OTHER_COST].data.data_points[0]
    assert other.value == pytest.approx(0.01)  # type: ignore[union-attr]
    assert dict(other.attributes or {}) == {
        sc.AGENTPERF_COST_KIND: "browser_minutes",
        sc.GEN_AI_AGENT_NAME: "researcher",
    }


def test_failed_call_with_usage_is_priced_with_error_label(cap: Capture) -> None:
    @ap.trace_llm(provider="openai", model="gpt-4o")
    def ask() -> None:
        ap.record_usage(input_tokens=1000, output_tokens=0)
        raise TimeoutError("stream cut")

    with pytest.raises(TimeoutError):
        ask()
    assert cap.histogram_sum(sc.CLIENT_OPERATION_COST, {sc.ERROR_TYPE: "TimeoutError"}) == pytest.approx(1000 * 2.5 / M)


def test_provider_reported_cost_wins(cap: Capture) -> None:
    llm(
        "openrouter",
        "anthropic/claude-3.5-sonnet",
        {
            "model": "anthropic/claude-3.5-sonnet",
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "cost": 0.0123},
        },
    )()
    attrs = dict(cap.spans()[0].attributes or {})
    assert attrs[sc.GEN_AI_USAGE_COST_AMOUNT] == 0.0123
    assert attrs[sc.GEN_AI_USAGE_COST_SOURCE] == "provider"
    assert cap.histogram_sum(sc.CLIENT_OPERATION_COST) == pytest.approx(0.0123)


def test_unknown_model_gets_no_cost_a_counter_and_one_warning(cap: Capture, caplog: pytest.LogCaptureFixture) -> None:
    ask = llm("acme", "acme-llm-9000", {"usage": {"prompt_tokens": 10, "completion_tokens": 5}})
    with caplog.at_level(logging.WARNING, logger="otel_agentperf"):
        for _ in range(3):
            ask()
    for span in cap.spans():
        assert sc.GEN_AI_USAGE_COST_AMOUNT not in (span.attributes or {})  # never a made-up 0
    assert cap.histogram_count(sc.CLIENT_OPERATION_COST) == 0
    counter = cap.metrics()[sc.UNPRICED_CALLS].data.data_points[0]
    assert counter.value == 3  # type: ignore[union-attr]
    assert dict(counter.attributes or {}) == {sc.GEN_AI_PROVIDER_NAME: "acme", sc.GEN_AI_REQUEST_MODEL: "acme-llm-9000"}
    assert len([r for r in caplog.records if "no price known" in r.getMessage()]) == 1


def test_conversation_ledger_and_rating(cap: Capture) -> None:
    ask = llm(
        "anthropic",
        "claude-haiku-4-5",
        {"model": "claude-haiku-4-5", "type": "message", "usage": {"input_tokens": 1000, "output_tokens": 200}},
    )
    one = (1000 * 1.0 + 200 * 5.0) / M

    @ap.trace_agent("support")
    def support() -> None:
        ask()
        ap.record_cost(0.004, kind="search_api")

    with ap.conversation("c-1"):
        support()
        support()
    with ap.conversation("c-2"):
        support()
    c1 = ap.conversation_cost("c-1")
    assert c1 is not None
    assert c1.total_usd == pytest.approx(2 * one + 0.008)
    assert c1.by_agent == {"support": pytest.approx(2 * one + 0.008)}
    assert c1.by_model == {"claude-haiku-4-5": pytest.approx(2 * one)}
    assert c1.priced_calls == 2 and c1.input_tokens == 2000
    assert c1.rating == "B"  # between $0.01 and $0.05
    assert [c.conversation_id for c in ap.top_conversations(5)] == ["c-1", "c-2"]
    assert ap.conversation_cost("nope") is None


def test_ledger_is_bounded() -> None:
    ledger = ConversationLedger(max_conversations=3)
    for i in range(10):
        ledger.add(f"c{i}", 0.01, agent="a", model="m")
    assert [c.conversation_id for c in ledger.top(10)] == ["c7", "c8", "c9"]
    assert ledger.evicted == 7
    with pytest.raises(ValueError):
        ConversationLedger(rating_thresholds=(0.5, 0.1, 1.0))


def test_budget_callback_once_per_crossing() -> None:
    now = [1_000_000.0]
    alerts: list[BudgetAlert] = []
    tracker = BudgetTracker(
        Budget(hourly_usd=1.0, daily_usd=3.0, per_agent_daily_usd={"writer": 0.5}, on_exceeded=alerts.append),
        clock=lambda: now[0],
    )
    tracker.add(0.4, "writer")
    assert alerts == []
    tracker.add(0.4, "writer")  # writer 0.8 > 0.5
    tracker.add(0.4, "planner")  # hour 1.2 > 1.0
    tracker.add(0.1, "planner")  # still over: no second alert
    assert [(a.window, a.scope) for a in alerts] == [("day", "agent:writer"), ("hour", "total")]
    assert alerts[1].spent_usd == pytest.approx(1.2) and alerts[1].limit_usd == 1.0
    now[0] += 3601  # the hour slides past: spend falls back under the hourly limit
    assert tracker.status()["hour"] == pytest.approx(0.0)
    tracker.add(1.1, None)  # crosses the hourly limit again: a new alert; the day is now 2.4
    assert [(a.window, a.scope) for a in alerts][-1] == ("hour", "total")
    tracker.add(0.7, None)  # day 3.1 > 3.0
    assert [(a.window, a.scope) for a in alerts][-1] == ("day", "total")


def test_budget_callback_errors_never_reach_user_code(cap: Capture, caplog: pytest.LogCaptureFixture) -> None:
    def explode(alert: BudgetAlert) -> None:
        raise RuntimeError("callback bug")

    saved = STATE.budget
    STATE.budget = BudgetTracker(Budget(hourly_usd=0.000001, on_exceeded=explode))
    try:
        with caplog.at_level(logging.ERROR, logger="otel_agentperf"):
            llm("openai", "gpt-4o", {"usage": {"prompt_tokens": 1000, "completion_tokens": 1}})()
    finally:
        STATE.budget = saved
    assert "on_exceeded callback raised" in caplog.text


@pytest.mark.parametrize("bad", [{"hourly_usd": -1}, {"daily_usd": float("nan")}, {"per_agent_daily_usd": {"a": 0}}])
def test_bad_budget(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Budget(**bad)


def test_configure_prices_aliases_budget_in_a_process() -> None:
    code = textwrap.dedent(
        """
        import otel_agentperf as ap
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        spans = InMemorySpanExporter()
        alerts = []
        ap.configure(traces_exporter=spans, metrics_exporter="none",
                     prices={"my-finetune": {"input": 1.0, "output": 2.0}},
                     model_aliases={"prod-eastus-4o": "gpt-4o"},
                     budget=ap.Budget(hourly_usd=0.5, on_exceeded=alerts.append))

        @ap.trace_llm(provider="vllm")
        def tuned(model):
            return {"usage": {"prompt_tokens": 100_000, "completion_tokens": 100_000}}

        @ap.trace_llm(provider="azure.ai.openai")
        def azure(model):
            return {"usage": {"prompt_tokens": 1_000_000, "completion_tokens": 0}}

        tuned(model="my-finetune")
        azure(model="prod-eastus-4o")
        ap.shutdown()
        costs = {s.name: round(s.attributes["gen_ai.usage.cost.amount"], 9) for s in spans.get_finished_spans()}
        print(costs, [(a.window, round(a.spent_usd, 6)) for a in alerts], ap.budget_status() == {})
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTPERF_PRICES"))}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "{'chat my-finetune': 0.3, 'chat prod-eastus-4o': 2.5} [('hour', 2.8)] False"


def test_refresh_prices_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from decimal import Decimal

    from genai_prices import data_snapshot
    from genai_prices.data import providers
    from genai_prices.types import ModelPrice
    from genai_prices.update_prices import UpdatePrices

    fetched: list[str] = []

    def fake_fetch(self: UpdatePrices) -> data_snapshot.DataSnapshot:
        fetched.append(self.url)
        import copy

        fresh = copy.deepcopy(providers)
        for provider in fresh:
            for model in provider.models:
                if provider.id == "openai" and model.id == "gpt-4o":
                    model.prices = ModelPrice(input_mtok=Decimal("1"), output_mtok=Decimal("2"))
        return data_snapshot.DataSnapshot(fresh, from_auto_update=True)

    monkeypatch.setattr(UpdatePrices, "fetch", fake_fetch)
    book = STATE.prices
    before = book.lookup("openai", "gpt-4o", AT)
    assert before is not None and before.input is not None and before.input.per_mtok == 2.5
    assert fetched == []  # nothing fetched by lookups or configure
    try:
        assert ap.refresh_prices(url="https://prices.example/data.json") is True
        after = STATE.prices.lookup("openai", "gpt-4o", AT)
        assert after is not None and after.input is not None and after.input.per_mtok == 1.0
        assert fetched == ["https://prices.example/data.json"]
    finally:
        data_snapshot.set_custom_snapshot(None)
        STATE.prices.clear()


def test_refresh_failure_keeps_prices(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from genai_prices.update_prices import UpdatePrices

    def offline(self: UpdatePrices) -> None:
        raise OSError("no route to host")

    monkeypatch.setattr(UpdatePrices, "fetch", offline)
    with caplog.at_level(logging.WARNING, logger="otel_agentperf"):
        assert ap.refresh_prices() is False
    assert "price refresh failed" in caplog.text
    assert STATE.prices.lookup("openai", "gpt-4o", AT) is not None


def test_genai_prices_only_through_its_public_api() -> None:
    """Only names of ``genai_prices.__all__``, imported from ``genai_prices`` itself: an internal module
    (``data_snapshot``, ``types``) may change in any release of the range pyproject.toml allows."""
    import ast
    from pathlib import Path

    import genai_prices

    package = Path(ap.__file__).parent
    used: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "genai_prices":
                assert node.module == "genai_prices", f"{path.name}: from {node.module} import ..."
                used |= {alias.name for alias in node.names}
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("genai_prices") for a in node.names), path.name
    assert used and used <= set(genai_prices.__all__), sorted(used - set(genai_prices.__all__))


def test_refreshes_back_to_back_each_report_their_own_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    """genai-prices shares one background task between updaters: a refresh right after another must not be
    told the previous fetch's outcome."""
    from genai_prices import UpdatePrices

    outcomes = iter([True, False] * 3)

    def fetch(self: UpdatePrices) -> None:
        if not next(outcomes):
            raise OSError("no route to host")
        # None: keep the bundled prices (a successful fetch of nothing new)

    monkeypatch.setattr(UpdatePrices, "fetch", fetch)
    assert [ap.refresh_prices() for _ in range(6)] == [True, False] * 3
    assert STATE.prices.lookup("openai", "gpt-4o", AT) is not None


def test_cheaper_alternatives_of_a_model_genai_prices_names_differently() -> None:
    """A Bedrock inference profile resolves to a model whose own id genai-prices does not match again; its
    provider's models are still compared."""
    from otel_agentperf.cost.catalog import cheaper_alternatives

    sonnet = PriceBook().lookup("aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", AT)
    assert sonnet is not None and sonnet.provider == "aws"
    alternatives = cheaper_alternatives(sonnet, AT)
    assert alternatives and all(a.provider == "aws" and a.model != sonnet.model for a in alternatives)
    assert sonnet.input is not None
    assert all(a.input is not None and a.input.per_mtok <= sonnet.input.per_mtok / 2 for a in alternatives)
