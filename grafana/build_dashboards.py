"""Dashboards as code (grafana-foundation-sdk). Run to regenerate grafana/dashboards/*.json:

    python grafana/build_dashboards.py

A test regenerates them in memory and fails if the committed JSON differs, and runs every panel and
variable query against a real Prometheus fed by the real SDK, on both naming paths: the SDK's Prometheus
exporter and the Collector's (which appends `_ratio` to gauges whose unit is "1", hence `ratio()`). Metric
names come from the names the SDK exports (otel_agentperf/semconv.py); queries use raw series so they work
with or without our recording rules, except the alert/budget panels, which need the rules of deploy/prometheus.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.parse
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DashboardLinkType, DataSourceRef, GridPos

OUT = Path(__file__).resolve().parent / "dashboards"
DS = DataSourceRef(type_val="prometheus", uid="${datasource}")
J = 'job=~"$job"'
A = 'gen_ai_agent_name=~"$agent"'
M = 'gen_ai_request_model=~"$model"'
RI = "$__rate_interval"
SPEND = '{__name__=~"gen_ai_client_operation_cost_sum|agentperf_cost_other_total",job=~"$job"}'
AGENT_COUNT = f"gen_ai_invoke_agent_duration_seconds_count{{{J}}}"
GRAFANA_VARIABLE = re.compile(r"\$\{[\w.]+(?::\w+)?\}")
"""``${name}`` / ``${name:format}``: the variable tokens Grafana interpolates in link URLs."""


def ratio(name: str, selector: str = J) -> str:
    """A gauge whose unit is "1", under both names: ``name`` (SDK exporter) and ``name_ratio`` (Collector)."""
    return f'{{__name__=~"{name}(_ratio)?",{selector}}}'


def tempo_link(query: str) -> Any:
    """A link to Tempo's trace search (TraceQL) for the spans behind a panel, over the dashboard's time range.

    The Explore state is URL-encoded JSON, but Grafana only interpolates variables it can see: the ``${…}``
    tokens (``${agent:pipe}`` gives ``a|b``, or the All value ``.*``; ``${__from}``) stay unencoded.
    """
    query_ref = {"refId": "A", "datasource": {"type": "tempo", "uid": "tempo"}, "queryType": "traceql", "query": query}
    pane = {"datasource": "tempo", "queries": [query_ref], "range": {"from": "${__from}", "to": "${__to}"}}
    encoded = urllib.parse.quote(json.dumps({"traces": pane}, separators=(",", ":")), safe="")
    for token in set(GRAFANA_VARIABLE.findall(json.dumps(pane))):
        encoded = encoded.replace(urllib.parse.quote(token, safe=""), token)
    url = "/explore?schemaVersion=1&orgId=1&panes=" + encoded
    return dashboard.DashboardLink("Traces in Tempo").type(DashboardLinkType.LINK).url(url).target_blank(True)


def q(
    expr: str, legend: str = "", *, instant: bool = False, exemplar: bool = False, ref: str = "A"
) -> prometheus.Dataquery:
    query = prometheus.Dataquery().expr(expr).legend_format(legend or "__auto").ref_id(ref)
    if instant:
        query = query.instant().format("table")
    if exemplar:
        query = query.exemplar(True)
    return query


class Layout:
    """Places panels left to right, 24 columns wide."""

    def __init__(self) -> None:
        self.x = 0
        self.y = 0
        self.row_h = 0

    def pos(self, w: int, h: int) -> GridPos:
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        grid = GridPos(h=h, w=w, x=self.x, y=self.y)
        self.x += w
        self.row_h = max(self.row_h, h)
        return grid


def ts(layout: Layout, title: str, unit: str, *targets: prometheus.Dataquery, w: int = 12, desc: str = "") -> Any:
    panel = timeseries.Panel().title(title).unit(unit).datasource(DS).grid_pos(layout.pos(w, 8)).description(desc)
    for i, target in enumerate(targets):
        panel = panel.with_target(target.ref_id(chr(ord("A") + i)))
    return panel


def st(layout: Layout, title: str, unit: str, expr: str, *, decimals: int = 2, w: int = 4, desc: str = "") -> Any:
    return (
        stat.Panel()
        .title(title)
        .unit(unit)
        .decimals(decimals)
        .datasource(DS)
        .grid_pos(layout.pos(w, 4))
        .description(desc)
        .with_target(q(expr, instant=False))
    )


def tb(layout: Layout, title: str, expr: str, *, w: int = 12, desc: str = "") -> Any:
    return (
        table.Panel()
        .title(title)
        .datasource(DS)
        .grid_pos(layout.pos(w, 8))
        .description(desc)
        .with_target(q(expr, instant=True))
    )


def base(uid: str, title: str, *, agent: bool = False, model: bool = False) -> Any:
    board = (
        dashboard.Dashboard(title)
        .uid(uid)
        .tags(["otel_agentperf", "genai"])
        .refresh("30s")
        .time("now-1h", "now")
        .timezone("browser")
        .with_variable(dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus"))
        .with_variable(
            dashboard.QueryVariable("job")
            .label("Service / job")
            .datasource(DS)
            .query(f"label_values({AGENT_COUNT.replace(J, '')}, job)")
            .multi(True)
            .include_all(True)
            .all_value(".*")
        )
        .link(
            dashboard.DashboardLink("otel_agentperf")
            .type(DashboardLinkType.DASHBOARDS)
            .tags(["otel_agentperf"])
            .as_dropdown(True)
        )
    )
    if agent:
        board = board.with_variable(
            dashboard.QueryVariable("agent")
            .label("Agent")
            .datasource(DS)
            .query(f"label_values({AGENT_COUNT}, gen_ai_agent_name)")
            .multi(True)
            .include_all(True)
            .all_value(".*")
        )
    if model:
        board = board.with_variable(
            dashboard.QueryVariable("model")
            .label("Model")
            .datasource(DS)
            .query(f"label_values(gen_ai_client_operation_duration_seconds_count{{{J}}}, gen_ai_request_model)")
            .multi(True)
            .include_all(True)
            .all_value(".*")
        )
    return board


def overview() -> Any:
    lay = Layout()
    calls = f"sum(rate({AGENT_COUNT}[{RI}]))"
    errors = f'(sum(rate(gen_ai_invoke_agent_duration_seconds_count{{{J},error_type!=""}}[{RI}])) or vector(0))'
    return (
        base("agentperf-overview", "agentperf · Overview")
        .with_panel(st(lay, "Health score", "none", f"max({ratio('agentperf_health_score')})", decimals=0,
                       desc="0–100: 40 success + 25 latency + 15 cost + 20 resources (README)"))
        .with_panel(st(lay, "Agent calls/s", "reqps", calls))
        .with_panel(st(lay, "Agent success rate", "percentunit", f"1 - {errors} / {calls}"))
        .with_panel(st(lay, "Agent p95 latency", "s", f"histogram_quantile(0.95, sum by (le) (rate(gen_ai_invoke_agent_duration_seconds_bucket{{{J}}}[{RI}])))"))
        .with_panel(st(lay, "Spend per hour", "currencyUSD", f"sum(rate({SPEND}[{RI}])) * 3600"))
        .with_panel(st(lay, "Projected spend per day", "currencyUSD", f"sum(rate({SPEND}[1h])) * 86400",
                       desc="At the last hour's rate"))
        .with_panel(ts(lay, "Agent calls/s by agent", "reqps", q(f"sum by (gen_ai_agent_name) (rate({AGENT_COUNT}[{RI}]))", "{{gen_ai_agent_name}}")))
        .with_panel(ts(lay, "Agent p95 latency by agent", "s",
                       q(f"histogram_quantile(0.95, sum by (le, gen_ai_agent_name) (rate(gen_ai_invoke_agent_duration_seconds_bucket{{{J}}}[{RI}])))", "{{gen_ai_agent_name}}", exemplar=True)))
        .with_panel(ts(lay, "Tokens/s", "short", q(f"sum by (gen_ai_token_type) (rate(gen_ai_client_token_usage_sum{{{J}}}[{RI}]))", "{{gen_ai_token_type}}")))
        .with_panel(ts(lay, "Spend per hour by model", "currencyUSD", q(f"sum by (gen_ai_request_model) (rate(gen_ai_client_operation_cost_sum{{{J}}}[{RI}])) * 3600", "{{gen_ai_request_model}}")))
        .with_panel(tb(lay, "Active optimization suggestions",
                       f"max by (agentperf_suggestion_severity, agentperf_suggestion_rule, agentperf_suggestion_scope) (agentperf_suggestions_active{{{J}}})",
                       desc="Run `agentperf suggest` for the evidence and savings"))
        .with_panel(st(lay, "Suggested savings per day", "currencyUSD", f"sum(agentperf_suggestions_savings_usd_per_day{{{J}}})", w=4))
        .with_panel(tb(lay, "Firing alerts", 'ALERTS{alertstate="firing"}', w=8, desc="From the rules in deploy/prometheus"))
        .with_panel(ts(lay, "Telemetry lost by the apps", "short",
                       q(f"sum by (job, instance) (increase(agentperf_spans_dropped_total{{{J}}}[{RI}]))", "spans lost {{job}} {{instance}}"),
                       q(f"sum by (job, instance) (increase(agentperf_metrics_export_failures_total{{{J}}}[{RI}]))", "metric exports failed {{job}} {{instance}}"),
                       w=24, desc="Spans dropped by a full export queue or lost with a failed export, and failed metric exports; 0 when healthy (alerts SpansDropped, MetricExportsFailing)"))
    )  # fmt: skip


def agents() -> Any:
    lay = Layout()
    sel = f"{J},{A}"
    bucket = f"gen_ai_invoke_agent_duration_seconds_bucket{{{sel}}}"
    return (
        base("agentperf-agents", "agentperf · Agents", agent=True)
        .with_panel(ts(lay, "Invocations/s", "reqps", q(f"sum by (gen_ai_agent_name) (rate(gen_ai_invoke_agent_duration_seconds_count{{{sel}}}[{RI}]))", "{{gen_ai_agent_name}}")))
        .with_panel(ts(lay, "Latency p50 / p95 / p99", "s",
                       *(q(f"histogram_quantile({p}, sum by (le, gen_ai_agent_name) (rate({bucket}[{RI}])))", f"p{int(p * 100)} {{{{gen_ai_agent_name}}}}", exemplar=True) for p in (0.5, 0.95, 0.99))).links([tempo_link('{ span.gen_ai.agent.name =~ "${agent:pipe}" }')]))
        .with_panel(ts(lay, "Errors/s by type", "reqps", q(f'sum by (gen_ai_agent_name, error_type) (rate(gen_ai_invoke_agent_duration_seconds_count{{{sel},error_type!=""}}[{RI}]))', "{{gen_ai_agent_name}} {{error_type}}")))
        .with_panel(ts(lay, "LLM spend per hour", "currencyUSD", q(f"sum by (gen_ai_agent_name) (rate(gen_ai_client_operation_cost_sum{{{sel}}}[{RI}])) * 3600", "{{gen_ai_agent_name}}")))
        .with_panel(ts(lay, "Tool calls/s", "reqps", q(f"sum by (gen_ai_agent_name, gen_ai_tool_name) (rate(gen_ai_execute_tool_duration_seconds_count{{{sel}}}[{RI}]))", "{{gen_ai_agent_name}} → {{gen_ai_tool_name}}")))
        .with_panel(ts(lay, "Tool p95 latency", "s", q(f"histogram_quantile(0.95, sum by (le, gen_ai_tool_name) (rate(gen_ai_execute_tool_duration_seconds_bucket{{{sel}}}[{RI}])))", "{{gen_ai_tool_name}}")))
        .with_panel(ts(lay, "Models used (calls/s)", "reqps", q(f"sum by (gen_ai_agent_name, gen_ai_request_model) (rate(gen_ai_client_operation_duration_seconds_count{{{sel}}}[{RI}]))", "{{gen_ai_agent_name}} → {{gen_ai_request_model}}")))
        .with_panel(ts(lay, "Tokens/s", "short", q(f"sum by (gen_ai_agent_name, gen_ai_token_type) (rate(gen_ai_client_token_usage_sum{{{sel}}}[{RI}]))", "{{gen_ai_agent_name}} {{gen_ai_token_type}}")))
        .with_panel(ts(lay, "Model and tool calls per invocation (mean)", "short",
                       *(q(f"sum by (gen_ai_agent_name) (rate(gen_ai_invoke_agent_{kind}_calls_sum{{{sel}}}[{RI}])) / sum by (gen_ai_agent_name) (rate(gen_ai_invoke_agent_{kind}_calls_count{{{sel}}}[{RI}]))", f"{{{{gen_ai_agent_name}}}} {kind} calls") for kind in ("inference", "tool")),
                       w=24, desc="gen_ai.invoke_agent.inference_calls / .tool_calls: an agent's own model and tool calls per invocation (failed ones included, sub-agents' excluded). A rise is a loop or a retry storm before it shows in cost."))
    )  # fmt: skip


def models() -> Any:
    lay = Layout()
    sel = f"{J},{M}"
    count = f"gen_ai_client_operation_duration_seconds_count{{{sel}}}"
    by = "gen_ai_provider_name, gen_ai_request_model"
    return (
        base("agentperf-models", "agentperf · Models & providers", model=True)
        .with_panel(ts(lay, "Latency p95", "s", q(f"histogram_quantile(0.95, sum by (le, {by}) (rate(gen_ai_client_operation_duration_seconds_bucket{{{sel}}}[{RI}])))", "{{gen_ai_provider_name}}/{{gen_ai_request_model}}", exemplar=True)).links([tempo_link('{ span.gen_ai.request.model =~ "${model:pipe}" }')]))
        .with_panel(ts(lay, "Error rate", "percentunit", q(f'(sum by ({by}) (rate(gen_ai_client_operation_duration_seconds_count{{{sel},error_type!=""}}[{RI}])) or sum by ({by}) (rate({count}[{RI}])) * 0) / sum by ({by}) (rate({count}[{RI}]))', "{{gen_ai_provider_name}}/{{gen_ai_request_model}}")))
        .with_panel(ts(lay, "Cost per 1k priced calls", "currencyUSD", q(f"1000 * sum by ({by}) (rate(gen_ai_client_operation_cost_sum{{{sel}}}[{RI}])) / sum by ({by}) (rate(gen_ai_client_operation_cost_count{{{sel}}}[{RI}]))", "{{gen_ai_request_model}}")))
        .with_panel(ts(lay, "Cache-read share of input tokens", "percentunit", q(f'sum by ({by}) (rate(agentperf_client_token_cache_read_sum{{{sel}}}[{RI}])) / sum by ({by}) (rate(gen_ai_client_token_usage_sum{{{sel},gen_ai_token_type="input"}}[{RI}]))', "{{gen_ai_request_model}}")))
        .with_panel(ts(lay, "Time to first chunk p95 (streams)", "s", q(f"histogram_quantile(0.95, sum by (le, gen_ai_request_model) (rate(gen_ai_client_operation_time_to_first_chunk_seconds_bucket{{{sel}}}[{RI}])))", "{{gen_ai_request_model}}")))
        .with_panel(ts(lay, "Tokens/s", "short", q(f"sum by (gen_ai_request_model, gen_ai_token_type) (rate(gen_ai_client_token_usage_sum{{{sel}}}[{RI}]))", "{{gen_ai_request_model}} {{gen_ai_token_type}}")))
        .with_panel(ts(lay, "Calls/s by provider", "reqps", q(f"sum by (gen_ai_provider_name) (rate({count}[{RI}]))", "{{gen_ai_provider_name}}")))
        .with_panel(tb(lay, "Unpriced calls (last hour)", f"sum by ({by}) (increase(agentperf_cost_unpriced_calls_total{{{J}}}[1h]))",
                       desc="No cost is recorded for these: add prices with configure(prices=...)"))
    )  # fmt: skip


def cost() -> Any:
    lay = Layout()
    return (
        base("agentperf-cost", "agentperf · Cost", agent=True)
        .with_panel(st(lay, "Spend per hour", "currencyUSD", f"sum(rate({SPEND}[{RI}])) * 3600", w=6))
        .with_panel(st(lay, "Projected per day", "currencyUSD", f"sum(rate({SPEND}[1h])) * 86400", w=6))
        .with_panel(st(lay, "Daily budget", "currencyUSD", "max(agentperf:budget:usd_per_day)", w=6, desc="deploy/prometheus/rules/agentperf-thresholds.yml"))
        .with_panel(st(lay, "Non-token spend per hour", "currencyUSD", f"sum(rate(agentperf_cost_other_total{{{J}}}[{RI}])) * 3600", w=6))
        .with_panel(ts(lay, "Projected daily spend vs budget", "currencyUSD",
                       q(f"sum(rate({SPEND}[1h])) * 86400", "projected per day"),
                       q("max(agentperf:budget:usd_per_day)", "budget"), w=24))
        # The forecast of deploy/prometheus/rules/agentperf-forecast.yml (SpendForecastOverBudget fires on it): the
        # last 10 minutes' rate, and where the line fitted over 30 minutes of it ends the UTC day.
        .with_panel(ts(lay, "Budget burn and projection", "currencyUSD",
                       q("max(agentperf:cost_usd_per_day:rate10m)", "spend rate per day (last 10 min)"),
                       q("max(agentperf:cost_usd_per_day:predicted)", "trend at the end of the UTC day"),
                       q("max(agentperf:budget:usd_per_day)", "budget"), w=18,
                       desc="SpendForecastOverBudget fires when the trend crosses the budget before the day ends"))
        .with_panel(st(lay, "Per day at the end of the UTC day (trend)", "currencyUSD",
                       "max(agentperf:cost_usd_per_day:predicted)", w=6,
                       desc="Linear fit over the last 30 minutes of the spend rate (deploy/prometheus/rules/agentperf-forecast.yml)"))
        .with_panel(ts(lay, "Spend per hour by agent", "currencyUSD", q(f"sum by (gen_ai_agent_name) (rate(gen_ai_client_operation_cost_sum{{{J},{A}}}[{RI}])) * 3600", "{{gen_ai_agent_name}}")))
        .with_panel(ts(lay, "Spend per hour by model", "currencyUSD", q(f"sum by (gen_ai_provider_name, gen_ai_request_model) (rate(gen_ai_client_operation_cost_sum{{{J},{A}}}[{RI}])) * 3600", "{{gen_ai_provider_name}}/{{gen_ai_request_model}}")))
        .with_panel(ts(lay, "Non-token spend per hour by kind", "currencyUSD", q(f"sum by (agentperf_cost_kind) (rate(agentperf_cost_other_total{{{J}}}[{RI}])) * 3600", "{{agentperf_cost_kind}}")))
        .with_panel(ts(lay, "LLM cost per agent invocation", "currencyUSD", q(f"sum by (gen_ai_agent_name) (rate(gen_ai_client_operation_cost_sum{{{J},{A}}}[{RI}])) / sum by (gen_ai_agent_name) (rate(gen_ai_invoke_agent_duration_seconds_count{{{J},{A}}}[{RI}]))", "{{gen_ai_agent_name}}")))
    )  # fmt: skip


def resources() -> Any:
    lay = Layout()
    return (
        base("agentperf-resources", "agentperf · Resources")
        .with_panel(ts(lay, "Process CPU (share of the machine)", "percentunit", q(f"max by (job, instance) ({ratio('process_cpu_utilization')})", "{{job}} {{instance}}")))
        .with_panel(ts(lay, "System memory in use", "percentunit", q(f"max by (job, instance) ({ratio('system_memory_utilization')})", "{{job}} {{instance}}")))
        .with_panel(ts(lay, "Process resident memory", "bytes", q(f"max by (job, instance) (process_memory_usage_bytes{{{J}}})", "{{job}} {{instance}}")))
        .with_panel(ts(lay, "Threads and open files", "short",
                       q(f"max by (job, instance) (process_thread_count{{{J}}})", "threads {{instance}}"),
                       q(f"max by (job, instance) (process_open_file_descriptor_count{{{J}}})", "files {{instance}}")))
        .with_panel(ts(lay, "GPU utilisation (when a GPU is present)", "percentunit", q(f"max by (job, instance, gpu_id) ({ratio('gpu_utilization')})", "{{instance}} GPU {{gpu_id}}"), w=24))
    )  # fmt: skip


DASHBOARDS = {
    "overview": overview,
    "agents": agents,
    "models": models,
    "cost": cost,
    "resources": resources,
}


def render() -> dict[str, str]:
    """File name → JSON text, exactly as committed."""
    out: dict[str, str] = {}
    for name, build in DASHBOARDS.items():
        board = build().build()
        text = json.dumps(board, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"
        out[f"agentperf-{name}.json"] = text
    return out


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (OUT / name).write_text(text)
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
