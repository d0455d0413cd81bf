"""A local HTTP server answering like the OpenAI and Anthropic APIs (canned responses, SSE streams).

Streams follow the real APIs' event shapes: Anthropic ``event:``/``data:`` pairs (``message_start`` with the
prompt's usage, ``content_block_*``, ``ping``, ``message_delta`` with the output usage, ``message_stop``; or
an ``error`` event after ``message_start``, see ``OVERLOADED_MID_STREAM``),
OpenAI Responses events (``response.created`` ... ``response.completed`` with usage), and chat completion
chunks that end with a usage chunk only when ``stream_options.include_usage`` is set.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.local_http import JsonPostHandler, LocalServer

CHAT_COMPLETION = {
    "id": "chatcmpl-local",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Paris."}}],
    "usage": {
        "prompt_tokens": 57,
        "completion_tokens": 9,
        "total_tokens": 66,
        "prompt_tokens_details": {"cached_tokens": 32},
        "completion_tokens_details": {"reasoning_tokens": 0},
    },
}

CHAT_STREAM_USAGE = {
    "prompt_tokens": 20,
    "completion_tokens": 3,
    "total_tokens": 23,
    "prompt_tokens_details": {"cached_tokens": 8, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
}


def chunks(include_usage: bool = True) -> list[dict[str, Any]]:
    """Chat completion chunks; the last one (no choices, only usage) as sent with ``include_usage``."""
    base = {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini-2024-07-18"}
    usage: dict[str, Any] = {"usage": None} if include_usage else {}
    out = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Pa"}}], **usage},
        {**base, "choices": [{"index": 0, "delta": {"content": "ris."}, "finish_reason": "stop"}], **usage},
    ]
    if include_usage:
        out.append({**base, "choices": [], "usage": CHAT_STREAM_USAGE})
    return out


ANTHROPIC_MESSAGE = {
    "id": "msg_local",
    "type": "message",
    "role": "assistant",
    "model": "claude-haiku-4-5-20251001",
    "content": [{"type": "text", "text": "Bonjour"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 10, "output_tokens": 4, "cache_read_input_tokens": 90, "cache_creation_input_tokens": 0},
}


OVERLOADED_MID_STREAM = "overload mid-stream"
"""An Anthropic request whose last message says this gets ``message_start``, then an ``error`` event."""


def anthropic_events(fail: bool = False) -> list[tuple[str, dict[str, Any]]]:
    """The events of a streamed ``ANTHROPIC_MESSAGE``: (event name, data)."""
    start = {
        **ANTHROPIC_MESSAGE,
        "content": [],
        "stop_reason": None,
        "usage": {
            "input_tokens": 10,
            "output_tokens": 1,
            "cache_read_input_tokens": 90,
            "cache_creation_input_tokens": 0,
        },
    }
    delta = {"type": "content_block_delta", "index": 0}
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        {**delta, "delta": {"type": "text_delta", "text": "Bon"}},
        {**delta, "delta": {"type": "text_delta", "text": "jour"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 4},
        },
        {"type": "message_stop"},
    ]
    if fail:
        events[1:] = [{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}]
    return [(e["type"], e) for e in events]


RESPONSES_MODEL = "gpt-4.1-mini-2025-04-14"
RESPONSES_USAGE = {
    "input_tokens": 120,
    "input_tokens_details": {"cached_tokens": 64, "cache_write_tokens": 0},
    "output_tokens": 6,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 126,
}


def responses_events() -> list[tuple[str, dict[str, Any]]]:
    """The events of a streamed Responses API answer "Hello!": (event name, data), as the API sends them."""
    response: dict[str, Any] = {
        "id": "resp_local",
        "object": "response",
        "created_at": 1,
        "status": "in_progress",
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": RESPONSES_MODEL,
        "output": [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "temperature": 1.0,
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": None,
        "metadata": {},
    }
    item_id = "msg_resp_local"
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    at = {"item_id": item_id, "output_index": 0, "content_index": 0}
    done_part = {**part, "text": "Hello!"}
    item = {"id": item_id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    done_item = {**item, "status": "completed", "content": [done_part]}
    completed = {**response, "status": "completed", "output": [done_item], "usage": RESPONSES_USAGE}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": response},
        {"type": "response.in_progress", "response": response},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.content_part.added", **at, "part": part},
        {"type": "response.output_text.delta", **at, "delta": "Hel", "logprobs": []},
        {"type": "response.output_text.delta", **at, "delta": "lo!", "logprobs": []},
        {"type": "response.output_text.done", **at, "text": "Hello!", "logprobs": []},
        {"type": "response.content_part.done", **at, "part": done_part},
        {"type": "response.output_item.done", "output_index": 0, "item": done_item},
        {"type": "response.completed", "response": completed},
    ]
    return [(e["type"], {**e, "sequence_number": n}) for n, e in enumerate(events)]


def _sse(events: list[tuple[str, dict[str, Any]]]) -> bytes:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events).encode()


class FakeLLMServer(LocalServer):
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(JsonPostHandler):
            def do_POST(self) -> None:
                body = self.json_body()
                outer.requests.append({"path": self.path, "body": body})
                stream = bool(body.get("stream"))
                if self.path.endswith("/chat/completions") and stream:
                    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                    payload = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks(include_usage)) + "data: [DONE]\n\n"
                    self.send_body(payload.encode(), "text/event-stream")
                elif self.path.endswith("/chat/completions"):
                    self.send_body(json.dumps(CHAT_COMPLETION).encode(), "application/json")
                elif self.path.endswith("/messages") and stream:
                    messages = body.get("messages") or [{}]
                    fail = messages[-1].get("content") == OVERLOADED_MID_STREAM
                    self.send_body(_sse(anthropic_events(fail)), "text/event-stream")
                elif self.path.endswith("/messages"):
                    self.send_body(json.dumps(ANTHROPIC_MESSAGE).encode(), "application/json")
                elif self.path.endswith("/responses") and stream:
                    self.send_body(_sse(responses_events()), "text/event-stream")
                else:
                    self.not_found()

        super().__init__(Handler)
