"""``agentperf alerts``: an Alertmanager webhook receiver that prints notifications readably.

The default receiver of our Alertmanager config, so alerts are visible with no Slack or e-mail account.
``--record FILE`` also appends every notification as one JSON line (tests read it). It also serves the
runbooks the alerts' ``runbook_url`` point to: ``GET /runbooks/<AlertName>`` (deploy/prometheus/runbooks.md).

It listens on a port anyone on the host (or the network, with ``--host``) can reach, so it trusts nothing:
a body must be a JSON object shaped like Alertmanager's webhook payload (else 400), announce its length
(411) within ``MAX_BODY`` (413), and arrive within ``timeout_s`` (the connection is then closed); label and
annotation values are printed as text (no rich markup, control characters shown escaped). A bad request
never stops the server.
"""

from __future__ import annotations

import html
import json
import re
import sys
import threading
from collections import deque
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
from typing import Any, TextIO, cast

from rich.console import Console
from rich.markup import escape

from .bundle import StackError, deploy_dir


def runbooks() -> dict[str, str]:
    """Alert name → its runbook section (Markdown) from deploy/prometheus/runbooks.md; the preamble under ``""``."""
    text = (deploy_dir() / "prometheus" / "runbooks.md").read_text(encoding="utf-8")
    parts = re.split(r"^## (\w+)\s*$", text, flags=re.MULTILINE)
    out = {"": parts[0]}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        out[name] = f"## {name}\n{body}"
    return out


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", text)
    return re.sub(r"\*([^*]+)\*", r"<i>\1</i>", text)


def markdown_page(title: str, markdown: str) -> str:
    """The little Markdown the runbooks use (headings, paragraphs, numbered lists, code, bold, italics) as HTML."""
    body: list[str] = []
    para: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if para:
            body.append(f"<p>{_inline(' '.join(para))}</p>")
            para.clear()
        if items:
            body.append("<ol>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ol>")
            items.clear()

    for line in markdown.splitlines():
        heading = re.match(r"^(#{1,3}) (.*)$", line)
        item = re.match(r"^\d+\. (.*)$", line)
        if heading:
            flush()
            level = len(heading.group(1))
            body.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif item:
            if para:
                flush()
            items.append(item.group(1))
        elif not line.strip():
            flush()
        elif items and line.startswith("   "):
            items[-1] += " " + line.strip()
        else:
            para.append(line.strip())
    flush()
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body style='font-family:sans-serif;max-width:50em;margin:2em auto'>{''.join(body)}</body></html>"
    )


MAX_BODY = 1 << 20
"""Largest webhook body accepted (1 MiB): Alertmanager's notifications are a few kB per alert group."""
_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)]}


def text(value: object) -> str:
    """A label or annotation value as printable text: control characters (ESC, BEL...) shown as ``\\x1b``,
    rich markup escaped, length capped."""
    return escape(str(value)[:1000].translate(_CONTROL))


def check(payload: object) -> str | None:
    """Why ``payload`` is not an Alertmanager webhook notification, or ``None`` if it is one."""
    if not isinstance(payload, dict):
        return "the body must be a JSON object"
    alerts = cast("dict[str, Any]", payload).get("alerts", [])
    if not isinstance(alerts, list):
        return '"alerts" must be a list'
    for alert in cast("list[Any]", alerts):
        if not isinstance(alert, dict):
            return "every alert must be an object"
        for field in ("labels", "annotations"):
            values = cast("dict[str, Any]", alert).get(field, {})
            if not isinstance(values, dict):
                return f'"{field}" must be an object'
    for field in ("commonLabels", "commonAnnotations", "groupLabels"):
        if not isinstance(cast("dict[str, Any]", payload).get(field, {}), dict):
            return f'"{field}" must be an object'
    return None


def render(payload: dict[str, Any], console: Console, grafana: str) -> None:
    """Print one notification (``check`` it first); every value that came in the payload goes through ``text``."""
    status = str(payload.get("status", "?"))
    alerts: list[dict[str, Any]] = payload.get("alerts") or []
    colour = "red" if status == "firing" else "green"
    common: dict[str, str] = payload.get("commonLabels") or {}
    console.print(
        f"[bold {colour}]{text(status.upper())}[/] {text(common.get('alertname', ''))} "
        f"({len(alerts)} alert{'s' if len(alerts) != 1 else ''}, receiver {text(payload.get('receiver', '?'))})"
    )
    for alert in alerts:
        labels: dict[str, str] = alert.get("labels") or {}
        notes: dict[str, str] = alert.get("annotations") or {}
        severity = str(labels.get("severity", ""))
        sev_colour = {"critical": "red", "warning": "yellow"}.get(severity, "white")
        summary = text(notes.get("summary", labels.get("alertname", "")))
        console.print(f"  [{sev_colour}]{text(severity or '-')}[/] [bold]{summary}[/]")
        if notes.get("description"):
            console.print(f"    {text(notes['description'])}")
        scope = {k: v for k, v in labels.items() if k not in ("alertname", "severity")}
        if scope:
            console.print("    " + "  ".join(f"{text(k)}={text(v)}" for k, v in sorted(scope.items())))
        if notes.get("runbook_url"):
            console.print(f"    runbook: {text(notes['runbook_url'])}")
        if notes.get("dashboard"):
            console.print(f"    dashboard: {text(grafana.rstrip('/'))}{text(notes['dashboard'])}")
        started = alert.get("startsAt", "")
        if started:
            ended = f", resolved {text(alert.get('endsAt', ''))}" if status == "resolved" else ""
            console.print(f"    since {text(started)}{ended}")


