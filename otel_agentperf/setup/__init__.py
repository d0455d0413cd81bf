"""Setup: ``configure()`` and ``shutdown()``, building or adopting one TracerProvider and one
MeterProvider and wiring the call path's state (price book, ledger, budget, advisor, gauges).

- ``configure``: ``configure()``, ``shutdown()``, ``Setup``
- ``exporters``: exporters and readers from arguments and ``OTEL_*`` variables
- ``gauges``: the suggestion, savings, health and resource gauges
- ``threads``: context propagation into thread pools; ``queues``: the span queue that counts its drops
- ``processes``: what a forked child needs (flush at multiprocessing worker exit); ``workers``:
  ``configure_worker`` for process pools
- ``zero_code``: the ``opentelemetry-instrument`` entry point (``AgentPerfInstrumentor``)

May import: ``tracing``, ``insights``, ``cost``, ``telemetry``, ``semconv``, ``_errors``, ``_version``.
"""
