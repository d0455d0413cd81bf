"""Streams returned by a traced LLM call (e.g. ``client.chat.completions.create(stream=True)``).

The span stays open until the stream is exhausted, closed, left through ``with`` (an error if left through
an exception), fails, or is garbage collected; usage is read from the chunks as they pass. Everything else
is forwarded to the real stream, and ``isinstance`` checks against the stream's class hold (the proxy's
``__class__`` is the stream's).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, cast

from .call import Call


def fail_on_exit(call: Call, exc_info: tuple[Any, ...]) -> None:
    """Leaving a ``with`` block through an exception fails the call (unless the stream had already ended):
    recorded before the stream is closed, which would end the span as closed early."""
    exc = exc_info[1] if len(exc_info) > 1 else None
    if isinstance(exc, BaseException) and not call.ended:
        call.fail(exc)


class _StreamBase:
    __slots__ = ("_inner", "_call", "__weakref__")

    def __init__(self, inner: Any, call: Call) -> None:
        self._inner = inner
        self._call = call

    @property
    def __class__(self) -> type[Any]:  # pyright: ignore[reportIncompatibleMethodOverride]
        """The stream's class, so that ``isinstance(stream, openai.Stream)`` holds."""
        return cast("type[Any]", self._inner.__class__)  # through other proxies too

    def __getattr__(self, name: str) -> Any:
        if name in ("_inner", "_call"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    def __repr__(self) -> str:
        return f"<traced {self._inner!r}>"

    def _item(self, item: Any) -> Any:
        call = self._call
        if not call.ended:  # read on after close(): nothing more to record
            call.on_chunk(item)
        return item

    def __del__(self) -> None:
        try:
            call = self._call
        except AttributeError:
            return
        if not call.ended:
            call.finish_early()


class TracedStream(_StreamBase):
    """A sync stream whose span ends with the stream."""

    __slots__ = ()

    def __iter__(self) -> TracedStream:
        return self

    def __next__(self) -> Any:
        try:
            item = next(self._inner)
        except StopIteration:
            self._call.finish(None, read_result=False)
            raise
        except BaseException as exc:
            self._call.fail(exc)
            raise
        return self._item(item)

    def close(self) -> None:
        try:
            close = getattr(self._inner, "close", None)
            if close is not None:
                close()
        finally:
            self._call.finish_early()

    def __enter__(self) -> TracedStream:
        enter = getattr(self._inner, "__enter__", None)
        if enter is not None:
            enter()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        fail_on_exit(self._call, exc_info)
        try:
            exit_ = getattr(self._inner, "__exit__", None)
            return exit_(*exc_info) if exit_ is not None else None
        finally:
            self._call.finish_early()


class TracedAsyncStream(_StreamBase):
    """An async stream whose span ends with the stream."""

    __slots__ = ()

    def __aiter__(self) -> TracedAsyncStream:
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self._inner.__anext__()
        except StopAsyncIteration:
            self._call.finish(None, read_result=False)
            raise
        except BaseException as exc:
            self._call.fail(exc)
            raise
        return self._item(item)

    async def aclose(self) -> None:
        try:
            close = getattr(self._inner, "aclose", None) or getattr(self._inner, "close", None)
            if close is not None:
                result = close()
                if inspect.isawaitable(result):
                    await result
        finally:
            self._call.finish_early()

    def __getattr__(self, name: str) -> Any:
        value = super().__getattr__(name)
        if name == "close":  # only where the stream has one: ``hasattr(stream, "close")`` stays the stream's
            return functools.partial(self._close, value)
        return value

    def _close(self, close: Callable[[], Any]) -> Any:
        """The stream's own ``close()`` (``await stream.close()`` for the OpenAI and Anthropic SDKs' async
        streams; a plain call for others): the span ends once it has run."""
        try:
            result = close()
        except BaseException:
            self._call.finish_early()
            raise
        if inspect.isawaitable(result):
            return self._closing(result)
        self._call.finish_early()
        return result

    async def _closing(self, closing: Awaitable[Any]) -> Any:
        try:
            return await closing
        finally:
            self._call.finish_early()

    async def __aenter__(self) -> TracedAsyncStream:
        enter = getattr(self._inner, "__aenter__", None)
        if enter is not None:
            await enter()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        fail_on_exit(self._call, exc_info)
        try:
            exit_ = getattr(self._inner, "__aexit__", None)
            return (await exit_(*exc_info)) if exit_ is not None else None
        finally:
            self._call.finish_early()
