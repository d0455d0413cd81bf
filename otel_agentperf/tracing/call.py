"""One traced operation: ``Spec`` is decided at decoration time, ``Call`` is one invocation of it.

The call path does only this: read the parent from the current context, start the span with a
pre-built attribute dict, attach one context, and on exit record one duration histogram (plus token
histograms for LLM calls) with a cached attribute dict and end the span. Every step that is ours runs
under a guard; the user's function runs outside any of our ``try`` blocks.
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span

from .. import semconv as sc
from .._errors import log_internal_error
from .._locks import new_lock
from .._text import clean
from ..cost.providers import infer_provider
from ..cost.usage import Usage, extract_usage, response_model
from ..insights.stats import fingerprint
from ..telemetry.instruments import (
    KIND_AGENT,
    KIND_LLM,
    KIND_TOOL,
    KIND_WORKFLOW,
)
from ..telemetry.process_usage import process_usage
from . import accounting as _accounting
from . import runtime_context
from .accounting import Priced, price, rollup_attributes, spend, usage_attributes
from .content import capture_input, capture_output, exception_messages_on, record_exception
from .exceptions import error_type
from .span_attributes import set_valid_attributes
from .span_attributes import start_span as _start_span
from .spec import MAX_NAME, SeriesTuple, Spec
from .state import STATE

CALL_KEY = otel_context.create_key("agentperf.call")
CONVERSATION_KEY = otel_context.create_key("agentperf.conversation")

_perf = time.perf_counter
_get_current = runtime_context.get_current
_attach = runtime_context.attach
_detach = runtime_context.detach
_Context = otel_context.Context
_SPAN_KEY = runtime_context.SPAN_KEY  # one new Context per call, not two copies via set_span_in_context + set_value
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
        "agent_call",
        "inference_calls",
        "tool_calls",
        "last_chunk",
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
        self.inference_calls = 0  # agents: model and tool calls of this invocation, not of its sub-agents
        self.tool_calls = 0
        ctx = _get_current()
        parent: Call | None = ctx.get(CALL_KEY)  # type: ignore[assignment]
        self.parent = parent
        # The invocation whose inference_calls / tool_calls this call counts in: the nearest agent above.
        self.agent_call = None if parent is None else parent if parent.spec.kind == KIND_AGENT else parent.agent_call
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
        span = _start_span(
            STATE.tracer,
            spec.span_name or (f"{spec.operation} {model}" if model else spec.operation),
            ctx,
            spec.span_kind,
            attrs,
        )
        self.span = span
        if STATE.capture_content and span.is_recording():
            capture_input(span, spec.kind, spec.signature, args, kwargs, STATE.max_content_length)
        self.resources0: tuple[float, float | None] | None = None
        if spec.kind in (KIND_TOOL, KIND_LLM):  # what the advisor needs of the arguments (inline: a call is ~1 µs)
            try:
                if parent is not None and parent.failed is not None and spec in parent.failed:
                    self.retry = True
                    parent.retries += 1
                advisor = STATE.advisor
                # A call without arguments is no evidence of repeating anything (it reads the clock, polls a
                # queue, builds its prompt inside): no fingerprint, so the caching rule never suggests it.
                if advisor.fingerprints and (args or kwargs):
                    is_llm = spec.kind == KIND_LLM
                    self.fp = fingerprint(args, kwargs, is_llm)
                    if is_llm:
                        self.prefix = advisor.prefix_key(spec.provider, model, args, kwargs)
            except Exception:  # noqa: BLE001 - arguments that cannot be read cost the call its hints, not its span
                log_internal_error("advisor_start")
        elif STATE.resource_deltas and spec.kind == KIND_AGENT and span.is_recording():
            self.resources0 = process_usage()
        self.ctx = _Context({**ctx, _SPAN_KEY: span, CALL_KEY: self})
        if attach:
            self.token = _attach(self.ctx)
        self.t0 = _perf()

    # --- context handling (streams attach around each step, never across a yield) ---------------
    def enter(self) -> object:
        return _attach(self.ctx)  # pyright: ignore[reportArgumentType]

    def leave(self, token: object) -> None:
        try:
            _detach(token)
        except Exception:  # noqa: BLE001 - a token from another context (never ours to raise)
            log_internal_error("detach")

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
        """One item of a traced stream: count it; for LLM streams, read usage and time the chunk."""
        try:
            self.chunks += 1
            if self.spec.kind != KIND_LLM:
                return
            now = _perf()
            # Usage first: a chunk can name the response model, which the timing series are labelled with.
            if not self.explicit_usage:
                usage = extract_usage(item)
                if usage is not None:
                    self.add_usage(usage, explicit=False)
                elif self.usage is None:
                    model = response_model(item)
                    if model is not None:  # labels the timing series as the finished call will be
                        self.usage = Usage(response_model=model)
            if self.chunks == 1:
                ttfc = max(now - self.t0, 0.0)
                first_chunk = self._series(None)[3]
                if first_chunk is not None:
                    first_chunk.record(ttfc)
                span = self.span
                span.set_attribute(sc.GEN_AI_REQUEST_STREAM, True)
                span.set_attribute(sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, ttfc)
            else:
                per_chunk = self._series(None)[6]
                if per_chunk is not None:
                    per_chunk.record(max(now - self.last_chunk, 0.0))
            self.last_chunk = now
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
                reasons = self.usage.finish_reasons if self.usage is not None else ()
                capture_output(self.span, self.spec.kind, result, reasons, STATE.max_content_length)
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
        error = error_type(exc)
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
            _detach(token)
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
            kind = self.spec.kind
            priced: Priced | None = None
            inference = series[8]
            if usage is not None and inference is not None:  # only LLM calls hold usage
                # No token counts and no reported cost: the price is unknown, not zero.
                if usage.has_tokens() or usage.provider_cost is not None:
                    priced = price(usage, self.spec.provider, self.request_model, None, _accounting.clock() - duration)
                # Duration, tokens and cost at once (recorded after the span's context is detached: with the
                # default trace-based exemplar filter an exemplar links to the enclosing span, same trace; one
                # per call for the span itself would cost ~1.5 µs).
                if priced is not None:
                    inference.record(duration, usage, priced[0], priced[1])
                else:
                    inference.record(duration, usage, None, "")
            else:
                series[0].record(duration)
            if kind == KIND_AGENT:
                series[1].record(self.inference_calls)  # type: ignore[union-attr] - agents always have both
                series[7].record(self.tool_calls)  # type: ignore[union-attr]
            elif kind != KIND_WORKFLOW:
                agent_call = self.agent_call
                if agent_call is not None and not agent_call.ended:
                    agent_call.count_child(kind == KIND_LLM)
            if usage is not None:
                if priced is not None:
                    self.cost += priced[0]
                    spend(
                        priced[0], self.agent_name, usage.response_model or self.request_model, self.conversation, usage
                    )
                if span.is_recording():  # an unsampled call builds no attributes
                    attrs = usage_attributes(usage, priced, with_meta=True)
                    if self.request_model is None and self.spec.provider is None:
                        provider = infer_provider(usage.response_model)  # model known only from the response
                        if provider is not None:
                            attrs[sc.GEN_AI_PROVIDER_NAME] = provider
                    set_valid_attributes(span, attrs)
            if (
                self.totals is not None
                or self.chunks
                or (self.parent is not None and (usage is not None or self.cost))
                or (self.cost and kind in (KIND_AGENT, KIND_WORKFLOW))
            ):  # a top-level LLM call without a stream has nothing to roll up
                self._end_rollup(span, usage)
            if self.resources0 is not None:
                cpu, rss = process_usage()
                span.set_attribute(sc.AGENTPERF_PROCESS_CPU_TIME_DELTA, max(0.0, cpu - self.resources0[0]))
                if rss is not None and self.resources0[1] is not None:
                    span.set_attribute(sc.AGENTPERF_PROCESS_RSS_DELTA, int(rss - self.resources0[1]))
            STATE.advisor.observe(self, end, duration, error, priced[0] if priced is not None else None, series[9])
        except Exception:  # noqa: BLE001
            log_internal_error("end")
        try:
            span.end()  # runs every span processor's on_end, which the SDK does not guard
        except Exception:  # noqa: BLE001
            log_internal_error("span.end")

    def _end_rollup(self, span: Span, usage: Usage | None) -> None:
        totals = self.totals
        if span.is_recording():
            attrs: dict[str, Any] = {}
            if self.spec.kind in (KIND_AGENT, KIND_WORKFLOW):
                if totals is not None:
                    attrs = rollup_attributes(totals)
                if self.cost:
                    attrs[sc.AGENTPERF_COST_TOTAL] = self.cost
            if self.chunks:
                attrs[sc.AGENTPERF_STREAM_CHUNKS] = self.chunks
            if attrs:
                set_valid_attributes(span, attrs)
        parent = self.parent
        if parent is not None and not parent.ended:
            if usage is not None and usage.has_tokens():
                parent._absorb(usage)
            if totals is not None:
                parent._absorb(totals)
            if self.cost:
                parent.absorb_cost(self.cost)

    def count_child(self, inference: bool) -> None:
        """A model call (``inference``) or a tool call of this agent invocation ended."""
        with _rollup_lock:  # children may end concurrently in a thread pool
            if inference:
                self.inference_calls += 1
            else:
                self.tool_calls += 1

    def absorb_foreign(self, usage: Usage, usd: float | None) -> None:
        """An inference priced by the span processor under this call: its tokens and cost roll up here."""
        agent_call = self if self.spec.kind == KIND_AGENT else self.agent_call
        if agent_call is not None and not agent_call.ended:
            agent_call.count_child(True)  # another instrumentation's model call, not one of ours
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


def current_call() -> Call | None:
    """The innermost traced call of ours in the current context."""
    return _get_current().get(CALL_KEY)  # type: ignore[return-value]


def current_span() -> Span:
    return trace.get_current_span()
