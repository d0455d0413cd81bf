"""Explicit recording inside any span: ``record_usage``, ``record_response`` and ``conversation``."""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from types import TracebackType
from typing import Any, cast

from opentelemetry import context as otel_context
from opentelemetry import trace

from .. import semconv as sc
from .._errors import log_internal_error, warn_once
from .._text import clean
from ..cost.catalog import refresh_from_network
from ..cost.ledger import ConversationCost
from ..cost.usage import Usage, extract_usage, token_count
from ..insights.forecast import Health, budget_projection
from ..insights.recommend import Recommendation
from ..insights.suggest import Rule, Suggestion
from ..telemetry.instruments import CACHE_READ, KIND_LLM, TOKEN_USAGE, CostSeries, Series, record_tokens
from . import accounting as _accounting
from .accounting import price, spend, usage_attributes
from .call import CONVERSATION_KEY, Call, current_call
from .state import STATE, SeriesCache

# Token-metric labels of usage recorded outside an LLM span, keyed by (op, provider, model, agent).
_loose_series = SeriesCache(max_size=256)


def record_usage(
    *,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    cache_read_input_tokens: int | None = None,
    cache_write_input_tokens: int | None = None,
    reasoning_output_tokens: int | None = None,
    model: str | None = None,
    provider: str | None = None,
) -> None:
    """Record token usage on the current span (semconv counting: input includes cached tokens).

    Inside a ``trace_llm`` call it replaces what would be read from the response (several calls add up);
    inside an agent, tool or workflow it counts as an LLM call of that span with ``model``/``provider``.
    Bad values (negative, NaN, non-numeric strings) are dropped with a warning.

    Example::

        with ap.llm_call(provider="vllm", model="llama-3.1-8b"):
            out = engine.generate(prompt)
            ap.record_usage(input_tokens=out.prompt_tokens, output_tokens=out.completion_tokens)
    """
    try:
        usage = Usage(
            input_tokens=token_count(input_tokens, "input_tokens"),
            output_tokens=token_count(output_tokens, "output_tokens"),
            cache_read_tokens=token_count(cache_read_input_tokens, "cache_read_input_tokens"),
            cache_write_tokens=token_count(cache_write_input_tokens, "cache_write_input_tokens"),
            reasoning_tokens=token_count(reasoning_output_tokens, "reasoning_output_tokens"),
            response_model=model[:128] if isinstance(model, str) and model else None,
        )
        _apply(usage, provider if isinstance(provider, str) and provider else None, explicit=True)
    except Exception:  # noqa: BLE001
        log_internal_error("record_usage")


def record_response(response: Any, *, provider: str | None = None) -> None:
    """Read usage from a provider response object (as ``trace_llm`` does with return values).

    Example::

        with ap.llm_call(provider="anthropic", model="claude-sonnet-4-5"):
            msg = client.messages.create(...)
            ap.record_response(msg)
    """
    try:
        usage = extract_usage(response)
        if usage is not None:
            _apply(usage, provider if isinstance(provider, str) and provider else None, explicit=True)
    except Exception:  # noqa: BLE001
        log_internal_error("record_response")


def _token_series(base: dict[str, Any]) -> tuple[Series, Series, CostSeries, Series]:
    instruments = STATE.instruments
    return (
        instruments.series(TOKEN_USAGE, {**base, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_INPUT}),
        instruments.series(TOKEN_USAGE, {**base, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_OUTPUT}),
        instruments.cost_series(base),
        instruments.series(CACHE_READ, base),
    )


