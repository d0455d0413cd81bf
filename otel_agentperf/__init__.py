"""otel_agentperf: OpenTelemetry-native tracing, metrics and cost for AI agents.

Example::

    import otel_agentperf as ap

    ap.configure(service_name="support-bot")

    @ap.trace_agent("planner")
    async def plan(goal: str) -> str: ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import semconv
from ._errors import AgentPerfConfigError
from ._version import VERSION
from .cost.ledger import Budget, BudgetAlert, ConversationCost
from .insights.recommend import Recommendation
from .insights.suggest import Snapshot, Suggestion, Thresholds
from .insights.suggest import make as make_suggestion
from .tracing.decorators import Traced, llm_call, trace_agent, trace_llm, trace_tool, trace_workflow
from .tracing.record import (
    budget_status,
    conversation,
    conversation_cost,
    current_conversation,
    health,
    recommend,
    record_cost,
    record_response,
    record_usage,
    refresh_prices,
    register_rule,
    suggestions,
    top_conversations,
)

if TYPE_CHECKING:
    from .setup.configure import Setup, configure, shutdown
    from .setup.workers import configure_worker
    from .tracing.processor import AgentPerfSpanProcessor

__version__ = VERSION

# Imported on first use: they need the OpenTelemetry SDK (its metrics, resources and psutil: most of the cost
# of importing us), which decorated code running before configure(), or under someone else's SDK, never needs.
_LAZY = {
    "Setup": "setup.configure",
    "configure": "setup.configure",
    "shutdown": "setup.configure",
    "configure_worker": "setup.workers",
    "AgentPerfSpanProcessor": "tracing.processor",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # once: later lookups are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AgentPerfConfigError",
    "AgentPerfSpanProcessor",
    "Budget",
    "BudgetAlert",
    "ConversationCost",
    "Recommendation",
    "Snapshot",
    "Suggestion",
    "Thresholds",
    "Setup",
    "Traced",
    "__version__",
    "budget_status",
    "configure",
    "configure_worker",
    "conversation",
    "conversation_cost",
    "current_conversation",
    "health",
    "make_suggestion",
    "recommend",
    "register_rule",
    "suggestions",
    "llm_call",
    "record_cost",
    "record_response",
    "record_usage",
    "refresh_prices",
    "semconv",
    "shutdown",
    "trace_agent",
    "trace_llm",
    "trace_tool",
    "top_conversations",
    "trace_workflow",
]
