"""``AgentPerfSpanProcessor``: cost for inference spans made by other instrumentations, each call once.

OpenTelemetry's own GenAI instrumentations, provider SDKs' native spans (Anthropic's), OpenLLMetry, OpenLIT
and OpenInference emit inference spans with token counts but (mostly) no cost. Added to the TracerProvider,
this processor prices such spans when they end, records ``gen_ai.client.operation.cost`` with the same labels
ours use, and adds cost and tokens to the ``@trace_agent``/``@trace_workflow`` of the context the span started
in (its ``agentperf.cost.total`` and token totals), the conversation and the budget.

One LLM call often has several spans: ours, the provider SDK's, one per instrumentation installed. Exactly one
of them carries its cost (see ``_duplicate``; the others are counted in ``agentperf.cost.deduplicated_calls``):

1. a span with a cost of its own (provider-reported or its instrumentation's) is never priced again;
2. our ``@trace_llm`` span wins over every span inside it or around it;
3. of other spans nested in one another, the first to end with tokens (the innermost) is priced;
4. of spans that do not nest (an instrumentation that does not make its span current), the first one priced
   wins over later ones with the same ``gen_ai.response.id`` that overlap it in the same trace.

Every callback is guarded: the SDK runs ``on_start``/``on_end`` on the user's thread without a try. Our own
spans cost a comparison or two here. Per other span it does a few dictionary lookups; the spans it tracks between
start and end and the response ids it remembers are capped (oldest dropped and counted).

It only sees *sampled* spans: at a sampling ratio below 1 these costs are sampled too (our own decorators'
costs are exact whatever the ratio). Exported foreign spans are not modified.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, cast

from opentelemetry.context import Context, get_current
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from .. import semconv as sc
from .._errors import log_internal_error
from .._locks import new_lock
from ..cost.usage import Usage, token_count
from ..telemetry.instruments import KIND_LLM
from . import accounting as _accounting
from .accounting import price, spend
from .call import CALL_KEY, CONVERSATION_KEY, Call
from .state import STATE, SeriesCache

# Other instrumentations' names: the GenAI conventions (current and pre-1.37, as OpenLLMetry and OpenLIT
# still write some), then OpenInference's.
_OI_KIND = "openinference.span.kind"
_OI_PARAMETERS = "llm.invocation_parameters"
_OI_OPERATIONS = {"LLM": sc.OP_CHAT, "EMBEDDING": sc.OP_EMBEDDINGS}
_PROVIDER_KEYS = (sc.GEN_AI_PROVIDER_NAME, "gen_ai.system", "llm.provider", "llm.system")
_INPUT_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt")
_OUTPUT_KEYS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion")
_CACHE_READ_KEYS = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
)
_CACHE_WRITE_KEYS = (
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write",
)
_REASONING_KEYS = (
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "llm.token_count.completion_details.reasoning",
)
_RESPONSE_MODEL_KEYS = (sc.GEN_AI_RESPONSE_MODEL, "llm.model_name")
_COST_KEYS = (sc.GEN_AI_USAGE_COST_AMOUNT, "gen_ai.usage.cost", "llm.cost.total")
# Present at start on the spans of every GenAI instrumentation we know: such spans are tracked even
# outside our agents, so that two of them nested for one call are priced once.
_GENAI_START_KEYS = (sc.GEN_AI_OPERATION_NAME, *_PROVIDER_KEYS, _OI_KIND, "llm.request.type")
# Operations that are never one inference, whatever tokens their spans add up.
_NOT_INFERENCE = frozenset(
    {sc.OP_INVOKE_AGENT, sc.OP_EXECUTE_TOOL, sc.OP_INVOKE_WORKFLOW, "create_agent", "execute_task", "workflow"}
)
_MAX_DEPTH = 64  # ancestors walked (a deeper tree is cut off there, never looped over)
_MAX_SCOPES = 32  # distinct scope labels on the deduplication counter; then _OTHER


def _first(attrs: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value is not None:
            return value
    return None


class _Open:
    """A span of another instrumentation between start and end."""

    __slots__ = ("parent", "call", "conversation", "priced", "covered")

    def __init__(self, parent: _Open | None, call: Call | None, conversation: str | None) -> None:
        self.parent = parent  # the nearest tracked ancestor (kept after it ends: it may end first)
        self.call = call  # our innermost call in the context the span started in
        self.conversation = conversation
        self.priced = False  # this span carries its call's cost
        self.covered: str | None = None  # why it must not: a span inside it carries the cost (the reason)


class AgentPerfSpanProcessor(SpanProcessor):
    """Prices GenAI inference spans from other instrumentations, once per call, and attributes them to our
    agents.

    Example::

        from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor

        ap.configure(service_name="bot")            # adds this processor to the provider it builds
        OpenAIInstrumentor().instrument()

        # or, on a TracerProvider of your own:
        tracer_provider.add_span_processor(ap.AgentPerfSpanProcessor())
    """

    def __init__(self, max_open_spans: int = 4096, max_responses: int = 1024) -> None:
        self.max_open_spans = max_open_spans
        self.max_responses = max_responses
        self.dropped = 0  # tracked spans forgotten before they ended (table full)
        self.dropped_responses = 0  # response ids forgotten (table full)
        self.priced = 0
        self.deduplicated = 0
        self._open: OrderedDict[int, _Open] = OrderedDict()
        self._responses: OrderedDict[tuple[int, str], tuple[int, int]] = OrderedDict()
        self._scopes: set[str] = set()
        self._lock = new_lock()
        self._series = SeriesCache(max_size=512)
        self._shut = False  # after shutdown() (its provider's), spans still made on it are not priced

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            scope = span.instrumentation_scope
            if (scope is not None and scope.name == sc.SCOPE_NAME) or self._shut:
                return  # ours: priced at the source
            context = span.context
            if context is None:
                return
            parent_span = span.parent
            parent = self._open.get(parent_span.span_id) if parent_span is not None else None
            # Attributed to the innermost of our calls among the context the span started in, the parent
            # context it was given and its parent span's: an instrumentation driven by callbacks (LangChain's)
            # passes the parent *run's* context, from before the agent the call is made in; one that attaches
            # a context of its own derives it from that parent context (so its children inherit it).
            current = get_current()
            call: Call | None = current.get(CALL_KEY)  # type: ignore[assignment]
            conversation: Any = current.get(CONVERSATION_KEY)
            if parent_context is not None and parent_context is not current:
                call = _innermost(call, parent_context.get(CALL_KEY))  # type: ignore[arg-type]
                conversation = conversation or parent_context.get(CONVERSATION_KEY)
            if parent is not None:
                call = _innermost(call, parent.call)
                conversation = conversation or parent.conversation
            if parent is None and call is None and not conversation:
                attrs = span.attributes or {}
                if not any(key in attrs for key in _GENAI_START_KEYS):
                    return  # outside our agents and not GenAI: nothing to price or attribute
            entry = _Open(parent, call, conversation if isinstance(conversation, str) else None)
            with self._lock:
                self._open[context.span_id] = entry
                if len(self._open) > self.max_open_spans:
                    self._open.popitem(last=False)
                    self.dropped += 1
        except Exception:  # noqa: BLE001
            log_internal_error("processor.on_start")

    def on_end(self, span: ReadableSpan) -> None:
        try:
            scope = span.instrumentation_scope
            if scope is not None and scope.name == sc.SCOPE_NAME:
                if self._open and span.parent is not None:
                    self._ours_ended(span)
                return
            if self._shut:
                return
            context = span.context
            entry = None
            if context is not None:
                with self._lock:
                    entry = self._open.pop(context.span_id, None)
            # A plain copy: the span's own mapping raises and catches KeyError for every name it lacks.
            attrs = dict(span.attributes or {})
            operation = _operation(attrs)
            if operation is None:
                return
            reported = _first(attrs, _COST_KEYS)
            usage = Usage(
                input_tokens=token_count(_first(attrs, _INPUT_KEYS), "input_tokens"),
                output_tokens=token_count(_first(attrs, _OUTPUT_KEYS), "output_tokens"),
                cache_read_tokens=token_count(_first(attrs, _CACHE_READ_KEYS), "cache_read_tokens"),
                cache_write_tokens=token_count(_first(attrs, _CACHE_WRITE_KEYS), "cache_write_tokens"),
                reasoning_tokens=token_count(_first(attrs, _REASONING_KEYS), "reasoning_tokens"),
                response_model=_str(_first(attrs, _RESPONSE_MODEL_KEYS)),
            )
            if reported is None and not usage.has_tokens():
                return  # not an inference we can account for (yet): no tokens, no cost
            reason = self._duplicate(entry, span, attrs, usage)
            if reason is not None:
                self._count_duplicate(scope.name if scope is not None else "", reason)
                return
            self._claim(entry, span, attrs, sc.DEDUP_NESTED)
            if reported is not None:
                return  # priced by its instrumentation: never price twice
            self._price(span, attrs, usage, entry, _str(_first(attrs, _PROVIDER_KEYS)), operation)
        except Exception:  # noqa: BLE001
            log_internal_error("processor.on_end")

    # --- one call, one price ----------------------------------------------------------------------------
    def _duplicate(self, entry: _Open | None, span: ReadableSpan, attrs: Any, usage: Usage) -> str | None:
        """Why this inference span must not be priced (another span of the same call carries its cost)."""
        if entry is not None:
            if entry.covered is not None:
                return entry.covered  # a span inside it was priced first (children end before parents)
            call = entry.call
            if call is not None and call.spec.kind == KIND_LLM:
                if not call.ended:
                    if call.foreign_usage is None and usage.has_tokens():
                        call.foreign_usage = usage  # priced from here if its own result has no usage
                    return sc.DEDUP_TRACE_LLM
                if call.usage is not None and call.usage.has_tokens():
                    return sc.DEDUP_TRACE_LLM  # a returned stream: our call ended first, priced
            ancestor, depth = entry.parent, 0
            while ancestor is not None and depth < _MAX_DEPTH:
                if ancestor.priced:
                    return sc.DEDUP_NESTED  # the one around it ended first (and was priced)
                ancestor, depth = ancestor.parent, depth + 1
        key = _response_key(span, attrs)
        if key is not None:
            with self._lock:
                seen = self._responses.get(key)
            if seen is not None and _overlap(seen, span):
                return sc.DEDUP_SAME_RESPONSE
        return None

    def _claim(self, entry: _Open | None, span: ReadableSpan, attrs: Any, reason: str) -> None:
        """``span`` carries its call's cost: no span around it will, nor another with its response id."""
        if entry is not None:
            entry.priced = True
            self._cover(entry.parent, reason)
        key = _response_key(span, attrs)
        if key is not None and span.start_time is not None and span.end_time is not None:
            with self._lock:
                self._responses[key] = (span.start_time, span.end_time)
                if len(self._responses) > self.max_responses:
                    self._responses.popitem(last=False)
                    self.dropped_responses += 1

    def _cover(self, ancestor: _Open | None, reason: str) -> None:
        depth = 0
        while ancestor is not None and depth < _MAX_DEPTH:
            if ancestor.covered is None:
                ancestor.covered = reason
            ancestor, depth = ancestor.parent, depth + 1

    def _ours_ended(self, span: ReadableSpan) -> None:
        """One of our ``@trace_llm`` spans priced its call: the other instrumentations' spans around it are
        not priced again."""
        attrs = span.attributes or {}
        if attrs.get(sc.GEN_AI_OPERATION_NAME) not in sc.INFERENCE_OPERATIONS:
            return
        if attrs.get(sc.GEN_AI_USAGE_COST_AMOUNT) is None and attrs.get(sc.GEN_AI_USAGE_INPUT_TOKENS) is None:
            return
        parent = span.parent
        if parent is not None:
            self._cover(self._open.get(parent.span_id), sc.DEDUP_TRACE_LLM)

    def _count_duplicate(self, scope: str, reason: str) -> None:
        self.deduplicated += 1
        scope = scope[:128]
        if scope not in self._scopes:
            if len(self._scopes) >= _MAX_SCOPES:
                scope = sc.OVERFLOW_LABEL
            else:
                self._scopes.add(scope)
        STATE.instruments.deduplicated_calls.add(
            1, {sc.AGENTPERF_DEDUPLICATED_SCOPE: scope, sc.AGENTPERF_DEDUPLICATED_REASON: reason}
        )

    # --- pricing and attribution ---------------------------------------------------------------------
    def _price(
        self, span: ReadableSpan, attrs: Any, usage: Usage, entry: _Open | None, provider: str | None, operation: str
    ) -> None:
        call = entry.call if entry is not None else None
        request_model = _str(attrs.get(sc.GEN_AI_REQUEST_MODEL)) or _invocation_model(attrs)
        agent = call.agent_name if call is not None else _str(attrs.get(sc.GEN_AI_AGENT_NAME))
        error = _str(attrs.get(sc.ERROR_TYPE))
        key = (operation, provider, request_model, usage.response_model, agent, error)
        series = self._series.lookup(key)
        if series is None:
            labels: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: operation}
            for name, value in (
                (sc.GEN_AI_PROVIDER_NAME, provider),
                (sc.GEN_AI_REQUEST_MODEL, request_model),
                (sc.GEN_AI_RESPONSE_MODEL, usage.response_model),
                (sc.GEN_AI_AGENT_NAME, agent),
                (sc.ERROR_TYPE, error),
            ):
                if value:
                    labels[name] = value
            series = STATE.instruments.cost_series(labels)
            if not self._series.put(key, series):
                series = STATE.instruments.cost_series(
                    {sc.GEN_AI_OPERATION_NAME: operation, "otel.metric.overflow": True}
                )
        duration = (span.end_time - span.start_time) / 1e9 if span.end_time and span.start_time else 0.0
        # Priced by the same clock as our own calls (the call's start), which tests pin.
        priced = price(usage, provider, request_model, series, _accounting.clock() - duration)
        usd = priced[0] if priced is not None else None
        model = usage.response_model or request_model
        STATE.advisor.observe_foreign(provider, model, agent, duration, error, usage, usd)
        if call is not None and not call.ended:
            call.absorb_foreign(usage, usd)  # tokens roll up even when the model has no known price
        if usd is None:
            return
        self.priced += 1
        conversation = _str(attrs.get(sc.GEN_AI_CONVERSATION_ID)) or (
            call.conversation if call is not None else entry.conversation if entry is not None else None
        )
        spend(usd, agent, model, conversation, usage)

    def shutdown(self) -> None:
        self._shut = True
        with self._lock:
            self._open.clear()
            self._responses.clear()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def _innermost(a: Call | None, b: Call | None) -> Call | None:
    """Of two of our calls, the one inside the other (``a`` when they are not on one path)."""
    if a is None or a is b:
        return b
    if b is None:
        return a
    ancestor, depth = b.parent, 0
    while ancestor is not None and depth < _MAX_DEPTH:
        if ancestor is a:
            return b
        ancestor, depth = ancestor.parent, depth + 1
    return a


