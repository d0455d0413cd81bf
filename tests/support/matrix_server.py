"""A local server answering like OpenAI's chat completions and Anthropic's messages, for the cost matrix.

Unlike ``fake_llm_server`` every answer has its own response id (as the real APIs do: instrumentations that
do not nest are matched by it), and the usage is chosen so that every token kind has a price of its own.
Streams follow the real APIs' event shapes.
"""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any

from otel_agentperf.cost.usage import Usage
from tests.support.local_http import JsonPostHandler, LocalServer

OPENAI_MODEL = "gpt-4o-mini"
OPENAI_RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"
OPENAI_USAGE = {
    "prompt_tokens": 1200,
    "completion_tokens": 80,
    "total_tokens": 1280,
    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
}
OPENAI_TRUE_USAGE = Usage(input_tokens=1200, output_tokens=80, cache_read_tokens=1024)
"""What one OpenAI call consumed, as the GenAI conventions count it."""

ANTHROPIC_MODEL = "claude-sonnet-4-6"
ANTHROPIC_USAGE = {
    "input_tokens": 300,
    "output_tokens": 50,
    "cache_read_input_tokens": 2000,
    "cache_creation_input_tokens": 100,
}
ANTHROPIC_TRUE_USAGE = Usage(input_tokens=2400, output_tokens=50, cache_read_tokens=2000, cache_write_tokens=100)
"""What one Anthropic call consumed (input counts cached and cache-written tokens, as the conventions do)."""


def chat_completion(n: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-matrix-{n}",
        "object": "chat.completion",
        "created": 1,
        "model": OPENAI_RESPONSE_MODEL,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Paris."}}],
        "usage": OPENAI_USAGE,
    }


def chat_chunks(n: int) -> list[dict[str, Any]]:
    base = {"id": f"chatcmpl-matrix-{n}", "object": "chat.completion.chunk", "created": 1}
    base["model"] = OPENAI_RESPONSE_MODEL
    return [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Pa"}}], "usage": None},
        {**base, "choices": [{"index": 0, "delta": {"content": "ris."}, "finish_reason": "stop"}], "usage": None},
        {**base, "choices": [], "usage": OPENAI_USAGE},
    ]


def message(n: int) -> dict[str, Any]:
    return {
        "id": f"msg_matrix_{n}",
        "type": "message",
        "role": "assistant",
        "model": ANTHROPIC_MODEL,
        "content": [{"type": "text", "text": "Bonjour"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": ANTHROPIC_USAGE,
    }


def message_events(n: int) -> list[dict[str, Any]]:
    start = {**message(n), "content": [], "stop_reason": None, "usage": {**ANTHROPIC_USAGE, "output_tokens": 1}}
    delta = {"type": "content_block_delta", "index": 0}
    return [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {**delta, "delta": {"type": "text_delta", "text": "Bon"}},
        {**delta, "delta": {"type": "text_delta", "text": "jour"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 50},
        },
        {"type": "message_stop"},
    ]


class MatrixServer(LocalServer):
    """OpenAI-compatible under ``/v1/chat/completions``, Anthropic-compatible under ``/v1/messages``."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        outer = self

        class Handler(JsonPostHandler):
            def do_POST(self) -> None:
                body = self.json_body()
                with outer._lock:
                    outer.requests.append(self.path)
                    n = next(outer._ids)
                stream = bool(body.get("stream"))
                if self.path.endswith("/chat/completions") and stream:
                    data = "".join(f"data: {json.dumps(c)}\n\n" for c in chat_chunks(n)) + "data: [DONE]\n\n"
                    self.send_body(data.encode(), "text/event-stream")
                elif self.path.endswith("/chat/completions"):
                    self.send_body(json.dumps(chat_completion(n)).encode(), "application/json")
                elif self.path.endswith("/messages") and stream:
                    events = message_events(n)
                    sse = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
                    self.send_body(sse.encode(), "text/event-stream")
                elif self.path.endswith("/messages"):
                    self.send_body(json.dumps(message(n)).encode(), "application/json")
                else:
                    self.not_found()

        super().__init__(Handler)
