"""``agentperf demo``: run the simulated system (``demo_system``) with live progress, then print what the
SDK measured (latency, tokens, cost per agent, model and tool), the ranked suggestions and health."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
from typing import Any

from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .. import semconv as sc
from ..insights.summary import Group, add_cost, add_tokens, coverage, group_latency
from ..setup.configure import configure, shutdown
from ..tracing.record import conversation, health, suggestions, top_conversations
from .demo_system import Progressed, Sim, build
from .terminal import cost_text, suggestion_table, terminal


async def run_workload(
    duration: float,
    rate: float,
    seed: int,
    scale: float,
    progress: Progress | None,
    fault_window: tuple[float, float] | None = None,
    drift_window: tuple[float, float] | None = None,
) -> Progressed:
    sim = Sim(random.Random(seed), scale, fault_window, drift_window=drift_window)
    research = build(sim)
    pending: set[asyncio.Task[None]] = set()

    async def one(n: int) -> None:
        sim.stats.started += 1
        try:
            with conversation(f"session-{n % 25}"):
                await research(f"question {n}", f"session-{n % 25}")
            sim.stats.done += 1
        except Exception:  # noqa: BLE001 - a failed request is part of the simulation
            sim.stats.failed += 1

    task_id = progress.add_task("running", total=duration) if progress is not None else None
    start = time.monotonic()
    n = 0
    next_at = 0.0
    while True:
        elapsed = time.monotonic() - start
        if elapsed >= duration:
            break
        if elapsed >= next_at:
            task = asyncio.create_task(one(n))
            pending.add(task)
            task.add_done_callback(pending.discard)
            n += 1
            next_at += sim.rng.expovariate(rate)
        if progress is not None and task_id is not None:
            s = sim.stats
            progress.update(
                task_id,
                completed=min(elapsed, duration),
                description=(
                    f"requests {s.done} ok / {s.failed} failed / {len(pending)} running · "
                    f"LLM calls {s.llm_calls} · tokens {s.tokens:,}"
                ),
            )
        await asyncio.sleep(min(0.05, max(next_at - elapsed, 0.0)))
    if progress is not None and task_id is not None:
        progress.update(task_id, completed=duration, description=f"draining {len(pending)} running requests")
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    return sim.stats


def _ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


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


def summary_tables(summary: dict[str, Any]) -> list[Table]:
    def table(title: str, first: str, rows: dict[str, dict[str, Any]], with_tokens: bool) -> Table:
        t = Table(title=title, title_justify="left")
        columns = [first, "calls", "p50", "p95", "success"]
        columns += ["input tokens", "output tokens", "LLM cost"] if with_tokens else []
        for col in columns:
            t.add_column(col, justify="left" if col == first else "right", no_wrap=True)
        for name, r in rows.items():
            calls = r["calls"]
            cells = [
                name,
                f"{calls:,.0f}",
                _ms(r["p50_seconds"]),
                _ms(r["p95_seconds"]),
                _pct(1 - r["errors"] / calls if calls else math.nan),
            ]
            if with_tokens:
                cost = cost_text(r["llm_cost_usd"], r["unpriced_calls"], _usd)
                cells += [f"{r['input_tokens']:,.0f}", f"{r['output_tokens']:,.0f}", cost]
            t.add_row(*cells)
        return t

    conversations = Table(title="Most expensive conversations (LLM + tool costs)", title_justify="left")
    for col in ("conversation", "cost", "priced LLM calls", "rating"):
        conversations.add_column(col, justify="left" if col == "conversation" else "right", no_wrap=True)
    for cid, row in summary["conversations"].items():
        conversations.add_row(cid, _usd(row["total_usd"]), f"{row['priced_calls']:,}", row["rating"])
    return [
        table("Agents", "agent", summary["agents"], True),
        table("Models", "model", summary["models"], True),
        table("Tools", "tool", summary["tools"], False),
        conversations,
    ]


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
    for table in summary_tables(summary):
        console.print(table)
    ranked = suggestions()
    score, parts = health()
    console.print(suggestion_table(ranked))
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
    console.print(
        "Latency percentiles are histogram_quantile() over the exported buckets, as Prometheus computes them."
    )
    if linger > 0 and setup.prometheus_url:
        console.print(f"Serving {setup.prometheus_url} for {linger:g} s more")
        time.sleep(linger)
    shutdown()
    return 0