def _apply(usage: Usage, provider: str | None, *, explicit: bool) -> None:
    call = current_call()
    if call is not None and call.spec.kind == KIND_LLM and not call.ended:
        call.add_usage(usage, explicit=explicit)
        return
    # Outside an LLM span: an LLM call we did not see start, counted where it happened.
    agent = call.agent_name if call is not None else None
    model = usage.response_model
    key = (provider, model, agent)
    series = _loose_series.lookup(key)
    if series is None:
        base: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT}
        if provider:
            base[sc.GEN_AI_PROVIDER_NAME] = provider
        if model:
            base[sc.GEN_AI_REQUEST_MODEL] = model
        if agent:
            base[sc.GEN_AI_AGENT_NAME] = agent
        series = _token_series(base)
        if not _loose_series.put(key, series):  # cardinality guard
            series = _token_series({sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT, sc.GEN_AI_REQUEST_MODEL: sc.OVERFLOW_LABEL})
    record_tokens(usage, series[0], series[1], series[3])
    has_cost = usage.has_tokens() or usage.provider_cost is not None
    priced = price(usage, provider, model, series[2], _accounting.clock()) if has_cost else None
    if priced is not None:
        conv = call.conversation if call is not None else current_conversation()
        spend(priced[0], agent, model, conv, usage)
    if call is not None and not call.ended:
        call._absorb(usage)  # pyright: ignore[reportPrivateUsage]
        if priced is not None:
            call.absorb_cost(priced[0])
        return
    span = trace.get_current_span()
    if span.is_recording():
        attrs = usage_attributes(usage, priced, with_meta=False)
        span.set_attributes(attrs)


def record_cost(usd: float, *, kind: str = "other") -> None:
    """Record a non-token cost (paid tool API, browser minutes…) in USD inside the current span.

    It counts in the enclosing agent's and workflow's ``agentperf.cost.total``, the conversation's cost,
    the budget, and the ``agentperf.cost.other`` counter (labels: kind, agent).

    Example::

        @ap.trace_tool("browser")
        def browse(url: str) -> str:
            page, minutes = remote_browser.open(url)
            ap.record_cost(minutes * 0.01, kind="browser_minutes")
            return page
    """
    try:
        amount = cast(object, usd)  # validated at run time whatever the annotation says
        # 10**400 is an int no float can hold: compared, never converted, before it is rejected.
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not 0 <= amount < _MAX_USD:
            warn_once("record_cost:bad", "otel_agentperf: record_cost() ignores invalid amount %.40s", _show(amount))
            return
        kind = str(kind)[:64] or "other"
        call = current_call()
        agent = call.agent_name if call is not None else None
        labels: dict[str, Any] = {sc.AGENTPERF_COST_KIND: kind}
        if agent:
            labels[sc.GEN_AI_AGENT_NAME] = agent
        STATE.instruments.other_cost.add(float(usd), labels)
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event("agentperf.cost", {sc.AGENTPERF_COST_KIND: kind, sc.GEN_AI_USAGE_COST_AMOUNT: float(usd)})
        if call is not None and not call.ended:
            call.absorb_cost(float(usd))
        spend(float(usd), agent, None, call.conversation if call is not None else current_conversation(), None)
    except Exception:  # noqa: BLE001
        log_internal_error("record_cost")


_MAX_USD = 1e12  # more than any one cost: larger (or NaN, infinite, huge ints) is a bug upstream


def _show(value: object) -> str:
    try:
        return repr(value)  # a huge int's repr is refused past 4300 digits: the type then says enough
    except Exception:  # noqa: BLE001
        return type(value).__name__


def _truthy(value: object) -> bool:
    try:
        return bool(value)
    except Exception:  # noqa: BLE001 - a user object's __bool__ may raise too
        return True


# One variable for every use (a context keeps each variable ever set in it: one per use leaked ~140 B a use).
_conversations: contextvars.ContextVar[tuple[object, Any, Any] | None] = contextvars.ContextVar(
    "agentperf.conv", default=None
)


