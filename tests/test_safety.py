"""Instrumentation never breaks the user's program: failures of ours or of other processors stay inside."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

import otel_agentperf as ap
from otel_agentperf.testing import Capture, capture
from otel_agentperf.tracing import call as _call


class ExplodingProcessor(SpanProcessor):
    def __init__(self, where: str) -> None:
        self.where = where

    def on_start(self, span: Span, parent_context: object = None) -> None:
        if self.where == "start":
            raise RuntimeError("processor on_start exploded")

    def on_end(self, span: ReadableSpan) -> None:
        if self.where == "end":
            raise RuntimeError("processor on_end exploded")


class ExplodingExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        raise RuntimeError("exporter exploded")


@pytest.fixture
def lenient(monkeypatch: pytest.MonkeyPatch) -> None:
    """Production mode: internal errors are logged, not raised."""
    monkeypatch.delenv("AGENTPERF_RAISE_INTERNAL_ERRORS")


class UserError(Exception):
    pass


@pytest.mark.parametrize("where", ["start", "end"])
def test_raising_span_processor_never_reaches_user_code(
    lenient: None, caplog: pytest.LogCaptureFixture, where: str
) -> None:
    @ap.trace_agent("a")
    def ok(x: int) -> int:
        return x + 1

    @ap.trace_tool("t")
    async def fails() -> None:
        raise UserError("mine")

    @ap.trace_llm(provider="openai", model="m")
    def gen() -> Iterator[int]:
        yield 1
        yield 2

    with caplog.at_level(logging.DEBUG, logger="otel_agentperf"), capture(span_processors=[ExplodingProcessor(where)]):
        assert ok(1) == 2
        with pytest.raises(UserError, match="mine"):
            asyncio.run(fails())
        assert list(gen()) == [1, 2]
        with ap.trace_workflow("w"):
            pass
    assert "internal error" in caplog.text


def test_raising_exporter_never_reaches_user_code(lenient: None) -> None:
    @ap.trace_agent("a")
    def ok() -> str:
        return "fine"

    with capture(span_processors=[SimpleSpanProcessor(ExplodingExporter())]) as cap:
        assert ok() == "fine"
    assert cap.span_names() == ["invoke_agent a"]


def test_internal_failure_in_usage_extraction_is_contained(
    lenient: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_: object) -> None:
        raise ValueError("parser bug")

    monkeypatch.setattr(_call, "extract_usage", broken)
    result = {"usage": {"prompt_tokens": 1}}

    @ap.trace_llm(provider="openai", model="m")
    def ask() -> dict[str, object]:
        return result

    with caplog.at_level(logging.WARNING, logger="otel_agentperf"), capture() as cap:
        assert ask() is result
        assert ask() is result
    assert cap.span_names() == ["chat m", "chat m"]
    assert cap.histogram_count("gen_ai.client.operation.duration") == 2
    errors = [r for r in caplog.records if "internal error" in r.getMessage()]
    assert len(errors) == 1  # logged once per site, not per call


def test_internal_errors_raise_under_test_mode(cap: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_: object) -> None:
        raise ValueError("parser bug")

    monkeypatch.setattr(_call, "extract_usage", broken)

    @ap.trace_llm(provider="openai", model="m")
    def ask() -> int:
        return 1

    with pytest.raises(ValueError, match="parser bug"):
        ask()


def test_broken_tracer_leaves_function_untraced(lenient: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from otel_agentperf.tracing.state import STATE

    class BrokenTracer:
        def start_span(self, *args: object, **kwargs: object) -> None:
            raise RuntimeError("tracer broken")

    @ap.trace_agent("a")
    def ok() -> int:
        return 7

    with capture():
        monkeypatch.setattr(STATE, "tracer", BrokenTracer())
        assert ok() == 7
        with ap.trace_agent("cm") as span:
            span.set_attribute("still", "works")  # a no-op span, never an AttributeError


def test_user_exception_with_broken_str(cap: Capture) -> None:
    class Weird(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no str for you")

    err = Weird()

    @ap.trace_tool("t")
    def f() -> None:
        raise err

    with pytest.raises(Weird) as info:
        f()
    assert info.value is err
    assert (
        cap.span("execute_tool t").attributes["error.type"]
        == "tests.test_safety.test_user_exception_with_broken_str.<locals>.Weird"
    )  # type: ignore[index]


def test_decorating_non_callable_warns_and_returns_it() -> None:
    with pytest.warns(UserWarning, match="not callable"):
        assert ap.trace_tool("x")(42) == 42  # type: ignore[arg-type]
