"""Every attribute key, metric name, unit and bucket boundary otel_agentperf emits.

The GenAI names follow the OpenTelemetry GenAI semantic conventions (latest experimental; the
``semantic-conventions-genai`` repository, including the merged cost conventions of PR #443). Where the
conventions and ``opentelemetry-util-genai`` (the official Python implementation) disagree, the newer one
wins: today that is util-genai's ``gen_ai.invoke_workflow.duration`` (``tests/test_semconv_util_genai.py``
compares the two, so the next drift fails a test). Names the conventions do not define live under
``agentperf.*``. Nothing else in the package spells a telemetry name: dashboards, alert rules and tests
import or pin these.
"""

from __future__ import annotations

from typing import Final

SCOPE_NAME: Final = "otel_agentperf"
"""Instrumentation scope of every span and metric we emit."""

# --- operations (gen_ai.operation.name values) ---------------------------------------------------
OP_CHAT: Final = "chat"
OP_TEXT_COMPLETION: Final = "text_completion"
OP_EMBEDDINGS: Final = "embeddings"
OP_GENERATE_CONTENT: Final = "generate_content"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"
INFERENCE_OPERATIONS: Final = frozenset({OP_CHAT, OP_TEXT_COMPLETION, OP_EMBEDDINGS, OP_GENERATE_CONTENT})
"""Operations traced by ``trace_llm``: CLIENT spans named ``{operation} {model}``."""

# --- span attributes -----------------------------------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_AGENT_ID: Final = "gen_ai.agent.id"
GEN_AI_AGENT_DESCRIPTION: Final = "gen_ai.agent.description"
GEN_AI_WORKFLOW_NAME: Final = "gen_ai.workflow.name"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
"""Opt-in content: the tool's arguments as JSON."""
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
"""Opt-in content: the tool's result as JSON."""
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
"""Opt-in content: the request messages as JSON."""
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
"""Opt-in content: the response messages as JSON."""
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
"""Input tokens, cached ones included (semconv)."""
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
"""Output tokens, reasoning ones included (semconv)."""
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"
"""Metric-only: ``input`` or ``output``."""
ERROR_TYPE: Final = "error.type"
"""Exception class name on failure (``_OTHER`` when unknown)."""

GEN_AI_USAGE_COST_AMOUNT: Final = "gen_ai.usage.cost.amount"
"""Cost of one inference in ``gen_ai.usage.cost.currency`` (semconv cost conventions, PR #443, merged): on
inference spans only."""
GEN_AI_USAGE_COST_CURRENCY: Final = "gen_ai.usage.cost.currency"
"""ISO 4217 currency of the cost (required with the amount and on the cost metric); always ``USD`` here."""
COST_CURRENCY: Final = "USD"
GEN_AI_USAGE_COST_SOURCE: Final = "gen_ai.usage.cost.source"
"""``provider`` (the response carried the billed cost) or ``local`` (computed from token prices)."""
COST_SOURCE_PROVIDER: Final = "provider"
COST_SOURCE_LOCAL: Final = "local"
AGENTPERF_COST_PRICE_WINDOW: Final = "agentperf.cost.price_window"
"""The time-of-day price window applied (e.g. ``00:30-16:30 UTC``), on calls to models whose price changes
within the day (DeepSeek's off-peak hours); absent for flat prices."""
AGENTPERF_USAGE_INPUT_TOKENS: Final = "agentperf.usage.input_tokens"
"""Input tokens of every inference under an agent or workflow span (a rollup). Not ``gen_ai.usage.*``: a
backend that sums ``gen_ai.usage.*`` over all spans would count each call two or three times."""
AGENTPERF_USAGE_OUTPUT_TOKENS: Final = "agentperf.usage.output_tokens"
AGENTPERF_USAGE_CACHE_READ_INPUT_TOKENS: Final = "agentperf.usage.cache_read.input_tokens"
AGENTPERF_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "agentperf.usage.cache_write.input_tokens"
AGENTPERF_USAGE_REASONING_OUTPUT_TOKENS: Final = "agentperf.usage.reasoning.output_tokens"
AGENTPERF_COST_TOTAL: Final = "agentperf.cost.total"
"""USD spent under an agent or workflow span (its LLM calls and ``record_cost``): a total, so backends can
sort agents by cost without summing inference spans twice."""
AGENTPERF_COST_KIND: Final = "agentperf.cost.kind"
"""Kind of a non-token cost recorded with ``record_cost`` (e.g. ``browser_minutes``)."""
AGENTPERF_PROCESS_CPU_TIME_DELTA: Final = "agentperf.process.cpu_time_delta"
"""CPU seconds this process used during an agent invocation (all threads; opt-in ``resource_deltas``)."""
AGENTPERF_PROCESS_RSS_DELTA: Final = "agentperf.process.rss_delta"
"""Change of this process' resident memory in bytes over an agent invocation (opt-in ``resource_deltas``)."""
AGENTPERF_STREAM_CLOSED_EARLY: Final = "agentperf.stream.closed_early"
"""True when a traced generator or stream was closed before it was exhausted."""
AGENTPERF_STREAM_CHUNKS: Final = "agentperf.stream.chunks"
"""Number of items a traced generator or stream yielded."""

