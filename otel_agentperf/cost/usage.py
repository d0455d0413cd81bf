"""Token usage read from LLM responses by duck typing (no dependency on any provider SDK).

Recognised: OpenAI chat completions and Responses API (objects or dicts, streamed chunks and events, the
stream helpers' events), Anthropic messages and stream events (raw or the stream helper's), Google GenAI
``GenerateContentResponse``, LangChain ``AIMessage``, LiteLLM / OpenRouter responses (OpenAI-shaped,
optionally with a provider-reported cost). Anything else gives ``None``: no tokens, no error. Counts follow
the GenAI conventions: ``input_tokens`` includes cached tokens, ``output_tokens`` includes reasoning tokens.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .._errors import warn_once
from .response_fields import Reader, field, reader, view

_MAX_FINISH_REASONS = 8
_MAX_TEXT = 128


class Usage:
    """What one inference reported: token counts, response model, finish reasons, provider cost."""

    __slots__ = (
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
        "response_model",
        "response_id",
        "finish_reasons",
        "provider_cost",
    )

    def __init__(
        self,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cache_read_tokens: int | None = None,
        cache_write_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        response_model: str | None = None,
        response_id: str | None = None,
        finish_reasons: tuple[str, ...] = (),
        provider_cost: float | None = None,
    ) -> None:
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.cache_read_tokens = cache_read_tokens
        self.cache_write_tokens = cache_write_tokens
        self.reasoning_tokens = reasoning_tokens
        self.response_model = response_model
        self.response_id = response_id
        self.finish_reasons = finish_reasons
        self.provider_cost = provider_cost

    def __repr__(self) -> str:
        fields = (f"{k}={getattr(self, k)!r}" for k in self.__slots__ if getattr(self, k) not in (None, ()))
        return f"Usage({', '.join(fields)})"

    def has_tokens(self) -> bool:
        return self.input_tokens is not None or self.output_tokens is not None

    def add(self, other: Usage) -> None:
        """Accumulate ``other`` (several explicit ``record_usage`` calls inside one span add up)."""
        self.input_tokens = _plus(self.input_tokens, other.input_tokens)
        self.output_tokens = _plus(self.output_tokens, other.output_tokens)
        self.cache_read_tokens = _plus(self.cache_read_tokens, other.cache_read_tokens)
        self.cache_write_tokens = _plus(self.cache_write_tokens, other.cache_write_tokens)
        self.reasoning_tokens = _plus(self.reasoning_tokens, other.reasoning_tokens)
        if other.provider_cost is not None:
            self.provider_cost = (self.provider_cost or 0.0) + other.provider_cost
        self._merge_meta(other)

    def merge_stream(self, other: Usage) -> None:
        """Merge what one stream chunk reported: providers send cumulative or final counts, so keep the max."""
        self.input_tokens = _max(self.input_tokens, other.input_tokens)
        self.output_tokens = _max(self.output_tokens, other.output_tokens)
        self.cache_read_tokens = _max(self.cache_read_tokens, other.cache_read_tokens)
        self.cache_write_tokens = _max(self.cache_write_tokens, other.cache_write_tokens)
        self.reasoning_tokens = _max(self.reasoning_tokens, other.reasoning_tokens)
        if other.provider_cost is not None:
            self.provider_cost = other.provider_cost
        self._merge_meta(other)

    def _merge_meta(self, other: Usage) -> None:
        self.response_model = other.response_model or self.response_model
        self.response_id = other.response_id or self.response_id
        if other.finish_reasons:
            self.finish_reasons = (self.finish_reasons + other.finish_reasons)[:_MAX_FINISH_REASONS]


def _plus(a: int | None, b: int | None) -> int | None:
    if b is None:
        return a
    return b if a is None else a + b


def _max(a: int | None, b: int | None) -> int | None:
    if b is None:
        return a
    return b if a is None or b > a else a


MAX_TOKENS = 10**12
"""More tokens than any one call can use: a larger count is a bug upstream, and it would make the float
sums of the metrics lose precision (or overflow), so it is dropped with a warning."""


def token_count(value: Any, field: str) -> int | None:
    """A sane token count from whatever the provider or the user gave, or ``None`` (with a warning)."""
    if value is None:
        return None
    if type(value) is int:
        if 0 <= value <= MAX_TOKENS:
            return value
    elif isinstance(value, float) and math.isfinite(value) and 0 <= value <= MAX_TOKENS:
        return int(value)
    elif isinstance(value, str):
        try:
            parsed = int(value.strip())
        except ValueError:
            parsed = -1
        if 0 <= parsed <= MAX_TOKENS:
            warn_once(f"token-str:{field}", "otel_agentperf: token count %s given as a string; converted", field)
            return parsed
    elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS:
        return int(value)  # int subclasses (e.g. numpy ints registered as int)
    warn_once(f"token-bad:{field}", "otel_agentperf: ignoring invalid token count %s=%.40r", field, value)
    return None


def _short_str(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        value = getattr(value, "name", None) or getattr(value, "value", None) or str(value)
        if not isinstance(value, str):
            value = str(value)
    return value[:_MAX_TEXT] if value else None


def _cost(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return float(value)
    return None


def response_model(chunk: Any) -> str | None:
    """The model a stream chunk names (OpenAI chat chunks name it on every chunk, usage only on the last)."""
    if chunk is None or isinstance(chunk, _NOT_RESPONSES):
        return None
    get = reader(chunk)
    if get("type") == "chunk":  # OpenAI's stream helper event wraps the raw chunk
        get = reader(get("chunk"))
    return _short_str(get("model"))


_NOT_RESPONSES = (str, bytes, int, float, bool, list, tuple)


def _count(value: Any, field: str) -> int | None:
    """``token_count`` with the common case (an int in range, or nothing) decided without a call."""
    if type(value) is int and 0 <= value <= MAX_TOKENS:
        return value
    return None if value is None else token_count(value, field)


def extract_usage(obj: Any) -> Usage | None:
    """Usage reported by a response, stream chunk or stream event; ``None`` if unrecognised."""
    fields = view(obj)
    if fields is not None:
        usage = _openai_chat_fast(fields)
        if usage is not None:
            return usage
    return _extract(obj)


def _openai_chat_fast(fields: dict[str, Any]) -> Usage | None:
    """The most common response, an OpenAI chat completion (a dict, or a plain pydantic model's fields) whose
    parts are dicts or plain models too, read with C ``dict.get`` calls only; ``None`` for anything else, which
    ``_extract`` reads. It gives exactly what ``_extract`` would (``tests/test_usage.py`` fuzzes both): a value
    that would take a conversion or a warning there (a token count that is not an ``int`` in range, a model or
    finish reason that is not a string, a reported cost) makes it give up. Half of ``_extract``'s time on this
    shape: ~3 µs of an LLM call, in context."""
    if fields.get("type") is not None or fields.get("_hidden_params") is not None:
        return None
    raw = view(fields.get("usage"))
    if raw is None or raw.get("cost") is not None or raw.get("cache_creation_input_tokens") is not None:
        return None
    prompt = raw.get("prompt_tokens")
    completion = raw.get("completion_tokens")
    if prompt is None and completion is None:
        return None
    prompt_details = _part(raw.get("prompt_tokens_details"))
    completion_details = _part(raw.get("completion_tokens_details"))
    if prompt_details is None or completion_details is None:
        return None
    read = prompt_details.get("cached_tokens")
    write = prompt_details.get("cache_write_tokens")
    reasoning = completion_details.get("reasoning_tokens")
    for count in (prompt, completion, read, write, reasoning):
        if count is not None and not (type(count) is int and 0 <= count <= MAX_TOKENS):
            return None
    reasons: tuple[str, ...] = ()
    choices = fields.get("choices")
    if choices is not None:
        if type(choices) is not list:
            return None
        found: list[str] = []
        for choice in choices[:_MAX_FINISH_REASONS]:  # pyright: ignore[reportUnknownVariableType]
            choice_fields = view(choice)
            if choice_fields is None:
                return None
            reason = choice_fields.get("finish_reason")
            if reason is not None:
                if type(reason) is not str:
                    return None
                if reason:
                    found.append(reason[:_MAX_TEXT])
        reasons = tuple(found)
    model = fields.get("model")
    response_id = fields.get("id")
    if (model is not None and type(model) is not str) or (response_id is not None and type(response_id) is not str):
        return None
    return Usage(
        prompt,
        completion,
        read,
        write,
        reasoning,
        model[:_MAX_TEXT] if model else None,
        response_id[:_MAX_TEXT] if response_id else None,
        reasons,
    )


_NO_FIELDS: dict[str, Any] = {}


def _part(value: Any) -> dict[str, Any] | None:
    """The fields of an optional part of a response: none when it is absent, ``None`` when they are no dict."""
    return _NO_FIELDS if value is None else view(value)


def _extract(obj: Any) -> Usage | None:
    if obj is None or isinstance(obj, _NOT_RESPONSES):
        return None
    get = reader(obj)
    kind = get("type")
    if kind is not None:
        if kind == "message_start":  # Anthropic stream: usage of the prompt side
            return extract_usage(get("message"))
        if kind == "message_delta":  # Anthropic stream: cumulative output tokens and the stop reason
            usage = _anthropic_usage(reader(get("usage")), require_input=False)
            if usage is not None:
                reason = _short_str(field(get("delta"), "stop_reason"))
                usage.finish_reasons = (reason,) if reason else ()
            return usage
        if kind == "message_stop":  # Anthropic's stream helper adds the accumulated message to this event
            message = get("message")
            return None if message is None else extract_usage(message)
        if kind == "response.completed" or kind == "response.incomplete":  # OpenAI Responses stream
            return extract_usage(get("response"))
        if kind == "chunk":  # OpenAI's chat completions stream helper: the raw chunk is inside the event
            chunk = get("chunk")
            return None if chunk is None else extract_usage(chunk)

    raw = get("usage")
    if raw is not None:
        raw_get = reader(raw)
        prompt, completion = raw_get("prompt_tokens"), raw_get("completion_tokens")
        if prompt is not None or completion is not None:
            usage = _openai_chat_usage(raw_get, prompt, completion)
            usage.finish_reasons = _choice_reasons(get("choices"), "finish_reason")
            hidden = get("_hidden_params")  # LiteLLM keeps its computed cost here
            if usage.provider_cost is None and isinstance(hidden, Mapping):
                usage.provider_cost = _cost(hidden.get("response_cost"))  # pyright: ignore[reportUnknownMemberType]
        elif get("object") == "response" or raw_get("input_tokens_details") is not None:
            usage = _responses_usage(raw_get)
            usage.finish_reasons = _responses_reasons(get)
        else:
            anthropic = _anthropic_usage(raw_get, require_input=True)
            if anthropic is None:
                return None
            usage = anthropic
            reason = _short_str(get("stop_reason"))
            usage.finish_reasons = (reason,) if reason else ()
        usage.response_model = _short_str(get("model"))
        usage.response_id = _short_str(get("id"))
        return usage

    meta = get("usage_metadata")
    if meta is not None:
        meta_get = reader(meta)
        if meta_get("prompt_token_count") is not None or meta_get("candidates_token_count") is not None:
            return _google_usage(get, meta_get)
        if meta_get("input_tokens") is not None:
            return _langchain_usage(get, meta_get)
        return None

    # OpenAI stream chunk without usage (the last one carries it): still gives model and finish reason.
    choices = get("choices")
    if choices and get("object") == "chat.completion.chunk":
        reasons = _choice_reasons(choices, "finish_reason")
        return Usage(response_model=_short_str(get("model")), finish_reasons=reasons)
    return None


def _openai_chat_usage(get: Reader, prompt: Any, completion: Any) -> Usage:
    details_get = reader(get("prompt_tokens_details"))
    write = _count(get("cache_creation_input_tokens"), "cache_creation_input_tokens")
    if write is None:
        write = _count(details_get("cache_write_tokens"), "cache_write_tokens")
    return Usage(
        input_tokens=_count(prompt, "prompt_tokens"),
        output_tokens=_count(completion, "completion_tokens"),
        cache_read_tokens=_count(details_get("cached_tokens"), "cached_tokens"),
        cache_write_tokens=write,
        reasoning_tokens=_count(field(get("completion_tokens_details"), "reasoning_tokens"), "reasoning_tokens"),
        provider_cost=_cost(get("cost")),  # OpenRouter reports the billed cost here
    )


def _responses_usage(get: Reader) -> Usage:
    details_get = reader(get("input_tokens_details"))
    return Usage(
        input_tokens=_count(get("input_tokens"), "input_tokens"),
        output_tokens=_count(get("output_tokens"), "output_tokens"),
        cache_read_tokens=_count(details_get("cached_tokens"), "cached_tokens"),
        cache_write_tokens=_count(details_get("cache_write_tokens"), "cache_write_tokens"),
        reasoning_tokens=_count(field(get("output_tokens_details"), "reasoning_tokens"), "reasoning_tokens"),
        provider_cost=_cost(get("cost")),
    )


def _anthropic_usage(get: Reader, *, require_input: bool) -> Usage | None:
    """Anthropic's ``input_tokens`` excludes cache reads and writes; semconv's includes them."""
    base = _count(get("input_tokens"), "input_tokens")
    output = _count(get("output_tokens"), "output_tokens")
    if base is None and (require_input or output is None):
        return None
    read = _count(get("cache_read_input_tokens"), "cache_read_input_tokens")
    write = _count(get("cache_creation_input_tokens"), "cache_creation_input_tokens")
    total_input = None if base is None else base + (read or 0) + (write or 0)
    return Usage(
        input_tokens=total_input,
        output_tokens=output,
        cache_read_tokens=read,
        cache_write_tokens=write,
        reasoning_tokens=_count(field(get("output_tokens_details"), "reasoning_tokens"), "reasoning_tokens"),
    )


def _google_usage(get: Reader, meta_get: Reader) -> Usage:
    """Gemini counts thinking tokens apart from candidates; both are billed output."""
    candidates = _count(meta_get("candidates_token_count"), "candidates_token_count")
    thoughts = _count(meta_get("thoughts_token_count"), "thoughts_token_count")
    output = None if candidates is None and thoughts is None else (candidates or 0) + (thoughts or 0)
    return Usage(
        input_tokens=_count(meta_get("prompt_token_count"), "prompt_token_count"),
        output_tokens=output,
        cache_read_tokens=_count(meta_get("cached_content_token_count"), "cached_content_token_count"),
        reasoning_tokens=thoughts,
        response_model=_short_str(get("model_version")),
        response_id=_short_str(get("response_id")),
        finish_reasons=_choice_reasons(get("candidates"), "finish_reason"),
    )


def _langchain_usage(get: Reader, meta_get: Reader) -> Usage:
    details_get = reader(meta_get("input_token_details"))
    response_get = reader(get("response_metadata"))
    model = response_get("model_name") or response_get("model")
    reason = response_get("finish_reason") or response_get("stop_reason")
    short_reason = _short_str(reason)
    return Usage(
        input_tokens=_count(meta_get("input_tokens"), "input_tokens"),
        output_tokens=_count(meta_get("output_tokens"), "output_tokens"),
        cache_read_tokens=_count(details_get("cache_read"), "cache_read"),
        cache_write_tokens=_count(details_get("cache_creation"), "cache_creation"),
        reasoning_tokens=_count(field(meta_get("output_token_details"), "reasoning"), "reasoning"),
        response_model=_short_str(model),
        response_id=_short_str(get("id")),
        finish_reasons=(short_reason,) if short_reason else (),
    )


def _choice_reasons(choices: Any, key: str) -> tuple[str, ...]:
    if not isinstance(choices, (list, tuple)):
        return ()
    reasons: list[str] = []
    for choice in choices[:_MAX_FINISH_REASONS]:  # pyright: ignore[reportUnknownVariableType]
        reason = _short_str(field(choice, key))
        if reason:
            reasons.append(reason)
    return tuple(reasons)


def _responses_reasons(get: Reader) -> tuple[str, ...]:
    status = get("status")
    if status == "incomplete":
        reason = _short_str(field(get("incomplete_details"), "reason"))
        return (reason or "incomplete",)
    if status == "completed":
        return ("stop",)
    short = _short_str(status)
    return (short,) if short else ()
