"""Renderings of a report (see ``_report.SCHEMA``): terminal, Markdown and a single-file HTML page whose
charts are inline SVG (no scripts, no network: it opens offline and prints well)."""

from __future__ import annotations

import html
import math
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from . import forecast_view
from .terminal import (
    SEVERITY_STYLE,
    Cell,
    Column,
    cost_text,
    evidence_line,
    fit_table,
    md,
    printable,
    safe,
    savings_text,
    text,
)

_COLOURS = ("#3b82f6", "#ef4444", "#10b981", "#f59e0b", "#8b5cf6", "#ec4899", "#14b8a6", "#64748b")


def _usd(x: float | None) -> str:
    if x is None:
        return "-"
    if 0 < abs(x) < 0.00005:
        return "<$0.0001"  # priced, just tiny: not to be read as an unknown cost
    return f"${x:,.4f}" if abs(x) < 10 else f"${x:,.2f}"


def _cost(x: float | None, unpriced: int) -> str:
    return cost_text(x, unpriced, _usd)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _secs(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x * 1000:,.0f} ms" if x < 1 else f"{x:,.2f} s"


def _span(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:,.0f} min"
    return f"{seconds / 3600:,.1f} h" if seconds < 3 * 86400 else f"{seconds / 86400:,.1f} days"


def _trend(x: float | None, *, lower_is_better: bool = False) -> str:
    if x is None:
        return ""
    arrow = "▲" if x > 0 else "▼" if x < 0 else "="
    good = (x < 0) if lower_is_better else (x > 0)
    return f"{arrow} {abs(x):.0%}" + ("" if x == 0 else (" (better)" if good else " (worse)"))


