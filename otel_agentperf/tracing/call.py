"""One traced operation: ``Spec`` is decided at decoration time, ``Call`` is one invocation of it.

The call path does only this: read the parent from the current context, start the span with a
pre-built attribute dict, attach one context, and on exit record one duration histogram (plus token
histograms for LLM calls) with a cached attribute dict and end the span. Every step that is ours runs
under a guard; the user's function runs outside any of our ``try`` blocks.
"""

from __future__ import annotations

import os
import time
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span

from .. import semconv as sc
from .._errors import log_internal_error
from .._locks import new_lock
from .._text import clean
from ..cost.usage import Usage, extract_usage
from ..insights.stats import fingerprint
from ..telemetry.instruments import (
    KIND_AGENT,
    KIND_LLM,
    KIND_TOOL,
    KIND_WORKFLOW,
)
from . import accounting as _accounting
from .accounting import Priced, cost_attributes, price, record_tokens, spend, usage_attributes
from .content import (
    bound_arguments,
    exception_messages_on,
    input_messages,
    output_messages,
    record_exception,
    to_json,
)
from .spec import MAX_NAME, SeriesTuple, Spec
from .state import STATE

CALL_KEY = otel_context.create_key("agentperf.call")
CONVERSATION_KEY = otel_context.create_key("agentperf.conversation")

_perf = time.perf_counter
_get_current = otel_context.get_current
_attach = otel_context.attach
_detach = otel_context.detach
_Context = otel_context.Context
# The context key under which OpenTelemetry keeps the current span, found through the public API so
# that one new Context (not two copies via set_span_in_context + set_value) is built per call.
_SPAN_KEY = next(iter(trace.set_span_in_context(trace.INVALID_SPAN, otel_context.Context())))
_rollup_lock = new_lock()


