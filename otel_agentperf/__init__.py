"""otel_agentperf: OpenTelemetry-native tracing, metrics and cost for AI agents.

Example::

    import otel_agentperf as ap

    ap.configure(service_name="support-bot")

    @ap.trace_agent("planner")
    async def plan(goal: str) -> str: ...
"""

from __future__ import annotations

from . import semconv
from ._errors import AgentPerfConfigError
from ._version import VERSION
from .cost.ledger import Budget, BudgetAlert, ConversationCost
from .insights.advisor import Recommendation
from .insights.suggest import Snapshot, Suggestion, Thresholds
from .insights.suggest import make as make_suggestion
from .setup.configure import Setup, configure, shutdown
from .setup.workers import configure_worker
from .tracing.decorators import Traced, llm_call, trace_agent, trace_llm, trace_tool, trace_workflow
from .tracing.processor import AgentPerfSpanProcessor
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

__version__ = VERSION

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
