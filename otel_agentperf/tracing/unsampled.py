"""A dropped span of ours built without asking the SDK an answer it can only give one way.

``configure(sample_ratio=r)`` samples with ``ParentBased(TraceIdRatioBased(r))``. ``Tracer.start_span``
spends ~5–8 µs on a span it drops: parent lookup, the sampler's delegates, a ``SamplingResult``, the trace
flags, a ``SpanContext``, a ``NonRecordingSpan``. When the answer is fixed by what we can see, we build that
same span ourselves. Two cases:

**A child of a local unsampled span** (every call under a dropped root):

* the parent in the context is exactly ``NonRecordingSpan`` (a subclass may report another context) with
  exactly a ``SpanContext`` that is valid, local and not sampled: ``ParentBased`` takes ``local_parent_not_sampled``;
* its sampler is the SDK's ``ParentBased`` or one of the SDK's subclasses that only set its delegates
  (``ParentBasedTraceIdRatio``, the env's parent-based always on/off), with the SDK's ``should_sample`` and
  none set on the instance, and its ``local_parent_not_sampled`` is the SDK's ``StaticSampler`` (or its
  ``_AlwaysOff``) deciding DROP, which ignores everything but the parent's trace state.

Then the SDK would return ``NonRecordingSpan(SpanContext(parent.trace_id, id_generator.generate_span_id(),
is_remote=False, trace_flags=DEFAULT plus RANDOM_TRACE_ID when it applies, trace_state=parent.trace_state))``.

**A root** (no span in the context, or one whose context is invalid) when the sampler's root delegate is exactly the
SDK's ``TraceIdRatioBased`` (nothing overridden) with a ratio below 1, as ``configure(sample_ratio=r)`` builds it (or
an application's provider has it), and our tracer's id generator is a ``HandOverIdGenerator`` (``trace_ids.py``)
around the provider's (``hand_over_ids``, when ``configure()`` takes the tracer). We draw the trace id as the tracer
would (the same generator); when its low 64 bits are under the ratio's bound the span is sampled, so we hand the id
over and let the tracer start it with that id; else the SDK would return ``NonRecordingSpan(SpanContext(trace_id,
generate_span_id(), is_remote=False, trace_flags=DEFAULT plus RANDOM_TRACE_ID when the generator's ids are random,
trace_state=None))``, which we build.

In both cases the tracer is exactly the SDK's ``Tracer`` (a subclass may override ``start_span``), enabled
(its tracer configurator can disable it: then the SDK returns the parent's context), with the SDK's internal
metrics off (with them on, a dropped span still counts in ``otel.sdk.span.started``), and the installed SDK is
one whose ``Tracer.start_span`` we have read (below). Nothing else happens for a dropped span (no processor
sees it). The RANDOM_TRACE_ID bit of a child is the one thing the versions differ on: 1.42.0 sets it when the
tracer's id generator says its trace ids are random, from 1.42.1 on (open-telemetry/opentelemetry-python#5241)
a child keeps its parent's bit. ``start_span`` was read in 1.42.0, 1.42.1, 1.43.0, 1.44.0 and 1.45.x
(``sampling.py`` likewise); a later SDK takes the SDK's path until someone reads it again and widens
``_LAST_READ``: the same span, through the tracer (the tests check whichever applies). Anything else, or any
surprise, goes to ``tracer.start_span``. The verdict on a tracer and the sampler objects it uses is kept for
the objects last seen, so each call re-checks them by identity only (a delegate or decision mutated in place
is not noticed, nor is a ``should_sample`` patched on the class); a root of a tracer found not eligible is not
re-checked at all until another tracer is seen.
"""

from __future__ import annotations

import re
from typing import Any, cast

from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, TraceFlags

from .._errors import log_internal_error
from .runtime_context import SPAN_KEY

_SAMPLED = TraceFlags.SAMPLED
_RANDOM_BIT = TraceFlags.RANDOM_TRACE_ID
_DEFAULT_FLAGS = TraceFlags(TraceFlags.DEFAULT)
_RANDOM_FLAGS = TraceFlags(TraceFlags.DEFAULT | TraceFlags.RANDOM_TRACE_ID)

# How the installed SDK sets RANDOM_TRACE_ID on a child of a valid parent (None: not an SDK we have read).
_NOT_READ, _FROM_GENERATOR, _FROM_PARENT = 0, 1, 2
_LAST_READ = (1, 45)  # the newest minor release whose start_span was read
_rule: int | None = None  # decided on first use

