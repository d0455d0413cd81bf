"""How fields are read from provider response objects of any class, by duck typing.

Responses come as dicts, pydantic models (OpenAI, Anthropic, LangChain, Google GenAI) or plain objects. How a
class is read is decided on its first instance and cached (bounded). ``reader(obj)`` returns ``get(name)``
for one object with that decision made once: a dict's own ``get``, a plain pydantic model's instance dict's
``get`` (both C calls), else ``field`` bound to the object.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

Reader = Callable[[str], Any]
"""``get(name)``: one field of one response object, ``None`` when absent."""

# How fields are read from each response class, decided on its first instance: a dict's ``get``; a pydantic
# model's instance dict and extras (what ``getattr`` would find, without the AttributeError that pydantic
# raises and catches for every absent field: ~1 µs each, and a response has a dozen we look for); else getattr.
# A pydantic class none of whose class attributes bear a name we read (``READ``) is "plain": its fields are
# all in the instance dict, so that dict's own ``get`` reads them (a C call; ~0.05 µs instead of ~0.25 µs).
_MAPPING, _PYDANTIC, _ATTRIBUTES, _PYDANTIC_PLAIN = 0, 1, 2, 3
_ACCESS: dict[type[Any], int] = {dict: _MAPPING}
_MAX_CLASSES = 256
_ON_CLASS: dict[tuple[type[Any], str], bool] = {}

READ = frozenset(
    {
        "_hidden_params",
        "cache_creation",
        "cache_creation_input_tokens",
        "cache_read",
        "cache_read_input_tokens",
        "cache_write_tokens",
        "cached_content_token_count",
        "cached_tokens",
        "candidates",
        "candidates_token_count",
        "choices",
        "chunk",
        "completion_tokens",
        "completion_tokens_details",
        "cost",
        "delta",
        "finish_reason",
        "id",
        "incomplete_details",
        "input_token_details",
        "input_tokens",
        "input_tokens_details",
        "message",
        "model",
        "model_name",
        "model_version",
        "object",
        "output_token_details",
        "output_tokens",
        "output_tokens_details",
        "prompt_token_count",
        "prompt_tokens",
        "prompt_tokens_details",
        "reason",
        "reasoning",
        "reasoning_tokens",
        "response",
        "response_id",
        "response_cost",
        "response_metadata",
        "status",
        "stop_reason",
        "thoughts_token_count",
        "type",
        "usage",
        "usage_metadata",
    }
)
"""Every field name this module reads (``tests/test_usage.py`` checks the list against the code)."""


def _access(cls: type[Any]) -> int:
    if issubclass(cls, Mapping):
        how = _MAPPING
    elif hasattr(cls, "__pydantic_fields__") and hasattr(cls, "__pydantic_extra__"):
        how = _PYDANTIC if any(hasattr(cls, name) for name in READ) else _PYDANTIC_PLAIN
    else:
        how = _ATTRIBUTES
    if len(_ACCESS) < _MAX_CLASSES:  # bounded; a class past the limit is classified again on each call
        _ACCESS[cls] = how
    return how


def field(obj: Any, name: str) -> Any:
    """``obj``'s field ``name`` (a key of a mapping, a pydantic field or extra, else an attribute), or ``None``."""
    if obj is None:
        return None
    cls: type[Any] = type(obj)  # pyright: ignore[reportUnknownVariableType]
    how = _ACCESS.get(cls)
    if how is None:
        how = _access(cls)
    if how == _MAPPING:
        return obj.get(name)
    if how == _PYDANTIC or how == _PYDANTIC_PLAIN:
        fields: dict[str, Any] = obj.__dict__
        if name in fields:
            return fields[name]
        extra: dict[str, Any] | None = obj.__pydantic_extra__  # None unless the model allows extra fields
        if extra and name in extra:
            return extra[name]
        key = (cls, name)
        on_class = _ON_CLASS.get(key)
        if on_class is None:
            on_class = hasattr(cls, name)  # a property or method: read it the usual way
            if len(_ON_CLASS) < _MAX_CLASSES * 8:
                _ON_CLASS[key] = on_class
        return getattr(obj, name, None) if on_class else None
    return getattr(obj, name, None)


def absent(name: str) -> None:
    """The reader of ``None``: every field is absent."""
    return None


def reader(obj: Any) -> Reader:
    """``get(name)`` for the fields of ``obj``, as ``field(obj, name)`` reads them, with the dispatch done once."""
    if obj is None:
        return absent
    how = _ACCESS.get(type(obj))  # pyright: ignore[reportUnknownArgumentType]
    if how is None:
        how = _access(type(obj))  # pyright: ignore[reportUnknownArgumentType]
    if how == _MAPPING:
        return obj.get
    if how == _PYDANTIC_PLAIN and not obj.__pydantic_extra__:
        return obj.__dict__.get
    return partial(field, obj)


def view(obj: Any) -> dict[str, Any] | None:
    """``obj``'s fields as a dict, when they are one: a ``dict`` itself, or a plain pydantic model's instance dict
    (no extras; a class already classified); else ``None``."""
    cls: type[Any] = type(obj)  # pyright: ignore[reportUnknownVariableType]
    if cls is dict:
        return obj
    if _ACCESS.get(cls) == _PYDANTIC_PLAIN and not obj.__pydantic_extra__:
        return obj.__dict__
    return None
