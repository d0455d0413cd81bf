"""Every rule: a workload through the public API that must trigger it and one that must not; evidence and
savings arithmetic on hand-built snapshots; guarded rules; outputs (events, logs, gauges, recommend)."""

from __future__ import annotations

import gc
import logging
import mmap
import os
import time
from collections.abc import Callable
from typing import Any

import pytest

import otel_agentperf as ap
from otel_agentperf import semconv as sc
from otel_agentperf.insights.rules import (
    BUILTIN_RULES,
    rule_budget_burn,
    rule_caching,
    rule_error_prone,
    rule_model_downgrade,
    rule_slow,
)
from otel_agentperf.insights.stats import Row
from otel_agentperf.insights.suggest import SAVINGS_WITHHELD, Snapshot, Thresholds
from otel_agentperf.telemetry.resources import Resources
from otel_agentperf.testing import Capture, capture


def rules_found(rule: str) -> list[ap.Suggestion]:
    return [s for s in ap.suggestions() if s.rule == rule]


def estimated_savings(rule: str) -> tuple[float, float]:
    """(USD, seconds) per day the rule itself estimates on this process' window, before ``evaluate``
    withholds savings of a window with too little data (as every test workload here is)."""
    from otel_agentperf.tracing.state import STATE

    advisor = STATE.advisor
    found = BUILTIN_RULES[rule](advisor.snapshot(), advisor.thresholds)
    return sum(s.savings_usd_per_day for s in found), sum(s.savings_seconds_per_day for s in found)


def withheld(s: ap.Suggestion) -> bool:
    """A few seconds of test traffic: confidence low, no savings claimed, and the evidence says why."""
    return (
        s.confidence == "low"
        and s.savings_usd_per_day == s.savings_seconds_per_day == 0.0
        and s.evidence["savings"] == SAVINGS_WITHHELD
    )


