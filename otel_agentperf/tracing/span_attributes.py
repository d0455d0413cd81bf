"""Set span attributes that are already valid without the SDK validating each value again.

``Span.set_attributes`` on the SDK's span runs every value through ``_clean_attribute_value`` (type checks,
sequence conversion, length limits): about 0.7 µs per attribute here, ~4.5 µs for the six an LLM call adds
at its end, the largest single cost of that path. What we set there is ours and valid by construction:
token counts (ints within 0…10¹²), USD floats, strings already cut to 128 characters, tuples of such
strings. So on the SDK's own span class, with no value-length limit configured and room under the count
limit, we add them to the span's attribute dict directly, under the same two locks the SDK takes. Anything
else (another span class, a subclass, a configured ``OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT``, a span at its
attribute count limit, an ended span, an SDK whose internals differ) goes through ``set_attributes``, so
limits, eviction order, the ``dropped`` count and the "ended span" warning stay the SDK's.
``tests/test_span_attributes.py`` compares both paths' exported spans.
"""

from __future__ import annotations

from typing import Any, cast

from opentelemetry.trace import Span

_MAX_CLASSES = 64
_direct: dict[type[Any], bool] = {}  # span class -> its attributes can be added directly


def _classify(span: Any) -> bool:
    cls = cast("type[Any]", type(span))  # not __class__, which a proxy reports as the wrapped class
    ok = False
    try:
        # The SDK's span class itself (a subclass may override set_attributes), with the internals we use.
        if cls.__name__ == "_Span" and cls.__module__ == "opentelemetry.sdk.trace":
            attrs = span._attributes
            ok = (
                type(attrs).__name__ == "BoundedAttributes"
                and isinstance(attrs._dict, dict)
                and hasattr(attrs, "_lock")
                and hasattr(attrs, "maxlen")
                and hasattr(attrs, "max_value_len")
                and hasattr(attrs, "_immutable")
                and hasattr(span, "_lock")
                and hasattr(span, "_end_time")
            )
    except Exception:  # noqa: BLE001 - any surprise: the public API
        ok = False
    if len(_direct) < _MAX_CLASSES:
        _direct[cls] = ok
    return ok


def set_valid_attributes(span: Span, attributes: dict[str, Any]) -> None:
    """Set ``attributes`` (values valid as they are: ints, floats, bools, short strings, tuples of strings)."""
    sdk_span: Any = span
    direct = _direct.get(cast("type[Any]", type(sdk_span)))
    if direct is None:
        direct = _classify(sdk_span)
    if direct:
        bounded: Any = sdk_span._attributes
        if bounded.max_value_len is None:
            with sdk_span._lock:
                if sdk_span._end_time is None and not bounded._immutable:
                    held: dict[str, Any] = bounded._dict
                    maxlen: int | None = bounded.maxlen
                    if maxlen is None or len(held) + len(attributes) <= maxlen:
                        with bounded._lock:
                            held.update(attributes)
                        return
    span.set_attributes(attributes)
