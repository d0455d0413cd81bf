"""Argument fingerprints (the caching rule's repeat detection): equal arguments hash equal, any change shows,
and no argument shape raises or copies a whole prompt into a new string."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from otel_agentperf.insights.stats import _frozen, fingerprint  # pyright: ignore[reportPrivateUsage]


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


leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8), st.floats(allow_nan=False))
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=5).map(tuple),
        st.dictionaries(st.text(max_size=4), inner, max_size=5),
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(args=st.lists(values, max_size=3).map(tuple), kwargs=st.dictionaries(st.text(max_size=6), values, max_size=3))
def test_a_model_calls_fingerprint_is_the_same_whichever_way_it_is_hashed(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """Model calls skip the plain hash and freeze lists of flat dicts in C: the same value as the general way."""
    reference = hash((_frozen(args, [10_000]), tuple(sorted((k, _frozen(v, [10_000])) for k, v in kwargs.items()))))
    assert fingerprint(args, kwargs, True) == reference
    if not any(type(v) in (list, dict) for v in (*args, *kwargs.values())):
        return
    assert fingerprint(args, kwargs, False) == reference


def test_messages_are_frozen_in_c_up_to_a_width() -> None:
    wide = [{"role": "user", "content": str(i)} for i in range(100)]  # past the shallow width: the general way
    assert fingerprint((wide,), {}, True) == fingerprint((wide,), {}, False) == fingerprint((list(wide),), {}, True)
    big = {str(i): i for i in range(100)}
    assert fingerprint((), {"extra": big}, True) == fingerprint((), {"extra": dict(big)}, False)
