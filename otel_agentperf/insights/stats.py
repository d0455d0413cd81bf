"""Rolling statistics for the suggestion rules: bounded in keys, windows and memory.

Fed at the end of every traced call (sampled or not) and by ``AgentPerfSpanProcessor`` for other
instrumentations' inference spans. Each key keeps ``SUBWINDOWS`` aggregates over a sliding window
(``window_s``), and each aggregate a log-bucketed latency sketch (about ±2.5 % relative error on
quantiles) instead of samples. Tables cap their keys; what does not fit is counted in ``dropped``.
Updates take no lock: under heavy multi-threading a count may occasionally be lost, which is fine for
suggestions (the exported metrics, which must be exact, are kept elsewhere).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

SUBWINDOWS = 4
_GAMMA = 1.05
_INV_LOG_GAMMA = 1.0 / math.log(_GAMMA)
_MIN_S = 0.001
_MAX_ERROR_TYPES = 8
_MAX_CHILDREN = 16
_log = math.log


def sketch_index(seconds: float) -> int:
    if seconds <= _MIN_S:
        return 0
    return 1 + int(math.log(seconds / _MIN_S) * _INV_LOG_GAMMA)


def sketch_value(index: int) -> float:
    """Representative value of a bucket (its geometric middle)."""
    if index <= 0:
        return _MIN_S
    return _MIN_S * _GAMMA ** (index - 0.5)


def sketch_quantile(sketch: dict[int, int], q: float) -> float:
    total = sum(sketch.values())
    if not total:
        return math.nan
    rank = q * (total - 1)
    seen = 0
    for index in sorted(sketch):
        seen += sketch[index]
        if seen > rank:
            return sketch_value(index)
    return sketch_value(max(sketch))


class Agg:
    """One sub-window of one key."""

    __slots__ = ("count", "errors", "sketch", "seconds", "tokens_in", "tokens_out", "tokens_cached", "cost", "retries")

    def __init__(self) -> None:
        self.count = 0
        self.errors: dict[str, int] = {}
        self.sketch: dict[int, int] = {}
        self.seconds = 0.0
        self.tokens_in = 0
        self.tokens_out = 0
        self.tokens_cached = 0
        self.cost = 0.0
        self.retries = 0


class Rolling:
    """``SUBWINDOWS`` aggregates rotating over time: the last ``window_s`` seconds (to one sub-window)."""

    __slots__ = ("subs", "epochs", "children", "evicted")

    def __init__(self) -> None:
        self.subs = [Agg() for _ in range(SUBWINDOWS)]
        self.epochs = [-1] * SUBWINDOWS
        self.children: dict[str, float] = {}  # seconds spent in children, for "what dominates"
        self.evicted = False  # dropped from its table: a Tally holding it looks its key up again

    def current(self, epoch: int) -> Agg:
        slot = epoch % SUBWINDOWS
        if self.epochs[slot] != epoch:
            self.subs[slot] = Agg()
            self.epochs[slot] = epoch
            if slot == 0:
                self.children = {}  # restart the breakdown once per full rotation
        return self.subs[slot]

    def live(self, epoch: int) -> list[Agg]:
        return [agg for agg, e in zip(self.subs, self.epochs, strict=True) if e > epoch - SUBWINDOWS]


@dataclass
class Row:
    """Merged statistics of one key over the window: what the rules read."""

    key: tuple[str, ...]
    count: int = 0
    errors: dict[str, int] = field(default_factory=lambda: {})
    sketch: dict[int, int] = field(default_factory=lambda: {})
    seconds: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_cached: int = 0
    cost: float = 0.0
    retries: int = 0
    children: dict[str, float] = field(default_factory=lambda: {})
    p50: float = math.nan
    p95: float = math.nan
    p99: float = math.nan

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def error_rate(self) -> float:
        return self.error_count / self.count if self.count else 0.0

    @property
    def mean_seconds(self) -> float:
        return self.seconds / self.count if self.count else math.nan


def _accumulate(into: Row, src: Agg | Row) -> None:
    into.count += src.count
    into.seconds += src.seconds
    into.tokens_in += src.tokens_in
    into.tokens_out += src.tokens_out
    into.tokens_cached += src.tokens_cached
    into.cost += src.cost
    into.retries += src.retries
    for name, n in src.errors.items():
        into.errors[name] = into.errors.get(name, 0) + n
    for index, n in src.sketch.items():
        into.sketch[index] = into.sketch.get(index, 0) + n


def _quantiles(row: Row) -> Row:
    row.p50 = sketch_quantile(row.sketch, 0.50)
    row.p95 = sketch_quantile(row.sketch, 0.95)
    row.p99 = sketch_quantile(row.sketch, 0.99)
    return row


def merge(key: tuple[str, ...], aggs: Iterable[Agg], children: dict[str, float]) -> Row:
    row = Row(key, children=dict(children))
    for agg in aggs:
        _accumulate(row, agg)
    return _quantiles(row)


def combine(rows: Iterable[Row], key: Callable[[tuple[str, ...]], tuple[str, ...]]) -> list[Row]:
    """Merge rows by a coarser key (e.g. (agent, provider, model) → (provider, model)), quantiles recomputed."""
    merged: dict[tuple[str, ...], Row] = {}
    for row in rows:
        k = key(row.key)
        into = merged.get(k)
        if into is None:
            into = merged[k] = Row(k)
        _accumulate(into, row)
    return [_quantiles(row) for row in merged.values()]


class Table:
    """Rolling stats per key, at most ``max_keys`` keys: a new key past the cap makes room by evicting the
    least recently updated eighth of the keys (counted in ``dropped``), so a new agent is always observed."""

    def __init__(self, max_keys: int) -> None:
        self.max_keys = max_keys
        self.dropped = 0
        self.rows: dict[tuple[str, ...], Rolling] = {}

    def get(self, key: tuple[str, ...]) -> Rolling:
        rolling = self.rows.get(key)
        if rolling is None:
            if len(self.rows) >= self.max_keys:
                self._evict_oldest()
            rolling = self.rows[key] = Rolling()
        return rolling

    def _evict_oldest(self) -> None:
        # By the last sub-window each key was updated in (no per-call bookkeeping on the hot path); an eighth
        # at a time, so a stream of new keys costs one sort per max_keys/8 keys, not one per key.
        # list() first: copied in one step, while other threads may add keys (the call path takes no lock).
        by_age = sorted(list(self.rows.items()), key=lambda item: max(item[1].epochs))
        for old_key, _ in by_age[: max(1, self.max_keys // 8)]:
            rolling = self.rows.pop(old_key, None)
            if rolling is not None:
                rolling.evicted = True
                self.dropped += 1

    def snapshot(self, epoch: int) -> list[Row]:
        out: list[Row] = []
        for key, rolling in list(self.rows.items()):
            live = rolling.live(epoch)
            if live:
                out.append(merge(key, live, rolling.children))
        return out


class Repeats:
    """Identical calls (by argument fingerprint) within the window: an LRU of bounded size."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.evicted = 0
        self.entries: OrderedDict[tuple[str, int], list[float]] = OrderedDict()  # -> [count, first_seen, seconds]

    def add(self, scope: str, fingerprint: int, now: float, seconds: float, window_s: float) -> None:
        key = (scope, fingerprint)
        entry = self.entries.get(key)
        if entry is None or now - entry[1] > window_s:
            if entry is None and len(self.entries) >= self.max_entries:
                self.entries.popitem(last=False)
                self.evicted += 1
            self.entries[key] = [1.0, now, seconds]
            return
        entry[0] += 1
        entry[2] += seconds
        self.entries.move_to_end(key)

    def repeated(self, now: float, window_s: float) -> dict[str, tuple[int, int, float]]:
        """Per scope: (distinct repeated fingerprints, extra calls beyond the first, seconds of all calls)."""
        out: dict[str, tuple[int, int, float]] = {}
        for (scope, _), (count, first, seconds) in list(self.entries.items()):
            if count < 2 or now - first > window_s:
                continue
            distinct, extra, secs = out.get(scope, (0, 0, 0.0))
            out[scope] = (distinct + 1, extra + int(count) - 1, secs + seconds)
        return out


