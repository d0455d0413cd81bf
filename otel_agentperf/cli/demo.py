"""``agentperf demo``: run the simulated system (``demo_system``) with live progress, then print what the
SDK measured (latency, tokens, cost per agent, model and tool), the ranked suggestions and health."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from typing import Any

from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from .. import semconv as sc
from ..insights.suggest import Snapshot, evaluate, health_score
from ..insights.summary import Group, add_cost, add_tokens, coverage, group_latency
from ..setup.configure import configure, shutdown
from ..tracing.record import conversation, top_conversations
from ..tracing.state import STATE
from .demo_system import Progressed, Sim, build
from .terminal import PIPED_WIDTH, Cell, Column, cost_text, fit_table, suggestion_table, terminal, text


async def run_workload(
    duration: float,
    rate: float,
    seed: int,
    scale: float,
    progress: Progress | None,
    fault_window: tuple[float, float] | None = None,
    drift_window: tuple[float, float] | None = None,
) -> Progressed:
    sim = Sim(seed, scale, fault_window, drift_window=drift_window)
    research = build(sim)
    pending: set[asyncio.Task[None]] = set()

    async def one(n: int, at: float) -> None:
        sim.stream(f"request-{n}", at)
        sim.stats.started += 1
        session = f"session-{n % 25}"
        try:
            with conversation(session):
                await research(f"question {n}", session, n // 25)
            sim.stats.done += 1
        except Exception:  # noqa: BLE001 - a failed request is part of the simulation
            sim.stats.failed += 1

    task_id = progress.add_task("running", total=duration) if progress is not None else None
    start = time.monotonic()
    # The plan is fixed before the first request: how many start and when depends on seed, duration and
    # rate only, never on how fast this machine runs them.
    plan = sim.arrivals(duration, rate)
    for n, at in enumerate(plan):
        while (elapsed := time.monotonic() - start) < at:
            _show(progress, task_id, sim.stats, len(pending), elapsed, duration)
            await asyncio.sleep(min(0.05, at - elapsed))
        task = asyncio.create_task(one(n, at))
        pending.add(task)
        task.add_done_callback(pending.discard)
    while (elapsed := time.monotonic() - start) < duration:
        _show(progress, task_id, sim.stats, len(pending), elapsed, duration)
        await asyncio.sleep(min(0.05, duration - elapsed))
    if progress is not None and task_id is not None:
        progress.update(task_id, completed=duration, description=f"draining {len(pending)} running requests")
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    return sim.stats


def _show(
    progress: Progress | None, task_id: TaskID | None, s: Progressed, running: int, elapsed: float, duration: float
) -> None:
    if progress is not None and task_id is not None:
        progress.update(
            task_id,
            completed=min(elapsed, duration),
            description=(
                f"requests {s.done} ok / {s.failed} failed / {running} running · "
                f"LLM calls {s.llm_calls} · tokens {s.tokens:,}"
            ),
        )


def _secs(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    return f"{seconds * 1000:,.0f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.1%}"


def summary_data(reader: InMemoryMetricReader) -> dict[str, Any]:
    """Per agent, model and tool: calls, errors, p50/p95 seconds, token sums and cost (from the exported
    metrics). A cost is what the priced calls cost, ``None`` when no call was priced; ``unpriced_calls``
    says how many calls (of models without a price) it leaves out."""
    data = reader.get_metrics_data()
    agents = group_latency(data, sc.INVOKE_AGENT_DURATION, sc.GEN_AI_AGENT_NAME)
    models = group_latency(data, sc.CLIENT_OPERATION_DURATION, sc.GEN_AI_REQUEST_MODEL)
    add_tokens(data, sc.CLIENT_TOKEN_USAGE, sc.GEN_AI_REQUEST_MODEL, models)
    add_tokens(data, sc.CLIENT_TOKEN_USAGE, sc.GEN_AI_AGENT_NAME, agents)
    add_cost(data, sc.CLIENT_OPERATION_COST, sc.GEN_AI_REQUEST_MODEL, models)
    add_cost(data, sc.CLIENT_OPERATION_COST, sc.GEN_AI_AGENT_NAME, agents)
    tools = group_latency(data, sc.EXECUTE_TOOL_DURATION, sc.GEN_AI_TOOL_NAME)
    covered = coverage(data)
    by_agent, by_model = covered.split()
    for name, (_, unpriced) in by_agent.items():
        if name in agents:
            agents[name].unpriced_calls = unpriced
    for (_, model), (_, unpriced) in by_model.items():
        if model in models:
            models[model].unpriced_calls += unpriced

    def rows(groups: dict[str, Group]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name in sorted(groups):
            g = groups[name]
            if g.latency is None:
                continue
            out[name] = {
                "calls": g.calls,
                "errors": g.errors,
                "p50_seconds": g.latency.quantile(0.5),
                "p95_seconds": g.latency.quantile(0.95),
                "p99_seconds": g.latency.quantile(0.99),
                "input_tokens": g.tokens.get("input", 0.0),
                "output_tokens": g.tokens.get("output", 0.0),
                "llm_cost_usd": g.cost,
                "unpriced_calls": g.unpriced_calls,
            }
        return out

    conversations = {
        c.conversation_id: {"total_usd": c.total_usd, "priced_calls": c.priced_calls, "rating": c.rating}
        for c in top_conversations(5)
    }
    other = 0.0
    for rm in data.resource_metrics if data is not None else ():
        for scope in rm.scope_metrics:
            for metric in scope.metrics:
                if metric.name == sc.OTHER_COST:
                    other += sum(getattr(p, "value", 0.0) for p in metric.data.data_points)
    llm = sum(g.cost_usd for g in models.values())
    unpriced = covered.unpriced_calls
    nothing_priced = unpriced > 0 and covered.priced_calls == 0
    return {
        "spend": {
            "llm_usd": None if nothing_priced else llm,
            "other_usd": other,
            "total_usd": None if nothing_priced and not other else llm + other,
            "unpriced_calls": unpriced,
        },
        "agents": rows(agents),
        "models": rows(models),
        "tools": rows(tools),
        "conversations": conversations,
    }


def _usd(x: float) -> str:
    if 0 < x < 0.00005:
        return "<$0.0001"  # priced, just tiny: not to be read as an unknown cost
    return f"${x:,.4f}" if x < 10 else f"${x:,.2f}"


def summary_tables(summary: dict[str, Any], width: int = PIPED_WIDTH) -> list[Table]:
    """Agents, models, tools and conversations, each fitted to ``width`` columns."""

    def table(title: str, first: str, rows: dict[str, dict[str, Any]], with_tokens: bool) -> Table:
        columns = [Column(first, justify="left", key=True), Column("calls"), Column("p50", priority=3), Column("p95")]
        columns.append(Column("success", priority=2))
        if with_tokens:
            columns += [Column("in tokens", priority=4), Column("out tokens", priority=4)]
            columns.append(Column("LLM cost", wrap=True))
        cells: list[list[Cell]] = []
        for name, r in rows.items():
            calls = r["calls"]
            row: list[Cell] = [
                text(name),
                f"{calls:,.0f}",
                _secs(r["p50_seconds"]),
                _secs(r["p95_seconds"]),
                _pct(1 - r["errors"] / calls if calls else math.nan),
            ]
            if with_tokens:
                cost = cost_text(r["llm_cost_usd"], r["unpriced_calls"], _usd)
                row += [f"{r['input_tokens']:,.0f}", f"{r['output_tokens']:,.0f}", cost]
            cells.append(row)
        return fit_table(width, title, columns, cells)

    conversations = fit_table(
        width,
        "Most expensive conversations (LLM + tool costs)",
        [Column("conversation", justify="left", key=True), Column("cost"), Column("priced LLM calls", priority=1)]
        + [Column("rating")],
        [
            [text(cid), _usd(row["total_usd"]), f"{row['priced_calls']:,}", row["rating"]]
            for cid, row in summary["conversations"].items()
        ],
    )
    return [
        table("Agents", "agent", summary["agents"], True),
        table("Models", "model", summary["models"], True),
        table("Tools", "tool", summary["tools"], False),
        conversations,
    ]


def one_estimator(snap: Snapshot, summary: dict[str, Any]) -> Snapshot:
    """The snapshot the rules read, with the summary's percentiles (``histogram_quantile`` over the exported
    buckets) in place of the in-process sketch's: a suggestion quotes the number the table shows."""
    for rows, table in ((snap.agents, "agents"), (snap.tools, "tools"), (snap.provider_models, "models")):
        for row in rows:
            name = row.key[-1]
            # The table groups models by the requested name; a row may carry the response's dated one.
            match = [m for m in summary[table] if name == m or (table == "models" and name.startswith(f"{m}-"))]
            measured = summary[table][max(match, key=len)] if match else None
            if measured is not None:
                row.p50, row.p95, row.p99 = (measured[f"p{q}_seconds"] for q in (50, 95, 99))
    return snap


