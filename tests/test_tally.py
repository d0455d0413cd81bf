"""The advisor counts each call through a ``Tally`` resolved with the call's metric series: the statistics it
keeps must be exactly those of looking each call's key up (the path every call took before, and still takes
when no tally fits), whatever the mix of kinds, names, models, errors, nesting and repeats."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import otel_agentperf as ap
from otel_agentperf.insights.advisor import Advisor
from otel_agentperf.insights.stats import Stats, Tally
from otel_agentperf.testing import capture
from otel_agentperf.tracing import call as call_module
from otel_agentperf.tracing.spec import Spec
from otel_agentperf.tracing.state import STATE


def _workload() -> None:
    @ap.trace_tool("search")
    def search(query: str) -> str:
        if query == "bad":
            raise ValueError(query)
        return query

    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def chat(prompt: str, reply_model: str) -> dict[str, Any]:
        return {"model": reply_model, "usage": {"prompt_tokens": len(prompt), "completion_tokens": 7}}

    @ap.trace_llm(provider="openai")
    def chat_any(**kwargs: Any) -> dict[str, Any]:  # the model is named per call
        return {"usage": {"prompt_tokens": 11, "completion_tokens": 2}}

    @ap.trace_agent()  # named by the function
    def helper() -> None:
        search("inner")

    @ap.trace_agent("planner")
    def planner(i: int) -> None:
        search("same")  # a repeat on every run
        search(f"q{i % 3}")
        chat("hello" * (i + 1), "gpt-4o-mini-2024-07-18" if i % 2 else "gpt-4o-mini")
        chat_any(model="gpt-4.1-nano")
        helper()
        try:
            search("bad")
        except ValueError:
            search("retried")  # a retry of the call that just failed

    @ap.trace_agent("critic")
    def critic() -> None:
        helper()
        chat("again", "gpt-4o-mini")

    for i in range(6):
        planner(i)
        critic()
    search("top level")
    with ap.conversation("c-1"):
        chat("in a conversation", "gpt-4o-mini")


def _no_tally(self: Spec, *args: object) -> None:
    return None  # every call counted by looking its key up


def _statistics(monkeypatch: pytest.MonkeyPatch, *, tallies: bool) -> dict[str, Any]:
    ticks = itertools.count()
    # Pinned clock: every reading 10 ms after the last, so each call's duration is the same in both runs.
    monkeypatch.setattr(call_module, "_perf", lambda: 1000.0 + next(ticks) * 0.01)
    if not tallies:
        monkeypatch.setattr(Spec, "_tally", _no_tally)
    with capture():
        _workload()
        stats = STATE.advisor.stats
        tables = {
            name: {
                key: [
                    (a.count, a.errors, a.sketch, round(a.seconds, 9), a.tokens_in, a.tokens_out, a.cost, a.retries)
                    for a, e in zip(rolling.subs, rolling.epochs, strict=True)
                    if e >= 0
                ]
                + [sorted((k, round(v, 9)) for k, v in rolling.children.items())]
                for key, rolling in table.rows.items()
            }
            for name, table in (("agents", stats.agents), ("tools", stats.tools), ("models", stats.agent_models))
        }
        repeats = {key: [round(v, 9) for v in entry] for key, entry in stats.repeats.entries.items()}
        return {"tables": tables, "repeats": repeats, "conversations": dict(stats.conversations)}


def test_tallies_keep_the_same_statistics_as_key_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    with_tallies = _statistics(monkeypatch, tallies=True)
    monkeypatch.undo()
    by_key = _statistics(monkeypatch, tallies=False)
    assert with_tallies == by_key
    tables = with_tallies["tables"]
    # The workload reached every branch: a sub-agent under two parents, three response models, errors.
    assert set(tables["agents"]) == {("planner",), ("critic",), ("_workload.<locals>.helper",)}
    children = tables["agents"][("planner",)][-1]
    assert any(name == "agent _workload.<locals>.helper" for name, _ in children)
    assert {key[2] for key in tables["models"]} == {"gpt-4o-mini-2024-07-18", "gpt-4o-mini", "gpt-4.1-nano"}
    assert tables["tools"][("search",)][0][1] == {"ValueError": 6}
    assert tables["tools"][("search",)][0][7] == 6  # retries
    assert tables["agents"][("planner",)][0][7] == 6
    assert with_tallies["conversations"] == {"c-1": [len("in a conversation")]}


def test_a_row_its_table_evicted_is_found_again() -> None:
    stats = Stats(window_s=60.0, started=0.0)
    stats.tools.max_keys = 8
    tally = Tally(stats, stats.tools, ("kept",))
    tally.add(1.0, 0.5, None)
    first = stats.tools.rows[("kept",)]
    for i in range(8):  # newer keys push the tally's row out
        Tally(stats, stats.tools, (f"other{i}",)).add(2.0, 0.5, None)
    assert ("kept",) not in stats.tools.rows and first.evicted
    tally.add(3.0, 0.5, None)
    assert stats.tools.rows[("kept",)] is not first
    assert stats.tools.rows[("kept",)].subs[0].count == 1


def test_a_tally_of_another_advisor_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(call_module, "_perf", lambda: 5.0)  # both calls in one sub-window
    old, new = Advisor(), Advisor()
    stale = old.tally(call_module.KIND_TOOL, None, None, "search")
    with capture():
        STATE.advisor = new

        @ap.trace_tool("search")
        def search() -> None:
            pass

        search()
        tally = STATE.advisor.tally(call_module.KIND_TOOL, None, None, "search")
        assert tally is not None and stale is not None

        class Call:
            spec = call_module.Spec(call_module.KIND_TOOL, "search", operation="execute_tool", base_attrs={})
            agent_name = None
            cost = 0.0
            retry = False
            retries = 0
            fp = None
            usage = None
            request_model = None
            prefix = None
            conversation = None
            span = None
            parent = None

        new.observe(Call(), 5.0, 0.25, None, None, stale)
        assert not old.stats.tools.rows
        assert sum(agg.count for agg in new.stats.tools.rows[("search",)].subs) == 2
