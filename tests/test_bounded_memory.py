"""Bounded memory and logs (issue 14, point 7): ``with`` uses leave nothing behind in a long-lived thread,
warnings stay once per key past any number of keys, distinct model ids do not grow the price lookups, and
absurd prices never make a cost sum infinite. The 1M-call RSS soak per API shape is ``benchmarks/soak.py``.

Memory is checked by what holds it (context variables, table sizes), not by RSS: exact on any machine.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable

import pytest

import otel_agentperf as ap
from otel_agentperf import _errors  # pyright: ignore[reportPrivateUsage] - the once-table is the subject
from otel_agentperf.cost import catalog
from otel_agentperf.cost.pricing import PriceBook
from otel_agentperf.testing import Capture
from otel_agentperf.tracing.state import STATE


def _agent_with() -> None:
    with ap.trace_agent("a"):
        pass


def _llm_with() -> None:
    with ap.trace_agent("a"), ap.llm_call(provider="openai", model="gpt-4o"):
        ap.record_usage(input_tokens=3, output_tokens=2)


def _conversation() -> None:
    with ap.conversation("c-1"), ap.conversation("c-2"):
        pass


def _nested_out_of_order() -> None:
    outer, inner = ap.trace_tool("outer"), ap.trace_tool("inner")
    outer.__enter__()
    inner.__enter__()
    outer.__exit__(None, None, None)  # exits out of order (interleaved generators do this)
    inner.__exit__(None, None, None)


@pytest.mark.parametrize("use", [_agent_with, _llm_with, _conversation, _nested_out_of_order])
def test_with_uses_leave_no_context_variables_behind(cap: Capture, use: Callable[[], None]) -> None:
    sizes: list[int] = []

    def long_lived_thread() -> None:  # a context keeps every variable ever set in it
        for n in (10, 1000):
            for _ in range(n):
                use()
            sizes.append(len(contextvars.copy_context()))

    thread = threading.Thread(target=long_lived_thread)
    thread.start()
    thread.join()
    assert sizes[0] == sizes[1], f"the thread's context grew from {sizes[0]} to {sizes[1]} variables"
    assert cap.spans() or use is _conversation  # the uses were traced


def test_out_of_order_exits_end_the_right_spans(cap: Capture) -> None:
    # In a thread of its own: OpenTelemetry's context, restored out of order, stays the outer span's there.
    thread = threading.Thread(target=_nested_out_of_order)
    thread.start()
    thread.join()
    names = cap.span_names()
    assert sorted(names) == ["execute_tool inner", "execute_tool outer"]
    inner, outer = cap.span("execute_tool inner"), cap.span("execute_tool outer")
    assert inner.parent is not None and outer.context is not None
    assert inner.parent.span_id == outer.context.span_id


def test_warn_once_still_works_past_the_key_table(caplog: pytest.LogCaptureFixture) -> None:
    for i in range(_errors.MAX_KEYS + 300):  # more distinct keys than the table holds
        _errors.warn_once(f"k{i}", "other %s", i)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="otel_agentperf"):
        for _ in range(1000):
            _errors.warn_once("unpriced:my-model", "no price for %s", "my-model")
    assert [r.getMessage() for r in caplog.records] == ["no price for my-model"]
    assert len(_errors._seen_sites) == _errors.MAX_KEYS  # pyright: ignore[reportPrivateUsage]
    assert _errors.forgotten >= 300


def test_one_unpriced_model_warns_once_in_a_thousand_calls(cap: Capture, caplog: pytest.LogCaptureFixture) -> None:
    for i in range(300):
        _errors.warn_once(f"filler{i}", "filler")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="otel_agentperf"):
        for _ in range(1000):
            with ap.llm_call(provider="openai", model="no-such-model-x"):
                ap.record_usage(input_tokens=1, output_tokens=1)
    assert len([r for r in caplog.records if "no price known" in r.getMessage()]) == 1


def test_distinct_model_ids_are_bounded_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "MAX_DISTINCT_REFS", len(catalog._asked) + 5)  # pyright: ignore[reportPrivateUsage]
    monkeypatch.setattr(catalog, "refused_refs", 0)
    book = PriceBook()
    for i in range(50):
        book.lookup("openai", f"made-up-{i}", 1_795_168_800.0)
    assert len(catalog._asked) == catalog.MAX_DISTINCT_REFS  # pyright: ignore[reportPrivateUsage]
    assert catalog.refused_refs > 0


def test_the_price_cache_evicts_and_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    from otel_agentperf.cost import pricing

    monkeypatch.setattr(pricing, "_MAX_CACHE", 8)
    book = PriceBook({"m": {"input": 1, "output": 1}})
    for i in range(20):
        book.lookup(None, "m" if i % 2 else f"m-{i}", 0.0)
    assert len(book._cache) <= 8  # pyright: ignore[reportPrivateUsage]
    assert book.evicted > 0


def test_absurd_prices_never_make_cost_infinite(cap: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(STATE, "prices", PriceBook({"m": {"input": 1e308, "output": 1e308}}))
    with ap.trace_agent("a"):
        with ap.llm_call(provider="openai", model="m"):
            ap.record_usage(input_tokens=10**11, output_tokens=10**11)
    for span in cap.spans():
        attrs = dict(span.attributes or {})
        assert "gen_ai.usage.cost.amount" not in attrs and "agentperf.cost.total" not in attrs
    assert not cap.points("gen_ai.client.operation.cost")