_TRACE_ID_LIMIT = (1 << 64) - 1  # TraceIdRatioBased decides on the low 64 bits of the trace id
_NOT_ELIGIBLE = -1

_verdict: tuple[object, object, object, bool] = (None, None, None, False)  # tracer, sampler, delegate, eligible
# A root: tracer, sampler, its root delegate, the id generator, the ratio's bound (_NOT_ELIGIBLE: not eligible).
_root_verdict: tuple[object, object, object, object, int] = (None, None, None, None, _NOT_ELIGIBLE)


def _read_rule() -> int:
    try:
        from opentelemetry.sdk.version import __version__

        found = re.match(r"(\d+)\.(\d+)\.(\d+)", __version__)
        if found is None:
            return _NOT_READ
        version = (int(found[1]), int(found[2]), int(found[3]))
        if version == (1, 42, 0):
            return _FROM_GENERATOR
        if (1, 42, 1) <= version and version[:2] <= _LAST_READ:
            return _FROM_PARENT
    except Exception:  # noqa: BLE001 - unknown: the SDK's path
        pass
    return _NOT_READ


def _is_sdk(obj: object, module: str, names: tuple[str, ...]) -> bool:
    cls = cast("type[Any]", type(obj))
    return cls.__module__ == module and cls.__name__ in names


def _tracer_and_sampler(tracer: Any, sampler: Any) -> bool:
    from opentelemetry.sdk.trace.sampling import ParentBased

    return (
        _is_sdk(tracer, "opentelemetry.sdk.trace", ("Tracer",))
        and _is_sdk(tracer._tracer_metrics, "opentelemetry.sdk.trace._tracer_metrics", ("NoOpTracerMetrics",))
        and _is_sdk(
            sampler,
            "opentelemetry.sdk.trace.sampling",
            ("ParentBased", "ParentBasedTraceIdRatio", "_ParentBasedAlwaysOn", "_ParentBasedAlwaysOff"),
        )
        and cast("type[Any]", type(sampler)).should_sample is ParentBased.should_sample
        and "should_sample" not in vars(sampler)
    )


def _judge(tracer: Any, sampler: Any, delegate: Any) -> bool:
    try:
        from opentelemetry.sdk.trace.sampling import Decision, StaticSampler

        return (
            _tracer_and_sampler(tracer, sampler)
            and _is_sdk(delegate, "opentelemetry.sdk.trace.sampling", ("StaticSampler", "_AlwaysOff"))
            and cast("type[Any]", type(delegate)).should_sample is StaticSampler.should_sample
            and "should_sample" not in vars(delegate)
            and delegate._decision is Decision.DROP
        )
    except Exception:  # noqa: BLE001 - unsure: the SDK's path
        return False


def _ratio_bound(tracer: Any, sampler: Any, root: Any) -> int:
    """The bound of ``root``'s ratio when it decides the tracer's roots as read (below), else ``_NOT_ELIGIBLE``."""
    from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

    if _tracer_and_sampler(tracer, sampler) and type(root) is TraceIdRatioBased and "should_sample" not in vars(root):
        bound = root.bound
        if type(bound) is int and 0 <= bound <= _TRACE_ID_LIMIT:  # a ratio of 1 samples all: nothing to skip
            return bound
    return _NOT_ELIGIBLE


def _judge_root(tracer: Any, sampler: Any, root: Any, generator: Any) -> int:
    """The bound of ``root``'s ratio when a root span may be decided here, else ``_NOT_ELIGIBLE``."""
    try:
        from .trace_ids import HandOverIdGenerator

        if type(generator) is HandOverIdGenerator:
            return _ratio_bound(tracer, sampler, root)
    except Exception:  # noqa: BLE001 - unsure: the SDK's path
        pass
    return _NOT_ELIGIBLE


def hand_over_ids(tracer: Any) -> None:
    """Give our tracer (``STATE.use``) a ``HandOverIdGenerator`` around its id generator when its roots are
    decided by a ratio below 1, so ``start_unsampled`` can decide them. Only this tracer's spans (our scope's)
    get their ids through it, the same ids; the provider and its other tracers keep theirs. A tracer that is
    not the SDK's, or any surprise: left as it is (roots then go to the tracer)."""
    global _root_verdict
    try:
        if _is_sdk(tracer, "opentelemetry.sdk.trace", ("Tracer",)):
            from .trace_ids import HandOverIdGenerator

            sampler = tracer.sampler
            generator = tracer.id_generator
            if type(generator) is not HandOverIdGenerator and (
                _ratio_bound(tracer, sampler, getattr(sampler, "_root", None)) != _NOT_ELIGIBLE
            ):
                tracer.id_generator = HandOverIdGenerator(generator)
                _root_verdict = (None, None, None, None, _NOT_ELIGIBLE)  # judged afresh: start_unsampled's fast exit
    except Exception:  # noqa: BLE001
        log_internal_error("hand_over_ids")