def llm(provider: str, model: str, *, out: int = 50, inp: int = 1000, cached: int = 0) -> Callable[..., Any]:
    @ap.trace_llm(provider=provider, model=model)
    def call(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {
            "model": model,
            "usage": {
                "prompt_tokens": inp,
                "completion_tokens": out,
                "prompt_tokens_details": {"cached_tokens": cached},
            },
        }

    return call


# --- slow -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("target", "fires"), [(0.01, True), (5.0, False)])
def test_slow_agent(target: float, fires: bool) -> None:
    @ap.trace_tool("slow_search")
    def search() -> None:
        time.sleep(0.02)

    @ap.trace_agent("researcher")
    def researcher() -> None:
        search()

    with capture(thresholds={"slow_p95_s": target}):
        for _ in range(6):
            researcher()
        found = [s for s in rules_found("slow") if s.scope_kind == "agent"]
        estimated = estimated_savings("slow")
    assert bool(found) is fires
    if fires:
        s = found[0]
        assert s.scope_name == "researcher"
        assert s.evidence["calls"] == 6 and s.evidence["p95_s"] >= 0.02
        assert "tool slow_search" in s.description  # what dominates its time
        assert withheld(s) and estimated[1] > 0


def test_slow_rule_arithmetic() -> None:
    row = Row(("writer",), count=100, p50=3.0, p95=8.0, p99=9.0, children={"llm claude": 70.0, "tool fetch": 30.0})
    snap = Snapshot(window_s=3600, agents=[row])
    (s,) = rule_slow(snap, Thresholds(slow_p95_s=5.0))
    # 5 % of 100 calls per hour save ≥ 3 s each: 15 s/h → 360 s/day.
    assert s.savings_seconds_per_day == pytest.approx(360.0)
    assert s.impact == pytest.approx(0.6) and s.severity == "medium"
    assert "llm claude 70%, tool fetch 30%" in s.description


# --- model downgrade ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("out", "fires"), [(40, True), (2000, False)])
def test_model_downgrade(out: int, fires: bool) -> None:
    ask = llm("openai", "gpt-4o", out=out, inp=800)

    @ap.trace_agent("classifier")
    def classify() -> None:
        ask()

    with capture():
        for _ in range(12):
            classify()
        found = rules_found("model_downgrade")
        estimated = estimated_savings("model_downgrade")
    assert bool(found) is fires
    if fires:
        s = found[0]
        assert s.scope_name == "classifier:gpt-4o"
        assert s.evidence["mean_output_tokens"] == 40
        assert "Cheaper models from the same provider" in s.description
        assert withheld(s) and estimated[0] > 0


def test_model_downgrade_arithmetic() -> None:
    from otel_agentperf.cost.pricing import PriceBook

    book = PriceBook()
    row = Row(("a", "openai", "gpt-4o"), count=100, tokens_in=100_000, tokens_out=5_000)
    at = 1_795_168_800.0  # pinned: prices can depend on the date and the time of day
    snap = Snapshot(window_s=86_400, agent_models=[row], price_of=book.lookup, at=at)
    (s,) = rule_model_downgrade(snap, Thresholds())
    now_usd = (100_000 * 2.5 + 5_000 * 10.0) / 1e6
    assert s.evidence["usd_per_day_now"] == pytest.approx(now_usd)
    from otel_agentperf.cost.catalog import cheaper_alternatives
    from otel_agentperf.cost.usage import Usage
    from otel_agentperf.insights.rules import same_or_newer_generation

    gpt4o = book.lookup("openai", "gpt-4o", at)
    assert gpt4o is not None
    best = max(
        now_usd - alt.cost(Usage(input_tokens=100_000, output_tokens=5_000), at)
        for alt in [
            a for a in cheaper_alternatives(gpt4o, at, limit=10) if same_or_newer_generation(a.model, "gpt-4o")
        ][:3]
    )
    assert s.savings_usd_per_day == pytest.approx(best)


# --- caching --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("same", "fires"), [(True, True), (False, False)])
def test_caching_repeated_tool_calls(same: bool, fires: bool) -> None:
    @ap.trace_tool("geocode")
    def geocode(city: str) -> str:
        ap.record_cost(0.001, kind="maps_api")
        return city

    with capture():
        for i in range(6):
            geocode("Paris" if same else f"city-{i}")
        found = rules_found("caching")
        estimated = estimated_savings("caching")
    assert bool(found) is fires
    if fires:
        s = found[0]
        assert (s.scope_kind, s.scope_name) == ("tool", "geocode")
        assert s.evidence["extra_calls"] == 5 and s.evidence["repeated_argument_sets"] == 1
        assert withheld(s) and estimated[0] > 0  # 5 avoidable × $0.001, per day


def test_calls_without_arguments_are_not_taken_for_repeats() -> None:
    """A function called without arguments reads something (the clock, a queue) or builds its prompt inside:
    that its arguments are "the same" says nothing, so it is never a caching candidate."""

    @ap.trace_tool("now")
    def now() -> float:
        return time.time()

    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def next_step() -> dict[str, Any]:
        return {"usage": {"prompt_tokens": 10, "completion_tokens": 2}}

    with capture():
        for _ in range(6):
            now()
            next_step()
        assert rules_found("caching") == []


def test_caching_arithmetic_and_opt_out() -> None:
    snap = Snapshot(window_s=3600, tools=[Row(("t",), count=20, cost=0.2)], repeats={"tool:t": (2, 8, 5.0)})
    (s,) = rule_caching(snap, Thresholds())
    # 8 extra calls per hour, each $0.2/20 and 5 s/10 calls → per day ×24.
    assert s.savings_usd_per_day == pytest.approx(8 * 0.01 * 24)
    assert s.savings_seconds_per_day == pytest.approx(8 * 0.5 * 24)
    with capture():
        from otel_agentperf.tracing.state import STATE

        STATE.advisor.fingerprints = False

        @ap.trace_tool("geocode")
        def geocode(city: str) -> str:
            return city

        for _ in range(6):
            geocode("Paris")
        assert rules_found("caching") == []


# --- prompt caching -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("cached", "fires"), [(0, True), (4000, False)])
def test_prompt_caching(cached: int, fires: bool) -> None:
    system = "You are a meticulous support agent. " * 150  # ~5,400 characters, identical every call
    ask = llm("anthropic", "claude-haiku-4-5", inp=5000, out=100, cached=cached)
    with capture():
        for i in range(8):
            ask(messages=[{"role": "system", "content": system}, {"role": "user", "content": f"question {i}"}])
        found = rules_found("prompt_caching")
        estimated = estimated_savings("prompt_caching")
    assert bool(found) is fires
    if fires:
        s = found[0]
        assert s.scope_name == "anthropic/claude-haiku-4-5"
        assert s.evidence["repeats"] == 7 and s.evidence["cached_share"] == 0.0
        assert withheld(s) and estimated[0] > 0


# --- context bloat --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("growth", "fires"), [(3000, True), (0, False)])
def test_context_bloat(growth: int, fires: bool) -> None:
    with capture():
        with ap.conversation("long-chat"):
            for turn in range(6):
                llm("openai", "gpt-4o-mini", inp=2000 + growth * turn)()
        found = rules_found("context_bloat")
    assert bool(found) is fires
    if fires:
        s = found[0]
        assert s.evidence["conversations"] == 1
        assert s.evidence["worst_growth"] == pytest.approx(17000 / 2000)
        assert s.evidence["extra_input_tokens"] == sum(3000 * t for t in range(6))


# --- error prone / retry loop ---------------------------------------------------------------------------
@pytest.mark.parametrize(("fail_every", "fires"), [(3, True), (0, False)])
def test_error_prone_tool(fail_every: int, fires: bool) -> None:
    @ap.trace_tool("flaky_api")
    def flaky(i: int) -> None:
        if fail_every and i % fail_every == 0:
            raise ConnectionError("reset")

    with capture():
        for i in range(30):
            try:
                flaky(i)
            except ConnectionError:
                pass
        found = [s for s in rules_found("error_prone") if s.scope_kind == "tool"]
    assert bool(found) is fires
    if fires:
        assert found[0].evidence["errors"] == 10 and found[0].evidence["error_rate"] == pytest.approx(1 / 3)
        assert "ConnectionError ×10" in found[0].description


def test_error_prone_arithmetic() -> None:
    row = Row(("openai", "gpt-4o"), count=100, errors={"RateLimitError": 20}, seconds=200.0, cost=1.0)
    (s,) = rule_error_prone(Snapshot(window_s=86_400, provider_models=[row]), Thresholds())
    assert s.savings_usd_per_day == pytest.approx(1.0 * 0.2)
    assert s.savings_seconds_per_day == pytest.approx(20 * 2.0)
    assert s.severity == "medium"


def test_retry_loop() -> None:
    attempts = {"n": 0}

    @ap.trace_llm(provider="openai", model="gpt-4o")
    def ask() -> None:
        attempts["n"] += 1
        if attempts["n"] % 3:
            raise TimeoutError("slow provider")

    @ap.trace_agent("stubborn")
    def stubborn() -> None:
        for _ in range(3):
            try:
                ask()
                return
            except TimeoutError:
                continue

    with capture():
        for _ in range(3):
            stubborn()
        found = rules_found("retry_loop")
    assert found and found[0].scope_name == "stubborn" and found[0].evidence["retries"] == 6


# --- timeout fit ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("timeout", "fires"), [(0.001, True), (1.0, False)])
def test_timeout_fit(timeout: float, fires: bool) -> None:
    @ap.trace_tool("fetch")
    def fetch() -> None:
        time.sleep(0.005)

    with capture(timeouts={"tool:fetch": timeout}):
        for _ in range(6):
            fetch()
        found = rules_found("timeout_fit")
    assert bool(found) is fires
    if fires:
        assert found[0].evidence["recommended_s"] == 1.0 and "cuts off calls" in found[0].description


# --- resources ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("memory_threshold", "fires"), [(0.0, True), (1.0, False)])
def test_resource_contention(memory_threshold: float, fires: bool) -> None:
    with capture(thresholds={"memory_utilization": memory_threshold, "cpu_utilization": 1.0}):
        with ap.trace_agent("busy"):
            pass
        found = rules_found("resource_contention")
    assert bool(found) is fires
    if fires:
        assert found[0].scope_name == "memory" and 0 < float(found[0].evidence["memory"]) <= 1


# --- budget burn ----------------------------------------------------------------------------------------
def test_budget_burn_rule() -> None:
    snap = Snapshot(window_s=3600, hourly_spend_usd=1.0, daily_budget_usd=24.0)  # exactly on budget
    assert rule_budget_burn(snap, Thresholds()) == []
    snap.hourly_spend_usd = 3.0
    (s,) = rule_budget_burn(snap, Thresholds())
    assert s.evidence["projected_usd_per_day"] == 72.0 and s.savings_usd_per_day == pytest.approx(48.0)


def test_budget_burn_through_configure() -> None:
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import otel_agentperf as ap
        ap.configure(traces_exporter="none", metrics_exporter="none", budget=ap.Budget(daily_usd=0.01))

        @ap.trace_llm(provider="openai", model="gpt-4o")
        def ask():
            return {"usage": {"prompt_tokens": 100000, "completion_tokens": 1000}}

        ask()
        print([s.rule for s in ap.suggestions() if s.rule == "budget_burn"])
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['budget_burn']"


# --- engine and outputs ---------------------------------------------------------------------------------
def test_a_raising_rule_does_not_stop_the_others(monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    monkeypatch.delenv("AGENTPERF_RAISE_INTERNAL_ERRORS")

    def broken(snap: Snapshot, t: Thresholds) -> list[ap.Suggestion]:
        raise RuntimeError("rule bug")

    @ap.trace_tool("geocode")
    def geocode(city: str) -> str:
        return city

    with capture(), caplog.at_level(logging.WARNING, logger="otel_agentperf"):
        ap.register_rule("broken", broken)
        for _ in range(6):
            geocode("Paris")
        assert "caching" in [s.rule for s in ap.suggestions()]
    assert "suggestion rule 'broken' raised" in caplog.text  # a user's rule: a warning, not an internal error


def test_custom_rule(cap: Capture) -> None:
    def big_spenders(snap: Snapshot, t: Thresholds) -> list[ap.Suggestion]:
        return [
            ap.make_suggestion(
                "big_spender", "agent", r.key[0], title=f"{r.key[0]} spends", description="d", impact=0.9
            )
            for r in snap.agents
            if r.cost > 0.001
        ]

    ap.register_rule("big_spender", big_spenders)
    with ap.trace_agent("spender"):
        ap.record_cost(0.01, kind="x")
    (s,) = rules_found("big_spender")  # (other rules, e.g. resources under a busy CI machine, may fire too)
    assert (s.rule, s.scope_name, s.severity) == ("big_spender", "spender", "high")
    assert s.id == rules_found("big_spender")[0].id  # stable across evaluations
    assert s.first_seen <= s.last_seen


def test_new_suggestion_is_an_event_on_the_next_agent_span_a_log_and_a_gauge(
    cap: Capture, caplog: pytest.LogCaptureFixture
) -> None:
    @ap.trace_tool("geocode")
    def geocode(city: str) -> str:
        return city

    @ap.trace_agent("mapper")
    def mapper() -> None:
        for _ in range(5):
            geocode("Paris")

    mapper()
    with caplog.at_level(logging.INFO, logger="otel_agentperf"):
        assert "caching" in [s.rule for s in ap.suggestions()]
        ap.suggestions()  # not new any more: logged once
    assert len([r for r in caplog.records if "Cache tool" in r.getMessage()]) == 1
    cap.tracer_provider.force_flush()
    # The suggestion is about a tool; the agent-scoped event needs an agent-scoped suggestion:
    ap.register_rule(
        "mapper_note",
        lambda snap, t: [ap.make_suggestion("note", "agent", "mapper", title="t", description="d", impact=0.2)],
    )
    ap.suggestions()
    mapper()
    spans = [s for s in cap.spans() if s.name == "invoke_agent mapper"]
    assert [e.name for e in spans[-1].events] == ["agentperf.suggestion"]
    assert [e.name for e in spans[0].events] == []
    points = cap.metrics()[sc.SUGGESTIONS_ACTIVE].data.data_points
    assert {"caching", "note"} <= {dict(p.attributes or {})[sc.SUGGESTION_RULE] for p in points}
    # Every active suggestion says how much evidence it stands on (a short test window: low).
    assert {dict(p.attributes or {})[sc.SUGGESTION_CONFIDENCE] for p in points} == {"low"}


def test_recommend_picks_model_and_timeout(cap: Capture) -> None:
    fast_cheap = llm("openai", "gpt-4o-mini", out=100)
    flaky = llm("openai", "gpt-4o", out=100)

    @ap.trace_llm(provider="openai", model="gpt-4o")
    def failing() -> None:
        raise TimeoutError

    @ap.trace_agent("router")
    def router(i: int) -> None:
        fast_cheap()
        if i % 2:
            try:
                failing()
            except TimeoutError:
                pass
        else:
            flaky()

    for i in range(10):
        router(i)
    rec = ap.recommend("router", ["gpt-4o", "gpt-4o-mini", "never-seen"])
    assert rec.model == "gpt-4o-mini"
    assert rec.timeout_s == 1.0  # p99 × 1.5, at least 1 s
    assert set(rec.scores) == {"gpt-4o-mini"}  # gpt-4o is below the success floor (50 %)
    assert ap.recommend("router", ["unknown-a"]).model == "unknown-a"


def test_health_score(cap: Capture) -> None:
    @ap.trace_agent("ok")
    def ok() -> None:
        return None

    @ap.trace_agent("bad")
    def bad() -> None:
        raise ValueError

    for _ in range(3):
        ok()
        try:
            bad()
        except ValueError:
            pass
    score, parts = ap.health()
    assert parts["success"] == pytest.approx(0.5)
    assert parts["latency"] == 1.0 and parts["cost"] == 1.0
    expected = 100 * (0.4 * 0.5 + 0.25 + 0.15 + 0.2 * parts["resources"])
    assert score == pytest.approx(round(expected, 1))


def test_resources_snapshot_reads_real_values() -> None:
    from otel_agentperf.telemetry.resources import read

    res = read()
    assert isinstance(res, Resources)
    assert res.process_rss_bytes and res.process_rss_bytes > 1e6
    assert res.memory is not None and 0 < res.memory < 1
    assert res.threads and res.threads >= 1


def test_thresholds_from_env_and_file(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from otel_agentperf.insights.suggest import load_thresholds

    path = tmp_path / "t.toml"
    path.write_text("[thresholds]\nslow_p95_s = 2.5\nerror_rate = 0.3\nmin_calls = 7\n")
    monkeypatch.setenv("AGENTPERF_THRESHOLDS_FILE", str(path))
    monkeypatch.setenv("AGENTPERF_THRESHOLDS", "error_rate=0.2, bogus=1, min_calls=x")
    t = load_thresholds({"slow_p95_s": 1.0})
    assert (t.slow_p95_s, t.error_rate, t.min_calls) == (1.0, 0.2, 7)
    with pytest.raises(ap.AgentPerfConfigError):
        load_thresholds({"nope": 1})
    with pytest.raises(ap.AgentPerfConfigError):
        load_thresholds({"slow_p95_s": -1})


def test_resource_deltas_on_agent_spans_opt_in(cap: Capture) -> None:
    from otel_agentperf.tracing.state import STATE

    kept: list[mmap.mmap] = []

    @ap.trace_agent("cruncher")
    def crunch() -> int:
        # 8 MiB of new pages that outlive the call, each one written, and some CPU burnt. A fresh mapping, not
        # the heap: an allocation there may reuse pages an earlier test freed, still resident (no RSS growth).
        data = mmap.mmap(-1, 8 * 2**20)
        for offset in range(0, len(data), mmap.PAGESIZE):
            data[offset] = 1
        kept.append(data)
        total = 0
        deadline = time.process_time() + 0.05
        while time.process_time() < deadline:
            total += len(data)
        return total

    crunch()  # off by default
    assert "agentperf.process.cpu_time_delta" not in (cap.spans()[0].attributes or {})
    STATE.resource_deltas = True
    gc.collect()  # earlier tests' garbage freed now, not during the call (its RSS would fall as ours grows)
    gc.disable()
    try:
        crunch()
    finally:
        gc.enable()
        STATE.resource_deltas = False
    attrs = dict(cap.spans()[1].attributes or {})
    assert attrs["agentperf.process.cpu_time_delta"] >= 0.05
    rss_delta = attrs["agentperf.process.rss_delta"]
    assert isinstance(rss_delta, int) and rss_delta >= 7 * 2**20


def test_gpu_gauges_read_nvml_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    """No GPU here: a stand-in ``pynvml`` exercises the NVML path the way the real bindings are called."""
    import types

    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from otel_agentperf.telemetry import resources as _resources

    fake = types.ModuleType("pynvml")
    fake.nvmlInit = lambda: None  # type: ignore[attr-defined]
    fake.nvmlDeviceGetCount = lambda: 2  # type: ignore[attr-defined]
    fake.nvmlDeviceGetHandleByIndex = lambda i: f"h{i}"  # type: ignore[attr-defined]
    fake.nvmlDeviceGetUtilizationRates = lambda h: types.SimpleNamespace(gpu=40 if h == "h0" else 90)  # type: ignore[attr-defined]
    fake.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(used=2**30 if h == "h0" else 2**31)  # type: ignore[attr-defined]
    monkeypatch.setitem(__import__("sys").modules, "pynvml", fake)
    monkeypatch.setattr(_resources, "_gpu_handles", None)

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    _resources.register(provider.get_meter("t"))
    data = reader.get_metrics_data()
    assert data is not None
    points = {
        (m.name, dict(p.attributes or {})["gpu.id"]): p.value
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name.startswith("gpu.")
        for p in m.data.data_points
    }
    assert points == {
        ("gpu.utilization", "0"): 0.4,
        ("gpu.utilization", "1"): 0.9,
        ("gpu.memory.usage", "0"): 2.0**30,
        ("gpu.memory.usage", "1"): 2.0**31,
    }
    provider.shutdown()
    monkeypatch.setattr(_resources, "_gpu_handles", None)


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="procfs only (Linux)")
def test_process_usage_reopens_statm_after_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    from otel_agentperf.telemetry import process_usage as _call

    _, rss = _call.process_usage()
    assert rss is not None and rss > 1e6
    inherited = os.open("/dev/null", os.O_RDONLY)  # stands for the parent's descriptor seen in a child
    monkeypatch.setattr(_call, "_statm", (-1, inherited))
    _, rss2 = _call.process_usage()
    assert rss2 is not None and rss2 > 1e6
    assert _call._statm is not None and _call._statm[0] == os.getpid()  # pyright: ignore[reportPrivateUsage]
    # Closed, not leaked: the number is free or reused (by the new statm descriptor), no longer /dev/null.
    target = os.readlink(f"/proc/self/fd/{inherited}") if os.path.exists(f"/proc/self/fd/{inherited}") else None
    assert target != "/dev/null"


# --- evidence behind a suggestion ----------------------------------------------------------------------
def test_model_downgrade_never_proposes_an_older_generation() -> None:
    from otel_agentperf.cost.pricing import PriceBook

    at = 1_795_168_800.0
    for model in ("gpt-4o-2024-08-06", "gpt-4o", "claude-opus-4-5"):
        provider = "anthropic" if model.startswith("claude") else "openai"
        row = Row(("planner", provider, model), count=100, tokens_in=100_000, tokens_out=4_000)
        snap = Snapshot(window_s=86_400, agent_models=[row], price_of=PriceBook().lookup, at=at)
        for s in rule_model_downgrade(snap, Thresholds()):
            named = s.description.split("Cheaper models from the same provider: ")[1]
            assert "gpt-3.5" not in named and "claude-3" not in named and "-1106" not in named, named


def test_short_windows_are_not_extrapolated_to_fantasy_savings() -> None:
    assert Snapshot(window_s=0.5).per_day(1.0) == pytest.approx(86_400 / 300)  # as if 5 minutes were seen
    assert Snapshot(window_s=3600).per_day(1.0) == pytest.approx(24.0)


@pytest.mark.parametrize(
    ("window_s", "calls", "expected"),
    [(30, 500, "low"), (900, 10, "low"), (900, 100, "medium"), (7200, 500, "high"), (7200, 50, "medium")],
)
def test_every_suggestion_says_how_much_evidence_it_has(window_s: float, calls: int, expected: str) -> None:
    from otel_agentperf.insights.suggest import evaluate

    row = Row(("slowpoke",), count=calls, p50=9.0, p95=12.0, p99=14.0)
    found = evaluate(Snapshot(window_s=window_s, agents=[row]), Thresholds(slow_p95_s=1.0, min_calls=1), BUILTIN_RULES)
    (slow,) = [s for s in found if s.rule == "slow"]
    assert slow.evidence["observed_s"] == window_s
    assert slow.confidence == expected
    # Savings only past the minimum window and call count.
    assert (slow.savings_seconds_per_day > 0) is (expected != "low")
    assert ("savings" in slow.evidence) is (expected == "low")


@pytest.mark.parametrize(
    ("provider", "model", "never"),
    [
        ("anthropic", "claude-opus-4-5", ("haiku",)),  # two tiers down is not a comparable model
        ("gcp.gemini", "gemini-2.5-pro", ("gemini-pro", "1.5", "lite", "preview")),
        ("openai", "gpt-4o-2024-08-06", ("nano", "gpt-3.5", ".ft", "preview")),
        ("anthropic", "claude-sonnet-4-5", ("claude-3",)),
    ],
)
def test_model_downgrade_proposes_current_models_of_a_comparable_tier(
    provider: str, model: str, never: tuple[str, ...]
) -> None:
    from otel_agentperf.cost.pricing import PriceBook
    from otel_agentperf.insights.rules_cost import EVALUATE_FIRST, comparable, tier

    at = 1_795_168_800.0
    row = Row(("planner", provider, model), count=100, tokens_in=100_000, tokens_out=4_000)
    snap = Snapshot(window_s=86_400, agent_models=[row], price_of=PriceBook().lookup, at=at)
    (s,) = rule_model_downgrade(snap, Thresholds())
    named = s.description.split("Cheaper models from the same provider: ")[1].split(". Before")[0]
    proposed = [part.split(" (saves")[0] for part in named.split("), ")]
    assert proposed and all(comparable(p, model) for p in proposed)
    for word in never:
        assert word not in named, named
    assert EVALUATE_FIRST in s.description  # what to check before switching
    assert (tier("claude-opus-4-5"), tier("claude-sonnet-4-5"), tier("claude-haiku-4-5")) == (0, 1, 2)
    assert (tier("gpt-4o"), tier("gpt-4o-mini"), tier("gpt-5-nano"), tier("gemini-2.5-flash-lite")) == (0, 1, 2, 2)
