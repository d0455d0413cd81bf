"""Custom suggestion rules, isolated: one that raises, returns garbage or is slow is reported once and skipped.

``ap.register_rule`` accepts any callable; what it returns is checked here before the ranking sees it, so a
rule returning ``[None]`` or objects that are not ``Suggestion`` cannot hide the others. A rule that takes
longer than ``SLOW_RULE_S`` once is skipped from then on (with one warning): Python cannot stop a running
function, but it can stop calling it. The built-in rules are ours: their errors stay internal errors.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from .._errors import logger
from .._locks import new_lock
from .suggest import Rule, Snapshot, Suggestion, Thresholds

SLOW_RULE_S = 2.0
"""A custom rule slower than this (once) is skipped from then on."""
MAX_PER_RULE = 10_000
"""Suggestions kept from one rule per evaluation (the rest are dropped and counted)."""


class RuleGuard:
    """Wraps custom rules; remembers which were reported and which are skipped (bounded by the rules)."""

    def __init__(self, builtin: Mapping[str, Rule], clock: Any = time.perf_counter) -> None:
        self._builtin = {id(rule) for rule in builtin.values()}
        self._clock = clock
        self._lock = new_lock()
        self.reported: set[str] = set()
        self.skipped: dict[str, str] = {}  # rule name -> why
        self.dropped = 0  # non-Suggestion items and suggestions past MAX_PER_RULE

    def rules(self, rules: Mapping[str, Rule]) -> dict[str, Rule]:
        """The rules to evaluate now: built-in ones as they are, custom ones guarded, skipped ones left out."""
        out: dict[str, Rule] = {}
        for name, rule in rules.items():
            if id(rule) in self._builtin:
                out[name] = rule
            elif name not in self.skipped:
                out[name] = self._guarded(name, rule)
        return out

    def _guarded(self, name: str, rule: Rule) -> Rule:
        def run(snapshot: Snapshot, thresholds: Thresholds) -> list[Suggestion]:
            t0 = self._clock()
            try:
                found = _valid(rule(snapshot, thresholds))
            except Exception:  # noqa: BLE001 - a user's rule may raise anything; it must not hide the others
                self._report(name, "raised", exc_info=True)
                return []
            finally:
                took = self._clock() - t0
                if took > SLOW_RULE_S:
                    self._skip(name, f"took {took:.1f} s (more than {SLOW_RULE_S} s)")
            kept, bad = found
            if bad:
                with self._lock:
                    self.dropped += bad
                self._report(name, f"returned {bad} item(s) that are not Suggestion objects (dropped)")
            return kept

        return run

    def _report(self, name: str, what: str, *, exc_info: bool = False) -> None:
        with self._lock:
            first = name not in self.reported
            self.reported.add(name)
        if first:
            logger.warning(
                "otel_agentperf: suggestion rule %r %s; the other rules still run (reported once)",
                name,
                what,
                exc_info=exc_info,
            )

    def _skip(self, name: str, why: str) -> None:
        with self._lock:
            self.skipped[name] = why
        logger.warning("otel_agentperf: suggestion rule %r %s: it is skipped from now on", name, why)


def _valid(result: object) -> tuple[list[Suggestion], int]:
    """(the ``Suggestion`` objects among what a rule returned, how many other items there were)."""
    if result is None:
        return [], 0
    if isinstance(result, Suggestion):
        return [result], 0
    if not isinstance(result, Iterable) or isinstance(result, (str, bytes, Mapping)):
        return [], 1
    kept: list[Suggestion] = []
    bad = 0
    for item in result:  # pyright: ignore[reportUnknownVariableType]
        if isinstance(item, Suggestion) and len(kept) < MAX_PER_RULE:
            kept.append(item)
        else:
            bad += 1
    return kept, bad
