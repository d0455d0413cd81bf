"""The ``agentperf`` command: one module per command, terminal rendering, reports and the demo.

- ``main``: argument parsing and dispatch (commands are imported only when they run)
- ``demo`` / ``demo_system``: the offline demo and its simulated multi-agent system
- ``cost``: ``prices`` and ``cost``; ``suggest``; ``views``: ``report``, ``top``, ``doctor``
- ``report`` / ``report_render``: the period report (terminal, Markdown, JSON, HTML)
- ``top``: the live terminal dashboard; ``doctor``: configuration diagnosis; ``terminal``: rich helpers

May import: everything. Nothing imports it but ``__main__`` and the ``agentperf`` script.
"""
