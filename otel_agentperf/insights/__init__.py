"""Insights: from what was observed to what to change.

- ``stats``: rolling statistics per agent, tool and model (latency sketches, bounded tables)
- ``suggest``: the suggestion model, thresholds and the rule engine
- ``rules`` (latency, errors, timeouts, resources) and ``rules_cost`` (models, caching, context, budget):
  the built-in rules, pure functions of a ``Snapshot``
- ``advisor``: fed by the call path; snapshots, suggestions, health, gauges, ``recommend()``
- ``fleet``: the same rules over PromQL or two scrapes of an app's endpoint
- ``summary``: histogram groupings (latency quantiles, tokens, cost) from collected metric points

May import: ``cost``, ``telemetry``, ``semconv``, ``_errors``. Never the call path: the call path
feeds the advisor through the ``ObservedCall`` protocol.
"""
