"""A local HTTP server answering like the OpenAI and Anthropic APIs (canned responses, SSE streams)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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


def chunks() -> list[dict[str, Any]]:
    base = {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini-2024-07-18"}
    return [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Pa"}}]},
        {**base, "choices": [{"index": 0, "delta": {"content": "ris."}, "finish_reason": "stop"}]},
        {**base, "choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": 3, "total_tokens": 23}},
    ]


ANTHROPIC_MESSAGE = {
    "id": "msg_local",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [{"type": "text", "text": "Bonjour"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 10, "output_tokens": 4, "cache_read_input_tokens": 90, "cache_creation_input_tokens": 0},
}


class FakeLLMServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                outer.requests.append({"path": self.path, "body": body})
                if self.path.endswith("/chat/completions") and body.get("stream"):
                    payload = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks()) + "data: [DONE]\n\n"
                    self._send(payload.encode(), "text/event-stream")
                elif self.path.endswith("/chat/completions"):
                    self._send(json.dumps(CHAT_COMPLETION).encode(), "application/json")
                elif self.path.endswith("/messages"):
                    self._send(json.dumps(ANTHROPIC_MESSAGE).encode(), "application/json")
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def _send(self, data: bytes, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
