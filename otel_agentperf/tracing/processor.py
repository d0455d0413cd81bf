"""``AgentPerfSpanProcessor``: cost for inference spans made by other instrumentations.

OpenTelemetry's own OpenAI instrumentation, OpenLLMetry and OpenLIT emit GenAI inference spans with token
counts but (mostly) no cost. Added to the TracerProvider, this processor prices such spans when they end,
records ``gen_ai.client.operation.cost`` with the same labels ours use, and adds the cost to the enclosing
``@trace_agent``/``@trace_workflow`` (its ``agentperf.cost.total``), the conversation and the budget.

It skips our own spans (already priced) and spans that carry a cost. Every callback is guarded: the SDK
runs ``on_start``/``on_end`` on the user's thread without a try. Per span it does a few dictionary
lookups; spans it tracks between start and end are capped (oldest dropped and counted).

It only sees *sampled* spans: at a sampling ratio below 1 these costs are sampled too (our own decorators'
costs are exact whatever the ratio). Exported foreign spans are not modified.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from .. import semconv as sc
from .._errors import log_internal_error
from ..cost.usage import Usage, token_count
from ..telemetry.instruments import COST
from .accounting import price, spend
from .call import CALL_KEY, Call
from .state import STATE, SeriesCache

_OLD_SYSTEM = "gen_ai.system"  # pre-1.37 name of gen_ai.provider.name (OpenLLMetry, OpenLIT)
_INPUT_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
_OUTPUT_KEYS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
_CACHE_READ_KEYS = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens")
_CACHE_WRITE_KEYS = (
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
)
_REASONING_KEYS = ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens")
_COST_KEYS = (sc.GEN_AI_USAGE_COST_AMOUNT, "gen_ai.usage.cost")


def _first(attrs: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value is not None:
            return value
    return None


class AgentPerfSpanProcessor(SpanProcessor):
    """Prices GenAI inference spans from other instrumentations and attributes them to our agents.

    Example::

        from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor

        ap.configure(service_name="bot")            # adds this processor to the provider it builds
        OpenAIInstrumentor().instrument()

        # or, on a TracerProvider of your own:
        tracer_provider.add_span_processor(ap.AgentPerfSpanProcessor())
    """

    def __init__(self, max_open_spans: int = 4096) -> None:
        self.max_open_spans = max_open_spans
        self.dropped = 0
        self.priced = 0
        self._open: OrderedDict[int, Call] = OrderedDict()
        self._lock = threading.Lock()
        self._series = SeriesCache(max_size=512)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            scope = span.instrumentation_scope
            if scope is not None and scope.name == sc.SCOPE_NAME:
                return  # ours: priced at the source
            if parent_context is None:
                from opentelemetry.context import get_current

                parent_context = get_current()
            call: Call | None = parent_context.get(CALL_KEY)  # type: ignore[assignment]
            if call is None:
                return
            context = span.context
            if context is None:
                return
            with self._lock:
                self._open[context.span_id] = call
                if len(self._open) > self.max_open_spans:
                    self._open.popitem(last=False)
                    self.dropped += 1
        except Exception:  # noqa: BLE001
            log_internal_error("processor.on_start")

    def on_end(self, span: ReadableSpan) -> None:
        try:
            scope = span.instrumentation_scope
            if scope is not None and scope.name == sc.SCOPE_NAME:
                return
            with self._lock:
                call = self._open.pop(span.context.span_id, None) if span.context is not None else None
            attrs = span.attributes or {}
            if _first(attrs, _COST_KEYS) is not None:
                return  # priced by its instrumentation: never price twice
            operation = attrs.get(sc.GEN_AI_OPERATION_NAME)
            provider = attrs.get(sc.GEN_AI_PROVIDER_NAME) or attrs.get(_OLD_SYSTEM)
            if operation not in sc.INFERENCE_OPERATIONS and provider is None:
                return
            usage = Usage(
                input_tokens=token_count(_first(attrs, _INPUT_KEYS), "input_tokens"),
                output_tokens=token_count(_first(attrs, _OUTPUT_KEYS), "output_tokens"),
                cache_read_tokens=token_count(_first(attrs, _CACHE_READ_KEYS), "cache_read_tokens"),
                cache_write_tokens=token_count(_first(attrs, _CACHE_WRITE_KEYS), "cache_write_tokens"),
                reasoning_tokens=token_count(_first(attrs, _REASONING_KEYS), "reasoning_tokens"),
                response_model=_str(attrs.get(sc.GEN_AI_RESPONSE_MODEL)),
            )
            if not usage.has_tokens():
                return
            self._price(span, attrs, usage, call, _str(provider), _str(operation) or sc.OP_CHAT)
        except Exception:  # noqa: BLE001
            log_internal_error("processor.on_end")

    def _price(
        self, span: ReadableSpan, attrs: Any, usage: Usage, call: Call | None, provider: str | None, operation: str
    ) -> None:
        request_model = _str(attrs.get(sc.GEN_AI_REQUEST_MODEL))
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
            series = STATE.instruments.series(COST, labels)
            if not self._series.put(key, series):
                series = STATE.instruments.series(
                    COST, {sc.GEN_AI_OPERATION_NAME: operation, "otel.metric.overflow": True}
                )
        at = span.start_time / 1e9 if span.start_time else time.time()
        priced = price(usage, provider, request_model, series, at)
        duration = (span.end_time - span.start_time) / 1e9 if span.end_time and span.start_time else 0.0
        STATE.advisor.observe_foreign(
            provider,
            usage.response_model or request_model,
            agent,
            duration,
            error,
            usage,
            priced[0] if priced else None,
        )
        if priced is None:
            return
        self.priced += 1
        usd = priced[0]
        if call is not None and not call.ended:
            call.absorb_cost(usd)
        conversation = _str(attrs.get(sc.GEN_AI_CONVERSATION_ID)) or (call.conversation if call is not None else None)
        spend(usd, agent, usage.response_model or request_model, conversation, usage)

    def shutdown(self) -> None:
        with self._lock:
            self._open.clear()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def _str(value: Any) -> str | None:
    return value[:128] if isinstance(value, str) and value else None