class Tally:
    """One key of one table, resolved once per label set of a traced operation (``tracing.spec`` keeps it with
    that label set's metric series): a call adds to its row without building the key, its repeat scope or its
    parent's child label, or looking the row up (~1 µs of an LLM call in context). A row its table evicted is
    looked up again by key; a tally of another ``Stats`` (``configure()`` built a new advisor) is not used."""

    __slots__ = ("stats", "table", "key", "rolling", "scope", "child")

    def __init__(self, stats: Stats, table: Table, key: tuple[str, ...], scope: str = "", child: str = "") -> None:
        self.stats = stats
        self.table = table
        self.key = key
        self.rolling: Rolling | None = None  # found on the first add
        self.scope = scope  # the repeats' scope ("tool:search", "llm:gpt-4o")
        self.child = child  # its label in the enclosing agent's breakdown ("tool search", "llm gpt-4o")

    def add(
        self,
        now: float,
        seconds: float,
        error: str | None,
        tokens_in: int = 0,
        tokens_out: int = 0,
        tokens_cached: int = 0,
        cost: float = 0.0,
        retries: int = 0,
    ) -> None:
        # Runs at the end of every traced call: Stats.epoch, Rolling.current and sketch_index are inlined for
        # their common case (~0.4 µs of calls).
        rolling = self.rolling
        if rolling is None or rolling.evicted:
            rolling = self.rolling = self.table.get(self.key)
        epoch = int(now // (self.stats.window_s / SUBWINDOWS))
        slot = epoch % SUBWINDOWS
        agg = rolling.subs[slot] if rolling.epochs[slot] == epoch else rolling.current(epoch)
        agg.count += 1
        agg.seconds += seconds
        index = 0 if seconds <= _MIN_S else 1 + int(_log(seconds / _MIN_S) * _INV_LOG_GAMMA)
        agg.sketch[index] = agg.sketch.get(index, 0) + 1
        if error is not None:
            errors = agg.errors
            if error not in errors and len(errors) >= _MAX_ERROR_TYPES:
                error = "_OTHER"
            errors[error] = errors.get(error, 0) + 1
        if tokens_in or tokens_out or tokens_cached:
            agg.tokens_in += tokens_in
            agg.tokens_out += tokens_out
            agg.tokens_cached += tokens_cached
        if cost:
            agg.cost += cost
        if retries:
            agg.retries += retries


@dataclass
class Stats:
    """Every table the rules read, with its bounds."""

    window_s: float = 900.0
    started: float = field(default_factory=time.perf_counter)
    agents: Table = field(default_factory=lambda: Table(512))
    agent_models: Table = field(default_factory=lambda: Table(1024))
    tools: Table = field(default_factory=lambda: Table(512))
    repeats: Repeats = field(default_factory=lambda: Repeats(10_000))
    prefixes: Repeats = field(default_factory=lambda: Repeats(2_000))
    conversations: OrderedDict[str, list[int]] = field(default_factory=lambda: OrderedDict())
    max_conversations: int = 2_000

    def epoch(self, now: float) -> int:
        return int(now // (self.window_s / SUBWINDOWS))

    def child_time(self, agent: str, child: str, seconds: float) -> None:
        rolling = self.agents.rows.get((agent,))
        if rolling is None:
            return
        children = rolling.children
        if child not in children and len(children) >= _MAX_CHILDREN:
            child = "_OTHER"
        children[child] = children.get(child, 0.0) + seconds

    def conversation_input(self, conversation: str, tokens_in: int) -> None:
        series = self.conversations.get(conversation)
        if series is None:
            if len(self.conversations) >= self.max_conversations:
                self.conversations.popitem(last=False)
            series = self.conversations[conversation] = []
        else:
            self.conversations.move_to_end(conversation)
        if len(series) >= 32:
            del series[1]  # keep the first call as the baseline
        series.append(tokens_in)

    def dropped(self) -> dict[str, int]:
        return {
            "agents": self.agents.dropped,
            "agent_models": self.agent_models.dropped,
            "tools": self.tools.dropped,
            "repeats_evicted": self.repeats.evicted,
            "prefixes_evicted": self.prefixes.evicted,
        }


def fingerprint(args: tuple[Any, ...], kwargs: dict[str, Any], messages: bool = False) -> int | None:
    """A hash of a call's arguments (never stored as content); ``None`` when they cannot be hashed cheaply.

    Messages are lists of dicts: unhashable. They are hashed as nested tuples (strings hash in C, and a string
    object caches its hash), not through ``repr``, which copied a whole prompt into a new string on every call.
    ``messages`` (a model call's arguments: decided when it is decorated) skips the plain ``hash`` that such
    arguments make raise. The same arguments give the same fingerprint whichever way they are hashed.
    """
    if not messages:
        try:
            if kwargs:
                return hash((args, tuple(sorted(kwargs.items()))))
            return hash(args)
        except TypeError:
            pass
    try:  # a list of flat dicts turned into tuples in C (~1.5 µs for two messages; the general way takes ~4)
        # Keys are unique: sorting never compares values. A tuple is left as it is: hashable, it hashes as
        # _frozen's copy of it would; holding a list, it raises, and _frozen takes over.
        named = sorted([(k, _shallow(v) if type(v) in _NESTED else v) for k, v in kwargs.items()])
        return hash((tuple([_shallow(v) if type(v) in _NESTED else v for v in args]) if args else (), tuple(named)))
    except TypeError:  # something nested deeper, or a big dict left as it is
        pass
    try:
        budget = [_MAX_NODES]
        named = sorted((k, _frozen(v, budget)) for k, v in kwargs.items())
        return hash((_frozen(args, budget), tuple(named)))
    except (TypeError, _TooBig, RecursionError):
        pass
    try:
        text = repr((args, kwargs))
    except Exception:  # noqa: BLE001 - a user's __repr__ may raise
        return None
    return hash(text) if len(text) <= 65_536 else None  # the whole text: prompts differ at the end


_MAX_NODES = 4_096


class _TooBig(Exception):
    pass


_NESTED = (list, dict)
_SHALLOW_MAX = 64  # wider lists and dicts are left to _frozen, which bounds the work on them


def _shallow(value: Any) -> Any:
    """What ``_frozen`` gives for a list (of flat dicts, say) or a flat dict, built in C (no call per item);
    anything nested deeper stays a list or dict, which makes the hash raise (``_frozen`` then)."""
    cls: type[Any] = type(value)  # pyright: ignore[reportUnknownVariableType]
    if cls is list and len(value) <= _SHALLOW_MAX:
        items: list[Any] = value
        frozen: tuple[Any, ...] = tuple(
            [tuple(v.items()) if type(v) is dict and len(v) <= _SHALLOW_MAX else v for v in items]  # pyright: ignore[reportUnknownArgumentType]
        )
        return frozen
    if cls is dict and len(value) <= _SHALLOW_MAX:
        return tuple(value.items())
    return value


def _frozen(value: Any, budget: list[int]) -> Any:
    """``value`` with lists and dicts turned into tuples (raises TypeError on anything else unhashable)."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooBig
    cls: type[Any] = type(value)  # pyright: ignore[reportUnknownVariableType]
    if cls is str or cls is int or cls is float or cls is bool or value is None:
        return value
    if cls is list or cls is tuple:
        return tuple([_frozen(v, budget) for v in value])
    if cls is dict:
        return tuple([(k, _frozen(v, budget)) for k, v in value.items()])
    hash(value)  # anything else must hash as it is (TypeError: the repr fallback)
    return value
