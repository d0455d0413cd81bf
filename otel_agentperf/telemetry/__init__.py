"""Telemetry plumbing under the call path: the histograms and counters every traced call records into,
our fast exact histogram cells (exported through the SDK's readers), and the pull-based resource gauges.

- ``instruments``: the instrument table, series and the label-set cardinality guard
- ``aggregate``: exact cumulative histogram cells, appended to what each metric reader collects
- ``resources``: CPU, memory, threads, file descriptors and GPU, read at collection time

May import: ``semconv``, ``_errors``, ``_version`` and OpenTelemetry. Nothing of ours above it.
"""
