"""Our GenAI telemetry against the official Python implementation of the conventions, opentelemetry-util-genai.

Each operation is performed twice: through util-genai's real ``TelemetryHandler`` (its own tracer and meter
providers, passed explicitly, with in-memory exporters) and through our decorators under
``otel_agentperf.testing.capture()``, with the same inputs (provider, model, token counts, names, ids). Then:

- metrics: every metric util-genai emits for the operation is emitted by us, with the same unit, instrument
  type and explicit bucket boundaries; the attribute keys util-genai puts on each of its points are a subset
  of ours (but for ``METRIC_KEYS_WE_CANNOT_SET``); the values of the keys both sides set agree; our extra keys
  are all in ``semconv.METRIC_LABELS``; and every other ``gen_ai.*`` metric we emit is one of
  ``OUR_OTHER_GENAI_METRICS``;
- spans: the span of the operation has the same name, kind and status; util-genai's attribute keys are a
  subset of ours (but for ``SPAN_KEYS_WE_CANNOT_SET``) and the shared ones have the same values (but for
  measured ones, ``VALUES_THAT_ARE_MEASURED``).

util-genai is driven the way its own instrumentations drive it: the streaming call goes through its
``SyncStreamWrapper`` as the official OpenAI instrumentation's chat stream wrapper does (response model, id,
finish reasons and usage read from the chunks in ``_process_chunk``, before the chunk is timed). Message
content is opt-in on both sides and off here (util-genai's environment variable is cleared).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, Metric, MetricsData
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util.genai.environment_variables import (
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
    OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT,
)
from opentelemetry.util.genai.handler import TelemetryHandler
from opentelemetry.util.genai.invocation import InferenceInvocation
from opentelemetry.util.genai.stream import SyncStreamWrapper

import otel_agentperf as ap
from otel_agentperf import semconv as sc
from otel_agentperf.testing import capture

# --- what may differ, and why -----------------------------------------------------------------------------

METRIC_KEYS_WE_CANNOT_SET: dict[str, str] = {
    # util-genai's callers pass the endpoint (the OpenAI instrumentation reads it from the client object); a
    # decorator around the user's function never sees the client, only its arguments and its result.
    "server.address": "the endpoint host is known to the client library, not to a decorator around user code",
    "server.port": "the endpoint port is known to the client library, not to a decorator around user code",
}
"""Attribute keys util-genai puts on metric points that ours may lack: each entry says why."""

SPAN_KEYS_WE_CANNOT_SET: dict[str, str] = {
    "server.address": "the endpoint host is known to the client library, not to a decorator around user code",
    "server.port": "the endpoint port is known to the client library, not to a decorator around user code",
}
"""Span attribute keys util-genai sets that ours may lack: each entry says why."""

VALUES_THAT_ARE_MEASURED: dict[str, str] = {
    sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: "seconds measured on each side: only its presence is compared",
}
"""Span attribute keys whose values are measurements, not inputs: only the key is compared."""

OUR_OTHER_GENAI_METRICS: dict[str, str] = {
    sc.CLIENT_OPERATION_COST: "the cost conventions' histogram: util-genai prices nothing",
    "gen_ai.invoke_agent.inference_calls": "defined by the conventions; util-genai does not count an agent's calls",
    "gen_ai.invoke_agent.tool_calls": "defined by the conventions; util-genai does not count an agent's calls",
}
"""``gen_ai.*`` metrics we may emit for an operation although util-genai does not (any other name in the
``gen_ai.`` namespace is a name the conventions do not define, e.g. a renamed one left behind)."""

# --- the operations, performed by both -------------------------------------------------------------------

PROVIDER = "openai"
MODEL = "gpt-4o-mini"
RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"
RESPONSE_ID = "chatcmpl-semconv-1"
INPUT_TOKENS = 12
OUTPUT_TOKENS = 5
SERVER_ADDRESS = "api.openai.com"
SERVER_PORT = 443
AGENT = "planner"
TOOL = "lookup"
WORKFLOW = "ingest"
CONVERSATION = "conv-semconv-1"

RESPONSE: dict[str, Any] = {
    "id": RESPONSE_ID,
    "object": "chat.completion",
    "model": RESPONSE_MODEL,
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}],
    "usage": {"prompt_tokens": INPUT_TOKENS, "completion_tokens": OUTPUT_TOKENS},
}
"""An OpenAI chat completion, as plain data (what our decorators read usage and response metadata from)."""


def _chunk(content: str | None, finish: str | None, usage: bool = False) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "id": RESPONSE_ID,
        "object": "chat.completion.chunk",
        "model": RESPONSE_MODEL,
        "choices": [] if usage else [{"index": 0, "delta": {"content": content}, "finish_reason": finish}],
    }
    if usage:
        chunk["usage"] = {"prompt_tokens": INPUT_TOKENS, "completion_tokens": OUTPUT_TOKENS}
    return chunk


CHUNKS: tuple[dict[str, Any], ...] = (
    _chunk("h", None),
    _chunk("e", None),
    _chunk("y", "stop"),
    _chunk(None, None, usage=True),  # stream_options={"include_usage": True}: usage comes last
)
"""An OpenAI chat completion stream with several chunks, as plain data."""


class Boom(Exception):
    pass


class _Chunks:
    """A provider stream: iterable and closable (what util-genai's stream wrapper wraps)."""

    def __init__(self, chunks: Sequence[dict[str, Any]]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._chunks)

    def close(self) -> None:
        pass


class _UtilChatStream(SyncStreamWrapper[dict[str, Any]]):
    """util-genai's streaming API used as the official OpenAI instrumentation uses it (its ``chat_wrappers``):
    response model and id set eagerly in ``_process_chunk`` -- "so the per-chunk streaming timing metrics carry
    gen_ai.response.model" -- usage and finish reasons kept, the invocation stopped at the end of the stream."""

    def __init__(self, stream: _Chunks, invocation: InferenceInvocation) -> None:
        super().__init__(stream, invocation)
        self._self_inference = invocation
        self._self_reasons: list[str] = []

    def _process_chunk(self, chunk: dict[str, Any]) -> None:
        inference = self._self_inference
        if not inference.response_model_name and chunk.get("model"):
            inference.response_model_name = chunk["model"]
        if not inference.response_id and chunk.get("id"):
            inference.response_id = chunk["id"]
        for choice in chunk.get("choices") or ():
            if choice.get("finish_reason"):
                self._self_reasons.append(choice["finish_reason"])
        usage = chunk.get("usage")
        if usage:
            inference.input_tokens = usage["prompt_tokens"]
            inference.output_tokens = usage["completion_tokens"]

    def _on_stream_end(self) -> None:
        self._self_inference.finish_reasons = self._self_reasons
        self._self_inference.stop()

    def _on_stream_error(self, error: BaseException) -> None:
        self._self_inference.fail(error)


def _util_inference(handler: TelemetryHandler) -> InferenceInvocation:
    return handler.inference(PROVIDER, request_model=MODEL, server_address=SERVER_ADDRESS, server_port=SERVER_PORT)


def _util_chat(handler: TelemetryHandler) -> None:
    with _util_inference(handler) as inference:
        inference.input_tokens = INPUT_TOKENS
        inference.output_tokens = OUTPUT_TOKENS
        inference.response_model_name = RESPONSE_MODEL
        inference.response_id = RESPONSE_ID
        inference.finish_reasons = ["stop"]


def _util_chat_stream(handler: TelemetryHandler) -> None:
    for _ in _UtilChatStream(_Chunks(CHUNKS), _util_inference(handler)):
        pass


def _util_chat_error(handler: TelemetryHandler) -> None:
    with pytest.raises(Boom), _util_inference(handler):
        raise Boom("upstream 500")


def _util_agent(handler: TelemetryHandler) -> None:
    with handler.invoke_local_agent(agent_name=AGENT, request_model=MODEL, conversation_id=CONVERSATION) as agent:
        agent.agent_description = "plans the work"


def _util_tool(handler: TelemetryHandler) -> None:
    # The agent name is passed explicitly: util-genai does not take it from the enclosing agent.
    with handler.invoke_local_agent(agent_name=AGENT):
        with handler.tool(TOOL, tool_type="function", agent_name=AGENT) as tool:
            tool.tool_call_id = "call-1"
            tool.tool_description = "looks things up"


def _util_workflow(handler: TelemetryHandler) -> None:
    with handler.workflow(WORKFLOW, conversation_id=CONVERSATION):
        pass


def _ours_chat() -> None:
    @ap.trace_llm(provider=PROVIDER, model=MODEL)
    def ask() -> dict[str, Any]:
        return RESPONSE

    ask()


def _ours_chat_provider_from_model() -> None:
    @ap.trace_llm(model=MODEL)  # no provider=: it is inferred from the model
    def ask() -> dict[str, Any]:
        return RESPONSE

    ask()


def _ours_chat_stream_returned() -> None:
    @ap.trace_llm(provider=PROVIDER, model=MODEL)
    def ask() -> Iterator[dict[str, Any]]:
        return iter(CHUNKS)  # like client.chat.completions.create(stream=True)

    for _ in ask():
        pass


def _ours_chat_stream_generator() -> None:
    @ap.trace_llm(provider=PROVIDER, model=MODEL)
    def ask() -> Iterator[dict[str, Any]]:
        yield from CHUNKS

    for _ in ask():
        pass


def _ours_chat_error() -> None:
    @ap.trace_llm(provider=PROVIDER, model=MODEL)
    def ask() -> dict[str, Any]:
        raise Boom("upstream 500")

    with pytest.raises(Boom):
        ask()


def _ours_agent() -> None:
    with ap.trace_agent(AGENT, model=MODEL, conversation_id=CONVERSATION, description="plans the work"):
        pass


def _ours_tool() -> None:
    with ap.trace_agent(AGENT):
        with ap.trace_tool(TOOL, type="function", description="looks things up", call_id="call-1"):
            pass


def _ours_workflow() -> None:
    with ap.trace_workflow(WORKFLOW, conversation_id=CONVERSATION):
        pass


@dataclass(frozen=True)
class Operation:
    id: str
    operation: str
    """``gen_ai.operation.name`` of the span compared (one such span on each side)."""
    theirs: Callable[[TelemetryHandler], None]
    ours: Callable[[], None]


OPERATIONS = (
    Operation("chat", sc.OP_CHAT, _util_chat, _ours_chat),
    Operation("chat-provider-from-model", sc.OP_CHAT, _util_chat, _ours_chat_provider_from_model),
    Operation("chat-stream-returned", sc.OP_CHAT, _util_chat_stream, _ours_chat_stream_returned),
    Operation("chat-stream-generator", sc.OP_CHAT, _util_chat_stream, _ours_chat_stream_generator),
    Operation("chat-error", sc.OP_CHAT, _util_chat_error, _ours_chat_error),
    Operation("invoke_agent", sc.OP_INVOKE_AGENT, _util_agent, _ours_agent),
    Operation("execute_tool", sc.OP_EXECUTE_TOOL, _util_tool, _ours_tool),
    Operation("invoke_workflow", sc.OP_INVOKE_WORKFLOW, _util_workflow, _ours_workflow),
)

# --- running both ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Emitted:
    spans: list[ReadableSpan]
    metrics: dict[str, Metric]

    def span(self, operation: str, side: str) -> ReadableSpan:
        found = [s for s in self.spans if (s.attributes or {}).get(sc.GEN_AI_OPERATION_NAME) == operation]
        assert len(found) == 1, f"{side}: expected one {operation} span, got {[s.name for s in self.spans]}"
        return found[0]


def _by_name(data: MetricsData | None) -> dict[str, Metric]:
    out: dict[str, Metric] = {}
    if data is None:
        return out
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                assert metric.name not in out, f"{metric.name} emitted under two scopes"
                out[metric.name] = metric
    return out


@cache  # each operation runs once per side for all the tests below
def _theirs(op: Operation) -> Emitted:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    try:
        handler = TelemetryHandler(tracer_provider=tracer_provider, meter_provider=meter_provider)
        op.theirs(handler)
        return Emitted(list(exporter.get_finished_spans()), _by_name(reader.get_metrics_data()))
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()


@cache
def _ours(op: Operation) -> Emitted:
    with capture() as cap:
        op.ours()
    return Emitted(cap.spans(), cap.metrics())


@pytest.fixture(autouse=True)
def _no_content_capture(monkeypatch: pytest.MonkeyPatch) -> None:
    # Content is opt-in on both sides: off, so util-genai emits no message attributes or events.
    monkeypatch.delenv(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, raising=False)
    monkeypatch.delenv(OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT, raising=False)


def _attributes(point: object) -> dict[str, Any]:
    return dict(getattr(point, "attributes", None) or {})


def _points(metric: Metric) -> list[Any]:
    return list(metric.data.data_points)


def _bounds(point: object) -> tuple[float, ...] | None:
    if isinstance(point, HistogramDataPoint):
        return tuple(float(b) for b in point.explicit_bounds)
    return None


def _counterpart(ours: Sequence[Any], theirs: Mapping[str, Any]) -> list[Any]:
    """Our points standing for one of util-genai's: the token usage histogram has one per token type."""
    token_type = theirs.get(sc.GEN_AI_TOKEN_TYPE)
    if token_type is None:
        return list(ours)
    return [p for p in ours if _attributes(p).get(sc.GEN_AI_TOKEN_TYPE) == token_type]


def _missing_metric_keys(theirs: Emitted, ours: Emitted) -> dict[str, set[str]]:
    """Per metric, the keys util-genai sets that one of our corresponding points lacks (allow-list ignored)."""
    missing: dict[str, set[str]] = {}
    for name, metric in theirs.metrics.items():
        mine = ours.metrics.get(name)
        if mine is None:
            continue
        for point in _points(metric):
            keys = set(_attributes(point))
            for counterpart in _counterpart(_points(mine), _attributes(point)):
                if keys - set(_attributes(counterpart)):
                    missing.setdefault(name, set()).update(keys - set(_attributes(counterpart)))
    return missing


# --- the comparisons ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", OPERATIONS, ids=[op.id for op in OPERATIONS])
def test_metrics_match_util_genai(op: Operation) -> None:
    theirs, ours = _theirs(op), _ours(op)
    assert theirs.metrics, f"{op.id}: util-genai emitted no metric (the operation did not run)"
    problems: list[str] = []

    missing_names = sorted(set(theirs.metrics) - set(ours.metrics))
    if missing_names:
        problems.append(f"metrics util-genai emits that we do not: {missing_names}")

    for name, metric in sorted(theirs.metrics.items()):
        mine = ours.metrics.get(name)
        if mine is None:
            continue
        if mine.unit != metric.unit:
            problems.append(f"{name}: unit {mine.unit!r}, util-genai {metric.unit!r}")
        if type(mine.data) is not type(metric.data):
            problems.append(f"{name}: {type(mine.data).__name__}, util-genai {type(metric.data).__name__}")
        their_bounds = {_bounds(p) for p in _points(metric)}
        assert len(their_bounds) == 1, f"{name}: util-genai's points disagree on buckets: {their_bounds}"
        our_bounds = {_bounds(p) for p in _points(mine)}
        if our_bounds != their_bounds:
            problems.append(
                f"{name}: buckets {sorted(our_bounds, key=str)}, util-genai {sorted(their_bounds, key=str)}"
            )
        their_keys: set[str] = set()
        for point in _points(metric):
            attributes = _attributes(point)
            their_keys |= set(attributes)
            counterparts = _counterpart(_points(mine), attributes)
            if not counterparts:
                problems.append(f"{name}: no point of ours matches util-genai's {sorted(attributes.items())}")
                continue
            for counterpart in counterparts:
                our_attributes = _attributes(counterpart)
                missing = sorted(set(attributes) - set(our_attributes) - set(METRIC_KEYS_WE_CANNOT_SET))
                if missing:
                    problems.append(f"{name}: attribute keys util-genai sets that we do not: {missing}")
                differing = {
                    k: (our_attributes[k], v)
                    for k, v in attributes.items()
                    if k in our_attributes and our_attributes[k] != v
                }
                if differing:
                    problems.append(f"{name}: attribute values (ours, util-genai's) differ: {differing}")
        extra = {k for p in _points(mine) for k in _attributes(p)} - their_keys
        if not extra <= sc.METRIC_LABELS:
            problems.append(
                f"{name}: our extra attribute keys not in semconv.METRIC_LABELS: {sorted(extra - sc.METRIC_LABELS)}"
            )

    ours_only = sorted(n for n in set(ours.metrics) - set(theirs.metrics) if n.startswith("gen_ai."))
    unknown = [n for n in ours_only if n not in OUR_OTHER_GENAI_METRICS]
    if unknown:
        problems.append(
            f"gen_ai.* metrics we emit that util-genai does not (and not in OUR_OTHER_GENAI_METRICS): {unknown}"
        )

    assert not problems, f"{op.id}: our metrics drift from opentelemetry-util-genai's:\n  " + "\n  ".join(
        dict.fromkeys(problems)  # once each (the token usage histogram has two points)
    )


@pytest.mark.parametrize("op", OPERATIONS, ids=[op.id for op in OPERATIONS])
def test_spans_match_util_genai(op: Operation) -> None:
    theirs = _theirs(op).span(op.operation, "util-genai")
    ours = _ours(op).span(op.operation, "ours")
    problems: list[str] = []
    if ours.name != theirs.name:
        problems.append(f"span name {ours.name!r}, util-genai {theirs.name!r}")
    if ours.kind != theirs.kind:
        problems.append(f"span kind {ours.kind}, util-genai {theirs.kind}")
    if ours.status.status_code != theirs.status.status_code:
        problems.append(f"span status {ours.status.status_code}, util-genai {theirs.status.status_code}")
    their_attributes = dict(theirs.attributes or {})
    our_attributes = dict(ours.attributes or {})
    missing = sorted(set(their_attributes) - set(our_attributes) - set(SPAN_KEYS_WE_CANNOT_SET))
    if missing:
        problems.append(f"span attribute keys util-genai sets that we do not: {missing}")
    differing = {
        k: (our_attributes[k], v)
        for k, v in their_attributes.items()
        if k in our_attributes and k not in VALUES_THAT_ARE_MEASURED and our_attributes[k] != v
    }
    if differing:
        problems.append(f"span attribute values (ours, util-genai's) differ: {differing}")
    assert not problems, f"{op.id}: our {op.operation} span drifts from opentelemetry-util-genai's:\n  " + "\n  ".join(
        problems
    )


def test_every_allow_list_entry_is_still_needed() -> None:
    """An entry stays only while util-genai sets the key and we do not: once we emit it, it must go."""
    metric_keys: set[str] = set()  # keys util-genai puts on a metric point that ours lacks
    span_keys: set[str] = set()  # keys util-genai puts on a span that ours lacks
    measured: set[str] = set()  # keys on util-genai's spans
    for op in OPERATIONS:
        theirs, ours = _theirs(op), _ours(op)
        for keys in _missing_metric_keys(theirs, ours).values():
            metric_keys |= keys
        their_attributes = set(theirs.span(op.operation, "util-genai").attributes or {})
        span_keys |= their_attributes - set(ours.span(op.operation, "ours").attributes or {})
        measured |= their_attributes
    stale_metric_keys = sorted(set(METRIC_KEYS_WE_CANNOT_SET) - metric_keys)
    assert not stale_metric_keys, f"METRIC_KEYS_WE_CANNOT_SET: we emit these now, drop them: {stale_metric_keys}"
    stale_span_keys = sorted(set(SPAN_KEYS_WE_CANNOT_SET) - span_keys)
    assert not stale_span_keys, f"SPAN_KEYS_WE_CANNOT_SET: we emit these now, drop them: {stale_span_keys}"
    stale_measured = sorted(set(VALUES_THAT_ARE_MEASURED) - measured)
    assert not stale_measured, f"VALUES_THAT_ARE_MEASURED: util-genai no longer sets {stale_measured}"