TOKEN_TYPE_INPUT: Final = "input"
TOKEN_TYPE_OUTPUT: Final = "output"

# --- metrics ---------------------------------------------------------------------------------------
CLIENT_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
CLIENT_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
CLIENT_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
CLIENT_TIME_PER_OUTPUT_CHUNK: Final = "gen_ai.client.operation.time_per_output_chunk"
"""Streaming LLM calls: one value per chunk after the first (time since the previous chunk)."""
INVOKE_AGENT_DURATION: Final = "gen_ai.invoke_agent.duration"
INVOKE_AGENT_INFERENCE_CALLS: Final = "gen_ai.invoke_agent.inference_calls"
"""Per agent invocation: its model calls, failed ones included, a sub-agent's excluded."""
INVOKE_AGENT_TOOL_CALLS: Final = "gen_ai.invoke_agent.tool_calls"
"""Per agent invocation: its tool calls, a sub-agent's excluded."""
EXECUTE_TOOL_DURATION: Final = "gen_ai.execute_tool.duration"
WORKFLOW_DURATION: Final = "gen_ai.invoke_workflow.duration"
"""Was ``gen_ai.workflow.duration`` (the conventions' name) until util-genai 1.3b0 named it this way."""

CLIENT_TOKEN_CACHE_READ: Final = "agentperf.client.token.cache_read"
"""Histogram of cache-read input tokens per call (inside ``gen_ai.client.token.usage`` input): cache share."""
CLIENT_OPERATION_COST: Final = "gen_ai.client.operation.cost"
"""Histogram of the USD cost of each inference (semconv cost conventions, PR #443); labelled like the
duration plus ``gen_ai.usage.cost.currency`` and ``gen_ai.usage.cost.source``."""
UNPRICED_CALLS: Final = "agentperf.cost.unpriced_calls"
"""Counter of inferences whose model has no known price (labels: provider, model)."""
OTHER_COST: Final = "agentperf.cost.other"
"""Counter of non-token USD recorded with ``record_cost`` (labels: kind, agent)."""
SPANS_DROPPED: Final = "agentperf.spans.dropped"
"""Counter of spans lost on export: dropped by a full export queue or by a failed export (the SDK only logs
them): alert on it."""
METRIC_EXPORT_FAILURES: Final = "agentperf.metrics.export_failures"
"""Counter of metric exports that failed (the SDK only logs them): alert on it."""
DEDUPLICATED_CALLS: Final = "agentperf.cost.deduplicated_calls"
"""Counter of other instrumentations' inference spans not priced because another span already carries the
call's cost (labels: ``agentperf.deduplicated.scope``, ``agentperf.deduplicated.reason``)."""
AGENTPERF_DEDUPLICATED_SCOPE: Final = "agentperf.deduplicated.scope"
"""Metric-only: instrumentation scope of the span that was not priced (at most 32 values, then ``_OTHER``)."""
AGENTPERF_DEDUPLICATED_REASON: Final = "agentperf.deduplicated.reason"
"""Metric-only: why the span was not priced, one of the ``DEDUP_*`` values."""
DEDUP_TRACE_LLM: Final = "trace_llm"
"""Inside or around one of our ``@trace_llm`` spans, which carries the call's cost."""
DEDUP_NESTED: Final = "nested"
"""An inference span nested in it or around it carries the call's cost."""
DEDUP_SAME_RESPONSE: Final = "same_response"
"""A span of another instrumentation, overlapping it in the same trace, has the same ``gen_ai.response.id``."""

SUGGESTIONS_ACTIVE: Final = "agentperf.suggestions.active"
"""Gauge: 1 per active optimization suggestion (labels: rule, severity, scope; at most 100 series)."""
SUGGESTIONS_SAVINGS: Final = "agentperf.suggestions.savings_usd_per_day"
"""Gauge: estimated USD per day all active suggestions would save."""
HEALTH_SCORE: Final = "agentperf.health.score"
"""Gauge: health score 0–100 (success, latency vs. target, cost vs. budget, resource pressure)."""
SUGGESTION_RULE: Final = "agentperf.suggestion.rule"
SUGGESTION_SEVERITY: Final = "agentperf.suggestion.severity"
SUGGESTION_SCOPE: Final = "agentperf.suggestion.scope"
SUGGESTION_CONFIDENCE: Final = "agentperf.suggestion.confidence"
"""How much evidence stands behind a suggestion: ``low``, ``medium`` or ``high`` (window and calls observed)."""

