"""The call path: everything that runs when a traced function is called.

- ``decorators``: ``trace_agent`` / ``trace_tool`` / ``trace_llm`` / ``trace_workflow`` objects
- ``wrappers``: decoration-time choice of the sync / async / generator / async-generator wrapper
- ``spec``: what is decided once per operation (span name, attributes, cached metric series)
- ``call``: one invocation: span, context, durations, roll-ups
- ``streams``: provider streams returned from ``trace_llm`` functions (the span ends with the stream)
- ``stream_helpers``: the providers' streaming helpers (``messages.stream``, ``responses.stream``,
  ``chat.completions.stream``) returned from ``trace_llm`` functions; ``returned``: what to wrap, decided
  once per class of returned object
- ``content``: opt-in prompt and completion capture
- ``accounting``: tokens and cost of one finished LLM call, spend to conversations and budgets
- ``record``: ``record_usage``, ``record_response``, ``conversation`` and the public read-outs
- ``processor``: ``AgentPerfSpanProcessor``, pricing and attributing other instrumentations' spans
- ``state``: the one piece of mutable global state, ``STATE``, built once its parts exist

May import: ``insights``, ``cost``, ``telemetry``, ``semconv``, ``_errors``, ``_version``.
"""
