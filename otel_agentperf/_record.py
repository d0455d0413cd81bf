"""Explicit recording inside any span: ``record_usage``, ``record_response`` and ``conversation``."""

from __future__ import annotations

import contextvars
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from . import semconv as sc
from ._call import CONVERSATION_KEY, Call, current_call, record_tokens, usage_attributes
from ._errors import log_internal_error
from ._runtime import KIND_LLM, STATE, TOKEN_USAGE, Series, SeriesCache
from ._usage import Usage, extract_usage, token_count

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


def _token_series(base: dict[str, Any]) -> tuple[Series, Series]:
    instruments = STATE.instruments
    return (
        instruments.series(TOKEN_USAGE, {**base, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_INPUT}),
        instruments.series(TOKEN_USAGE, {**base, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_OUTPUT}),
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
    record_tokens(usage, series[0], series[1])
    if call is not None and not call.ended:
        call._absorb(usage)  # pyright: ignore[reportPrivateUsage]
        return
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(usage_attributes(usage, with_meta=False))


class conversation:
    """Set ``gen_ai.conversation.id`` on every span started inside (never on metrics).

    Example::

        with ap.conversation(thread.id):
            await support_agent(message)
    """

    __slots__ = ("conversation_id", "_tokens")

    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = str(conversation_id)[:256] if conversation_id else ""
        self._tokens: contextvars.ContextVar[tuple[object, Any] | None] = contextvars.ContextVar("agentperf.conv")

    def __enter__(self) -> str:
        try:
            if self.conversation_id:
                token = otel_context.attach(otel_context.set_value(CONVERSATION_KEY, self.conversation_id))
                self._tokens.set((token, self._tokens.get(None)))
        except Exception:  # noqa: BLE001
            log_internal_error("conversation")
        return self.conversation_id

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            entry = self._tokens.get(None)
            if entry is not None:
                token, outer = entry
                self._tokens.set(outer)
                otel_context.detach(token)  # pyright: ignore[reportArgumentType]
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


__all__ = ["Call", "conversation", "current_conversation", "record_response", "record_usage"]
