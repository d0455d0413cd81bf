"""What is decided once per traced operation, at decoration time: span name, static attributes, and the
metric series of each label set (cached per operation, bounded: the cardinality guard)."""

from __future__ import annotations

import inspect
from typing import Any

from opentelemetry.trace import SpanKind

from .. import semconv as sc
from .._errors import warn_once
from .._text import clean
from ..cost.providers import infer_provider
from ..insights.stats import Tally
from ..telemetry.instruments import (
    INFERENCE_CALLS,
    KIND_AGENT,
    KIND_LLM,
    KIND_TOOL,
    KIND_WORKFLOW,
    TOOL_CALLS,
    CostSeries,
    InferenceSeries,
    LabelTable,
    Series,
)
from .state import STATE, SeriesCache

SeriesTuple = tuple[
    Series,
    Series | None,
    Series | None,
    Series | None,
    CostSeries | None,
    Series | None,
    Series | None,
    Series | None,
    InferenceSeries | None,
    Tally | None,
]
"""Duration; for LLM calls input tokens, output tokens, time to first chunk, cost, cache-read tokens, time
per output chunk, and at 8 all that the end of a call records at once; for agents, at 1 and 7, inference calls
and tool calls per invocation; at 9, where the advisor counts the call (its statistics' row: not a metric)."""


MAX_NAME = 128


