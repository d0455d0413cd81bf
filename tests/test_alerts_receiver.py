"""The alerts receiver against malformed, huge, slow and hostile requests (issue 14, point 6).

A real ``AlertPrinter`` on 127.0.0.1 (an ephemeral port), spoken to over raw sockets so that broken
requests can be sent as they are. After every case the server must still answer a good notification.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from rich.console import Console

from otel_agentperf.stack.alerts import AlertPrinter

GOOD = {
    "status": "firing",
    "receiver": "console",
    "commonLabels": {"alertname": "AgentErrorRateHigh"},
    "alerts": [{"labels": {"alertname": "AgentErrorRateHigh", "severity": "warning", "agent": "x"}}],
}


@pytest.fixture
def printer() -> Iterator[AlertPrinter]:
    out = io.StringIO()
    p = AlertPrinter("127.0.0.1", 0, console=Console(file=out, width=200, color_system=None), timeout_s=0.5)
    thread = threading.Thread(target=p.serve_forever, daemon=True)
    thread.start()
    try:
        yield p
    finally:
        p.close()
        thread.join(5)


def send(port: int, raw: bytes, *, wait_s: float = 5.0) -> bytes:
    """Send ``raw`` and read the answer until the server closes or answers (what a client would see)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait_s) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR) if not raw.endswith(b"\r\n\r\n") else None
        chunks: list[bytes] = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                break
    return b"".join(chunks)


def post(body: bytes, length: str | None = "auto") -> bytes:
    head = b"POST /alerts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    if length == "auto":
        head += f"Content-Length: {len(body)}\r\n".encode()
    elif length is not None:
        head += f"Content-Length: {length}\r\n".encode()
    return head + b"\r\n" + body


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1."), answer[:100]
    return int(answer.split(b" ", 2)[1])


def still_alive(printer: AlertPrinter) -> None:
    before = len(printer.received)
    assert status_of(send(printer.port, post(json.dumps(GOOD).encode()))) == 200
    assert len(printer.received) == before + 1


MALFORMED: dict[str, bytes] = {
    "list": post(b"[]"),
    "null": post(b"null"),
    "number": post(b"42"),
    "alerts-a-string": post(b'{"alerts": "abc"}'),
    "alert-a-string": post(b'{"alerts": ["abc"]}'),
    "labels-a-list": post(b'{"alerts": [{"labels": ["a", "b"]}]}'),
    "annotations-a-string": post(b'{"alerts": [{"annotations": "x"}]}'),
    "common-labels-a-list": post(b'{"commonLabels": [1]}'),
    "not-json": post(b"hello"),
    "invalid-utf8": post(b'{"a": "\xff\xfe"}'),
    "deep-nesting": post(b"[" * 100_000 + b"]" * 100_000),
    "content-length-minus-one": post(b"{}", length="-1"),
    "content-length-not-a-number": post(b"{}", length="abc"),
    "content-length-missing": post(b"{}", length=None),
}
EXPECTED = {"content-length-missing": 411}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_every_malformed_request_gets_a_4xx_and_the_server_lives(printer: AlertPrinter, case: str) -> None:
    answer = send(printer.port, MALFORMED[case])
    assert status_of(answer) == EXPECTED.get(case, 400), answer[:200]
    assert printer.rejected == 1
    still_alive(printer)


def test_a_huge_body_is_refused_unread(printer: AlertPrinter) -> None:
    # Announced as 20 MB: refused from the header alone, before any of it is read into memory.
    answer = send(printer.port, post(b"", length=str(20 * 1024 * 1024)))
    assert status_of(answer) == 413
    still_alive(printer)


def test_a_body_shorter_than_announced_times_out(printer: AlertPrinter) -> None:
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", printer.port), timeout=5) as sock:
        sock.sendall(post(b"{", length="100"))  # then nothing more: a slow or stuck client
        answer = sock.recv(65536)  # the server gives up after timeout_s and closes
    assert answer == b"" or status_of(answer) == 400
    assert time.monotonic() - t0 < 4
    still_alive(printer)


def test_a_client_that_never_sends_headers_is_disconnected(printer: AlertPrinter) -> None:
    with socket.create_connection(("127.0.0.1", printer.port), timeout=5) as sock:
        sock.sendall(b"POST /alerts HTTP/1.1\r\n")  # and stalls
        t0 = time.monotonic()
        assert sock.recv(65536) == b""
        assert time.monotonic() - t0 < 4
    still_alive(printer)


def test_hostile_label_values_are_printed_as_text(printer: AlertPrinter) -> None:
    hostile = {
        "status": "firing[/]",
        "commonLabels": {"alertname": "[bold red]fake[/]"},
        "alerts": [
            {
                "labels": {"alertname": "A", "agent": "[/]\x1b]0;pwned\x07\x1b[2J", "model": "[link=x]y[/link]"},
                "annotations": {"summary": "[/][/][/]", "description": "\x9b31m"},
                "startsAt": {"not": "a string"},
            }
        ],
    }
    assert status_of(send(printer.port, post(json.dumps(hostile).encode()))) == 200
    file = printer.console.file
    assert isinstance(file, io.StringIO)
    out = file.getvalue()
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert "\\x1b]0;pwned\\x07" in out and "[bold red]fake[/]" in out and "[/][/][/]" in out
    still_alive(printer)