class Call:
    """One invocation of a ``Spec``: its span, timing, usage and place in the agent tree."""

    __slots__ = (
        "spec",
        "span",
        "t0",
        "token",
        "ctx",
        "parent",
        "agent_name",
        "request_model",
        "usage",
        "explicit_usage",
        "totals",
        "chunks",
        "ended",
        "conversation",
        "cost",
        "retries",
        "retry",
        "failed",
        "fp",
        "prefix",
        "resources0",
        "foreign_usage",
    )

    def __init__(self, spec: Spec, args: tuple[Any, ...], kwargs: dict[str, Any], attach: bool = True) -> None:
        self.token: object | None = None
        self.cost = 0.0  # USD under this call (own LLM cost, children's totals, record_cost)
        self.retries = 0  # children that repeated a call that had just failed (retry loops)
        self.retry = False
        self.failed: set[Spec] | None = None
        self.fp: int | None = None
        self.prefix: tuple[str, int, int] | None = None
        self.usage: Usage | None = None
        self.foreign_usage: Usage | None = None  # what another instrumentation's span inside this LLM call saw
        self.totals: Usage | None = None
        self.explicit_usage = False
        self.chunks = 0
        self.ended = False
        self.spec = spec
        ctx = _get_current()
        parent: Call | None = ctx.get(CALL_KEY)  # type: ignore[assignment]
        self.parent = parent
        attrs = spec.static_start
        if attrs is not None:  # agents and workflows: nothing about the span depends on the call
            agent = spec.agent_name
            self.agent_name = parent.agent_name if agent is None and parent is not None else agent
            self.request_model = model = spec.request_model
        else:
            agent = parent.agent_name if parent is not None else None
            self.agent_name = agent
            model = spec.request_model
            if model is None and spec.model_from_kwargs:
                requested = kwargs.get("model")
                if isinstance(requested, str) and requested:
                    model = clean(requested, MAX_NAME)
            self.request_model = model
            attrs = spec.start_attrs(agent, model)
        conversation: Any = ctx.get(CONVERSATION_KEY) or spec.conversation_id
        self.conversation: str | None = conversation
        if conversation:
            attrs = {**attrs, sc.GEN_AI_CONVERSATION_ID: conversation}
        span = STATE.tracer.start_span(
            spec.span_name or (f"{spec.operation} {model}" if model else spec.operation), ctx, spec.span_kind, attrs
        )
        self.span = span
        if STATE.capture_content and span.is_recording():
            self._capture_input(args, kwargs)
        self.resources0: tuple[float, float | None] | None = None
        if spec.kind in (KIND_TOOL, KIND_LLM):
            try:
                self._advisor_start(parent, args, kwargs, model)
            except Exception:  # noqa: BLE001 - arguments that cannot be read cost the call its hints, not its span
                log_internal_error("advisor_start")
        elif STATE.resource_deltas and spec.kind == KIND_AGENT and span.is_recording():
            self.resources0 = process_usage()
        self.ctx = _Context({**ctx, _SPAN_KEY: span, CALL_KEY: self})
        if attach:
            self.token = _attach(self.ctx)
        self.t0 = _perf()

    def _advisor_start(
        self, parent: Call | None, args: tuple[Any, ...], kwargs: dict[str, Any], model: str | None
    ) -> None:
        if parent is not None and parent.failed is not None and self.spec in parent.failed:
            self.retry = True
            parent.retries += 1
        advisor = STATE.advisor
        if advisor.fingerprints:
            self.fp = fingerprint(args, kwargs)
            if self.spec.kind == KIND_LLM:
                self.prefix = advisor.prefix_key(self.spec.provider, model, args, kwargs)

    # --- context handling (streams attach around each step, never across a yield) ---------------
    def enter(self) -> object:
        return _attach(self.ctx)  # pyright: ignore[reportArgumentType]

    def leave(self, token: object) -> None:
        _detach(token)  # pyright: ignore[reportArgumentType]

    # --- usage --------------------------------------------------------------------------------------
    def add_usage(self, usage: Usage, *, explicit: bool) -> None:
        if explicit and not self.explicit_usage:
            self.explicit_usage = True
            self.usage = None  # an explicit record replaces anything read from responses
        if self.usage is None:
            self.usage = usage
        elif explicit:
            self.usage.add(usage)
        else:
            self.usage.merge_stream(usage)

    def on_chunk(self, item: Any) -> None:
        """One item of a traced stream: count it; for LLM streams, read usage and time the first chunk."""
        try:
            self.chunks += 1
            if self.spec.kind != KIND_LLM:
                return
            if self.chunks == 1:
                ttfc = max(_perf() - self.t0, 0.0)
                first_chunk = self._series(None)[3]
                if first_chunk is not None:
                    first_chunk.record(ttfc)
                self.span.set_attribute(sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, ttfc)
            if not self.explicit_usage:
                usage = extract_usage(item)
                if usage is not None:
                    self.add_usage(usage, explicit=False)
        except Exception:  # noqa: BLE001 - instrumentation must never break the stream
            log_internal_error("on_chunk")

    # --- ending -------------------------------------------------------------------------------------
    def finish(self, result: Any = None, *, read_result: bool = True) -> None:
        """Normal end; ``read_result`` reads usage from the returned value of an LLM call."""
        if self.token is not None:
            self.detach_context()
        if self.ended:
            return
        if self.spec.kind == KIND_LLM or STATE.capture_content:
            self._read_result(result, read_result)
        self._end(None)

    def _read_result(self, result: Any, read_result: bool) -> None:
        try:
            if read_result and self.spec.kind == KIND_LLM and self.usage is None:
                usage = extract_usage(result)
                if usage is not None:
                    self.usage = usage
            if STATE.capture_content and self.span.is_recording():
                self._capture_output(result)
        except Exception:  # noqa: BLE001
            log_internal_error("finish")

    def finish_early(self) -> None:
        """A stream closed before exhaustion (``break``, ``close()``, garbage collection): not an error."""
        if self.ended:
            return
        try:
            self.span.set_attribute(sc.AGENTPERF_STREAM_CLOSED_EARLY, True)
        except Exception:  # noqa: BLE001
            log_internal_error("finish_early")
        self._end(None)

    def fail(self, exc: BaseException) -> None:
        """The user's code raised ``exc``: record it (the caller re-raises the same object)."""
        self.detach_context()
        if self.ended:
            return
        error = type(exc).__qualname__
        parent = self.parent
        if parent is not None and not parent.ended and self.spec.kind in (KIND_TOOL, KIND_LLM):
            if parent.failed is None:
                parent.failed = set()
            parent.failed.add(self.spec)
        try:
            span = self.span
            if span.is_recording():
                span.set_attribute(sc.ERROR_TYPE, error)
                record_exception(span, exc, error, exception_messages_on(STATE.capture_content))
        except Exception:  # noqa: BLE001
            log_internal_error("fail")
        self._end(error)

    def detach_context(self) -> None:
        """Detach the context attached at start (a returned stream outlives the call that made it)."""
        if self.token is None:
            return
        token, self.token = self.token, None
        try:
            _detach(token)  # pyright: ignore[reportArgumentType]
        except Exception:  # noqa: BLE001
            log_internal_error("detach")

    def _series(self, error: str | None) -> SeriesTuple:
        usage = self.usage
        response_model = usage.response_model if usage is not None else None
        return self.spec.series(self.agent_name, self.request_model, response_model, error)

    def _end(self, error: str | None) -> None:
        self.ended = True
        self.ctx = None  # the context holds this call: break the cycle so refcounting frees both
        span = self.span
        try:
            end = _perf()
            duration = end - self.t0  # perf_counter is monotonic
            usage = self.usage
            if usage is None and self.foreign_usage is not None:  # nothing read from the result: use theirs
                usage = self.usage = self.foreign_usage
            series = self._series(error)
            # Recorded after the span's context is detached: with the default trace-based exemplar filter an
            # exemplar links to the enclosing span (same trace); offering one per call for the span itself
            # costs ~1.5 µs, a fifth of our whole budget.
            series[0].record(duration)
            priced: Priced | None = None
            if usage is not None:  # only LLM calls hold usage (record_usage elsewhere goes to totals)
                record_tokens(usage, series[1], series[2], series[5])
                attrs = usage_attributes(usage, with_meta=True)
                # No token counts and no reported cost: the price is unknown, not zero.
                priced = (
                    price(usage, self.spec.provider, self.request_model, series[4], _accounting.clock() - duration)
                    if usage.has_tokens() or usage.provider_cost is not None
                    else None
                )
                if priced is not None:
                    self.cost += priced[0]
                    attrs.update(cost_attributes(*priced))
                    spend(
                        priced[0], self.agent_name, usage.response_model or self.request_model, self.conversation, usage
                    )
                if span.is_recording():
                    span.set_attributes(attrs)
            if self.totals is not None or self.chunks or usage is not None or self.cost:
                self._end_rollup(span, usage)
            if self.resources0 is not None:
                cpu, rss = process_usage()
                span.set_attribute(sc.AGENTPERF_PROCESS_CPU_TIME_DELTA, max(0.0, cpu - self.resources0[0]))
                if rss is not None and self.resources0[1] is not None:
                    span.set_attribute(sc.AGENTPERF_PROCESS_RSS_DELTA, int(rss - self.resources0[1]))
            STATE.advisor.observe(self, end, duration, error, priced[0] if priced is not None else None)
        except Exception:  # noqa: BLE001
            log_internal_error("end")
        try:
            span.end()  # runs every span processor's on_end, which the SDK does not guard
        except Exception:  # noqa: BLE001
            log_internal_error("span.end")

    def _end_rollup(self, span: Span, usage: Usage | None) -> None:
        totals = self.totals
        recording = span.is_recording()
        if self.spec.kind in (KIND_AGENT, KIND_WORKFLOW) and recording:
            if totals is not None:
                span.set_attributes(usage_attributes(totals, with_meta=False))
            if self.cost:
                span.set_attribute(sc.AGENTPERF_COST_TOTAL, self.cost)
        if self.chunks and recording:
            span.set_attribute(sc.AGENTPERF_STREAM_CHUNKS, self.chunks)
        parent = self.parent
        if parent is not None and not parent.ended:
            if usage is not None and usage.has_tokens():
                parent._absorb(usage)
            if totals is not None:
                parent._absorb(totals)
            if self.cost:
                parent.absorb_cost(self.cost)

    def absorb_foreign(self, usage: Usage, usd: float | None) -> None:
        """An inference priced by the span processor under this call: its tokens and cost roll up here."""
        if usage.has_tokens():
            self._absorb(usage)
        if usd:
            self.absorb_cost(usd)

    def absorb_cost(self, usd: float) -> None:
        with _rollup_lock:
            self.cost += usd

    def _absorb(self, usage: Usage) -> None:
        with _rollup_lock:  # children may end concurrently in a thread pool
            if self.totals is None:
                self.totals = Usage()
            self.totals.add(usage)

    # --- opt-in content -------------------------------------------------------------------------------
    def _capture_input(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            limit = STATE.max_content_length
            kind = self.spec.kind
            if kind == KIND_LLM:
                self.span.set_attribute(sc.GEN_AI_INPUT_MESSAGES, to_json(input_messages(args, kwargs), limit))
            elif kind == KIND_TOOL and (args or kwargs):
                value = bound_arguments(self.spec.signature, args, kwargs)
                self.span.set_attribute(sc.GEN_AI_TOOL_CALL_ARGUMENTS, to_json(value, limit))
        except Exception:  # noqa: BLE001
            log_internal_error("capture_input")

    def _capture_output(self, result: Any) -> None:
        kind = self.spec.kind
        limit = STATE.max_content_length
        if kind == KIND_LLM:
            reasons = self.usage.finish_reasons if self.usage is not None else ()
            messages = output_messages(result, reasons)
            if messages is not None:
                self.span.set_attribute(sc.GEN_AI_OUTPUT_MESSAGES, to_json(messages, limit))
        elif kind == KIND_TOOL and result is not None:
            self.span.set_attribute(sc.GEN_AI_TOOL_CALL_RESULT, to_json(result, limit))


def process_usage() -> tuple[float, float | None]:
    """(CPU seconds used by the process so far, resident bytes now or None where procfs is missing).

    Reads ``/proc/self/statm`` through a descriptor kept open (``pread`` at 0 regenerates it): ~1.4 µs
    against ~11 µs for open/read/close or psutil. Reopened after ``fork`` since the file is the opener's.
    """
    global _statm
    rss: float | None = None
    try:
        pid = os.getpid()
        if _statm is None or _statm[0] != pid:
            if _statm is not None:
                os.close(_statm[1])  # the forked child's copy of its parent's descriptor
            _statm = (pid, os.open("/proc/self/statm", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)))
        rss = float(int(os.pread(_statm[1], 128, 0).split()[1]) * _PAGE)
    except (OSError, ValueError, IndexError, AttributeError):  # no procfs (macOS, Windows): CPU time only
        pass
    return time.process_time(), rss


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_statm: tuple[int, int] | None = None


def current_call() -> Call | None:
    """The innermost traced call of ours in the current context."""
    return _get_current().get(CALL_KEY)  # type: ignore[return-value]


def current_span() -> Span:
    return trace.get_current_span()