UNIT_SECONDS: Final = "s"
UNIT_USD: Final = "{USD}"
"""Curly-braced so Prometheus names get no unit suffix: ``gen_ai_client_operation_cost_bucket``."""
UNIT_CALLS: Final = "{call}"
UNIT_TOKENS: Final = "{token}"
UNIT_INFERENCE_CALLS: Final = "{inference_call}"
UNIT_TOOL_CALLS: Final = "{tool_call}"

DURATION_BUCKETS: Final = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
"""Advisory buckets of ``gen_ai.client.operation.duration`` and ``gen_ai.execute_tool.duration``."""
TOKEN_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
"""Advisory buckets of ``gen_ai.client.token.usage``."""
AGENT_DURATION_BUCKETS: Final = (0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6)
"""Advisory buckets of ``gen_ai.invoke_agent.duration``."""
COST_BUCKETS: Final = (
    0.00001, 0.00003, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0,
)  # fmt: skip
"""Sub-cent USD boundaries: a typical call costs between $0.00001 and $0.1."""
WORKFLOW_DURATION_BUCKETS: Final = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)
"""Advisory buckets of ``gen_ai.invoke_workflow.duration``."""
CALL_COUNT_BUCKETS: Final = (1, 2, 4, 8, 16, 32, 64, 128)
"""Advisory buckets of ``gen_ai.invoke_agent.inference_calls`` and ``.tool_calls``."""

METRIC_LABELS: Final = frozenset(
    {
        GEN_AI_OPERATION_NAME,
        GEN_AI_PROVIDER_NAME,
        GEN_AI_REQUEST_MODEL,
        GEN_AI_RESPONSE_MODEL,
        GEN_AI_TOKEN_TYPE,
        GEN_AI_AGENT_NAME,
        GEN_AI_TOOL_NAME,
        GEN_AI_TOOL_TYPE,
        GEN_AI_WORKFLOW_NAME,
        ERROR_TYPE,
        GEN_AI_USAGE_COST_CURRENCY,
        GEN_AI_USAGE_COST_SOURCE,
        AGENTPERF_COST_KIND,
        AGENTPERF_DEDUPLICATED_SCOPE,
        AGENTPERF_DEDUPLICATED_REASON,
        SUGGESTION_RULE,
        SUGGESTION_SEVERITY,
        SUGGESTION_SCOPE,
        SUGGESTION_CONFIDENCE,
    }
)
"""The only attribute keys that ever appear on our metrics (all low-cardinality)."""

PROMETHEUS_NAMES: Final = {
    CLIENT_OPERATION_DURATION: "gen_ai_client_operation_duration_seconds",
    CLIENT_TOKEN_USAGE: "gen_ai_client_token_usage",
    CLIENT_TIME_TO_FIRST_CHUNK: "gen_ai_client_operation_time_to_first_chunk_seconds",
    CLIENT_TIME_PER_OUTPUT_CHUNK: "gen_ai_client_operation_time_per_output_chunk_seconds",
    INVOKE_AGENT_DURATION: "gen_ai_invoke_agent_duration_seconds",
    INVOKE_AGENT_INFERENCE_CALLS: "gen_ai_invoke_agent_inference_calls",
    INVOKE_AGENT_TOOL_CALLS: "gen_ai_invoke_agent_tool_calls",
    EXECUTE_TOOL_DURATION: "gen_ai_execute_tool_duration_seconds",
    WORKFLOW_DURATION: "gen_ai_invoke_workflow_duration_seconds",
    CLIENT_OPERATION_COST: "gen_ai_client_operation_cost",
    CLIENT_TOKEN_CACHE_READ: "agentperf_client_token_cache_read",
    UNPRICED_CALLS: "agentperf_cost_unpriced_calls_total",
    DEDUPLICATED_CALLS: "agentperf_cost_deduplicated_calls_total",
    SPANS_DROPPED: "agentperf_spans_dropped_total",
    METRIC_EXPORT_FAILURES: "agentperf_metrics_export_failures_total",
    OTHER_COST: "agentperf_cost_other_total",
    SUGGESTIONS_ACTIVE: "agentperf_suggestions_active",
    SUGGESTIONS_SAVINGS: "agentperf_suggestions_savings_usd_per_day",
    HEALTH_SCORE: "agentperf_health_score",
}
"""How each metric is named once exported to Prometheus (histograms add ``_bucket``/``_sum``/``_count``;
counters already carry ``_total``)."""

OVERFLOW_LABEL: Final = "_OTHER"
"""Label value used once a per-metric label table is full (cardinality guard)."""
