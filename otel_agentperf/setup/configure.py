"""``configure()`` and ``shutdown()``: build (or adopt) one TracerProvider and one MeterProvider.

Precedence is argument > standard ``OTEL_*`` environment variable > default. Nothing here touches the
network: exporters connect lazily from their own threads.
"""

from __future__ import annotations

import atexit
import os
import threading
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, cast

from opentelemetry import metrics, trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import TracerProvider

from .. import semconv as sc
from .._errors import AgentPerfConfigError, logger
from .._locks import new_lock
from .._version import VERSION
from ..cost.catalog import warm_up
from ..cost.ledger import Budget, BudgetTracker, ConversationLedger
from ..cost.pricing import PriceBook
from ..insights.advisor import Advisor
from ..insights.suggest import load_thresholds
from ..telemetry.aggregate import FastMetrics, install, with_instance_id
from ..tracing.processor import AgentPerfSpanProcessor
from ..tracing.state import STATE
from .deferred_otlp import build_in_background
from .exporters import (
    METRIC_EXPORTERS,
    env_int,
    exporter_names,
    is_console,
    is_otlp,
    metric_exporter,
    otlp_protocol_from,
    prometheus_endpoint,
    span_exporters,
)
from .gauges import register_gauges_if_collected
from .processes import install_fork_hook
from .queues import CountingBatchSpanProcessor, CountingMetricExporter
from .threads import patch_thread_pools
from .unreachable import otlp_target, quiet_export_errors, reachable

_CAPTURE_ON = frozenset({"true", "1", "span_only", "span_and_event"})
_CAPTURE_OFF = frozenset({"false", "0", "no_content", "event_only", ""})

_lock = new_lock()
_exit_hooked = False
SHUTDOWN_TIMEOUT_S = 5.0
"""How long ``shutdown()`` (and the exit of the interpreter) waits for exporters, at most."""
_current: Setup | None = None


class Setup:
    """What ``configure()`` built. ``prometheus_url`` is set when a scrape endpoint is serving."""

    def __init__(
        self,
        tracer_provider: TracerProvider,
        meter_provider: MeterProvider,
        owned: bool,
        prometheus_server: Any | None,
        prometheus_url: str | None,
    ) -> None:
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.prometheus_url = prometheus_url
        self._owned = owned
        self._prometheus_server = prometheus_server
        self.is_shut_down = False
        self.span_processor: AgentPerfSpanProcessor | None = None
        self.zero_code = False  # set by zero-code mode: an application's own configure() then refines it
        self.otlp: tuple[str, int, str] | None = None  # (host, port, protocol) when OTLP exporters are ours

    def force_flush(self, timeout_millis: int = 10_000) -> bool:
        ok = True
        for provider in (self.tracer_provider, self.meter_provider):
            flush = getattr(provider, "force_flush", None)
            if flush is not None:
                ok = bool(flush(timeout_millis)) and ok
        return ok

    def shutdown(self, timeout_s: float = SHUTDOWN_TIMEOUT_S) -> bool:
        """Flush and stop, within ``timeout_s``; False when the exporters did not finish in time.

        An exporter pointed at a closed port or a black hole retries for up to its own timeout per batch:
        the work runs in a daemon thread and is given up after ``timeout_s`` with one warning, so neither
        ``shutdown()`` nor the interpreter's exit waits it out.
        """
        if self.is_shut_down:
            return True
        self.is_shut_down = True
        # Traced calls from now on stay silent instead of feeding providers that are shutting down.
        STATE.use(trace.NoOpTracer(), metrics.NoOpMeter(sc.SCOPE_NAME))
        absent = self.otlp is not None and reachable(self.otlp[0], self.otlp[1]) is False
        if absent:
            timeout_s = min(timeout_s, 0.5)  # nothing listens: what is queued cannot be delivered, so no waiting
        done = threading.Event()

        def stop_all() -> None:
            try:
                self.force_flush(int(timeout_s * 1000))
            except Exception:  # noqa: BLE001 - flushing is best effort at shutdown
                logger.warning("otel_agentperf: flush at shutdown failed", exc_info=True)
            try:
                if self._prometheus_server is not None:
                    self._prometheus_server.shutdown()
                    self._prometheus_server.server_close()
                if self._owned:
                    for provider in (self.tracer_provider, self.meter_provider):
                        stop = getattr(provider, "shutdown", None)
                        if stop is not None:
                            stop()
            except Exception:  # noqa: BLE001
                logger.warning("otel_agentperf: shutdown failed", exc_info=True)
            finally:
                done.set()

        threading.Thread(target=stop_all, name="agentperf-shutdown", daemon=True).start()
        if done.wait(timeout_s):
            return True
        if absent and self.otlp is not None:
            quiet_export_errors(*self.otlp).say_once()  # one line in all, whether the exporters complained or not
            return False
        logger.warning(
            "otel_agentperf: shutdown gave up after %.1f s: an exporter did not finish (is its endpoint reachable? "
            "`agentperf doctor` checks); telemetry not exported by then is lost",
            timeout_s,
        )
        return False


