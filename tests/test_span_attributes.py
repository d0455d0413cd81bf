"""Attributes set on the SDK's span without its per-value validation (``tracing/span_attributes``) come out
exactly as ``Span.set_attributes`` would have left them, and every case the shortcut does not cover
(value-length and count limits, ended spans, other span classes) goes through the SDK."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanLimits, TracerProvider

import otel_agentperf as ap
from otel_agentperf.testing import Capture
from otel_agentperf.tracing import span_attributes
from otel_agentperf.tracing.span_attributes import set_valid_attributes

ATTRS: dict[str, Any] = {
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.response.finish_reasons": ("stop", "length"),
    "gen_ai.usage.cost.amount": 0.00036,
    "agentperf.stream.closed_early": True,
}


@pytest.fixture
def sdk_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every span class classified as not eligible: all attributes go through ``set_attributes``."""
    monkeypatch.setattr(span_attributes, "_classify", _never)
    monkeypatch.setattr(span_attributes, "_direct", {})
    yield


def _never(span: Any) -> bool:
    return False


def _llm_spans() -> list[tuple[str, dict[str, Any]]]:
    response = {
        "id": "chatcmpl-1",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"finish_reason": "stop"}, {"finish_reason": "length"}],
        "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "prompt_tokens_details": {"cached_tokens": 1024}},
    }

    @ap.trace_llm(provider="openai", model="gpt-4o-mini")
    def chat() -> dict[str, Any]:
        return response

    @ap.trace_agent("planner")
    def plan() -> None:
        chat()
        chat()

    with Capture() as cap:
        plan()
    return [(s.name, dict(s.attributes or {})) for s in cap.spans()]


def test_the_shortcut_is_taken_on_the_sdk_span() -> None:
    provider = TracerProvider()
    span = provider.get_tracer("t").start_span("s")
    set_valid_attributes(span, ATTRS)
    assert span_attributes._direct[type(span)] is True  # pyright: ignore[reportPrivateUsage]
    span.end()


def test_exported_spans_are_the_same_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    direct = _llm_spans()
    assert True in span_attributes._direct.values()  # pyright: ignore[reportPrivateUsage]
    monkeypatch.setattr(span_attributes, "_classify", _never)
    monkeypatch.setattr(span_attributes, "_direct", {})
    through_sdk = _llm_spans()
    assert direct == through_sdk
    chat_attrs = direct[0][1]
    assert chat_attrs["gen_ai.usage.input_tokens"] == 1200
    assert chat_attrs["gen_ai.response.finish_reasons"] == ("stop", "length")
    assert direct[-1][1]["agentperf.usage.input_tokens"] == 2400  # the agent's rollup, set the same way


def _twins(limits: SpanLimits) -> tuple[Any, Any]:
    tracer = TracerProvider(span_limits=limits).get_tracer("t")
    return tracer.start_span("a", attributes={"x": "start"}), tracer.start_span("b", attributes={"x": "start"})


@pytest.mark.parametrize(
    "limits",
    [
        SpanLimits(max_span_attribute_length=5),
        SpanLimits(max_span_attributes=4),
        SpanLimits(max_span_attributes=0),
        SpanLimits(max_span_attributes=7),  # exactly room for all: the shortcut applies
    ],
    ids=["value-length", "count", "zero", "room"],
)
def test_limits_are_the_sdks(limits: SpanLimits) -> None:
    ours, theirs = _twins(limits)
    set_valid_attributes(ours, ATTRS)
    theirs.set_attributes(ATTRS)
    ours.end()
    theirs.end()
    assert dict(ours.attributes) == dict(theirs.attributes)
    assert ours.dropped_attributes == theirs.dropped_attributes


def test_an_ended_span_is_left_as_the_sdk_leaves_it(caplog: pytest.LogCaptureFixture) -> None:
    span = TracerProvider().get_tracer("t").start_span("s")
    span.end()
    with caplog.at_level(logging.WARNING):
        set_valid_attributes(span, ATTRS)
    assert dict(span.attributes or {}) == {}
    assert "ended span" in caplog.text


def test_other_span_classes_use_their_own_set_attributes() -> None:
    seen: list[dict[str, Any]] = []

    class Recorder(trace.NonRecordingSpan):
        def set_attributes(self, attributes: Any) -> None:
            seen.append(dict(attributes))

    set_valid_attributes(Recorder(trace.INVALID_SPAN_CONTEXT), ATTRS)
    set_valid_attributes(trace.INVALID_SPAN, ATTRS)  # a no-op span: nothing to do, nothing raised
    assert seen == [ATTRS]


def test_same_result_without_the_shortcut(sdk_only: None) -> None:
    ours, theirs = _twins(SpanLimits())
    set_valid_attributes(ours, ATTRS)
    theirs.set_attributes(ATTRS)
    assert dict(ours.attributes) == dict(theirs.attributes)
