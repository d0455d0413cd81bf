"""``agentperf alerts``: an Alertmanager webhook receiver that prints notifications readably.

The default receiver of our Alertmanager config, so alerts are visible with no Slack or e-mail account.
``--record FILE`` also appends every notification as one JSON line (tests read it).
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

from rich.console import Console


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
        if notes.get("runbook"):
            console.print(f"    runbook: {notes['runbook']}")
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

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
