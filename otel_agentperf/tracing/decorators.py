"""The public tracing API: ``trace_agent``, ``trace_tool``, ``trace_llm``/``llm_call``, ``trace_workflow``.

Each returns an object that is a decorator (bare or called) and a sync or async context manager.
"""

from __future__ import annotations

import contextvars
import inspect
import warnings
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast, overload

from opentelemetry.trace import INVALID_SPAN, Span

from .. import semconv as sc
from .._errors import log_internal_error
from .._locks import new_lock
from ..telemetry.instruments import KIND_AGENT, KIND_LLM, KIND_TOOL, KIND_WORKFLOW
from .call import Call
from .spec import Spec
from .wrappers import wrap

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])

_MAX_ATTR = 1024
_Entry = tuple["Traced", Call | None, Any]
"""One ``with`` use of a ``Traced``: the object, its call (``None`` if it could not start), the entry it nests in."""
_cm_lock = new_lock()
# One variable for every ``with`` use of every object: a context keeps each variable ever set in it, so a
# variable per object (``with ap.trace_agent(...)`` builds one per use) grew a long-lived thread by ~140 B a use.
_active: contextvars.ContextVar[_Entry | None] = contextvars.ContextVar("agentperf.traced", default=None)


def _without(entry: _Entry | None, owner: Traced) -> tuple[_Entry | None, _Entry | None]:
    """(the innermost use of ``owner`` in the stack, the stack without it); uses exited out of order are rare."""
    above: list[_Entry] = []
    while entry is not None and entry[0] is not owner:
        above.append(entry)
        entry = entry[2]
    if entry is None:
        return None, None
    rest: _Entry | None = entry[2]
    for outer in reversed(above):  # rebuild the uses that nest inside the one leaving, in order
        rest = (outer[0], outer[1], rest)
    return entry, rest


def _text(value: str | None) -> str | None:
    return value[:_MAX_ATTR] if isinstance(value, str) and value else None


class Traced:
    """A traced operation: use as ``@x``, ``with x:`` or ``async with x:`` (the span is the target).

    One object serves any number of uses. Its construction arguments are never changed: each decorated
    function gets its own ``Spec`` (named after the function when the object has no name, with the
    function's own signature), and every ``with`` shares one ``Spec`` built on first use. Each ``with``
    is its own call, kept on a stack in one context variable shared by all objects, so an object can be
    shared between threads and tasks and nested in itself.
    """

    __slots__ = ("_kind", "_name", "_operation", "_extra", "_spec_args", "_cm")

    def __init__(
        self,
        kind: int,
        name: str | None,
        *,
        operation: str,
        extra_attrs: Mapping[str, Any] | None = None,
        **spec_args: Any,
    ) -> None:
        # Read, never changed: every decorated function and the first ``with`` build a Spec from them.
        self._kind = kind
        self._name = name
        self._operation = operation
        self._extra = extra_attrs
        self._spec_args = spec_args
        # For ``with`` use, made on first use: the Spec every ``with`` shares. A decorator-only object has none.
        self._cm: Spec | None = None

    def _build(self, fn: Callable[..., Any] | None) -> Spec:
        """A new ``Spec`` for ``fn`` (``None``: for ``with`` use); reads the construction arguments only."""
        kind = self._kind
        name = self._name
        if name is None and fn is not None and kind != KIND_LLM:
            name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
        operation = self._operation
        base: dict[str, Any] = dict(self._extra or {})
        base[sc.GEN_AI_OPERATION_NAME] = operation
        if kind == KIND_AGENT and name:
            base[sc.GEN_AI_AGENT_NAME] = name[:128]
        elif kind == KIND_TOOL and name:
            base[sc.GEN_AI_TOOL_NAME] = name[:128]
        elif kind == KIND_WORKFLOW and name:
            base[sc.GEN_AI_WORKFLOW_NAME] = name[:128]
        spec_args = self._spec_args
        provider = spec_args.get("provider")
        if provider:
            base[sc.GEN_AI_PROVIDER_NAME] = provider
        if kind == KIND_LLM and (inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)):
            base[sc.GEN_AI_REQUEST_STREAM] = True  # known before the call starts: samplers can see it
        signature = None
        if kind == KIND_TOOL and fn is not None:
            try:
                signature = inspect.signature(fn)
            except (TypeError, ValueError):
                signature = None
        return Spec(kind, name, operation=operation, base_attrs=base, signature=signature, **spec_args)

    # --- decorator -----------------------------------------------------------------------------------
    def __call__(self, fn: F) -> F:
        try:
            target: Any = fn
            if isinstance(target, (classmethod, staticmethod)):
                inner: Callable[..., Any] = target.__func__  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
                rewrapped: Any = type(target)(wrap(inner, self._build(inner)))  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
                return cast(F, rewrapped)
            if not callable(fn):
                warnings.warn(f"otel_agentperf: cannot trace {fn!r}: not callable", stacklevel=2)
                return fn
            if getattr(fn, "__wrapped_by_agentperf__", False):
                warnings.warn(f"otel_agentperf: {fn!r} is traced twice", stacklevel=2)
            wrapped = wrap(fn, self._build(fn))
            wrapped.__wrapped_by_agentperf__ = True  # type: ignore[attr-defined]
            return cast(F, wrapped)
        except Exception:  # noqa: BLE001 - a decorator that fails leaves the function untraced, never broken
            log_internal_error("decorate")
            return fn

    # --- context manager -------------------------------------------------------------------------------
    def _context(self) -> Spec:
        with _cm_lock:  # first ``with`` only: threads entering at once share one Spec
            cm = self._cm
            if cm is None:
                cm = self._cm = self._build(None)
        return cm

    def _start(self) -> Span:
        try:
            spec = self._cm or self._context()
        except Exception:  # noqa: BLE001
            log_internal_error("enter")
            return INVALID_SPAN  # no use of this object has started yet: the exit finds nothing to end
        outer = _active.get()
        try:
            call = Call(spec, (), {})
        except Exception:  # noqa: BLE001
            log_internal_error("enter")
            _active.set((self, None, outer))  # this use is untraced; its exit must not end the outer one
            return INVALID_SPAN
        _active.set((self, call, outer))  # nesting the same object: the exit restores the outer use
        return call.span

    def _stop(self, exc: BaseException | None) -> None:
        if self._cm is None:
            return
        try:
            entry, rest = _without(_active.get(), self)
            if entry is None:  # an exit without an enter in this context
                return
            _active.set(rest)
        except Exception:  # noqa: BLE001
            log_internal_error("exit")
            return
        call = entry[1]
        if call is None:
            return
        if exc is not None:
            call.fail(exc)
        else:
            call.finish(None, read_result=False)

    def __enter__(self) -> Span:
        return self._start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop(exc)

    async def __aenter__(self) -> Span:
        return self._start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop(exc)


