"""Accounting for one finished LLM call: span attributes for usage and cost, token and cost metrics,
pricing (provider-reported cost first), and spend towards conversations and budgets."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .. import semconv as sc
from .._errors import warn_once
from ..cost.usage import Usage
from ..telemetry.instruments import CostSeries
from .state import STATE

_MAX_NAME = 128

clock: Callable[[], float] = time.time
"""The wall clock calls are priced by (epoch seconds). Prices can depend on the date and the time of day;
tests pin this so that a result never depends on when the suite runs."""


def usage_attributes(usage: Usage, priced: Priced | None, *, with_meta: bool) -> dict[str, Any]:
    """The span attributes of one inference's usage and, when priced, its cost."""
    attrs: dict[str, Any] = {}
    if usage.input_tokens is not None:
        attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] = usage.input_tokens
    if usage.output_tokens is not None:
        attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] = usage.output_tokens
    if usage.cache_read_tokens is not None:
        attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = usage.cache_read_tokens
    if usage.cache_write_tokens is not None:
        attrs[sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] = usage.cache_write_tokens
    if usage.reasoning_tokens is not None:
        attrs[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = usage.reasoning_tokens
    if with_meta:
        if usage.response_model:
            attrs[sc.GEN_AI_RESPONSE_MODEL] = usage.response_model
        if usage.response_id:
            attrs[sc.GEN_AI_RESPONSE_ID] = usage.response_id
        if usage.finish_reasons:
            attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] = usage.finish_reasons  # a tuple, as the SDK stores it
    if priced is not None:
        attrs[sc.GEN_AI_USAGE_COST_AMOUNT] = priced[0]
        attrs[sc.GEN_AI_USAGE_COST_CURRENCY] = sc.COST_CURRENCY
        attrs[sc.GEN_AI_USAGE_COST_SOURCE] = priced[1]
        if priced[2] is not None:
            attrs[sc.AGENTPERF_COST_PRICE_WINDOW] = priced[2]
    return attrs


def rollup_attributes(totals: Usage) -> dict[str, Any]:
    """Token totals of the inferences under an agent or workflow span, in our namespace (``agentperf.usage.*``):
    under ``gen_ai.usage.*`` a backend summing all spans would count every call again per enclosing span."""
    attrs: dict[str, Any] = {}
    for name, value in (
        (sc.AGENTPERF_USAGE_INPUT_TOKENS, totals.input_tokens),
        (sc.AGENTPERF_USAGE_OUTPUT_TOKENS, totals.output_tokens),
        (sc.AGENTPERF_USAGE_CACHE_READ_INPUT_TOKENS, totals.cache_read_tokens),
        (sc.AGENTPERF_USAGE_CACHE_WRITE_INPUT_TOKENS, totals.cache_write_tokens),
        (sc.AGENTPERF_USAGE_REASONING_OUTPUT_TOKENS, totals.reasoning_tokens),
    ):
        if value is not None:
            attrs[name] = value
    return attrs


MAX_USD = 1e9
"""More than any one inference can cost: a larger, NaN or infinite price comes from bad prices or usage."""

Priced = tuple[float, str, "str | None"]
"""(USD, cost source, time-of-day price window or ``None``)."""


def price(
    usage: Usage, provider: str | None, request_model: str | None, series: CostSeries | None, at: float
) -> Priced | None:
    """(USD, source, window) of one inference made at ``at`` (epoch seconds), recorded into the cost
    histogram; ``None`` when unknown.

    A provider-reported cost wins; else the response model (most specific), else the requested model.
    """
    window: str | None = None
    if usage.provider_cost is not None:
        usd, source = usage.provider_cost, sc.COST_SOURCE_PROVIDER
    else:
        book = STATE.prices
        model = usage.response_model or request_model
        prices = book.lookup(provider, model, at) if model else None
        if prices is None and request_model and model != request_model:
            prices = book.lookup(provider, request_model, at)
        if prices is None:
            unpriced(provider, model)
            return None
        usd, source = prices.cost(usage, at), sc.COST_SOURCE_LOCAL
        if prices.windows:  # a price that changes within the day (most have none)
            window = prices.window_at(at)
    if not 0 <= usd <= MAX_USD:  # NaN or infinite (absurd prices x huge counts) would stick in every cost sum
        warn_once("cost:absurd", "otel_agentperf: a call priced at %r USD is left unpriced (bad price or usage)", usd)
        return None
    if series is not None:
        series.record(usd, source)
    return usd, source, window


def unpriced(provider: str | None, model: str | None) -> None:
    name = model or "(none)"
    STATE.instruments.unpriced_calls.add(
        1, {sc.GEN_AI_PROVIDER_NAME: provider or "", sc.GEN_AI_REQUEST_MODEL: name[:_MAX_NAME]}
    )
    if model is None:  # nothing to look up: counted, but there is no model to warn about
        return
    warn_once(
        f"unpriced:{provider}:{name}",
        "otel_agentperf: no price known for model %r (provider %r): its calls get no cost; "
        "add one with configure(prices={%r: {'input': ..., 'output': ...}})",
        name,
        provider,
        name,
    )


def spend(usd: float, agent: str | None, model: str | None, conversation: str | None, usage: Usage | None) -> None:
    """Account ``usd`` to the conversation ledger and the budget."""
    if conversation:
        STATE.ledger.add(
            conversation,
            usd,
            agent=agent,
            model=model,
            input_tokens=(usage.input_tokens or 0) if usage else 0,
            output_tokens=(usage.output_tokens or 0) if usage else 0,
            priced_call=usage is not None,
        )
    budget = STATE.budget
    if budget is not None:
        budget.add(usd, agent)
