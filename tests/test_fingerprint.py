"""Argument fingerprints (the caching rule's repeat detection): equal arguments hash equal, any change shows,
and no argument shape raises or copies a whole prompt into a new string."""

from __future__ import annotations

from typing import Any

from otel_agentperf.insights.stats import fingerprint


def messages(last: str = "?") -> list[dict[str, Any]]:
    return [{"role": "system", "content": "x" * 5000}, {"role": "user", "content": f"how much{last}"}]


def test_equal_messages_hash_equal_and_a_change_shows() -> None:
    one = fingerprint((), {"messages": messages(), "model": "gpt-4o"})
    assert one is not None
    assert one == fingerprint((), {"model": "gpt-4o", "messages": messages()})  # keyword order does not matter
    assert one != fingerprint((), {"messages": messages("!"), "model": "gpt-4o"})
    assert one != fingerprint((), {"messages": messages(), "model": "gpt-4o-mini"})
    assert fingerprint((messages(),), {}) == fingerprint((messages(),), {})


class Unhashable:
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, value: int) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Unhashable({self.value})"


class Hostile:
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        raise RuntimeError("no")


def test_other_shapes_fall_back_or_give_up_quietly() -> None:
    assert fingerprint((Unhashable(1),), {}) == fingerprint((Unhashable(1),), {})  # through repr
    assert fingerprint((Unhashable(1),), {}) != fingerprint((Unhashable(2),), {})
    assert fingerprint((Hostile(),), {}) is None
    deep: list[Any] = []
    for _ in range(10_000):
        deep = [deep]
    assert fingerprint((deep,), {}) is None or isinstance(fingerprint((deep,), {}), int)
    wide = [{"i": i} for i in range(10_000)]  # past the node budget: repr, then too long to keep
    assert fingerprint((wide,), {}) is None or isinstance(fingerprint((wide,), {}), int)
