"""otel_agentperf: OpenTelemetry-native tracing, metrics and cost for AI agents.

Example::

    import otel_agentperf as ap

    ap.configure(service_name="support-bot")

    @ap.trace_agent("planner")
    async def plan(goal: str) -> str: ...
"""

from __future__ import annotations

from . import semconv
from ._api import Traced, llm_call, trace_agent, trace_llm, trace_tool, trace_workflow
from ._errors import AgentPerfConfigError
from ._record import conversation, current_conversation, record_response, record_usage
from ._setup import Setup, configure, shutdown
from ._version import VERSION

__version__ = VERSION

__all__ = [
    "AgentPerfConfigError",
    "Setup",
    "Traced",
    "__version__",
    "configure",
    "conversation",
    "current_conversation",
    "llm_call",
    "record_response",
    "record_usage",
    "semconv",
    "shutdown",
    "trace_agent",
    "trace_llm",
    "trace_tool",
    "trace_workflow",
]
