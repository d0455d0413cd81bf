"""Opt-in capture of prompts, completions and tool arguments/results, truncated.

Off unless ``configure(capture_content=True)`` or ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``
asks for it. Messages follow the GenAI message schema: ``{role, parts: [{type: "text", content}]}``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..cost.usage import _get  # pyright: ignore[reportPrivateUsage]

_MESSAGE_KWARGS = ("messages", "input", "prompt", "contents")
_SKIP_PARAMS = frozenset({"self", "cls"})


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(limit - 15, 0)] + "...[truncated]"


def to_json(value: Any, limit: int) -> str:
    try:
        text = json.dumps(value, default=repr, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return truncate(text, limit)


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if isinstance(content, Sequence) and not isinstance(content, (bytes, bytearray)):
        parts: list[dict[str, Any]] = []
        for block in content:  # pyright: ignore[reportUnknownVariableType]
            text = _get(block, "text")
            if isinstance(text, str):
                parts.append({"type": "text", "content": text})
            else:
                parts.append({"type": str(_get(block, "type") or "unknown")})
        return parts
    return [] if content is None else [{"type": "text", "content": str(content)}]


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
            role = _get(msg, "role") or getattr(msg, "type", None) or "user"  # pyright: ignore[reportUnknownArgumentType]
            out.append({"role": str(role), "parts": _parts(_get(msg, "content"))})
        return out
    return raw


def output_messages(result: Any, finish_reasons: Sequence[str]) -> Any:
    """The response messages of an LLM call in the GenAI schema (best effort)."""
    reason = finish_reasons[0] if finish_reasons else None
    choices = _get(result, "choices")
    if isinstance(choices, (list, tuple)):
        return [
            {
                "role": "assistant",
                "parts": _parts(_get(_get(c, "message"), "content")),
                "finish_reason": _get(c, "finish_reason"),
            }
            for c in choices  # pyright: ignore[reportUnknownVariableType]
        ]
    content = _get(result, "content")
    if content is not None:  # Anthropic message, LangChain AIMessage
        return [{"role": "assistant", "parts": _parts(content), "finish_reason": reason}]
    text = _get(result, "output_text") or _get(result, "text")  # OpenAI Responses, Google GenAI
    if isinstance(text, str):
        return [{"role": "assistant", "parts": _parts(text), "finish_reason": reason}]
    return None if result is None else [{"role": "assistant", "parts": _parts(str(result))}]


def bound_arguments(sig: inspect.Signature | None, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    """A tool's arguments by parameter name (``self``/``cls`` left out)."""
    if sig is None:
        return {"args": list(args), "kwargs": dict(kwargs)}
    try:
        bound = sig.bind_partial(*args, **kwargs)
    except TypeError:
        return {"args": list(args), "kwargs": dict(kwargs)}
    return {k: v for k, v in bound.arguments.items() if k not in _SKIP_PARAMS}
