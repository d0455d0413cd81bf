"""Opt-in capture of prompts, completions and tool arguments/results, truncated.

Off unless ``configure(capture_content=True)`` or ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``
asks for it. Messages follow the GenAI message schema: ``{role, parts: [{type: "text", content}]}``.

Exception messages are content too (``ValueError(f"bad answer: {completion}")``): a failed call's span
gets the exception's type and stack always, its message only with content capture on or
``AGENTPERF_CAPTURE_EXCEPTION_MESSAGES=true``.

Capture never costs the call its span: a value that cannot be read (a numpy array whose ``bool()``
raises, a ``__repr__`` that raises, a cycle) is replaced by a placeholder naming its type.
"""

from __future__ import annotations

import inspect
import json
import os
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.trace import Span, Status, StatusCode

from .. import semconv as sc
from .._errors import log_internal_error
from ..cost.response_fields import field
from ..telemetry.instruments import KIND_LLM, KIND_TOOL

_MESSAGE_KWARGS = ("messages", "input", "prompt", "contents")
_SKIP_PARAMS = frozenset({"self", "cls"})
EXCEPTION_MESSAGES_ENV = "AGENTPERF_CAPTURE_EXCEPTION_MESSAGES"


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(limit - 15, 0)] + "...[truncated]"


def _repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 - a user's __repr__ may raise anything
        return f"<unrepresentable {type(value).__name__}>"


def to_json(value: Any, limit: int) -> str:
    try:
        text = json.dumps(value, default=_repr, ensure_ascii=False)
    except Exception:  # noqa: BLE001 - cycles, raising __bool__/__iter__/__eq__: capture degrades, never the call
        text = _repr(value)
    return truncate(text, limit)


def exception_messages_on(capture_content: bool) -> bool:
    """Whether a failed call's span may carry the exception's message (read per failure: failures are rare)."""
    if capture_content:
        return True
    return os.environ.get(EXCEPTION_MESSAGES_ENV, "").strip().lower() in {"1", "true", "yes"}


def record_exception(span: Span, exc: BaseException, error: str, with_message: bool) -> None:
    """Status and ``exception`` event of a failed call: type and stack always, the message only if allowed."""
    if with_message:
        try:
            span.set_status(Status(StatusCode.ERROR, f"{error}: {exc}"[:512]))
            span.record_exception(exc)
            return
        except Exception:  # noqa: BLE001 - the user's exception may not even print itself
            pass
    span.set_status(Status(StatusCode.ERROR, error))
    qualified = error  # module-qualified already, as the SDK's exception.type (tracing/exceptions.py)
    try:  # the frames (code, not data) and the type; the message, which holds data, is left out
        stack = "".join(traceback.format_tb(exc.__traceback__)) + qualified
    except Exception:  # noqa: BLE001 - a frame's source may be unreadable
        stack = qualified
    span.add_event(
        "exception", {"exception.type": qualified, "exception.stacktrace": stack, "exception.escaped": "False"}
    )


def _str(value: Any) -> str:
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - a user's __str__ may raise anything
        return f"<unprintable {type(value).__name__}>"


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if isinstance(content, Sequence) and not isinstance(content, (bytes, bytearray)):
        parts: list[dict[str, Any]] = []
        for block in content:  # pyright: ignore[reportUnknownVariableType]
            text = field(block, "text")
            if isinstance(text, str):
                parts.append({"type": "text", "content": text})
            else:
                parts.append({"type": _str(field(block, "type") or "unknown")})
        return parts
    return [] if content is None else [{"type": "text", "content": _str(content)}]


def input_messages(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    """The request messages of an LLM call in the GenAI schema (best effort)."""
    raw: Any = None
    for key in _MESSAGE_KWARGS:
        if key in kwargs:
            raw = kwargs[key]
            break
    else:
        raw = next((a for a in args if isinstance(a, (str, list, tuple))), None)  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
    if isinstance(raw, str):
        return [{"role": "user", "parts": _parts(raw)}]
    if isinstance(raw, (list, tuple)):
        out: list[dict[str, Any]] = []
        for msg in raw:  # pyright: ignore[reportUnknownVariableType]
            try:
                role = field(msg, "role") or getattr(msg, "type", None) or "user"  # pyright: ignore[reportUnknownArgumentType]
                out.append({"role": _str(role), "parts": _parts(field(msg, "content"))})
            except Exception:  # noqa: BLE001 - a message that cannot be read is skipped, not the call
                out.append({"role": "user", "parts": [{"type": f"unreadable {type(msg).__name__}"}]})  # pyright: ignore[reportUnknownArgumentType]
        return out
    return raw


def output_messages(result: Any, finish_reasons: Sequence[str]) -> Any:
    """The response messages of an LLM call in the GenAI schema (best effort)."""
    reason = finish_reasons[0] if finish_reasons else None
    choices = field(result, "choices")
    if isinstance(choices, (list, tuple)):
        return [
            {
                "role": "assistant",
                "parts": _parts(field(field(c, "message"), "content")),
                "finish_reason": field(c, "finish_reason"),
            }
            for c in choices  # pyright: ignore[reportUnknownVariableType]
        ]
    content = field(result, "content")
    if content is not None:  # Anthropic message, LangChain AIMessage
        return [{"role": "assistant", "parts": _parts(content), "finish_reason": reason}]
    text = field(result, "output_text") or field(result, "text")  # OpenAI Responses, Google GenAI
    if isinstance(text, str):
        return [{"role": "assistant", "parts": _parts(text), "finish_reason": reason}]
    return None if result is None else [{"role": "assistant", "parts": _parts(_str(result))}]


def bound_arguments(sig: inspect.Signature | None, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    """A tool's arguments by parameter name (``self``/``cls`` left out)."""
    if sig is None:
        return {"args": list(args), "kwargs": dict(kwargs)}
    try:
        bound = sig.bind_partial(*args, **kwargs)
    except TypeError:
        return {"args": list(args), "kwargs": dict(kwargs)}
    return {k: v for k, v in bound.arguments.items() if k not in _SKIP_PARAMS}


def capture_input(
    span: Span,
    kind: int,
    signature: inspect.Signature | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    limit: int,
) -> None:
    """Opt-in content at the start of a call: an LLM call's input messages, a tool's arguments."""
    try:
        if kind == KIND_LLM:
            span.set_attribute(sc.GEN_AI_INPUT_MESSAGES, to_json(input_messages(args, kwargs), limit))
        elif kind == KIND_TOOL and (args or kwargs):
            span.set_attribute(sc.GEN_AI_TOOL_CALL_ARGUMENTS, to_json(bound_arguments(signature, args, kwargs), limit))
    except Exception:  # noqa: BLE001
        log_internal_error("capture_input")


def capture_output(span: Span, kind: int, result: Any, reasons: tuple[str, ...], limit: int) -> None:
    """Opt-in content at the end of a call: an LLM call's output messages, a tool's result."""
    if kind == KIND_LLM:
        messages = output_messages(result, reasons)
        if messages is not None:
            span.set_attribute(sc.GEN_AI_OUTPUT_MESSAGES, to_json(messages, limit))
    elif kind == KIND_TOOL and result is not None:
        span.set_attribute(sc.GEN_AI_TOOL_CALL_RESULT, to_json(result, limit))