def kpis(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(name, value, target, trend) rows shared by every rendering."""
    s, t, tr = report["summary"], report["summary"]["targets"], report["trends"]
    seconds = report["period"]["seconds"]
    per_day = s["spend_usd"] * 86400 / seconds if seconds and s["spend_usd"] is not None else None
    unpriced: int = s["unpriced_calls"]
    daily = _usd(per_day)
    if unpriced:
        daily = "unpriced" if per_day is None else f"{daily} (priced calls only)"
    budget = t.get("daily_budget_usd")
    return [
        ("Health score", f"{s['health_score']:.0f}/100", "100", _trend(tr.get("health_score"))),
        ("Agent invocations", f"{s['agent_calls']:,}", "", _trend(tr.get("agent_calls"))),
        (
            "Agent success rate",
            _pct(s["agent_success_rate"]),
            f"≥ {t['agent_success_rate']:.0%}",
            _trend(tr.get("agent_success_rate")),
        ),
        (
            "Agent p95 latency",
            _secs(s["agent_p95_seconds"]),
            f"≤ {t['agent_p95_seconds']:g} s",
            _trend(tr.get("agent_p95_seconds"), lower_is_better=True),
        ),
        ("Spend", _cost(s["spend_usd"], unpriced), "", _trend(tr.get("spend_usd"), lower_is_better=True)),
        ("Spend per day (at this rate)", daily, f"≤ {_usd(budget)}" if budget else "", ""),
        ("Tokens in / out", f"{s['tokens']['input']:,} / {s['tokens']['output']:,}", "", ""),
    ]


def _table_rows(rows: list[dict[str, Any]], tokens: bool) -> list[list[str]]:
    out: list[list[str]] = []
    for r in rows:
        cells = [
            r["name"],
            f"{r['calls']:,}",
            _pct(r["error_rate"]),
            _secs(r["p50_seconds"]),
            _secs(r["p95_seconds"]),
            _secs(r["p99_seconds"]),
        ]
        if tokens:
            cells += [_cost(r["cost_usd"], r["unpriced_calls"]), f"{r['tokens_in']:,}", f"{r['tokens_out']:,}"]
        out.append(cells)
    return out


HEADERS = ["name", "calls", "errors", "p50", "p95", "p99"]
TOKEN_HEADERS = ["cost", "tokens in", "tokens out"]
_COLUMNS = [
    Column("name", justify="left", key=True),
    Column("calls"),
    Column("errors"),
    Column("p50", priority=2),
    Column("p95"),
    Column("p99", priority=3),
]
_TOKEN_COLUMNS = [Column("cost", wrap=True), Column("tokens in", priority=4), Column("tokens out", priority=4)]


def _evidence(s: dict[str, Any]) -> str:
    return evidence_line(s.get("evidence") or {}, s.get("confidence", "-"))


def terminal(report: dict[str, Any], console: Console) -> None:
    width = console.width
    p = report["period"]
    console.print(
        f"[bold]agentperf report[/] {safe(p['start'])} → {safe(p['end'])} ({_span(p['seconds'])}) "
        f"from {safe(report['source'])}"
    )
    console.print(
        fit_table(
            width,
            "Executive summary (trend vs. the previous period)",
            [Column("KPI", justify="left", key=True), Column("value", justify="left", wrap=True)]
            + [Column("target", justify="left", priority=1), Column("trend", justify="left", priority=2)],
            [list(row) for row in kpis(report)],
        )
    )
    for title, key, tokens in (("Agents", "agents", True), ("Models", "models", True), ("Tools", "tools", False)):
        rows: list[list[Cell]] = [[text(c[0]), *c[1:]] for c in _table_rows(report[key], tokens)]
        console.print(fit_table(width, title, _COLUMNS + (_TOKEN_COLUMNS if tokens else []), rows))
    recs: list[list[Cell]] = []
    for i, s in enumerate(report["recommendations"], 1):
        what = text(s["title"])
        what.append("\n" + _evidence(s), style="dim")
        recs.append(
            [
                str(i),
                text(s["severity"], SEVERITY_STYLE.get(s["severity"], "")),
                what,
                savings_text(s["savings_usd_per_day"], s["savings_seconds_per_day"]),
            ]
        )
    console.print(
        fit_table(
            width,
            "Recommendations, by priority",
            [Column("#"), Column("severity", justify="left")]
            + [Column("recommendation (evidence)", justify="left", wrap=True, min_width=40), Column("saves/day")],
            recs or [["-", "-", "nothing to improve in this period", "-"]],
        )
    )
    forecast_view.terminal(report, console)


def markdown(report: dict[str, Any]) -> str:
    p = report["period"]
    lines = [
        f"# agentperf report: {md(p['start'])} → {md(p['end'])}",
        "",
        f"Source: {md(report['source'])}",
        "",
        "## Executive summary",
        "",
        "| KPI | value | target | trend vs. previous period |",
        "|---|---|---|---|",
    ]
    lines += [f"| {md(a)} | {md(b)} | {md(c)} | {md(d)} |" for a, b, c, d in kpis(report)]
    for title, key, tokens in (("Agents", "agents", True), ("Models", "models", True), ("Tools", "tools", False)):
        headers = HEADERS + (TOKEN_HEADERS if tokens else [])
        lines += ["", f"## {title}", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(md(c) for c in cells) + " |" for cells in _table_rows(report[key], tokens)]
    lines += ["", "## Recommendations, by priority", ""]
    for i, s in enumerate(report["recommendations"], 1):
        saves = savings_text(s["savings_usd_per_day"], s["savings_seconds_per_day"])
        saves = f" — saves {md(saves)}/day" if saves != "-" else ""
        lines.append(
            f"{i}. **\\[{md(s['severity'])}\\] {md(s['title'])}**{saves}  \n   {md(s['description'])}  \n"
            f"   _Evidence: {md(_evidence(s))}_"
        )
    if not report["recommendations"]:
        lines.append("Nothing to improve in this period.")
    lines += forecast_view.markdown(report)
    return "\n".join(lines) + "\n"


def svg_chart(
    title: str, series: dict[str, list[list[float]]], unit: str, *, width: int = 560, height: int = 240
) -> str:
    """A line chart as inline SVG: axes, grid, one polyline per series, a legend."""
    legend_rows = max(1, (len(series) + 3) // 4)
    left, right, top, bottom = 64, 16, 30, 32 + 14 * legend_rows
    points = [p for pts in series.values() for p in pts]
    esc = _esc
    if not points:
        return (
            f'<figure class="chart"><svg role="img" aria-label="{esc(title)}" width="{width}" height="{height}">'
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="empty">no data in this period</text>'
            f"</svg><figcaption>{esc(title)}</figcaption></figure>"
        )
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y1 = max(p[1] for p in points) or 1.0
    x1 = x1 if x1 > x0 else x0 + 1

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def sy(y: float) -> float:
        return top + (1 - y / y1) * (height - top - bottom)

    parts = [
        f'<svg role="img" aria-label="{esc(title)}" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
    ]
    for i in range(5):
        y = y1 * i / 4
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{sy(y):.1f}" y2="{sy(y):.1f}"/>')
        parts.append(
            f'<text class="tick" x="{left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{esc(_fmt(y, unit))}</text>'
        )
    for i in range(4):
        x = x0 + (x1 - x0) * i / 3
        pattern = "%H:%M:%S" if x1 - x0 < 600 else "%H:%M" if x1 - x0 < 2 * 86400 else "%m-%d %H:%M"
        label = datetime.fromtimestamp(x, tz=UTC).strftime(pattern)
        anchor = "start" if i == 0 else "end" if i == 3 else "middle"
        parts.append(
            f'<text class="tick" x="{sx(x):.1f}" y="{height - bottom + 16}" text-anchor="{anchor}">{label}</text>'
        )
    for n, (name, pts) in enumerate(sorted(series.items())):
        colour = _COLOURS[n % len(_COLOURS)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        parts.append(
            f'<polyline class="line" data-series="{esc(name)}" fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>'
        )
        lx = left + (n % 4) * ((width - left) / 4)
        ly = height - 6 - 14 * (legend_rows - 1 - n // 4)
        parts.append(
            f'<rect x="{lx:.0f}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text class="legend" x="{lx + 14:.0f}" y="{ly}">{esc(name[:28])}</text>'
        )
    parts.append("</svg>")
    return f'<figure class="chart">{"".join(parts)}<figcaption>{esc(title)}</figcaption></figure>'


def _fmt(y: float, unit: str) -> str:
    if unit == "s":
        return _secs(y)
    if unit == "%":
        return f"{y:.0%}"
    if unit == "$":
        return f"${y:,.2f}" if y >= 1 else f"${y:.3f}"
    return f"{y:,.2f}"


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f8fafc;color:#0f172a}
header{background:#0f172a;color:#f8fafc;padding:20px 32px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#cbd5e1}main{padding:24px 32px;max-width:1200px}
h2{font-size:17px;margin:28px 0 10px}.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:12px}
.kpi{background:#fff;border:1px solid #e2e8f0;border-radius:10px;padding:12px 14px}
.kpi .name{color:#64748b;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.kpi .value{font-size:22px;font-weight:650;margin:2px 0}.kpi .meta{font-size:12px;color:#475569}
.better{color:#047857}.worse{color:#b91c1c}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:16px}
.chart{background:#fff;border:1px solid #e2e8f0;border-radius:10px;margin:0;padding:8px}
figcaption{font-weight:600;padding:2px 6px 0}.grid{stroke:#e2e8f0}.tick,.legend{font-size:11px;fill:#475569}
.empty{fill:#94a3b8}table{border-collapse:collapse;background:#fff;width:100%;border:1px solid #e2e8f0}
th,td{padding:6px 10px;border-bottom:1px solid #f1f5f9;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f1f5f9;font-weight:600}ol.recs li{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:8px 12px;margin:8px 0}
.sev{display:inline-block;padding:0 8px;border-radius:999px;font-size:12px;font-weight:600;color:#fff}
.sev.high{background:#dc2626}.sev.medium{background:#d97706}.sev.low{background:#64748b}
@media print{.charts{grid-template-columns:1fr 1fr}}
"""


def _esc(value: object) -> str:
    """HTML text of ``value``: escaped, and control characters shown as visible escapes."""
    return html.escape(printable(value))


def _html_table(rows: list[dict[str, Any]], tokens: bool) -> str:
    headers = HEADERS + (TOKEN_HEADERS if tokens else [])
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in cells) + "</tr>" for cells in _table_rows(rows, tokens)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body or '<tr><td>no data</td></tr>'}</tbody></table>"


