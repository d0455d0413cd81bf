"""Streaming helpers returned by a traced LLM call: Anthropic's ``client.messages.stream(...)``, OpenAI's
``client.responses.stream(...)`` and ``client.chat.completions.stream(...)``, sync and async.

Such a call returns a *manager* that sends the request only when entered (``with``/``async with``). The
traced function hands back a proxy of it (``isinstance`` holds: its ``__class__`` is the SDK's class) whose
``__enter__``/``__aenter__`` sends the request under the span's context and returns the SDK's own stream
object, instrumented in place: its ``_iterator`` (what iteration, ``text_stream``, ``until_done()`` and
``get_final_message()`` all read) is replaced by a counting iterator and its ``close`` by one that ends the
span. The span ends when the stream is exhausted (normal end), closed or left early (``break`` then ``with``
exit, ``close()``), garbage collected, or fails (an exception inside the ``with`` block included).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any, cast

from .._errors import log_internal_error
from .call import Call
from .streams import TracedAsyncStream, TracedStream, fail_on_exit

# What an entered helper stream gets, decided once per class.
_IN_PLACE = 0  # the SDK's object, with ``_iterator`` and ``close`` replaced on the instance
_PROXY = 1  # iterable, but not of the known shape: a counting proxy (the span also ends at ``with`` exit)
_AS_IS = 2  # not iterable: returned untouched; the span ends at ``with`` exit (or when the manager is collected)
_MAX_CLASSES = 256
_sync_kinds: dict[type[Any], int] = {}
_async_kinds: dict[type[Any], int] = {}


def _kind(cls: type[Any], is_async: bool) -> int:
    cache = _async_kinds if is_async else _sync_kinds
    kind = cache.get(cls)
    if kind is None:
        kind = _classify(cls, is_async)
        if len(cache) < _MAX_CLASSES:
            cache[cls] = kind
    return kind


def _classify(cls: type[Any], is_async: bool) -> int:
    if not hasattr(cls, "__anext__" if is_async else "__next__"):
        return _AS_IS
    close = getattr(cls, "close", None)
    if inspect.isfunction(close) and inspect.iscoroutinefunction(close) == is_async:
        return _IN_PLACE
    return _PROXY


def instrument(stream: Any, call: Call, is_async: bool) -> tuple[Any, bool]:
    """(What to give the user for an entered helper stream, whether the span now ends with that stream)."""
    try:
        kind = _kind(cast("type[Any]", type(stream)), is_async)
        if kind == _IN_PLACE:
            attrs: dict[str, Any] | None = getattr(stream, "__dict__", None)
            if attrs is not None and "_iterator" in attrs:
                close = stream.close
                if is_async:
                    attrs["_iterator"] = TracedAsyncStream(attrs["_iterator"], call)
                    attrs["close"] = _AsyncClose(close, call)
                else:
                    attrs["_iterator"] = TracedStream(attrs["_iterator"], call)
                    attrs["close"] = _Close(close, call)
                return stream, True
            kind = _PROXY  # this instance lacks the shape of its class
        if kind == _PROXY:
            return (TracedAsyncStream(stream, call) if is_async else TracedStream(stream, call)), True
    except Exception:  # noqa: BLE001
        log_internal_error("stream_helper.instrument")
    return stream, False


def _attach(call: Call) -> object | None:
    try:
        return call.enter()
    except Exception:  # noqa: BLE001
        log_internal_error("stream_helper.attach")
        return None


def _detach(call: Call, token: object | None) -> None:
    if token is None:
        return
    try:
        call.leave(token)
    except Exception:  # noqa: BLE001
        log_internal_error("stream_helper.detach")


class _Close:
    """``stream.close()`` of an instrumented helper stream: closes it, then ends the span (if still open)."""

    __slots__ = ("_close", "_call")

    def __init__(self, close: Callable[[], Any], call: Call) -> None:
        self._close = close
        self._call = call

    def __call__(self) -> Any:
        try:
            return self._close()
        finally:
            self._call.finish_early()


class _AsyncClose:
    """``await stream.close()`` of an instrumented async helper stream."""

    __slots__ = ("_close", "_call")

    def __init__(self, close: Callable[[], Coroutine[Any, Any, Any]], call: Call) -> None:
        self._close = close
        self._call = call

    def __call__(self) -> Coroutine[Any, Any, Any]:
        return self._run()

    async def _run(self) -> Any:
        try:
            return await self._close()
        finally:
            self._call.finish_early()


class _ManagerBase:
    __slots__ = ("_inner", "_call", "_owned", "__weakref__")

    def __init__(self, inner: Any, call: Call) -> None:
        self._inner = inner
        self._call = call
        self._owned = False  # True once an entered stream ends the span (then its collection does, not ours)

    @property
    def __class__(self) -> type[Any]:  # pyright: ignore[reportIncompatibleMethodOverride]
        """The SDK's class, so that ``isinstance(manager, MessageStreamManager)`` holds."""
        return cast("type[Any]", self._inner.__class__)  # through other proxies too

    def __getattr__(self, name: str) -> Any:
        if name in ("_inner", "_call", "_owned"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    def __repr__(self) -> str:
        return f"<traced {self._inner!r}>"

    def __del__(self) -> None:
        try:
            call = self._call
            owned = self._owned
        except AttributeError:
            return
        if not owned and not call.ended:
            call.finish_early()


class TracedStreamManager(_ManagerBase):
    """A sync streaming-helper manager whose span ends with the stream it gives."""

    __slots__ = ()

    def __enter__(self) -> Any:
        call = self._call
        if call.ended:  # entered again after the span ended: an untraced request
            return self._inner.__enter__()
        token = _attach(call)  # the request is sent here: under this call's span
        try:
            stream = self._inner.__enter__()
        except BaseException as exc:
            _detach(call, token)
            call.fail(exc)
            raise
        _detach(call, token)
        stream, self._owned = instrument(stream, call, False)
        return stream

    def __exit__(self, *exc_info: Any) -> Any:
        call = self._call
        fail_on_exit(call, exc_info)
        try:
            result = self._inner.__exit__(*exc_info)
        except BaseException as exc:
            call.fail(exc)
            raise
        call.finish_early()  # no-op when the stream was read to its end
        return result


class TracedAsyncStreamManager(_ManagerBase):
    """An async streaming-helper manager whose span ends with the stream it gives."""

    __slots__ = ()

    async def __aenter__(self) -> Any:
        call = self._call
        if call.ended:
            return await self._inner.__aenter__()
        token = _attach(call)
        try:
            stream = await self._inner.__aenter__()
        except BaseException as exc:
            _detach(call, token)
            call.fail(exc)
            raise
        _detach(call, token)
        stream, self._owned = instrument(stream, call, True)
        return stream

    async def __aexit__(self, *exc_info: Any) -> Any:
        call = self._call
        fail_on_exit(call, exc_info)
        try:
            result = await self._inner.__aexit__(*exc_info)
        except BaseException as exc:
            call.fail(exc)
            raise
        call.finish_early()
        return result
