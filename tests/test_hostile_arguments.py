"""Any argument shape is traced, exception messages follow content capture, bad amounts warn once (issue 14).

Internal errors raise in tests (conftest), so a capture step that chokes on a value fails these tests.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

import otel_agentperf as ap
from otel_agentperf.testing import Capture
from otel_agentperf.tracing.content import EXCEPTION_MESSAGES_ENV
from otel_agentperf.tracing.state import STATE


class ArrayLike:
    """Like a numpy array: truth, length, text, iteration, equality and hashing all raise."""

    def __bool__(self) -> bool:
        raise ValueError("truth value of an array is ambiguous")

    def __len__(self) -> int:
        raise ValueError("len")

    def __str__(self) -> str:
        raise ValueError("str")

    def __repr__(self) -> str:
        raise ValueError("repr")

    def __iter__(self) -> Iterator[Any]:
        raise ValueError("iter")

    def __eq__(self, other: object) -> bool:
        raise ValueError("eq")

    __hash__ = None  # type: ignore[assignment]


@pytest.fixture(params=[False, True], ids=["content-off", "content-on"])
def content(request: pytest.FixtureRequest, cap: Capture) -> Iterator[bool]:
    STATE.capture_content = request.param
    yield request.param


@pytest.mark.parametrize("how", ["messages", "input", "positional", "in-a-list"])
def test_an_unreadable_argument_still_gets_a_span_tokens_and_cost(cap: Capture, content: bool, how: str) -> None:
    @ap.trace_llm(provider="openai", model="gpt-4o")
    def call(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"model": "gpt-4o", "usage": {"prompt_tokens": 10, "completion_tokens": 5}}

    value = ArrayLike()
    result = {
        "messages": lambda: call(messages=value),
        "input": lambda: call(input=value),
        "positional": lambda: call(value),
        "in-a-list": lambda: call(messages=[value, {"role": ArrayLike(), "content": ArrayLike()}]),
    }[how]()
    assert result["usage"]["prompt_tokens"] == 10
    span = cap.span("chat gpt-4o")
    assert span.attributes is not None
    assert span.attributes["gen_ai.usage.input_tokens"] == 10
    cost = span.attributes["gen_ai.usage.cost.amount"]
    assert isinstance(cost, float) and cost > 0
    if content and how in ("messages", "input"):  # the value is skipped (a placeholder), not the call
        assert "unrepresentable ArrayLike" in str(span.attributes["gen_ai.input.messages"])


def test_a_tool_with_an_unreadable_argument_is_traced(cap: Capture, content: bool) -> None:
    @ap.trace_tool("t")
    def tool(x: Any) -> Any:
        return x

    value = ArrayLike()
    assert tool(value) is value
    assert cap.span_names() == ["execute_tool t"]


def test_conversation_with_an_unreadable_id_is_guarded(cap: Capture) -> None:
    with ap.conversation(ArrayLike()) as cid:  # type: ignore[arg-type]
        with ap.trace_agent("a"):
            pass
    assert cid in ("", "<unprintable>")
    assert cap.span_names() == ["invoke_agent a"]


def _fail(cap: Capture) -> dict[str, Any]:
    secret = "the user's card number " + str(4000 + 111)  # data, not code: absent from the source lines

    @ap.trace_agent("a")
    def boom() -> None:
        raise RuntimeError(secret)

    with pytest.raises(RuntimeError, match="4111"):  # the user's exception passes unchanged
        boom()
    span = cap.span("invoke_agent a")
    (event,) = span.events
    assert event.name == "exception"
    return {"status": span.status.description, **dict(event.attributes or {})}


def test_exception_messages_are_content_off_by_default(cap: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EXCEPTION_MESSAGES_ENV, raising=False)
    STATE.capture_content = False
    seen = _fail(cap)
    assert seen["status"] == "RuntimeError"
    assert seen["exception.type"] == "RuntimeError"
    assert "exception.message" not in seen
    assert "4111" not in str(seen)
    assert "boom" in str(seen["exception.stacktrace"])  # where it failed is not content


@pytest.mark.parametrize("opt_in", ["content", "env"])
def test_exception_messages_when_opted_in(cap: Capture, monkeypatch: pytest.MonkeyPatch, opt_in: str) -> None:
    if opt_in == "env":
        monkeypatch.setenv(EXCEPTION_MESSAGES_ENV, "true")
    else:
        monkeypatch.delenv(EXCEPTION_MESSAGES_ENV, raising=False)
        STATE.capture_content = True
    seen = _fail(cap)
    assert seen["status"] == "RuntimeError: the user's card number 4111"
    assert seen["exception.message"] == "the user's card number 4111"


def test_an_exception_whose_str_raises_is_recorded_by_type(cap: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EXCEPTION_MESSAGES_ENV, "1")

    class Odd(Exception):
        def __str__(self) -> str:
            raise ValueError("no")

    @ap.trace_tool("t")
    def tool() -> None:
        raise Odd()

    with pytest.raises(Odd):
        tool()
    span = cap.span("execute_tool t")
    assert span.status.description is not None and span.status.description.endswith("Odd")


@pytest.mark.parametrize("amount", [10**400, float("inf"), float("nan"), -1.0, 1e300, "3", True])
def test_a_bad_cost_is_one_warning(cap: Capture, caplog: pytest.LogCaptureFixture, amount: Any) -> None:
    with caplog.at_level(logging.DEBUG, logger="otel_agentperf"), ap.trace_agent("a"):
        for _ in range(3):
            ap.record_cost(amount)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "record_cost() ignores invalid amount" in warnings[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)


def test_cyclic_responses_are_read_without_errors(
    cap: Capture, content: bool, caplog: pytest.LogCaptureFixture
) -> None:
    loop: list[Any] = []
    loop.append(loop)
    usage: dict[str, Any] = {}
    usage["usage"] = usage
    choices: dict[str, Any] = {"choices": []}
    choices["choices"].append(choices)
    for response in (loop, usage, choices):

        @ap.trace_llm(provider="openai", model="gpt-4o")
        def call(messages: Any, response: Any = response) -> Any:
            return response

        assert call(messages=[response]) is response
        ap.record_response(response)
    assert len(cap.spans()) == 3
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