def html_page(report: dict[str, Any]) -> str:
    esc = _esc
    p, charts = report["period"], report["series"]
    cards: list[str] = []
    for name, value, target, trend in kpis(report):
        cls = "better" if "better" in trend else "worse" if "worse" in trend else ""
        meta = " · ".join(
            x
            for x in (f"target {target}" if target else "", f'<span class="{cls}">{esc(trend)}</span>' if trend else "")
            if x
        )
        cards.append(
            f'<div class="kpi"><div class="name">{esc(name)}</div><div class="value">{esc(value)}</div><div class="meta">{meta}</div></div>'
        )
    latency = {k.split("_")[1]: v for k, v in charts.items() if k.startswith("latency_") and v}
    figures = [
        svg_chart("Agent latency percentiles", latency, "s"),
        svg_chart("Agent error rate", {"error rate": charts["error_rate"]} if charts["error_rate"] else {}, "%"),
        svg_chart("Spend per hour by agent", charts["spend_by_agent"], "$"),
        svg_chart("Spend per hour by model", charts["spend_by_model"], "$"),
    ]
    recs = (
        "".join(
            f'<li><span class="sev {esc(s["severity"])}">{esc(s["severity"])}</span> <b>{esc(s["title"])}</b>'
            + (
                f" — saves {esc(savings_text(s['savings_usd_per_day'], s['savings_seconds_per_day']))}/day"
                if savings_text(s["savings_usd_per_day"], s["savings_seconds_per_day"]) != "-"
                else ""
            )
            + f'<br><span class="meta">{esc(s["description"])}</span>'
            + f'<br><span class="meta evidence">Evidence: {esc(_evidence(s))}</span></li>'
            for s in report["recommendations"]
        )
        or "<li>Nothing to improve in this period.</li>"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>agentperf report {esc(p["start"])} → {esc(p["end"])}</title><style>{_CSS}</style></head>
<body><header><h1>agentperf report</h1><p>{esc(p["start"])} → {esc(p["end"])} · {_span(p["seconds"])} · {esc(report["source"])} · generated {esc(report["generated_at"])}</p></header>
<main><h2>Executive summary</h2><div class="kpis">{"".join(cards)}</div>
<h2>Trends</h2><div class="charts">{"".join(figures)}</div>
<h2>Recommendations, by priority</h2><ol class="recs">{recs}</ol>
{forecast_view.html_section(report)}
<h2>Agents</h2>{_html_table(report["agents"], True)}
<h2>Models</h2>{_html_table(report["models"], True)}
<h2>Tools</h2>{_html_table(report["tools"], False)}
</main></body></html>
"""
