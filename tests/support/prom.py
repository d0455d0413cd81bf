"""Real Prometheus for integration tests: Debian's binary on a free 127.0.0.1 port, killed by PID."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


def require_binary(name: str, *fallbacks: str) -> str:
    """The binary's path; a skip locally if missing, a failure under CI (an integration test never skips there)."""
    for candidate in (name, *fallbacks):
        path = shutil.which(candidate) or (
            candidate if os.path.isabs(candidate) and os.path.exists(candidate) else None
        )
        if path:
            return path
    message = f"{name} not installed (apt-get install prometheus prometheus-alertmanager)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Prometheus:
    def __init__(
        self,
        scrape_targets: list[str] | None = None,
        *,
        rule_files: list[str] | None = None,
        scrape_configs: list[dict[str, Any]] | None = None,
    ) -> None:
        """Scrapes ``scrape_targets`` as job ``agentperf``, or the given ``scrape_configs``, every second."""
        self.binary = require_binary("prometheus", "/usr/bin/prometheus")
        self.dir = tempfile.mkdtemp(prefix="agentperf-prom-")
        self.port = free_port()
        jobs = scrape_configs or [{"job_name": "agentperf", "static_configs": [{"targets": scrape_targets or []}]}]
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": rule_files or [],
            "scrape_configs": jobs,
        }
        self.config_path = os.path.join(self.dir, "prometheus.yml")
        with open(self.config_path, "w") as f:
            json.dump(config, f)  # JSON is YAML
        self.log = open(os.path.join(self.dir, "prometheus.log"), "wb")
        self.proc = subprocess.Popen(
            [
                self.binary,
                f"--config.file={self.config_path}",
                f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.wait_ready()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited: {self.logs()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"prometheus not ready: {self.logs()}")

    def logs(self) -> str:
        self.log.flush()
        with open(os.path.join(self.dir, "prometheus.log"), "rb") as f:
            return f.read().decode(errors="replace")[-3000:]

    def query(self, promql: str) -> list[dict[str, Any]]:
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.loads(r.read())
        assert body["status"] == "success", body
        return body["data"]["result"]

    def wait_for(self, promql: str, predicate: Any = bool, timeout: float = 40.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        result: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            result = self.query(promql)
            if predicate(result):
                return result
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {promql!r}; last result {result}")

    def stop(self) -> None:
        self.proc.kill()  # by PID: Popen without a shell
        self.proc.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- The Collector path ----------------------------------------------------------------------------------
# No Collector binary can run here, so the docker-compose naming path is reproduced from the Collector's own
# rules, ported below and checked against the upstream unit tests' vectors (tests/integration/
# test_collector_naming.py). Sources, opentelemetry-collector-contrib (the image pins 0.120.0):
#   exporter/prometheusexporter/collector.go   getMetricMetadata: name = BuildCompliantName(metric, namespace,
#       add_metric_suffixes=true); labels = attributes (NormalizeLabel) + otel_scope_name/_version + job and
#       instance from service.namespace/service.name and service.instance.id; createTargetInfoMetrics:
#       target_info{job, instance, other resource attributes} = 1
#   pkg/translator/prometheus/normalize_name.go normalizeName: tokens of [a-zA-Z0-9:] runs joined by "_",
#       unit suffix (unitMap, "{…}" units add none, "a/b" adds a_per_b, never twice), "_total" for monotonic
#       sums, "_ratio" for gauges whose unit is "1"
#   pkg/translator/prometheus/normalize_label.go NormalizeLabel: non-alphanumerics → "_", "key_" before a
#       leading digit, "key" before a single leading "_"
# Prometheus' copy of the same function (storage/remote/otlptranslator/prometheus/normalize_name.go) and
# prometheus/otlptranslator, which later exporters use, keep these rules.

_UNIT_MAP = {
    "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds", "us": "microseconds",
    "ns": "nanoseconds", "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes",
    "TiBy": "tibibytes", "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes",
    "m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams", "Cel": "celsius",
    "Hz": "hertz", "1": "", "%": "percent",
}  # fmt: skip
_PER_UNIT_MAP = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month", "y": "year"}
_NON_NAME = re.compile(r"[^a-zA-Z0-9:]")


def _clean_up_unit(unit: str) -> str:
    return re.sub(r"__+", "_", _NON_NAME.sub("_", unit)).removeprefix("_")


def collector_metric_name(name: str, unit: str, kind: str, *, monotonic: bool = False) -> str:
    """The name the Collector's Prometheus exporter gives an OTLP metric (``kind``: gauge, sum, histogram)."""
    tokens = [t for t in _NON_NAME.split(name) if t]
    parts = unit.split("/", 1)
    main = parts[0].strip()
    main_suffix = _UNIT_MAP.get(main, main) if main and not re.search(r"[{}]", main) else ""
    per_suffix = ""
    if len(parts) > 1 and parts[1]:
        per = parts[1].strip()
        if per and not re.search(r"[{}]", per):
            per_suffix = "per_" + _PER_UNIT_MAP.get(per, per)
    main_suffix, per_suffix = _clean_up_unit(main_suffix), _clean_up_unit(per_suffix)
    if main_suffix in tokens:
        main_suffix = ""
    if per_suffix == "per_":
        per_suffix = ""
    else:
        per_suffix = per_suffix.removesuffix("_")
        if per_suffix in tokens:
            per_suffix = ""
    if per_suffix:
        main_suffix = main_suffix.removesuffix("_")
    tokens += [s for s in (main_suffix, per_suffix) if s]
    if kind == "sum" and monotonic:
        tokens = [t for t in tokens if t != "total"] + ["total"]
    if unit == "1" and kind == "gauge":
        tokens = [t for t in tokens if t != "ratio"] + ["ratio"]
    out = "_".join(tokens)
    return "_" + out if out[:1].isdigit() else out


def collector_label_name(key: str) -> str:
    """NormalizeLabel: the Collector's label for an attribute key."""
    if not key:
        return key
    label = "".join(c if c.isalnum() else "_" for c in key)
    if label[0].isdigit():
        return "key_" + label
    if label.startswith("_") and not label.startswith("__"):
        return "key" + label
    return label


def _any_value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_any_value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


def _label_value(v: Any) -> str:
    """pcommon.Value.AsString(): what the Collector puts in a label."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def _number(point: Any) -> float:
    return float(point.as_double if point.WhichOneof("value") == "as_double" else point.as_int)


class CollectorPath:
    """OTLP in, the Collector Prometheus exporter's exposition out (OpenMetrics or text, as Prometheus asks).

    What a real ``prometheus`` exporter keeps from the OTLP it receives, reduced to what our metrics use:
    the latest cumulative point per series (its accumulator), named and labelled by the rules above, with
    ``target_info`` per resource and ``_created`` from the start time. Exemplars are left out.
    """

    def __init__(self, received: Any) -> None:
        from prometheus_client.exposition import choose_encoder

        self.received = received  # tests.support.otlp_receiver.Received
        path = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
                body = encoder(path)  # type: ignore[arg-type]
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.httpd.server_address[1])
        self.target = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def points(self) -> dict[tuple[Any, ...], tuple[int, dict[str, Any]]]:
        """(name, kind, labels) → (time, point) for the latest point of every series received."""
        latest: dict[tuple[Any, ...], tuple[int, dict[str, Any]]] = {}
        with self.received.lock:
            requests = list(self.received.metrics)
        for request in requests:
            for rm in request.resource_metrics:
                resource = {kv.key: _any_value(kv.value) for kv in rm.resource.attributes}
                job = str(resource.get("service.name", ""))
                if resource.get("service.namespace"):
                    job = f"{resource['service.namespace']}/{job}"
                instance = str(resource.get("service.instance.id", ""))
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        kind = m.WhichOneof("data")
                        data = getattr(m, kind)
                        monotonic = bool(getattr(data, "is_monotonic", False))
                        if kind in ("sum", "histogram") and data.aggregation_temporality != 2:
                            raise AssertionError(f"{m.name}: the SDK should export cumulative temporality")
                        name = collector_metric_name(m.name, m.unit, kind, monotonic=monotonic)
                        for p in data.data_points:
                            labels = {
                                collector_label_name(kv.key): _label_value(_any_value(kv.value)) for kv in p.attributes
                            }
                            labels.update(
                                otel_scope_name=sm.scope.name,
                                otel_scope_version=sm.scope.version,
                                job=job,
                                instance=instance,
                            )
                            key = (name, kind, monotonic, tuple(sorted(labels.items())))
                            if key not in latest or p.time_unix_nano >= latest[key][0]:
                                latest[key] = (p.time_unix_nano, {"point": p, "resource": resource})
        return latest

    def collect(self) -> Any:
        """Metric families for prometheus_client's encoders: every sample with its own labels."""
        from prometheus_client.core import Metric
        from prometheus_client.utils import floatToGoString

        families: dict[str, Metric] = {}
        targets: dict[tuple[str, str], dict[str, str]] = {}
        for (name, kind, monotonic, labels), (_, entry) in sorted(self.points().items(), key=lambda kv: str(kv[0])):
            point, resource = entry["point"], entry["resource"]
            tags = dict(labels)
            created = point.start_time_unix_nano / 1e9 if point.start_time_unix_nano else None
            if kind == "histogram":
                family = families.setdefault(name, Metric(name, name, "histogram"))
                cumulative = 0
                for bound, count in zip([*point.explicit_bounds, float("inf")], point.bucket_counts, strict=True):
                    cumulative += count
                    le = "+Inf" if bound == float("inf") else floatToGoString(bound)
                    family.add_sample(f"{name}_bucket", {**tags, "le": le}, float(cumulative))
                family.add_sample(f"{name}_count", tags, float(point.count))
                family.add_sample(f"{name}_sum", tags, point.sum)
            elif kind == "sum" and monotonic:
                base = name.removesuffix("_total")
                family = families.setdefault(base, Metric(base, name, "counter"))
                family.add_sample(f"{base}_total", tags, _number(point))
            else:
                family = families.setdefault(name, Metric(name, name, "gauge"))
                family.add_sample(name, tags, _number(point))
            if created is not None and kind != "gauge" and (kind == "histogram" or monotonic):
                family.add_sample(f"{family.name}_created", tags, created)
            attrs = {
                collector_label_name(k): _label_value(v)
                for k, v in resource.items()
                if k not in ("service.name", "service.namespace", "service.instance.id")
            }
            targets[(tags["job"], tags["instance"])] = attrs
        info = Metric("target_info", "Target metadata", "gauge")
        for (job, instance), attrs in sorted(targets.items()):
            info.add_sample("target_info", {**attrs, "job": job, "instance": instance}, 1.0)
        return [*families.values(), info]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- What the dashboards and rules query -----------------------------------------------------------------------
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULES_DIR = os.path.join(ROOT, "deploy", "prometheus", "rules")
GRAFANA_MACROS = {"$__rate_interval": "15s", "${datasource}": "prometheus"}


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard uid, panel title or ``$variable``, PromQL) for every panel target and query variable."""
    out: list[tuple[str, str, str]] = []
    folder = os.path.join(ROOT, "grafana", "dashboards")
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name)) as f:
            board = json.load(f)
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                out.append((board["uid"], panel["title"], target["expr"]))
        for variable in board["templating"]["list"]:
            if variable["type"] != "query":
                continue
            match = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"])
            assert match, variable["query"]
            out.append((board["uid"], f"${variable['name']}", f"count by ({match.group(2)}) ({match.group(1)})"))
    return out


def substitute(expr: str, job: str = ".*") -> str:
    """Grafana's variables and macros replaced as Grafana would for "All" (or for one job)."""
    for name, value in {**GRAFANA_MACROS, "$job": job, "$agent": ".*", "$model": ".*"}.items():
        expr = expr.replace(name, value)
    return expr


_LABEL_LISTS = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})


