"""Decoration-time dispatch: one wrapper per function shape (sync, coroutine, generator, async generator).

Streams never keep a context attached across a ``yield``: the span's context is attached around each
step of the inner generator and detached before the item reaches the consumer, so concurrent consumers
never see each other's spans and there is never a "Failed to detach context".
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

from .._errors import log_internal_error
from ..telemetry.instruments import KIND_LLM
from .call import Call
from .returned import wrap_returned_stream
from .runtime_context import attach as _attach
from .runtime_context import detach as _detach
from .spec import Spec


def _start_failed() -> None:
    log_internal_error("start")


def wrap(fn: Callable[..., Any], spec: Spec) -> Callable[..., Any]:
    """Return the traced version of ``fn`` (which wrapper is decided here, once)."""
    if inspect.isasyncgenfunction(fn):
        return _wrap_async_gen(fn, spec)
    if inspect.isgeneratorfunction(fn):
        return _wrap_gen(fn, spec)
    if inspect.iscoroutinefunction(fn):
        return _wrap_coroutine(fn, spec)
    return _wrap_sync(fn, spec)


def _wrap_sync(fn: Callable[..., Any], spec: Spec) -> Callable[..., Any]:
    is_llm = spec.kind == KIND_LLM

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            call: Call | None = Call(spec, args, kwargs)
        except Exception:  # noqa: BLE001 - never let span creation break the user's call
            call = _start_failed()
        if call is None:
            return fn(*args, **kwargs)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            call.fail(exc)
            raise
        if is_llm:
            stream = wrap_returned_stream(result, call)
            if stream is not None:
                return stream
        call.finish(result)
        return result

    return wrapper


def _wrap_coroutine(fn: Callable[..., Any], spec: Spec) -> Callable[..., Any]:
    is_llm = spec.kind == KIND_LLM

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            call: Call | None = Call(spec, args, kwargs)
        except Exception:  # noqa: BLE001 - never let span creation break the user's call
            call = _start_failed()
        if call is None:
            return await fn(*args, **kwargs)
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:  # CancelledError included: the caller sees the operation fail
            call.fail(exc)
            raise
        if is_llm:
            stream = wrap_returned_stream(result, call, True)
            if stream is not None:
                return stream
        call.finish(result)
        return result

    return wrapper


def _wrap_gen(fn: Callable[..., Generator[Any, Any, Any]], spec: Spec) -> Callable[..., Any]:
    is_llm = spec.kind == KIND_LLM  # only LLM streams read each item; other generators count them

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        try:
            call: Call | None = Call(spec, args, kwargs, False)
        except Exception:  # noqa: BLE001 - never let span creation break the user's call
            call = _start_failed()
        if call is None:
            return (yield from fn(*args, **kwargs))
        try:
            inner = fn(*args, **kwargs)  # makes the generator object: none of its code runs yet
        except BaseException as exc:
            call.fail(exc)
            raise
        to_send: Any = None
        to_throw: BaseException | None = None
        ctx = call.ctx
        while True:
            token = _attach(ctx)  # pyright: ignore[reportArgumentType]
            try:
                if to_throw is not None:
                    exc, to_throw = to_throw, None
                    item = inner.throw(exc)
                else:
                    item = inner.send(to_send)
            except StopIteration as stop:
                call.leave(token)
                call.finish(None, read_result=False)
                return stop.value
            except BaseException as exc:
                call.leave(token)
                call.fail(exc)
                raise
            try:
                _detach(token)
            except Exception:  # noqa: BLE001 - a token from another context (never ours to raise)
                log_internal_error("detach")
            if is_llm:
                call.on_chunk(item)  # usage, time to first chunk, time per chunk
            else:
                call.chunks += 1
            try:
                to_send = yield item
            except GeneratorExit:
                _close_early(call, inner.close)
                raise
            except BaseException as exc:  # noqa: BLE001 - thrown in by the consumer: forwarded to the inner generator
                to_throw = exc

    return wrapper


def _close_early(call: Call, close: Callable[[], Any]) -> None:
    token = call.enter()
    try:
        close()
    except BaseException as exc:
        call.leave(token)
        call.fail(exc)
        raise
    call.leave(token)
    call.finish_early()


def _wrap_async_gen(fn: Callable[..., AsyncGenerator[Any, Any]], spec: Spec) -> Callable[..., Any]:
    is_llm = spec.kind == KIND_LLM

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        try:
            call: Call | None = Call(spec, args, kwargs, False)
        except Exception:  # noqa: BLE001 - never let span creation break the user's call
            call = _start_failed()
        if call is None:
            async for item in fn(*args, **kwargs):
                yield item
            return
        try:
            inner = fn(*args, **kwargs)  # makes the async generator object: none of its code runs yet
        except BaseException as exc:
            call.fail(exc)
            raise
        to_send: Any = None
        to_throw: BaseException | None = None
        ctx = call.ctx
        while True:
            token = _attach(ctx)  # pyright: ignore[reportArgumentType]
            try:
                if to_throw is not None:
                    exc, to_throw = to_throw, None
                    item = await inner.athrow(exc)
                else:
                    item = await inner.asend(to_send)
            except StopAsyncIteration:
                call.leave(token)
                call.finish(None, read_result=False)
                return
            except BaseException as exc:
                call.leave(token)
                call.fail(exc)
                raise
            try:
                _detach(token)
            except Exception:  # noqa: BLE001 - a token from another context (never ours to raise)
                log_internal_error("detach")
            if is_llm:
                call.on_chunk(item)
            else:
                call.chunks += 1
            try:
                to_send = yield item
            except GeneratorExit:
                token = call.enter()
                try:
                    await inner.aclose()
                except BaseException as exc:
                    call.leave(token)
                    call.fail(exc)
                    raise
                call.leave(token)
                call.finish_early()
                raise
            except BaseException as exc:  # noqa: BLE001 - forwarded to the inner generator
                to_throw = exc

    return wrapper