class AlertPrinter:
    """A ThreadingHTTPServer accepting Alertmanager webhook POSTs on any path."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 9095,
        *,
        console: Console | None = None,
        record: TextIO | None = None,
        grafana: str = "http://localhost:3000",
        timeout_s: float = 10.0,
        max_body: int = MAX_BODY,
    ) -> None:
        # Piped output gets a fixed width so lines are not cut (a terminal uses its own width).
        self.console = console or Console(width=None if sys.stdout.isatty() else 140)
        self.record = record
        self.received: deque[dict[str, Any]] = deque(maxlen=1000)  # the latest notifications, for tests
        self.rejected = 0  # requests answered with a 4xx
        self._lock = threading.Lock()
        printer = self

        class Handler(BaseHTTPRequestHandler):
            timeout = timeout_s  # a client that stalls (headers or body) is disconnected after this

            def do_POST(self) -> None:
                try:
                    status, reason = printer.receive(self.headers.get("Content-Length"), self.rfile)
                except OSError:  # the client timed out or went away mid-body: nobody to answer
                    self.close_connection = True
                    return
                self.send_response(status)
                data = (reason + "\n").encode() if reason else b""
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                if status >= 400:
                    self.send_header("Connection", "close")  # an unread body must not be taken as a request
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                status, content_type, text = printer.page(self.path)
                data = text.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.grafana = grafana
        self.max_body = max_body

    def receive(self, length_header: str | None, body: BufferedIOBase) -> tuple[int, str]:
        """(HTTP status, reason) for one POST: read at most ``max_body`` bytes, check, print, record."""
        if length_header is None:
            return self._reject(411, "Content-Length required")
        try:
            length = int(length_header)
        except ValueError:
            return self._reject(400, "bad Content-Length")
        if length < 0:
            return self._reject(400, "bad Content-Length")
        if length > self.max_body:
            return self._reject(413, f"body over {self.max_body} bytes")
        data = body.read(length)
        if len(data) < length:
            return self._reject(400, "body shorter than its Content-Length")
        try:
            payload = json.loads(data)
        except (ValueError, RecursionError):
            return self._reject(400, "the body is not JSON")
        problem = check(payload)
        if problem is not None:
            return self._reject(400, problem)
        try:
            self.accept(payload)
        except Exception:  # noqa: BLE001 - printing one notification must not stop the receiver
            return 500, "could not print the notification"
        return 200, ""

    def _reject(self, status: int, reason: str) -> tuple[int, str]:
        with self._lock:
            self.rejected += 1
        return status, reason

    def accept(self, payload: dict[str, Any]) -> None:
        with self._lock:
            self.received.append(payload)
            render(payload, self.console, self.grafana)
            if self.record is not None:
                self.record.write(json.dumps({"received_at": datetime.now().isoformat(), **payload}) + "\n")
                self.record.flush()

    def page(self, path: str) -> tuple[int, str, str]:
        """(status, content type, body) for a GET: the runbooks, their index, or a pointer to them."""
        html_type = "text/html; charset=utf-8"
        name = path.split("?", 1)[0].rstrip("/").removeprefix("/runbooks").lstrip("/")
        if not path.startswith("/runbooks"):
            return 200, "text/plain; charset=utf-8", "agentperf alerts: POST Alertmanager webhooks to /alerts\n"
        try:
            books = runbooks()
        except (OSError, StackError) as exc:
            return 500, "text/plain; charset=utf-8", f"no runbooks: {exc}\n"
        if not name:
            links = "\n".join(f"{i}. [`{n}`](/runbooks/{n})" for i, n in enumerate(sorted(books)[1:], 1))
            page = markdown_page("otel_agentperf runbooks", books[""] + "\n" + links)
            return 200, html_type, re.sub(r"\[<code>(\w+)</code>\]\((/runbooks/\w+)\)", r"<a href='\2'>\1</a>", page)
        if name not in books or not name:
            return 404, "text/plain; charset=utf-8", f"no runbook named {name!r}; see /runbooks/\n"
        return 200, html_type, markdown_page(f"Runbook: {name}", books[name])

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