class Spec:
    """Everything about a traced operation that does not change between calls."""

    __slots__ = (
        "kind",
        "operation",
        "span_kind",
        "span_name",
        "name",
        "base_attrs",
        "provider",
        "request_model",
        "model_from_kwargs",
        "conversation_id",
        "signature",
        "_start_attrs",
        "_series",
        "_static_series",
        "static_start",
        "agent_name",
    )

    def __init__(
        self,
        kind: int,
        name: str | None,
        *,
        operation: str,
        base_attrs: dict[str, Any],
        provider: str | None = None,
        request_model: str | None = None,
        model_from_kwargs: bool = False,
        conversation_id: str | None = None,
        signature: inspect.Signature | None = None,
    ) -> None:
        self.kind = kind
        self.operation = operation
        # Everything here ends up on spans and labels: made safe to export once, at decoration time.
        self.name = name = clean(name, MAX_NAME) if name else name
        self.provider = provider = clean(provider, MAX_NAME) if provider else provider
        self.request_model = request_model = clean(request_model, MAX_NAME) if request_model else request_model
        if kind == KIND_LLM and provider is None and request_model is not None:
            # The conventions require gen_ai.provider.name: the model's family names it, or we say so once.
            inferred = infer_provider(request_model)
            if inferred is None:
                _warn_no_provider(request_model)
            else:
                base_attrs = {**base_attrs, sc.GEN_AI_PROVIDER_NAME: inferred}
        self.model_from_kwargs = model_from_kwargs
        self.conversation_id = clean(conversation_id) if conversation_id else conversation_id
        self.signature = signature
        self.base_attrs = base_attrs = {k: clean(v) if isinstance(v, str) else v for k, v in base_attrs.items()}
        if kind == KIND_LLM:
            self.span_kind = SpanKind.CLIENT
            self.span_name = f"{operation} {request_model}" if request_model else None
        else:
            self.span_kind = SpanKind.INTERNAL
            self.span_name = f"{operation} {self.name}" if self.name else operation
        self._start_attrs = LabelTable()
        self._series = SeriesCache()
        self.agent_name = self.name if kind == KIND_AGENT else None
        self.static_start = (
            self.start_attrs(self.agent_name, request_model) if kind in (KIND_AGENT, KIND_WORKFLOW) else None
        )
        # Agents and workflows have no per-call label: their success series is resolved once.
        self._static_series: SeriesTuple | None = None

    def start_attrs(self, agent: str | None, model: str | None) -> dict[str, Any]:
        key = (agent, model)
        attrs = self._start_attrs._table.get(key)  # pyright: ignore[reportPrivateUsage]
        if attrs is None:
            attrs = dict(self.base_attrs)
            if agent is not None and self.kind != KIND_AGENT:
                attrs[sc.GEN_AI_AGENT_NAME] = agent
            if model is not None:
                attrs[sc.GEN_AI_REQUEST_MODEL] = model
                if self.kind == KIND_LLM and sc.GEN_AI_PROVIDER_NAME not in attrs:
                    provider = infer_provider(model)  # a model passed per call (model= keyword)
                    if provider is not None:
                        attrs[sc.GEN_AI_PROVIDER_NAME] = provider
                    else:
                        _warn_no_provider(model)
            self._start_attrs.put(key, attrs)  # a full table just means no caching
        return attrs

    def series(
        self, agent: str | None, model: str | None, response_model: str | None, error: str | None
    ) -> SeriesTuple:
        """The metric series (duration, input tokens, output tokens, time to first chunk) of a label set."""
        cache = self._series
        key = (agent, model, response_model, error)
        if cache.generation == STATE.generation:
            if error is None and self._static_series is not None:
                return self._static_series
            found = cache.get(key)  # what cache.lookup does once the generation is known to be current
        else:
            found = cache.lookup(key)  # empties the cache
        if found is not None:
            return found
        # The advisor's row is the call's own, whatever the labels: its tables have their own bounds.
        tally = self._tally(agent, model, response_model)
        built = self._resolve(tally, *self._build_labels(agent, model, response_model, error))
        if not cache.put(key, built):
            # Cardinality guard: past the limit, names collapse to _OTHER; error.type stays exact.
            other = sc.OVERFLOW_LABEL
            built = self._resolve(
                tally,
                *self._build_labels(
                    other if agent else None, other if model else None, other if response_model else None, error
                ),
            )
        elif error is None and self.kind in (KIND_AGENT, KIND_WORKFLOW):
            self._static_series = built
        return built

    def _tally(self, agent: str | None, model: str | None, response_model: str | None) -> Tally | None:
        kind = self.kind
        if kind == KIND_AGENT and self.name is None:
            return None  # counted under the agent it runs in: not fixed by the series' key (agents' is static)
        name = (response_model or model) if kind == KIND_LLM else self.name
        return STATE.advisor.tally(kind, agent, self.provider, name)

    def _resolve(
        self, tally: Tally | None, attrs: dict[str, Any], tokens_in: dict[str, Any], tokens_out: dict[str, Any]
    ) -> SeriesTuple:
        instruments = STATE.instruments
        if self.kind == KIND_LLM:
            inference, first_chunk, per_chunk = instruments.inference_series(attrs, tokens_in, tokens_out)
            return (
                inference.duration,
                inference.input,
                inference.output,
                first_chunk,
                inference.cost,
                inference.cache,
                per_chunk,
                None,
                inference,
                tally,
            )
        duration = instruments.series(self.kind, attrs)
        if self.kind == KIND_AGENT:
            counts = {sc.GEN_AI_OPERATION_NAME: self.operation, sc.GEN_AI_AGENT_NAME: attrs.get(sc.GEN_AI_AGENT_NAME)}
            counts = {k: v for k, v in counts.items() if v is not None}
            return (
                duration,
                instruments.series(INFERENCE_CALLS, counts),
                None,
                None,
                None,
                None,
                None,
                instruments.series(TOOL_CALLS, counts),
                None,
                tally,
            )
        return duration, None, None, None, None, None, None, None, None, tally

    def _build_labels(
        self, agent: str | None, model: str | None, response_model: str | None, error: str | None
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        op = self.operation
        attrs: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: op}
        kind = self.kind
        if kind == KIND_AGENT:
            attrs[sc.GEN_AI_AGENT_NAME] = self.name
        elif kind == KIND_WORKFLOW:
            attrs[sc.GEN_AI_WORKFLOW_NAME] = self.name
        elif kind == KIND_TOOL:
            attrs[sc.GEN_AI_TOOL_NAME] = self.name
            attrs[sc.GEN_AI_TOOL_TYPE] = self.base_attrs.get(sc.GEN_AI_TOOL_TYPE, "function")
        if kind != KIND_AGENT and agent is not None:
            attrs[sc.GEN_AI_AGENT_NAME] = agent
        provider = self.provider
        if provider is None and kind == KIND_LLM:
            provider = infer_provider(model) or infer_provider(response_model)
        if provider is not None:
            attrs[sc.GEN_AI_PROVIDER_NAME] = provider
        if model is not None:
            attrs[sc.GEN_AI_REQUEST_MODEL] = model
        if response_model is not None:
            attrs[sc.GEN_AI_RESPONSE_MODEL] = response_model
        tokens_in = {**attrs, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_INPUT}
        tokens_out = {**attrs, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_OUTPUT}
        if error is not None:
            attrs[sc.ERROR_TYPE] = error
        return attrs, tokens_in, tokens_out


def _warn_no_provider(model: str) -> None:
    warn_once(
        f"provider:{model}",
        "otel_agentperf: no provider given for model %r and none can be inferred from its name: its spans and "
        "metrics lack gen_ai.provider.name; pass provider= (e.g. trace_llm(provider='vllm', model=...))",
        model,
    )
