"""An application with no OpenTelemetry code, run by tests under ``opentelemetry-instrument``.

Plain ``openai`` calls (``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` from the environment), then a workflow
and an agent declared with our decorators around one more call. Nothing is configured here: zero-code mode
does it. The first line printed is JSON: the calls made, the suggestion rules and the health score.

``python zero_code_app.py N [trace_llm] [configure]``: N plain calls (3 by default); with ``trace_llm`` the
agent's call is also wrapped in ``@trace_llm``, as an application instrumented by hand before going zero-code
would be; with ``configure`` the application calls ``ap.configure(prices=...)`` itself (a price of its own
for gpt-4o-mini: USD 1000 per million tokens in and out).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import openai

import otel_agentperf as ap

PLAIN_CALLS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
WRAP_IN_TRACE_LLM = "trace_llm" in sys.argv[2:]
if "configure" in sys.argv[2:]:
    ap.configure(prices={"gpt-4o-mini": {"input": 1000.0, "output": 1000.0}})

client = openai.OpenAI(max_retries=0)


def complete(question: str) -> Any:
    return client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}])


# Returns the response, so that trace_llm reads its usage and prices the call itself.
complete_traced = ap.trace_llm(provider="openai", model="gpt-4o-mini")(complete)


def ask(question: str) -> str:
    return complete(question).choices[0].message.content or ""


@ap.trace_agent("triage")
def triage(ticket: str) -> str:
    reply = (complete_traced if WRAP_IN_TRACE_LLM else complete)(f"Route this ticket: {ticket}")
    return reply.choices[0].message.content or ""


@ap.trace_workflow("intake")
def intake(ticket: str) -> str:
    return triage(ticket)


def main() -> None:
    answers = [ask(f"Question {i}?") for i in range(PLAIN_CALLS)]
    answers.append(intake("printer on fire"))
    client.close()
    suggestions = ap.suggestions()
    score, _ = ap.health()
    print(
        json.dumps(
            {
                "calls": len(answers),
                "answers": sorted(set(answers)),
                "suggestions": sorted(f"{s.rule}:{s.scope_kind}:{s.scope_name}" for s in suggestions),
                "health": score,
            }
        )
    )


if __name__ == "__main__":
    main()
