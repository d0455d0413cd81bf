"""``agentperf alerts``: an Alertmanager webhook receiver that prints notifications readably.

The default receiver of our Alertmanager config, so alerts are visible with no Slack or e-mail account.
``--record FILE`` also appends every notification as one JSON line (tests read it). It also serves the
runbooks the alerts' ``runbook_url`` point to: ``GET /runbooks/<AlertName>`` (deploy/prometheus/runbooks.md).
"""

from __future__ import annotations

import html
import json
import re
import sys
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

from rich.console import Console

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


def render(payload: dict[str, Any], console: Console, grafana: str) -> None:
    status = str(payload.get("status", "?"))
    alerts: list[dict[str, Any]] = payload.get("alerts") or []
    colour = "red" if status == "firing" else "green"
    common: dict[str, str] = payload.get("commonLabels") or {}
    console.print(
        f"[bold {colour}]{status.upper()}[/] {common.get('alertname', '')} "
        f"({len(alerts)} alert{'s' if len(alerts) != 1 else ''}, receiver {payload.get('receiver', '?')})"
    )
    for alert in alerts:
        labels: dict[str, str] = alert.get("labels") or {}
        notes: dict[str, str] = alert.get("annotations") or {}
        severity = labels.get("severity", "")
        sev_colour = {"critical": "red", "warning": "yellow"}.get(severity, "white")
        console.print(
            f"  [{sev_colour}]{severity or '-'}[/] [bold]{notes.get('summary', labels.get('alertname', ''))}[/]"
        )
        if notes.get("description"):
            console.print(f"    {notes['description']}")
        scope = {k: v for k, v in labels.items() if k not in ("alertname", "severity")}
        if scope:
            console.print("    " + "  ".join(f"{k}={v}" for k, v in sorted(scope.items())))
        if notes.get("runbook_url"):
            console.print(f"    runbook: {notes['runbook_url']}")
        if notes.get("dashboard"):
            console.print(f"    dashboard: {grafana.rstrip('/')}{notes['dashboard']}")
        started = alert.get("startsAt", "")
        if started:
            console.print(f"    since {started}" + (f", resolved {alert['endsAt']}" if status == "resolved" else ""))


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
    ) -> None:
        # Piped output gets a fixed width so lines are not cut (a terminal uses its own width).
        self.console = console or Console(width=None if sys.stdout.isatty() else 140)
        self.record = record
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        printer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                try:
                    body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                    payload = json.loads(body)
                except (ValueError, OSError):
                    self.send_response(400)
                    self.end_headers()
                    return
                printer.accept(payload)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

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
        self.port = int(self.httpd.server_address[1])
        self.grafana = grafana

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
