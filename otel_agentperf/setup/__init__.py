"""Setup: ``configure()`` and ``shutdown()``, building or adopting one TracerProvider and one
MeterProvider and wiring the call path's state (price book, ledger, budget, advisor, gauges).

- ``configure``: ``configure()``, ``shutdown()``, ``Setup``
- ``exporters``: exporters and readers from arguments and ``OTEL_*`` variables
- ``gauges``: the suggestion, savings, health and resource gauges
- ``threads``: context propagation into thread pools

May import: ``tracing``, ``insights``, ``cost``, ``telemetry``, ``semconv``, ``_errors``, ``_version``.
"""
