"""Cost: what a call used and what it costs, and where the money goes.

- ``usage``: token counts read from provider responses (OpenAI, Anthropic, Gemini, Bedrock, ...)
- ``prices``: rates per million tokens (tiers, time-of-day windows) and the cost of one call
- ``catalog``: the bundled genai-prices data (a model's prices on a day; cheaper models of a family)
- ``pricing``: the price book: overrides, aliases, id normalisation, cached lookups
- ``ledger``: spend per conversation (bounded) and budgets

May import: ``telemetry``, ``semconv``, ``_errors``. Knows nothing of spans or the call path.
"""
