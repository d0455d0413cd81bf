"""The in-process performance agent: feeds rolling statistics, evaluates rules, reports suggestions.

``observe`` runs at the end of every traced call (a few dictionary updates, no lock, no I/O); rules are
evaluated on demand (``ap.suggestions()``) or, for the metric gauges, in a background thread at most every
few seconds: a collection serves the last result and never waits for the rules. A suggestion raised for
the first time is logged (Python logging and the OpenTelemetry logs API) and attached as a span event to
the next invocation of the agent it concerns.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from .. import semconv as sc
from .._errors import logger
from .._locks import new_lock
from ..telemetry.instruments import KIND_AGENT, KIND_LLM, KIND_TOOL  # at module level: observe() runs per call
from .guard import RuleGuard
from .recommend import Recommendation, recommend
from .rules import BUILTIN_RULES
from .rules_regression import RegressionRule
from .stats import Stats, Tally, combine, fingerprint
from .suggest import Rule, Snapshot, Suggestion, Thresholds, evaluate, health_score


class ObservedSpec(Protocol):
    """What the advisor reads of a traced operation (``tracing.call.Spec`` provides it)."""

    @property
    def kind(self) -> int: ...
    @property
    def name(self) -> str | None: ...
    @property
    def provider(self) -> str | None: ...


class ObservedCall(Protocol):
    """What the advisor reads of a finished traced call (``tracing.call.Call`` provides it).

    A protocol, so that insights never import the call path: the call path feeds the advisor.
    """

    @property
    def spec(self) -> ObservedSpec: ...
    @property
    def agent_name(self) -> str | None: ...
    @property
    def cost(self) -> float: ...
    @property
    def retries(self) -> int: ...
    @property
    def retry(self) -> bool: ...
    @property
    def fp(self) -> Any: ...
    @property
    def usage(self) -> Any: ...
    @property
    def request_model(self) -> str | None: ...
    @property
    def prefix(self) -> tuple[str, int, int] | None: ...
    @property
    def conversation(self) -> str | None: ...
    @property
    def span(self) -> Any: ...

    @property
    def parent(self) -> ObservedCall | None: ...


_MAX_SEEN = 1024
_MAX_PENDING = 512  # agents with suggestions waiting for their next span (oldest dropped past this)
_GAUGE_MAX_AGE_S = 5.0
_MAX_GAUGE_SERIES = 100
_PREFIX_MIN_CHARS = 4000  # ~1000 tokens: the smallest prefix providers cache
_SEQUENCES = (list, tuple, str)


class Advisor:
    def __init__(
        self,
        thresholds: Thresholds | None = None,
        *,
        window_s: float = 900.0,
        fingerprints: bool = True,
        timeouts: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.perf_counter,  # the clock the call path measures with
        wall_clock: Callable[[], float] = time.time,  # the time prices are taken at (tests pin it)
    ) -> None:
        self.thresholds = thresholds or Thresholds()
        self.stats = Stats(window_s=window_s, started=clock())
        self.fingerprints = fingerprints
        self.timeouts = dict(timeouts or {})
        self.rules: dict[str, Rule] = dict(BUILTIN_RULES)
        self.rules["regression"] = RegressionRule()  # remembers baselines: one per advisor
        self.clock = clock
        self.wall_clock = wall_clock
        self.prices: Callable[[str | None, str, float], Any] | None = None
        self.budget: Any = None
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._pending: dict[str, list[Suggestion]] = {}
        self._cache: tuple[float, list[Suggestion]] | None = None
        self._lock = new_lock()
        self.guard = RuleGuard(BUILTIN_RULES)
        self._refresher: threading.Thread | None = None  # not alive in a forked child: a new one starts there

    # --- the call path --------------------------------------------------------------------------------
    def prefix_key(
        self, provider: str | None, model: str | None, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[str, int, int] | None:
        """A hash of a long, stable prompt prefix (the first message), never its content.

        Only lists, tuples and strings are looked into: the truth of other objects may raise (numpy arrays).
        """
        # Runs at the start of every model call with arguments: type checks of a few C calls, no cast() calls.
        messages: Any = kwargs.get("messages") if kwargs else None
        if not (isinstance(messages, _SEQUENCES) and messages):
            messages = kwargs.get("input") if kwargs else None
        if not (isinstance(messages, _SEQUENCES) and messages):
            messages = args[0] if args else None
        if not (isinstance(messages, _SEQUENCES) and messages):
            return None
        first: object = messages  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(messages, str):
            head: object = messages[0]  # pyright: ignore[reportUnknownVariableType]
            first = head.get("content") if isinstance(head, dict) else getattr(head, "content", None)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType, reportUnknownArgumentType]
        if not isinstance(first, str) or len(first) < _PREFIX_MIN_CHARS:
            return None
        return f"{provider or ''}/{model or ''}", hash(first[:8000]), len(first)

    def tally(self, kind: int, agent: str | None, provider: str | None, name: str | None) -> Tally | None:
        """Where a call of ``kind`` is counted: an agent's row by its name; a tool's by its ``name``; a model
        call's by (agent, provider, model ``name``). ``None`` for kinds without statistics (workflows)."""
        stats = self.stats
        if kind == KIND_LLM:
            return self._model_tally(agent, provider, name)
        if kind == KIND_TOOL:
            name = name or ""
            return Tally(stats, stats.tools, (name,), f"tool:{name}", f"tool {name}")
        if kind == KIND_AGENT:
            return Tally(stats, stats.agents, (agent or "",), "", f"agent {agent}")
        return None

    def _model_tally(self, agent: str | None, provider: str | None, model: str | None) -> Tally:
        stats = self.stats
        model = model or ""
        return Tally(stats, stats.agent_models, (agent or "", provider or "", model), f"llm:{model}", f"llm {model}")

    def observe(
        self,
        call: ObservedCall,
        now: float,
        duration: float,
        error: str | None,
        usd: float | None,
        tally: Tally | None = None,
    ) -> None:
        """A finished call, counted by ``tally`` when the call path resolved it for this advisor and this call's
        key (``tally()`` of the call's kind, agent, provider and tool name or model), else by its key."""
        stats = self.stats
        spec = call.spec
        kind = spec.kind
        agent = call.agent_name
        usage = call.usage
        if tally is None or tally.stats is not stats:
            if kind == KIND_LLM:
                name = (usage.response_model if usage is not None else None) or call.request_model
            else:
                name = spec.name
            tally = self.tally(kind, agent, spec.provider, name)
            if tally is None:
                return
        if kind == KIND_AGENT:
            tally.add(now, duration, error, cost=call.cost, retries=call.retries)
            parent = call.parent
            if parent is not None and parent.agent_name and parent.agent_name != agent:
                stats.child_time(parent.agent_name, tally.child, duration)
            if self._pending and agent in self._pending:
                self._attach_events(call)
            return
        retry = call.retry
        if kind == KIND_TOOL:
            tally.add(now, duration, error, cost=call.cost, retries=int(retry))
        else:
            tin = _add_inference(tally, now, duration, error, usage, usd, retry)
            prefix = call.prefix
            if prefix is not None:
                stats.prefixes.add(prefix[0], prefix[1], now, float(prefix[2]), stats.window_s)
            if call.conversation and tin:
                stats.conversation_input(call.conversation, tin)
        if call.fp is not None and error is None and not retry:  # a retry is not a cacheable repeat
            stats.repeats.add(tally.scope, call.fp, now, duration, stats.window_s)
        if agent:
            stats.child_time(agent, tally.child, duration)

    def observe_foreign(
        self,
        provider: str | None,
        model: str | None,
        agent: str | None,
        duration: float,
        error: str | None,
        usage: Any,
        usd: float | None,
    ) -> None:
        """An inference span of another instrumentation (from ``AgentPerfSpanProcessor``).

        (provider, model) rows are merged from the (agent, provider, model) rows at snapshot time: one table
        update per call."""
        tally = self._model_tally(agent, provider, model)
        _add_inference(tally, self.clock(), duration, error, usage, usd, False)
        if agent:
            self.stats.child_time(agent, tally.child, duration)

    def _attach_events(self, call: ObservedCall) -> None:
        with self._lock:
            pending = self._pending.pop(call.agent_name or "", [])
        span = call.span
        if not span.is_recording():
            return
        for s in pending:
            span.add_event(
                "agentperf.suggestion",
                {
                    "agentperf.suggestion.id": s.id,
                    "agentperf.suggestion.rule": s.rule,
                    "agentperf.suggestion.title": s.title,
                },
            )

    # --- evaluation -----------------------------------------------------------------------------------
    def snapshot(self, *, with_resources: bool = True) -> Snapshot:
        from ..telemetry import resources as _resources

        stats = self.stats
        now = self.clock()
        epoch = stats.epoch(now)
        window = min(stats.window_s, max(now - stats.started, 1.0))
        budget = self.budget
        hourly = daily_limit = hourly_limit = None
        if budget is not None:
            status = budget.status()
            hourly = status.get("hour")
            daily_limit = budget.budget.daily_usd
            hourly_limit = budget.budget.hourly_usd
        agent_models = stats.agent_models.snapshot(epoch)
        return Snapshot(
            window_s=window,
            source="process",
            agents=stats.agents.snapshot(epoch),
            agent_models=agent_models,
            provider_models=combine(agent_models, lambda key: key[1:]),
            tools=stats.tools.snapshot(epoch),
            repeats=stats.repeats.repeated(now, stats.window_s),
            prefixes=stats.prefixes.repeated(now, stats.window_s),
            prefix_chars=_prefix_chars(stats.prefixes.entries),
            conversations={k: list(v) for k, v in list(stats.conversations.items())},
            resources=_resources.read() if with_resources else None,
            hourly_spend_usd=hourly,
            daily_budget_usd=daily_limit,
            hourly_budget_usd=hourly_limit,
            timeouts=dict(self.timeouts),
            price_of=self.prices,
            at=self.wall_clock(),
        )

    def evaluate(self, max_age_s: float = 0.0) -> list[Suggestion]:
        now = self.clock()
        cached = self._cache
        if cached is not None and now - cached[0] <= max_age_s:
            return cached[1]
        found = evaluate(self.snapshot(), self.thresholds, self.guard.rules(self.rules))
        wall = time.time()
        fresh: list[Suggestion] = []
        with self._lock:
            for s in found:  # linear: a dictionary and list appends per suggestion
                first = self._seen.get(s.id)
                if first is None:
                    first = wall
                    fresh.append(s)
                    if len(self._seen) >= _MAX_SEEN:
                        self._seen.popitem(last=False)
                    if s.scope_kind == "agent":
                        agent = s.scope_name.split(":", 1)[0]
                        if agent not in self._pending and len(self._pending) >= _MAX_PENDING:
                            self._pending.pop(next(iter(self._pending)))  # the longest waiting agent
                        self._pending.setdefault(agent, []).append(s)
                self._seen[s.id] = first
                s.first_seen, s.last_seen = first, wall
            self._cache = (now, found)
        for s in fresh:
            _announce(s)
        return found

    def latest(self, max_age_s: float = _GAUGE_MAX_AGE_S) -> list[Suggestion]:
        """The last evaluation's suggestions, at once; older than ``max_age_s``, a background thread refreshes
        them (one at a time). What metric collection reads: a slow rule never stalls a scrape."""
        cached = self._cache
        if cached is None or self.clock() - cached[0] > max_age_s:
            with self._lock:
                refresher = self._refresher
                if refresher is None or not refresher.is_alive():
                    refresher = self._refresher = threading.Thread(
                        target=self._refresh, name="agentperf-suggestions", daemon=True
                    )
                    refresher.start()
        return cached[1] if cached is not None else []

    def _refresh(self) -> None:
        try:
            self.evaluate()
        except Exception:  # noqa: BLE001 - a background thread: logged; the last result keeps being served
            logger.warning("otel_agentperf: evaluating suggestions failed", exc_info=True)

    def health(self) -> tuple[float, dict[str, float]]:
        return health_score(self.snapshot(), self.thresholds)

    # --- real-time optimizer ----------------------------------------------------------------------------
    def recommend(
        self, operation: str, candidates: Sequence[str], *, latency_weight: float = 0.5, min_success: float = 0.9
    ) -> Recommendation:
        snap = self.snapshot(with_resources=False)
        return recommend(snap, self.thresholds, operation, candidates, latency_weight, min_success)

    # --- gauges (read by the observable instruments registered in _runtime) ---------------------------
    @property
    def gauge_callbacks(self) -> dict[str, Callable[[Any], Iterable[Any]]]:
        from opentelemetry.metrics import Observation

        def active(options: Any) -> Iterable[Observation]:
            suggestions = self.latest()[:_MAX_GAUGE_SERIES]
            return [
                Observation(
                    1,
                    {
                        sc.SUGGESTION_RULE: s.rule,
                        sc.SUGGESTION_SEVERITY: s.severity,
                        sc.SUGGESTION_SCOPE: f"{s.scope_kind}:{s.scope_name}"[:128],
                        sc.SUGGESTION_CONFIDENCE: s.confidence,
                    },
                )
                for s in suggestions
            ]

        def savings(options: Any) -> Iterable[Observation]:
            return [Observation(sum(s.savings_usd_per_day for s in self.latest()))]

        def health(options: Any) -> Iterable[Observation]:
            return [Observation(self.health()[0])]

        return {"active": active, "savings": savings, "health": health}


