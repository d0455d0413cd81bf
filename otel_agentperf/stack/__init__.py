"""The native stack: ``agentperf stack up`` runs Prometheus and Alertmanager from local binaries with the
rule and route files of ``deploy/``, and ``agentperf alerts`` prints the alerts Alertmanager delivers.

- ``runner``: start, stop and report on the native stack (free 127.0.0.1 ports, stopped by PID)
- ``alerts``: the webhook receiver that prints alerts

May import: the standard library, ``rich`` and ``_errors``. Not the SDK: the stack runs beside an app.
"""
