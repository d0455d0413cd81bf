"""Streams returned by a traced LLM call (e.g. ``client.chat.completions.create(stream=True)``).

The span stays open until the stream is exhausted, closed, left through ``with``, fails, or is garbage
collected; usage is read from the chunks as they pass. Everything else is forwarded to the real stream.
"""

from __future__ import annotations

from typing import Any, cast

from .._errors import log_internal_error
from ..cost.usage import extract_usage
from .call import Call

_NOT_STREAMS = (str, bytes, bytearray, memoryview, list, tuple, dict, set, frozenset)


def wrap_returned_stream(result: Any, call: Call) -> Any | None:
    """A traced proxy for ``result`` if it is a stream, else ``None`` (the caller ends the call)."""
    try:
        if result is None or isinstance(result, _NOT_STREAMS):
            return None
        cls = cast("type[Any]", type(result))
        if hasattr(cls, "__anext__"):
            proxy: Any = TracedAsyncStream(result, call)
        elif hasattr(cls, "__next__") and extract_usage(result) is None:
            proxy = TracedStream(result, call)
        else:
            return None
        call.detach_context()
        return proxy
    except Exception:  # noqa: BLE001
        log_internal_error("wrap_stream")
        return None


class _StreamBase:
    __slots__ = ("_inner", "_call", "__weakref__")

    def __init__(self, inner: Any, call: Call) -> None:
        self._inner = inner
        self._call = call

    def __getattr__(self, name: str) -> Any:
        if name in ("_inner", "_call"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    def __repr__(self) -> str:
        return f"<traced {self._inner!r}>"

    def _item(self, item: Any) -> Any:
        self._call.on_chunk(item)
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
                await close()
        finally:
            self._call.finish_early()

    async def __aenter__(self) -> TracedAsyncStream:
        enter = getattr(self._inner, "__aenter__", None)
        if enter is not None:
            await enter()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            exit_ = getattr(self._inner, "__aexit__", None)
            return (await exit_(*exc_info)) if exit_ is not None else None
        finally:
            self._call.finish_early()
