"""Process and system resources, read at collection time (pull): psutil, and NVML when a GPU exists.

No thread of ours samples anything: observable instruments are read when a metric reader collects, and
the resource rule reads the same numbers when suggestions are evaluated. A failed read leaves that value
out (``OSError`` and the like), as Prometheus' process collector does.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from .._locks import new_lock


@dataclass
class Resources:
    process_cpu: float | None = None
    """Share of one machine's CPUs (0–1) used by this process."""
    memory: float | None = None
    """System memory in use (0–1)."""
    process_rss_bytes: float | None = None
    threads: float | None = None


_lock = new_lock()
# One psutil.Process per reader: cpu_percent() measures since *its own* previous call, so the metric
# gauges and the suggestion rules must not shorten each other's interval (tiny intervals overshoot).
_processes: dict[str, Any] = {}
_gpu_handles: list[Any] | None = None


def _proc(reader: str = "rules") -> Any:
    process = _processes.get(reader)
    if process is None:
        import psutil

        process = _processes[reader] = psutil.Process()
        process.cpu_percent(None)  # prime: the next call reports usage since now
    return process


def read(reader: str = "rules") -> Resources:
    """CPU share of the machine used by this process since this reader's last read, memory, RSS, threads."""
    res = Resources()
    try:
        import psutil

        with _lock:
            proc = _proc(reader)
            cpus = psutil.cpu_count() or 1
            res.process_cpu = min(1.0, proc.cpu_percent(None) / 100 / cpus)  # short intervals can overshoot
            res.process_rss_bytes = float(proc.memory_info().rss)
            res.threads = float(proc.num_threads())
        res.memory = psutil.virtual_memory().percent / 100
    except (ImportError, OSError, RuntimeError):
        pass
    return res


def _gpus() -> list[Any]:
    global _gpu_handles
    if _gpu_handles is None:
        _gpu_handles = []
        try:
            nvml: Any = importlib.import_module("pynvml")
            nvml.nvmlInit()
            _gpu_handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]
        except Exception:  # noqa: BLE001 - no pynvml, no driver or no GPU: skip silently
            _gpu_handles = []
    return _gpu_handles


def register(meter: Meter) -> None:
    """Observable process/system (and GPU) gauges, named after the OpenTelemetry system conventions."""
    last: dict[str, Resources] = {}

    def snapshot(options: CallbackOptions) -> Resources:
        # One psutil read per collection, shared by the gauges (cpu_percent is "since the last call").
        res = read("gauges")
        last["res"] = res
        return res

    def cpu(options: CallbackOptions) -> Iterable[Observation]:
        res = snapshot(options)
        return [Observation(res.process_cpu)] if res.process_cpu is not None else []

    def rss(options: CallbackOptions) -> Iterable[Observation]:
        res = last.get("res") or read("gauges")
        return [Observation(res.process_rss_bytes)] if res.process_rss_bytes is not None else []

    def threads(options: CallbackOptions) -> Iterable[Observation]:
        res = last.get("res") or read("gauges")
        return [Observation(res.threads)] if res.threads is not None else []

    def memory(options: CallbackOptions) -> Iterable[Observation]:
        res = last.get("res") or read("gauges")
        return [Observation(res.memory)] if res.memory is not None else []

    def open_files(options: CallbackOptions) -> Iterable[Observation]:
        try:
            return [Observation(_proc("gauges").num_fds())]
        except (ImportError, OSError, AttributeError):
            return []

    meter.create_observable_gauge(
        "process.cpu.utilization", [cpu], unit="1", description="Share of the machine's CPUs used by this process"
    )
    meter.create_observable_gauge("process.memory.usage", [rss], unit="By", description="Resident memory")
    meter.create_observable_gauge("process.thread.count", [threads], unit="{thread}", description="Threads")
    meter.create_observable_gauge(
        "process.open_file_descriptor.count", [open_files], unit="{file_descriptor}", description="Open files"
    )
    meter.create_observable_gauge("system.memory.utilization", [memory], unit="1", description="Memory in use")

    if _gpus():
        gpu = _per_gpu(lambda nvml, handle: nvml.nvmlDeviceGetUtilizationRates(handle).gpu / 100)
        gpu_memory = _per_gpu(lambda nvml, handle: float(nvml.nvmlDeviceGetMemoryInfo(handle).used))
        meter.create_observable_gauge("gpu.utilization", [gpu], unit="1", description="GPU utilisation (NVML)")
        meter.create_observable_gauge("gpu.memory.usage", [gpu_memory], unit="By", description="GPU memory used")


def _per_gpu(value: Callable[[Any, Any], float]) -> Callable[[CallbackOptions], Iterable[Observation]]:
    """A gauge callback observing ``value(nvml, handle)`` for each GPU; a failing read ends the list there."""

    def callback(options: CallbackOptions) -> Iterable[Observation]:
        out: list[Observation] = []
        try:
            nvml: Any = importlib.import_module("pynvml")
            for i, handle in enumerate(_gpus()):
                out.append(Observation(value(nvml, handle), {"gpu.id": str(i)}))
        except Exception:  # noqa: BLE001 - a driver error must not fail the whole collection
            return out
        return out

    return callback
