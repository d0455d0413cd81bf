"""Zero-code mode: ``opentelemetry-instrument python app.py`` turns otel_agentperf on with no code change.

With ``opentelemetry-distro`` installed (and, for OpenAI calls, ``opentelemetry-instrumentation-genai-openai``)::

    pip install otel_agentperf opentelemetry-distro opentelemetry-instrumentation-genai-openai
    opentelemetry-instrument python app.py

OpenTelemetry's auto-instrumentation first sets up the SDK's TracerProvider and MeterProvider from the
standard ``OTEL_*`` variables, then loads every ``opentelemetry_instrumentor`` entry point. Ours,
``agentperf``, is ``AgentPerfInstrumentor``: it calls ``configure()`` with no providers, which adopts the
global SDK providers as they are (their exporters, resource and sampler stay the distro's). That adds
``AgentPerfSpanProcessor``, so the GenAI inference spans of other instrumentations get priced
(``gen_ai.client.operation.cost``) and attributed to the enclosing ``@trace_agent``/``@trace_workflow``;
it wires the price book, ledger, budget and advisor the decorators and ``suggestions()`` use, and registers
the suggestion and health gauges on the adopted meter. Spans of other instrumentations are never modified.

Turning it off, either of:

- ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=agentperf``: OpenTelemetry's own switch; the entry point is
  not loaded at all.
- ``AGENTPERF_ZERO_CODE=false`` (also ``0``, ``no``, ``off``): the entry point loads and does nothing.

It also does nothing (one info line) when the global providers are not the SDK's, e.g. under
``OTEL_SDK_DISABLED=true`` or with a configurator that sets none. An application that calls
``configure()`` itself (prices, budget, thresholds, ...) refines zero-code mode's setup on the same
providers: its options apply, and nothing is added twice.

Nothing raised here reaches the auto-instrumentation loader (an exception there would stop every
instrumentor after ours): errors are logged. This module needs ``opentelemetry-instrumentation``, which
``opentelemetry-distro`` brings; ``import otel_agentperf`` never imports it.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.trace import TracerProvider

from .._errors import AgentPerfConfigError, log_internal_error, logger
from .configure import Setup, configure, current_setup, shutdown

ZERO_CODE_ENV = "AGENTPERF_ZERO_CODE"
"""Set to ``false`` (``0``, ``no``, ``off``) to keep zero-code mode off although the entry point loads."""
_OFF = frozenset({"false", "0", "no", "off"})


def zero_code_enabled() -> bool:
    """Whether ``AGENTPERF_ZERO_CODE`` leaves zero-code mode on (it is on unless set to a false value)."""
    return os.environ.get(ZERO_CODE_ENV, "").strip().lower() not in _OFF


class AgentPerfInstrumentor(BaseInstrumentor):
    """The ``agentperf`` entry point of ``opentelemetry-instrument``: ``configure()`` on the SDK's providers.

    Also usable by hand, like any instrumentor: ``AgentPerfInstrumentor().instrument(tracer_provider=tp,
    meter_provider=mp)`` (SDK providers; the global ones when not given).
    """

    _setup: Setup | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()  # instruments no library: it only needs the SDK, which is our own dependency

    def _instrument(self, **kwargs: Any) -> None:
        try:
            self._setup = _start(kwargs.get("tracer_provider"), kwargs.get("meter_provider"))
        except AgentPerfConfigError as exc:  # e.g. a bad AGENTPERF_THRESHOLDS: the user's to fix
            logger.error("otel_agentperf: zero-code mode not started: %s", exc)
        except Exception:  # noqa: BLE001 - must never stop the instrumentors loaded after ours
            log_internal_error("zero_code.instrument")

    def _uninstrument(self, **kwargs: Any) -> None:
        try:
            if self._setup is not None and self._setup is current_setup():
                shutdown()  # flushes; the providers are the distro's, so they keep running
            self._setup = None
        except Exception:  # noqa: BLE001
            log_internal_error("zero_code.uninstrument")


def _start(tracer_provider: TracerProvider | None, meter_provider: MeterProvider | None) -> Setup | None:
    if not zero_code_enabled():
        logger.info("otel_agentperf: zero-code mode off (%s=%s)", ZERO_CODE_ENV, os.environ.get(ZERO_CODE_ENV))
        return None
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        logger.info("otel_agentperf: zero-code mode off: OTEL_SDK_DISABLED=true")
        return None
    tp = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    mp = meter_provider if meter_provider is not None else metrics.get_meter_provider()
    if not isinstance(tp, SdkTracerProvider) or not isinstance(mp, SdkMeterProvider):
        # configure() would build and export on providers of its own, next to whatever is set up: not ours to do.
        logger.info(
            "otel_agentperf: zero-code mode off: the global providers are not the OpenTelemetry SDK's (%s, %s)",
            type(tp).__name__,
            type(mp).__name__,
        )
        return None
    existing = current_setup()
    if existing is not None and not existing.is_shut_down:
        logger.info("otel_agentperf: zero-code mode: configure() was already called; keeping that configuration")
        return None
    setup = configure(tracer_provider=tp, meter_provider=mp)
    setup.zero_code = True
    return setup
