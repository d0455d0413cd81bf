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

from .unsampled import start_unsampled

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


def _writable(span: Any) -> Any:
    """The SDK span's ``BoundedAttributes`` when values may go into them directly: a class that passed
    ``_classify`` (decided once per class) and no value-length limit; else ``None``."""
    direct = _direct.get(cast("type[Any]", type(span)))
    if direct is None:
        direct = _classify(span)
    if direct:
        bounded: Any = span._attributes
        if bounded.max_value_len is None:
            return bounded
    return None


def set_valid_attributes(span: Span, attributes: dict[str, Any]) -> None:
    """Set ``attributes`` (values valid as they are: ints, floats, bools, short strings, tuples of strings)."""
    sdk_span: Any = span
    bounded = _writable(sdk_span)
    if bounded is not None:
        with sdk_span._lock:
            if sdk_span._end_time is None and not bounded._immutable:
                held: dict[str, Any] = bounded._dict
                maxlen: int | None = bounded.maxlen
                # New keys only: the SDK moves a key set again to the end, which update() would not do.
                if (maxlen is None or len(held) + len(attributes) <= maxlen) and held.keys().isdisjoint(attributes):
                    with bounded._lock:
                        held.update(attributes)
                    return
    span.set_attributes(attributes)


# --- start attributes ---------------------------------------------------------------------------------------
# The attributes a span starts with go through the same validation when the SDK builds the span (~0.7 µs
# each; an agent starts with four to six). They must be there at the start only for whoever looks at them
# then: the sampler and each span processor's ``on_start``. The SDK's own samplers (always on/off, trace-id
# ratio, parent-based of those) ignore them, and processors that keep ``on_start`` as the SDK's batch and
# simple processors have it (empty) look at nothing, nor does ours for our own spans. With only those on the
# tracer, a span of ours starts bare and gets its start attributes right after, before any user code runs.
# The verdict is kept for the tracer's current processor tuple and sampler (adding a processor replaces the
# tuple), so a processor or sampler that might read them puts every later span back on the SDK's path. (A
# class whose on_start is patched after the verdict is not noticed.) The verdict holds the last tuple and sampler
# alive until another tracer starts a span: one provider's processors at most.
_verdict: tuple[object, object, bool] = (None, None, False)


def _sampler_ignores_attributes(sampler: Any) -> bool:
    cls = cast("type[Any]", type(sampler))
    if cls.__module__ != "opentelemetry.sdk.trace.sampling":
        return False
    if cls.__name__ in ("StaticSampler", "_AlwaysOn", "_AlwaysOff", "TraceIdRatioBased"):
        return True
    if cls.__name__ in ("ParentBased", "ParentBasedTraceIdRatio", "_ParentBasedAlwaysOn", "_ParentBasedAlwaysOff"):
        delegates = (
            "_root",
            "_remote_parent_sampled",
            "_remote_parent_not_sampled",
            "_local_parent_sampled",
            "_local_parent_not_sampled",
        )
        return all(_sampler_ignores_attributes(getattr(sampler, name, None)) for name in delegates)
    return False


def _processor_ignores_start(processor: Any) -> bool:
    from opentelemetry.sdk.trace import SpanProcessor  # loaded already: the tracer is the SDK's
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    if "on_start" in getattr(processor, "__dict__", {}):
        return False  # set on the instance (a hook, a wrapper): it is what the SDK calls
    quiet = (SpanProcessor.on_start, BatchSpanProcessor.on_start, SimpleSpanProcessor.on_start)
    on_start = getattr(cast("type[Any]", type(processor)), "on_start", None)
    if on_start in quiet:
        return True
    # Ours returns at once for spans of our own scope (named, not imported: the processor imports the call path).
    return getattr(on_start, "__qualname__", None) == "AgentPerfSpanProcessor.on_start" and (
        getattr(on_start, "__module__", None) == "otel_agentperf.tracing.processor"
    )


def _judge(active: Any, processors: Any, sampler: Any) -> bool:
    try:
        outer = cast("type[Any]", type(active))
        return (
            outer.__module__ == "opentelemetry.sdk.trace"  # the SDK's own fan-out, not a subclass with an on_start
            and outer.__name__ in ("SynchronousMultiSpanProcessor", "ConcurrentMultiSpanProcessor")
            and isinstance(processors, tuple)
            and all(_processor_ignores_start(p) for p in processors)  # pyright: ignore[reportUnknownVariableType]
            and _sampler_ignores_attributes(sampler)
        )
    except Exception:  # noqa: BLE001 - unsure: the SDK's path
        return False


def start_span(tracer: Any, name: str, context: Any, kind: Any, attributes: dict[str, Any]) -> Span:
    """``tracer.start_span(name, context, kind, attributes)``, the attributes set after the start when nobody
    looks at them at the start (see above). A dropped child of one of our dropped spans, or a root its ratio
    drops, is built without the tracer when its span is known in advance (``unsampled.py``)."""
    global _verdict
    unsampled = start_unsampled(tracer, context)
    if unsampled is not None:
        return unsampled
    try:
        active = tracer.span_processor
        processors = active._span_processors
        sampler = tracer.sampler
    except AttributeError:  # not the SDK's tracer
        return tracer.start_span(name, context, kind, attributes)
    verdict = _verdict
    if processors is not verdict[0] or sampler is not verdict[1]:
        verdict = _verdict = (processors, sampler, _judge(active, processors, sampler))
    if not verdict[2]:
        return tracer.start_span(name, context, kind, attributes)
    span = tracer.start_span(name, context, kind)
    if span.is_recording():
        _set_on_new_span(span, attributes)
    return span


def _set_on_new_span(span: Span, attributes: dict[str, Any]) -> None:
    """``set_valid_attributes`` on a span the SDK's tracer has just started: the verdict above admits only
    processors whose ``on_start`` keeps nothing, so no other thread can hold the span yet and its two locks
    guard nothing; the values go straight into its (still empty) dict (~1 µs of a call in context)."""
    bounded = _writable(span)
    if bounded is not None:
        held: dict[str, Any] = bounded._dict
        maxlen: int | None = bounded.maxlen
        if not held and (maxlen is None or len(attributes) <= maxlen):
            held.update(attributes)
            return
    set_valid_attributes(span, attributes)