def start_unsampled(tracer: Any, context: Any) -> Span | None:
    """The span ``tracer.start_span(name, context, ...)`` would return, when it is a dropped child of a local
    unsampled parent or a dropped root and the SDK could answer only that (see above); ``None``: ask the tracer
    (for a sampled root, with its trace id handed over)."""
    global _rule, _root_verdict
    try:
        parent = context.get(SPAN_KEY)
        if parent is not None:
            if type(parent) is not NonRecordingSpan:
                return None
            parent_context = parent.get_span_context()
            if type(parent_context) is not SpanContext:
                return None
            if parent_context.is_valid:
                return _child(tracer, parent_context)
        # A root: no span in the context, or one whose context is invalid (as INVALID_SPAN's).
        verdict = _root_verdict
        if tracer is verdict[0] and verdict[4] == _NOT_ELIGIBLE:
            # Every sampled root of the default setup comes here (~0.15 µs saved). An SDK tracer's sampler is
            # fixed at its creation, and its generator is swapped only by hand_over_ids, which resets this verdict.
            return None
        sampler = getattr(tracer, "sampler", None)
        root = getattr(sampler, "_root", None)
        generator = getattr(tracer, "id_generator", None)
        if (
            tracer is not verdict[0]
            or sampler is not verdict[1]
            or root is not verdict[2]
            or generator is not verdict[3]
        ):
            verdict = _root_verdict = (tracer, sampler, root, generator, _judge_root(tracer, sampler, root, generator))
        bound = verdict[4]
        if bound == _NOT_ELIGIBLE or tracer._tracer_config.is_enabled is not True:
            return None
        rule = _rule
        if rule is None:
            rule = _rule = _read_rule()
        if rule == _NOT_READ:
            return None
        trace_id: int = generator.draw_trace_id()  # type: ignore[union-attr] - the verdict checked its class
        if trace_id & _TRACE_ID_LIMIT < bound:
            generator.hand_over(trace_id)  # type: ignore[union-attr] - sampled: the tracer starts it, with this id
            return None
        return NonRecordingSpan(
            SpanContext(
                trace_id,
                generator.generate_span_id(),  # type: ignore[union-attr]
                is_remote=False,
                # Both rules read: a root's RANDOM_TRACE_ID bit is the generator's word.
                trace_flags=_RANDOM_FLAGS if generator.is_trace_id_random() else _DEFAULT_FLAGS,  # type: ignore[union-attr]
                trace_state=None,  # a root's sampling result carries no trace state
            )
        )
    except Exception:  # noqa: BLE001 - any surprise: the SDK's path, which raises or not as it would have
        return None


def _child(tracer: Any, parent_context: SpanContext) -> Span | None:
    global _rule, _verdict
    if parent_context.is_remote or parent_context.trace_flags & _SAMPLED:
        return None
    sampler = getattr(tracer, "sampler", None)
    delegate = getattr(sampler, "_local_parent_not_sampled", None)
    verdict = _verdict
    if tracer is not verdict[0] or sampler is not verdict[1] or delegate is not verdict[2]:
        verdict = _verdict = (tracer, sampler, delegate, _judge(tracer, sampler, delegate))
    if not verdict[3] or tracer._tracer_config.is_enabled is not True:
        return None
    rule = _rule
    if rule is None:
        rule = _rule = _read_rule()
    if rule == _FROM_PARENT:
        random_trace_id = parent_context.trace_flags & _RANDOM_BIT
    elif rule == _FROM_GENERATOR:
        random_trace_id = tracer.id_generator.is_trace_id_random()
    else:
        return None
    return NonRecordingSpan(
        SpanContext(
            parent_context.trace_id,
            tracer.id_generator.generate_span_id(),
            is_remote=False,
            trace_flags=_RANDOM_FLAGS if random_trace_id else _DEFAULT_FLAGS,
            trace_state=parent_context.trace_state,
        )
    )