def _operation(attrs: Any) -> str | None:
    """The inference operation a span of another instrumentation stands for, or ``None`` (not an inference)."""
    operation = attrs.get(sc.GEN_AI_OPERATION_NAME)
    if operation in sc.INFERENCE_OPERATIONS:
        return operation
    if operation in _NOT_INFERENCE:
        return None
    kind = attrs.get(_OI_KIND)
    if kind is not None:
        return _OI_OPERATIONS.get(kind)
    if _first(attrs, _PROVIDER_KEYS) is None:
        return None  # an operation we do not know, from no provider we know: not an inference
    return operation[:64] if isinstance(operation, str) and operation else sc.OP_CHAT


def _invocation_model(attrs: Any) -> str | None:
    """The requested model of an OpenInference span: in its JSON ``llm.invocation_parameters``."""
    parameters = attrs.get(_OI_PARAMETERS)
    if not isinstance(parameters, str) or len(parameters) > 4096 or '"model"' not in parameters:
        return None
    try:
        decoded: Any = json.loads(parameters)
    except ValueError:
        return None
    return _str(cast("dict[str, Any]", decoded).get("model")) if isinstance(decoded, dict) else None


def _response_key(span: ReadableSpan, attrs: Any) -> tuple[int, str] | None:
    response_id = attrs.get(sc.GEN_AI_RESPONSE_ID)
    context = span.context
    if not isinstance(response_id, str) or not response_id or context is None:
        return None
    return context.trace_id, response_id[:256]


def _overlap(seen: tuple[int, int], span: ReadableSpan) -> bool:
    start, end = span.start_time, span.end_time
    return start is not None and end is not None and start <= seen[1] and seen[0] <= end


def _str(value: Any) -> str | None:
    return value[:128] if isinstance(value, str) and value else None