class conversation:
    """Set ``gen_ai.conversation.id`` on every span started inside (never on metrics).

    Example::

        with ap.conversation(thread.id):
            await support_agent(message)
    """

    __slots__ = ("conversation_id",)

    def __init__(self, conversation_id: str) -> None:
        # Never raises: an id whose __str__ fails becomes a placeholder (with one warning).
        self.conversation_id = clean(conversation_id) if _truthy(conversation_id) else ""

    def __enter__(self) -> str:
        try:
            if self.conversation_id:
                token = otel_context.attach(otel_context.set_value(CONVERSATION_KEY, self.conversation_id))
                _conversations.set((self, token, _conversations.get()))
        except Exception:  # noqa: BLE001
            log_internal_error("conversation")
        return self.conversation_id

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            entry = _conversations.get()
            if entry is not None and entry[0] is self:
                _owner, token, outer = entry
                _conversations.set(outer)
                otel_context.detach(token)
        except Exception:  # noqa: BLE001
            log_internal_error("conversation")

    async def __aenter__(self) -> str:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def current_conversation() -> str | None:
    """The conversation id set by the innermost ``conversation(...)``, if any."""
    value = otel_context.get_value(CONVERSATION_KEY)
    return value if isinstance(value, str) else None


def conversation_cost(conversation_id: str) -> ConversationCost | None:
    """Cost so far of one conversation (by agent and model, with its A–D rating); ``None`` if unknown.

    Example::

        with ap.conversation("c-42"):
            await support_agent(message)
        print(ap.conversation_cost("c-42"))
    """
    return STATE.ledger.get(str(conversation_id))


def top_conversations(n: int = 10) -> list[ConversationCost]:
    """The ``n`` most expensive conversations still in the in-process ledger."""
    return STATE.ledger.top(n)


def refresh_prices(*, url: str | None = None) -> bool:
    """Download the latest genai-prices data now (never done implicitly); True if prices were replaced.

    The SDK prices calls from the data bundled with ``genai-prices`` and never touches the network on its
    own. Call this (e.g. daily, from your own scheduler) to pick up new models and price changes.
    """
    updated = refresh_from_network(url)
    if updated:
        STATE.prices.clear()
    return updated


def suggestions() -> list[Suggestion]:
    """Current optimization suggestions, ranked (impact, then savings), from the last window of calls.

    Example::

        for s in ap.suggestions()[:5]:
            print(f"[{s.severity}] {s.title}  (saves ${s.savings_usd_per_day:.2f}/day)")
    """
    try:
        return STATE.advisor.evaluate()
    except Exception:  # noqa: BLE001
        log_internal_error("suggestions")
        return []


def recommend(operation: str, candidates: Sequence[str], *, latency_weight: float = 0.5) -> Recommendation:
    """Pick a model and a timeout for the next call among ``candidates`` from observed latency, cost and
    success (within the agent ``operation`` when it has data, else across all calls).

    Example::

        rec = ap.recommend("researcher", ["claude-haiku-4-5", "gemini-2.0-flash"])
        reply = call_model(rec.model, timeout=rec.timeout_s)
    """
    return STATE.advisor.recommend(operation, list(candidates), latency_weight=latency_weight)


def register_rule(name: str, rule: Rule) -> None:
    """Add a rule: ``rule(snapshot, thresholds) -> list[Suggestion]`` (build them with ``ap.make_suggestion``).

    Example::

        def no_gpt4(snap, t):
            return [ap.make_suggestion("no_gpt4", "model", "/".join(r.key), title="Stop using gpt-4",
                                       description="...", impact=0.5) for r in snap.provider_models
                    if r.key[-1] == "gpt-4"]

        ap.register_rule("no_gpt4", no_gpt4)
    """
    if not callable(rule):
        raise TypeError("rule must be callable")
    STATE.advisor.rules[str(name)] = rule


def health() -> Health:
    """Health score 0–100 and its components (success, latency, cost, resources), each 0–1; ``.budget`` is when
    the daily budget is reached at the last hour's rate (``None`` without a daily budget)."""
    score, parts = STATE.advisor.health()
    return Health(score, parts, budget_projection(STATE.budget, STATE.advisor.wall_clock()))


def budget_status() -> dict[str, float]:
    """USD spent over the sliding hour and day (and per budgeted agent); empty without a budget."""
    budget = STATE.budget
    return budget.status() if budget is not None else {}


__all__ = ["Call", "conversation", "current_conversation", "record_response", "record_usage"]
