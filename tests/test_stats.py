"""The rolling statistics' hot path (``Tally.add``, with its lookups inlined) files each call where the
plain helpers (``Table.get``, ``Stats.epoch``, ``Rolling.current``, ``sketch_index``) say it belongs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from otel_agentperf.insights.stats import SUBWINDOWS, Stats, Tally, sketch_index

seconds = st.one_of(
    st.just(0.0),
    st.floats(min_value=0.0, max_value=0.002),
    st.floats(min_value=0.0, max_value=86_400.0, allow_nan=False),
)


@settings(max_examples=300, deadline=None)
@given(calls=st.lists(st.tuples(st.floats(min_value=0.0, max_value=10_000.0), seconds), min_size=1, max_size=40))
def test_observe_files_each_call_in_its_subwindow_and_bucket(calls: list[tuple[float, float]]) -> None:
    stats = Stats(window_s=60.0, started=0.0)
    tally = Tally(stats, stats.tools, ("search",))
    expected: dict[int, tuple[int, dict[int, int]]] = {}  # epoch -> (count, sketch) for the epochs kept
    for now, duration in sorted(calls):
        tally.add(now, duration, None)
        epoch = stats.epoch(now)
        count, sketch = expected.get(epoch, (0, {}))
        index = sketch_index(duration)
        expected[epoch] = (count + 1, {**sketch, index: sketch.get(index, 0) + 1})
    rolling = stats.tools.rows[("search",)]
    for slot in range(SUBWINDOWS):
        epoch = rolling.epochs[slot]
        if epoch < 0:
            continue
        assert epoch % SUBWINDOWS == slot
        agg = rolling.subs[slot]
        assert (agg.count, agg.sketch) == expected[epoch]
    last = stats.epoch(max(now for now, _ in calls))
    assert rolling.epochs[last % SUBWINDOWS] == last