def selectors(expr: str) -> list[str]:
    """The vector selectors of a PromQL expression: ``name{matchers}``, ``{__name__=~"…"}`` and bare names."""
    found: list[str] = []

    def keep(m: re.Match[str]) -> str:
        found.append(m.group(0))
        return " SELECTOR "

    expr = re.sub(r"#[^\n]*", " ", expr)  # PromQL comments
    rest = re.sub(r"[a-zA-Z_:][\w:]*\{[^}]*\}|\{[^}]*\}", keep, expr)
    rest = _LABEL_LISTS.sub(" ", rest)
    rest = re.sub(r"\[[^\]]*\]|offset\s+\w+|\"[^\"]*\"", " ", rest)
    for m in re.finditer(r"(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", rest):
        name = m.group(1)
        if name != "SELECTOR" and name.lower() not in _KEYWORDS:
            found.append(name)
    return found


def rule_groups() -> dict[str, dict[str, Any]]:
    """Every rule of deploy/prometheus/rules by its record or alert name."""
    import yaml

    rules: dict[str, dict[str, Any]] = {}
    for name in sorted(os.listdir(RULES_DIR)):
        with open(os.path.join(RULES_DIR, name)) as f:
            for group in yaml.safe_load(f)["groups"]:
                for rule in group["rules"]:
                    rules[rule.get("record") or rule["alert"]] = rule
    return rules


def raw_selectors(rule_name: str, rules: dict[str, dict[str, Any]]) -> set[str]:
    """The selectors of raw series a rule reads, through the recording rules it uses."""
    out: set[str] = set()
    for selector in selectors(rules[rule_name]["expr"]):
        name = selector.split("{", 1)[0]
        if name in rules:
            out |= raw_selectors(name, rules)
        else:
            out.add(selector)
    return out


FAKE_NVML = '''"""A stand-in NVML with one GPU at 37 %, so the SDK's own GPU gauges register and report (tests only)."""


class _Rates:
    gpu = 37


class _Memory:
    used = 2_000_000_000


def nvmlInit():
    return None


def nvmlDeviceGetCount():
    return 1


def nvmlDeviceGetHandleByIndex(index):
    return index


def nvmlDeviceGetUtilizationRates(handle):
    return _Rates()


def nvmlDeviceGetMemoryInfo(handle):
    return _Memory()
'''


def fake_gpu_pythonpath(directory: str) -> str:
    """A folder with ``pynvml.py`` (FAKE_NVML) to put first on a demo's PYTHONPATH: the GPU panel gets data."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "pynvml.py"), "w") as f:
        f.write(FAKE_NVML)
    return directory