def run_demo(
    *,
    duration: float = 30.0,
    rate: float = 2.0,
    seed: int = 7,
    otlp: str | None = None,
    port: int = 9464,
    time_scale: float = 1.0,
    linger: float = 0.0,
    json_path: str | None = None,
    fault_at: float | None = None,
    fault_for: float = 30.0,
    drift_at: float | None = None,
    drift_for: float = 60.0,
    console: Console | None = None,
) -> int:
    """Run the simulated agents with live progress, then print the summary. Returns an exit code."""
    console = console or terminal()
    fault_window = (fault_at, fault_at + fault_for) if fault_at is not None else None
    # Our warnings (e.g. the unpriced moderation model) print above the progress bar, not through it.
    log = logging.getLogger("otel_agentperf")
    if not log.handlers:
        log.addHandler(RichHandler(console=console, show_path=False, show_time=False))
        log.propagate = False
    reader = InMemoryMetricReader()
    setup = configure(
        service_name="agentperf-demo",
        traces_exporter="otlp" if otlp else "none",
        metrics_exporter=["prometheus", "otlp"] if otlp else ["prometheus"],
        otlp_endpoint=otlp,
        prometheus_port=port,
        metric_readers=[reader],
        metric_export_interval_ms=5000,
        # The simulated world runs time_scale times faster; so does the latency target.
        thresholds={"slow_p95_s": 5.0 * time_scale},
    )
    if setup.prometheus_url:
        console.print(f"[bold]Prometheus metrics:[/] {setup.prometheus_url}")
    else:
        console.print(f"[yellow]Port {port} is busy: no Prometheus endpoint (try --port 0)[/]")
    if otlp:
        console.print(f"[bold]OTLP export:[/] {otlp}")
    console.print(f"Simulating agents for {duration:g} s at {rate:g} requests/s (seed {seed})")
    drift = (drift_at, drift_at + drift_for) if drift_at is not None else None
    if drift is not None:
        console.print(f"[yellow]Drift from {drift[0]:g} s to {drift[1]:g} s: latency and tokens creep up to 4×[/]")
    if fault_window is not None:
        console.print(
            f"[yellow]Fault injection from {fault_window[0]:g} s to {fault_window[1]:g} s: the writer crashes "
            "70% of the time and every topic gets an expensive deep dive (cost spike)[/]"
        )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal and console.quiet,
    ) as progress:
        stats = asyncio.run(run_workload(duration, rate, seed, time_scale, progress, fault_window, drift))
    console.print(
        f"\n[bold]{stats.started} requests[/]: {stats.done} succeeded, {stats.failed} failed; "
        f"{stats.llm_calls} LLM calls, {stats.tokens:,} tokens\n"
    )
    summary = summary_data(reader)
    spend = summary["spend"]
    llm = "unpriced" if spend["llm_usd"] is None else _usd(spend["llm_usd"])
    console.print(
        f"[bold]Spend:[/] {cost_text(spend['total_usd'], spend['unpriced_calls'], _usd)} = {llm} LLM calls "
        f"+ {_usd(spend['other_usd'])} paid tool APIs (record_cost)\n"
    )
    console.print(
        "[dim]p50 / p95: histogram_quantile() over the exported buckets, as Prometheus computes them; "
        "the suggestions and the health score below use the same percentiles.[/]"
    )
    for table in summary_tables(summary, console.width):
        console.print(table)
    advisor = STATE.advisor
    snap = one_estimator(advisor.snapshot(), summary)
    ranked = evaluate(snap, advisor.thresholds, advisor.rules)
    score, parts = health_score(snap, advisor.thresholds)
    console.print(suggestion_table(ranked, width=console.width))
    console.print(
        f"[bold]Health score {score:.0f}/100[/] "
        + " · ".join(f"{name} {value:.0%}" for name, value in parts.items())
        + "  (agentperf.health.score; formula in the README)"
    )
    if json_path:
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "requests": vars(stats),
                    **summary,
                    "suggestions": [s.as_dict() for s in ranked],
                    "health": {"score": score, **parts},
                },
                f,
                indent=2,
            )
    if linger > 0 and setup.prometheus_url:
        console.print(f"Serving {setup.prometheus_url} for {linger:g} s more")
        time.sleep(linger)
    shutdown()
    return 0