def _add_inference(
    tally: Tally, now: float, duration: float, error: str | None, usage: Any, usd: float | None, retry: bool
) -> int:
    """One model call into its row, ours or another instrumentation's; returns its input tokens."""
    tin = tout = tcached = 0
    if usage is not None:
        tin = usage.input_tokens or 0
        tout = usage.output_tokens or 0
        tcached = usage.cache_read_tokens or 0
    tally.add(now, duration, error, tin, tout, tcached, usd or 0.0, int(retry))
    return tin


def _prefix_chars(entries: Mapping[tuple[str, int], list[float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for (scope, _), (count, _first, chars) in list(entries.items()):
        if count >= 2:
            out[scope] = max(out.get(scope, 0.0), chars / count)
    return out


def _announce(s: Suggestion) -> None:
    logger.info("otel_agentperf suggestion [%s] %s — %s", s.severity, s.title, s.description)
    try:
        from opentelemetry._logs import SeverityNumber, get_logger

        get_logger(sc.SCOPE_NAME).emit(
            severity_number=SeverityNumber.INFO,
            severity_text="INFO",
            body=s.title,
            attributes={
                "agentperf.suggestion.id": s.id,
                "agentperf.suggestion.rule": s.rule,
                "agentperf.suggestion.severity": s.severity,
                "agentperf.suggestion.scope": f"{s.scope_kind}:{s.scope_name}",
                "agentperf.suggestion.savings_usd_per_day": s.savings_usd_per_day,
                sc.SUGGESTION_CONFIDENCE: s.confidence,
                "agentperf.suggestion.evidence": ", ".join(f"{k}={v}" for k, v in sorted(s.evidence.items()))[:512],
            },
        )
    except Exception:  # noqa: BLE001 - the logs API is optional and experimental
        logger.debug("otel_agentperf: could not emit the suggestion log record", exc_info=True)


def make_fingerprint(args: tuple[Any, ...], kwargs: dict[str, Any]) -> int | None:
    return fingerprint(args, kwargs)
