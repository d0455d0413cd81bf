"""The native stack: ``agentperf stack up`` runs Prometheus and Alertmanager from local binaries with the
rule and route files of ``deploy/``, and ``agentperf alerts`` prints the alerts Alertmanager delivers.

- ``runner``: start, stop and report on the native stack (free 127.0.0.1 ports, stopped by PID)
- ``alerts``: the webhook receiver that prints alerts and serves the runbooks they link to
- ``bundle``: where ``deploy/``, ``grafana/`` and ``docker-compose.yml`` are (a checkout or the wheel's data),
  and ``export`` of them to a folder (``python -m otel_agentperf.stack export DIR``)

May import: the standard library, ``rich``, ``yaml``, ``_errors`` and ``_version``. Not the SDK: the stack runs
beside an app.
"""