@overload
def trace_agent(fn: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def trace_agent(
    name: str | None = None,
    /,
    *,
    id: str | None = None,
    description: str | None = None,
    model: str | None = None,
    conversation_id: str | None = None,
) -> Traced: ...
def trace_agent(
    name: Any = None,
    /,
    *,
    id: str | None = None,
    description: str | None = None,
    model: str | None = None,
    conversation_id: str | None = None,
) -> Any:
    """Trace an agent invocation: span ``invoke_agent {name}`` (INTERNAL) and ``gen_ai.invoke_agent.duration``.

    Example::

        @ap.trace_agent("planner")
        async def plan(goal: str) -> Plan: ...

        with ap.trace_agent("triage", conversation_id=ticket.thread_id):
            ...
    """
    extra: dict[str, Any] = {}
    if _text(id):
        extra[sc.GEN_AI_AGENT_ID] = _text(id)
    if _text(description):
        extra[sc.GEN_AI_AGENT_DESCRIPTION] = _text(description)
    if callable(name):
        return Traced(KIND_AGENT, None, operation=sc.OP_INVOKE_AGENT)(name)
    return Traced(
        KIND_AGENT,
        _text(name),
        operation=sc.OP_INVOKE_AGENT,
        extra_attrs=extra,
        request_model=_text(model),
        conversation_id=_text(conversation_id),
    )


@overload
def trace_tool(fn: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def trace_tool(
    name: str | None = None, /, *, type: str = "function", description: str | None = None, call_id: str | None = None
) -> Traced: ...
def trace_tool(
    name: Any = None,
    /,
    *,
    type: str = "function",
    description: str | None = None,
    call_id: str | None = None,
) -> Any:
    """Trace a tool execution: span ``execute_tool {name}`` (INTERNAL) and ``gen_ai.execute_tool.duration``.

    Example::

        @ap.trace_tool("web_search")
        def search(q: str) -> list[str]: ...
    """
    extra: dict[str, Any] = {sc.GEN_AI_TOOL_TYPE: _text(type) or "function"}
    if _text(description):
        extra[sc.GEN_AI_TOOL_DESCRIPTION] = _text(description)
    if _text(call_id):
        extra[sc.GEN_AI_TOOL_CALL_ID] = _text(call_id)
    if callable(name):
        return Traced(KIND_TOOL, None, operation=sc.OP_EXECUTE_TOOL, extra_attrs=extra)(name)
    return Traced(KIND_TOOL, _text(name), operation=sc.OP_EXECUTE_TOOL, extra_attrs=extra)


@overload
def trace_llm(fn: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def trace_llm(*, provider: str | None = None, model: str | None = None, operation: str = sc.OP_CHAT) -> Traced: ...
def trace_llm(
    fn: Any = None, /, *, provider: str | None = None, model: str | None = None, operation: str = sc.OP_CHAT
) -> Any:
    """Trace an LLM call: span ``{operation} {model}`` (CLIENT), ``gen_ai.client.operation.duration`` and
    ``gen_ai.client.token.usage`` read from the returned response (OpenAI, Anthropic, Google GenAI,
    LangChain, LiteLLM; streams included). Without ``model``, the call's ``model=`` keyword is used.

    Example::

        @ap.trace_llm(provider="openai", model="gpt-4o-mini")
        def ask(messages): return client.chat.completions.create(model="gpt-4o-mini", messages=messages)

        with ap.llm_call(provider="anthropic", model="claude-sonnet-4-5"):
            ap.record_response(client.messages.create(...))
    """
    op = _text(operation) or sc.OP_CHAT
    traced = Traced(
        KIND_LLM,
        None,
        operation=op,
        provider=_text(provider),
        request_model=_text(model),
        model_from_kwargs=model is None,
    )
    return traced(fn) if callable(fn) else traced


llm_call = trace_llm
"""Alias of :func:`trace_llm`, reads better as a context manager."""


@overload
def trace_workflow(fn: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def trace_workflow(name: str | None = None, /, *, conversation_id: str | None = None) -> Traced: ...
def trace_workflow(name: Any = None, /, *, conversation_id: str | None = None) -> Any:
    """Trace a workflow: span ``invoke_workflow {name}`` (INTERNAL) and ``gen_ai.invoke_workflow.duration``."""
    if callable(name):
        return Traced(KIND_WORKFLOW, None, operation=sc.OP_INVOKE_WORKFLOW)(name)
    return Traced(KIND_WORKFLOW, _text(name), operation=sc.OP_INVOKE_WORKFLOW, conversation_id=_text(conversation_id))