def configure(
    *,
    service_name: str | None = None,
    resource_attributes: dict[str, str] | None = None,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    traces_exporter: str | Sequence[str] | SpanExporter | None = None,
    metrics_exporter: str | Sequence[str] | MetricExporter | None = None,
    otlp_endpoint: str | None = None,
    otlp_protocol: str | None = None,
    prometheus_host: str | None = None,
    prometheus_port: int | None = None,
    sample_ratio: float | None = None,
    span_processors: Sequence[SpanProcessor] = (),
    metric_readers: Sequence[MetricReader] = (),
    metric_export_interval_ms: int | None = None,
    capture_content: bool | None = None,
    max_content_length: int = 8192,
    prices: Mapping[str, Mapping[str, float]] | None = None,
    model_aliases: Mapping[str, str] | None = None,
    budget: Budget | None = None,
    cost_rating_thresholds: Sequence[float] = (0.01, 0.05, 0.25),
    max_conversations: int = 10_000,
    price_foreign_spans: bool = True,
    thresholds: Mapping[str, float] | None = None,
    timeouts: Mapping[str, float] | None = None,
    suggestion_window_s: float = 900.0,
    fingerprint_arguments: bool = True,
    resource_deltas: bool = False,
    propagate_context_to_threads: bool = True,
    set_global: bool = True,
) -> Setup:
    """Set up tracing and metrics for traced agents, tools and LLM calls. Keyword-only.

    By default spans and metrics go over OTLP (``OTEL_EXPORTER_OTLP_ENDPOINT``, gRPC unless
    ``OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf``). ``metrics_exporter="prometheus"`` or a
    ``prometheus_port`` serves a scrape endpoint instead (127.0.0.1:9464 by default). Pass your own
    ``tracer_provider``/``meter_provider`` to use them; with SDK providers already set globally and none
    passed, those are used as they are. A second call warns and returns the first setup.

    Cost: ``prices`` adds or overrides prices in USD per million tokens (``{"my-finetune": {"input": 0.5,
    "output": 1.5, "cache_read": 0.05}}``; also a TOML/YAML file named by ``AGENTPERF_PRICES_FILE``);
    ``model_aliases`` maps deployment names to models (``{"prod-gpt4o": "gpt-4o"}``); ``budget`` calls you
    back when spend crosses a limit; ``price_foreign_spans`` adds ``AgentPerfSpanProcessor`` so inference
    spans of other GenAI instrumentations get priced too.

    Suggestions: ``thresholds`` overrides rule thresholds (``{"slow_p95_s": 2.0}``; also
    ``AGENTPERF_THRESHOLDS`` and ``AGENTPERF_THRESHOLDS_FILE``); ``timeouts`` declares the timeouts you use
    (``{"tool:web_search": 10, "model:gpt-4o": 30}``) so they can be checked; ``suggestion_window_s`` is the
    sliding window; ``fingerprint_arguments=False`` stops hashing call arguments (for the caching rule);
    ``resource_deltas=True`` records the process' CPU time and RSS change on each agent span.

    Example::

        ap.configure(service_name="support-bot")
        ap.configure(service_name="bot", metrics_exporter="prometheus", traces_exporter="none")
    """
    global _current, _exit_hooked
    with _lock:
        previous: Setup | None = None
        if _current is not None and not _current.is_shut_down:
            if not _current.zero_code:
                warnings.warn(
                    "otel_agentperf.configure() was already called; keeping the first configuration",
                    RuntimeWarning,
                    stacklevel=2,
                )
                return _current
            previous = _current  # the application's own call refines what zero-code mode set up
        if sample_ratio is not None and not 0.0 <= sample_ratio <= 1.0:
            raise AgentPerfConfigError(f"sample_ratio must be within [0, 1], got {sample_ratio!r}")
        if max_content_length < 16:
            raise AgentPerfConfigError(f"max_content_length must be at least 16, got {max_content_length!r}")
        given_budget = cast(object, budget)
        if given_budget is not None and not isinstance(given_budget, Budget):
            raise AgentPerfConfigError(f"budget must be an otel_agentperf.Budget, got {type(budget).__name__}")
        if not suggestion_window_s > 0:
            raise AgentPerfConfigError(f"suggestion_window_s must be > 0, got {suggestion_window_s!r}")
        try:
            price_book = PriceBook(prices, model_aliases)
            ledger = ConversationLedger(max_conversations, cost_rating_thresholds)
        except ValueError as exc:
            raise AgentPerfConfigError(str(exc)) from exc
        advisor = Advisor(
            load_thresholds(thresholds),
            window_s=suggestion_window_s,
            fingerprints=fingerprint_arguments,
            timeouts={k: float(v) for k, v in (timeouts or {}).items()},
        )
        resource = with_instance_id(
            Resource.create({**(resource_attributes or {}), **({"service.name": service_name} if service_name else {})})
        )
        protocol = otlp_protocol_from(otlp_protocol)
        owned = False
        built: list[object] = []  # exporters, some built off this thread (deferred_otlp)
        adopted: list[str] = []  # providers we did not build: our resource and sampler do not apply to them

        if tracer_provider is not None:
            adopted.append("the TracerProvider passed in")
        else:
            existing = trace.get_tracer_provider()
            if not isinstance(existing, trace.ProxyTracerProvider) and traces_exporter is None:
                tracer_provider = existing  # adopt the application's own global provider
                adopted.append(f"the global {type(existing).__name__} set before configure()")
            else:
                sampler = ParentBased(TraceIdRatioBased(sample_ratio)) if sample_ratio is not None else None
                # Our own bounded shutdown runs at exit instead of the SDK's unbounded one.
                sdk_tp = SdkTracerProvider(resource=resource, sampler=sampler, shutdown_on_exit=False)
                for exporter in span_exporters(traces_exporter, otlp_endpoint, protocol):
                    built.append(exporter)
                    processor = SimpleSpanProcessor if is_console(exporter) else CountingBatchSpanProcessor
                    sdk_tp.add_span_processor(processor(exporter))
                tracer_provider = sdk_tp
                owned = True
        extra_processors = list(span_processors)
        ours: AgentPerfSpanProcessor | None = None
        if price_foreign_spans and hasattr(tracer_provider, "add_span_processor"):
            if previous is not None and previous.tracer_provider is tracer_provider:
                ours = previous.span_processor  # already on this provider: a second one would price twice
            else:
                ours = AgentPerfSpanProcessor()
                extra_processors.append(ours)
        for processor in extra_processors:
            add = getattr(tracer_provider, "add_span_processor", None)
            if add is None:
                raise AgentPerfConfigError("span_processors need an SDK TracerProvider")
            add(processor)

        prometheus_server = None
        prometheus_url = None
        fast: FastMetrics | None = None
        no_metrics = False
        if meter_provider is not None:
            adopted.append("the MeterProvider passed in")
        else:
            existing_mp = metrics.get_meter_provider()
            if type(existing_mp).__name__ != "_ProxyMeterProvider" and metrics_exporter is None and not metric_readers:
                meter_provider = existing_mp
                adopted.append(f"the global {type(existing_mp).__name__} set before configure()")
            else:
                readers: list[MetricReader] = list(metric_readers)
                names = exporter_names(metrics_exporter, "OTEL_METRICS_EXPORTER", METRIC_EXPORTERS)
                if prometheus_port is not None and "prometheus" not in names:
                    names.append("prometheus")
                interval = metric_export_interval_ms or env_int("OTEL_METRIC_EXPORT_INTERVAL", 60_000)
                for name in names:
                    if name == "prometheus":
                        reader, prometheus_server, prometheus_url = prometheus_endpoint(
                            prometheus_host, prometheus_port
                        )
                        if reader is not None:
                            readers.append(reader)
                    elif name != "none":
                        built.append(made := metric_exporter(name, otlp_endpoint, protocol))
                        exporter = CountingMetricExporter(made)
                        readers.append(PeriodicExportingMetricReader(exporter, export_interval_millis=interval))
                if isinstance(metrics_exporter, MetricExporter):
                    counted = CountingMetricExporter(metrics_exporter)
                    readers.append(PeriodicExportingMetricReader(counted, export_interval_millis=interval))
                meter_provider = SdkMeterProvider(resource=resource, metric_readers=readers, shutdown_on_exit=False)
                owned = True
                fast = install(readers, resource, InstrumentationScope(sc.SCOPE_NAME, VERSION))
                no_metrics = not readers

        if adopted:
            _warn_adopted(adopted, service_name, resource_attributes, sample_ratio, otlp_endpoint)
        if set_global:
            _set_globals(tracer_provider, meter_provider)
        meter = metrics.NoOpMeter(sc.SCOPE_NAME) if no_metrics else meter_provider.get_meter(sc.SCOPE_NAME, VERSION)
        STATE.use(tracer_provider.get_tracer(sc.SCOPE_NAME, VERSION), meter, fast)
        if previous is None or previous.meter_provider is not meter_provider:
            register_gauges_if_collected(meter, STATE)
        STATE.capture_content = _capture(capture_content)
        STATE.max_content_length = max_content_length
        STATE.resource_deltas = resource_deltas
        STATE.prices = price_book
        STATE.ledger = ledger
        STATE.budget = BudgetTracker(budget) if budget is not None else None
        advisor.prices = price_book.lookup
        advisor.budget = STATE.budget
        STATE.advisor = advisor
        # Off the call path: build the OTLP exporters left to a thread, then load the bundled price data (no
        # network: the data ships in the package).
        build_in_background(built, then=warm_up)
        STATE.configured = True
        if propagate_context_to_threads:
            patch_thread_pools()
        install_fork_hook(current_setup)
        if owned and not _exit_hooked:
            _exit_hooked = True
            atexit.register(_shutdown_at_exit)
        _current = Setup(tracer_provider, meter_provider, owned, prometheus_server, prometheus_url)
        _current.span_processor = ours
        if any(is_otlp(exporter) for exporter in built):
            host, port = otlp_target(otlp_endpoint, protocol)
            _current.otlp = (host, port, protocol)
            quiet_export_errors(host, port, protocol)
        return _current


