"""What a traced LLM function returned: a plain result (the span ends now), or something that streams the
answer later, whose span stays open until it is consumed.

Decided once per class of result (cached, bounded): a stream (``__next__``/``__anext__``, e.g.
``create(stream=True)``) gets a counting proxy (``streams``); a streaming helper's manager (a class named
``...StreamManager`` with ``__enter__``/``__aenter__``, e.g. ``client.messages.stream(...)``) gets a proxy
whose entered stream is instrumented in place (``stream_helpers``). Anything else ends the span at return.
"""

from __future__ import annotations

from typing import Any, cast

from .. import semconv as sc
from .._errors import log_internal_error
from ..cost.usage import extract_usage
from .call import Call
from .stream_helpers import TracedAsyncStreamManager, TracedStreamManager
from .streams import TracedAsyncStream, TracedStream

_NOT_STREAMS = (str, bytes, bytearray, memoryview, list, tuple, dict, set, frozenset, type(None))
_PLAIN = 0
_ITERATOR = 1  # a stream unless it carries usage itself (a response object that happens to iterate)
_ASYNC_STREAM = 2
_MANAGER = 3
_ASYNC_MANAGER = 4
_MAX_CLASSES = 512
_kinds: dict[type[Any], int] = {}  # returned by sync functions
_async_kinds: dict[type[Any], int] = {}  # returned by coroutine functions


def _classify(cls: type[Any], from_async: bool) -> int:
    if issubclass(cls, _NOT_STREAMS):
        return _PLAIN
    is_iterator = hasattr(cls, "__next__")
    # Proxies of other instrumentations (wrapt) often have both: the function's own kind decides.
    if hasattr(cls, "__anext__") and (from_async or not is_iterator):
        return _ASYNC_STREAM
    if is_iterator:
        return _ITERATOR
    if cls.__name__.endswith("StreamManager"):
        if hasattr(cls, "__aenter__") and hasattr(cls, "__aexit__"):
            return _ASYNC_MANAGER
        if hasattr(cls, "__enter__") and hasattr(cls, "__exit__"):
            return _MANAGER
    return _PLAIN


def wrap_returned_stream(result: Any, call: Call, from_async: bool = False) -> Any | None:
    """A traced proxy for ``result`` if it streams, else ``None`` (the caller ends the call).

    ``from_async``: ``result`` was returned by a coroutine function (decided when it was decorated).
    """
    try:
        cls = cast("type[Any]", type(result))
        kinds = _async_kinds if from_async else _kinds
        kind = kinds.get(cls)
        if kind is None:
            kind = _classify(cls, from_async)
            if len(kinds) < _MAX_CLASSES:
                kinds[cls] = kind
        if kind == _PLAIN:
            return None
        if kind == _ITERATOR:
            if extract_usage(result) is not None:
                return None
            proxy: Any = TracedStream(result, call)
        elif kind == _ASYNC_STREAM:
            proxy = TracedAsyncStream(result, call)
        elif kind == _MANAGER:
            proxy = TracedStreamManager(result, call)
        else:
            proxy = TracedAsyncStreamManager(result, call)
        call.span.set_attribute(sc.GEN_AI_REQUEST_STREAM, True)
        call.detach_context()
        return proxy
    except Exception:  # noqa: BLE001
        log_internal_error("wrap_stream")
        return None