def _warn_adopted(
    adopted: list[str],
    service_name: str | None,
    resource_attributes: dict[str, str] | None,
    sample_ratio: float | None,
    otlp_endpoint: str | None,
) -> None:
    """Say in one line which providers configure() uses as they are, and which of its options they ignore."""
    ignored = [
        text
        for given, text in (
            (service_name, f"service_name={service_name!r} (set OTEL_SERVICE_NAME or the provider's Resource)"),
            (resource_attributes, "resource_attributes (set OTEL_RESOURCE_ATTRIBUTES or the provider's Resource)"),
            (sample_ratio is not None, f"sample_ratio={sample_ratio!r} (set the provider's sampler)"),
            (otlp_endpoint, f"otlp_endpoint={otlp_endpoint!r} (set the provider's exporters)"),
        )
        if given
    ]
    if ignored:
        logger.warning(
            "otel_agentperf.configure(): using %s as they are; not applied to them: %s",
            " and ".join(adopted),
            "; ".join(ignored),
        )
    else:
        logger.info("otel_agentperf.configure(): using %s as they are", " and ".join(adopted))


def shutdown(timeout_s: float = SHUTDOWN_TIMEOUT_S) -> bool:
    """Flush and stop what ``configure()`` started, within ``timeout_s`` seconds (safe to call more than once).

    Returns False when an exporter did not finish in time (one warning says so). Also runs at the
    interpreter's exit for the providers ``configure()`` built, with the same bound.
    """
    global _current
    with _lock:
        setup, _current = _current, None
    if setup is None:
        return True
    return setup.shutdown(timeout_s)


def _shutdown_at_exit() -> None:
    try:
        shutdown()
    except Exception:  # noqa: BLE001 - never fail the interpreter's exit
        logger.warning("otel_agentperf: shutdown at exit failed", exc_info=True)


def current_setup() -> Setup | None:
    return _current


def _set_globals(tp: TracerProvider, mp: MeterProvider) -> None:
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(tp)
    if type(metrics.get_meter_provider()).__name__ == "_ProxyMeterProvider":
        metrics.set_meter_provider(mp)


def _capture(value: bool | None) -> bool:
    if value is not None:
        return bool(value)
    raw = os.environ.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "").strip().lower()
    if raw in _CAPTURE_ON:
        return True
    if raw not in _CAPTURE_OFF:
        logger.warning(
            "otel_agentperf: unknown OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=%r; content off", raw
        )
    return False
