"""Static checks of deploy/ and grafana/: promtool, amtool (routing per severity), dashboards in sync, links
Grafana can fill in, Collector configs complete and typed as the Collector's own config structs, the compose
file's health checks, external URLs and secrets. Real binaries; under CI a missing binary is a failure."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.prom import require_binary

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
RULES = sorted((DEPLOY / "prometheus" / "rules").glob("*.yml"))
ALERTS = DEPLOY / "prometheus" / "rules" / "agentperf-alerts.yml"
ALERT_FILES = [ALERTS, DEPLOY / "prometheus" / "rules" / "agentperf-forecast.yml"]  # every file with alerts


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


def test_promtool_check_rules() -> None:
    out = run(require_binary("promtool"), "check", "rules", *map(str, RULES))
    assert out.returncode == 0, out.stdout + out.stderr


def test_promtool_unit_tests_cover_every_alert() -> None:
    tests = sorted((DEPLOY / "prometheus" / "tests").glob("*.yml"))
    for path in tests:  # one file per run: each stays well inside run()'s timeout
        out = run(require_binary("promtool"), "test", "rules", str(path))
        assert out.returncode == 0, out.stdout + out.stderr
    alerts = {
        r["alert"]
        for path in ALERT_FILES
        for g in yaml.safe_load(path.read_text())["groups"]
        for r in g["rules"]
        if "alert" in r
    }
    tested: set[str] = set()
    for path in tests:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                if check.get("exp_alerts"):
                    tested.add(check["alertname"])
    assert alerts - tested == set(), "alerts without a must-fire test"
    assert len(alerts) >= 17


def test_promtool_check_config(tmp_path: Path) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    config["rule_files"] = [str(p) for p in RULES]  # the container path, mapped to the checkout
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    out = run(require_binary("promtool"), "check", "config", str(path))
    assert out.returncode == 0, out.stdout + out.stderr


def turned_on(text: str) -> str:
    """alertmanager.yml with the receivers that need secrets turned on, as its comments say: uncomment `#~ `."""
    return re.sub(r"^(\s*)#~ ", r"\1", text, flags=re.MULTILINE)


def alertmanager_config(tmp_path: Path, *, receivers_on: bool = False) -> Path:
    text = (DEPLOY / "alertmanager" / "alertmanager.yml").read_text()
    text = text.replace("/etc/alertmanager/templates", str(DEPLOY / "alertmanager" / "templates"))
    path = tmp_path / ("alertmanager-on.yml" if receivers_on else "alertmanager.yml")
    path.write_text(turned_on(text) if receivers_on else text)
    return path


@pytest.mark.parametrize("receivers_on", [False, True], ids=["as-shipped", "receivers-turned-on"])
def test_amtool_check_config(tmp_path: Path, receivers_on: bool) -> None:
    out = run(require_binary("amtool"), "check-config", str(alertmanager_config(tmp_path, receivers_on=receivers_on)))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_receivers_that_need_secrets_are_off_until_turned_on() -> None:
    """As shipped only the console printer receives (once per alert); turned on, paging and chat read secret
    files that docker-compose mounts, and the console still receives every alert."""
    text = (DEPLOY / "alertmanager" / "alertmanager.yml").read_text()
    shipped = {r["name"]: r for r in yaml.safe_load(text)["receivers"]}
    assert set(shipped) == {"agentperf-console", "paging", "chat"}
    assert [k for k in shipped["paging"] if k.endswith("_configs")] == []
    assert [k for k in shipped["chat"] if k.endswith("_configs")] == []
    assert shipped["agentperf-console"]["webhook_configs"][0]["url"] == "http://agentperf-alerts:9095/alerts"
    on = {r["name"]: r for r in yaml.safe_load(turned_on(text))["receivers"]}
    assert on["paging"]["pagerduty_configs"] and on["chat"]["slack_configs"] and on["chat"]["email_configs"]
    secret_files = set(re.findall(r"/run/secrets/(\w+)", turned_on(text)))
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert secret_files == set(compose["services"]["alertmanager"]["secrets"]) == set(compose["secrets"])
    for name, secret in compose["secrets"].items():
        default = re.fullmatch(r"\$\{\w+:-(.+)\}", secret["file"])
        assert default and (ROOT / default.group(1)).is_file(), f"{name}: a placeholder keeps compose starting"


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["severity=critical", "gen_ai_agent_name=planner"], "paging,agentperf-console"),
        (["severity=warning", "gen_ai_agent_name=planner"], "chat,agentperf-console"),
        (["severity=info"], "agentperf-console"),
    ],
)
def test_amtool_routes(tmp_path: Path, labels: list[str], receivers: str) -> None:
    config = alertmanager_config(tmp_path)
    out = run(
        require_binary("amtool"),
        "config",
        "routes",
        "test",
        f"--config.file={config}",
        f"--verify.receivers={receivers}",
        *labels,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_no_secrets_in_alertmanager_config() -> None:
    config = yaml.safe_load(turned_on((DEPLOY / "alertmanager" / "alertmanager.yml").read_text()))
    text = json.dumps(config)
    assert "hooks.slack.com" not in text and 'auth_password"' not in text
    for receiver in config["receivers"]:
        for slack in receiver.get("slack_configs", []):
            assert "api_url_file" in slack and "api_url" not in slack
        for email in receiver.get("email_configs", []):
            assert "auth_password_file" in email and "auth_password" not in email
        for pager in receiver.get("pagerduty_configs", []):
            assert "routing_key_file" in pager and "routing_key" not in pager


def build_dashboards() -> Any:
    sys.path.insert(0, str(ROOT / "grafana"))
    try:
        import build_dashboards as module  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    return module


def test_dashboards_in_sync_with_code() -> None:
    rendered = build_dashboards().render()
    committed = {p.name: p.read_text() for p in (ROOT / "grafana" / "dashboards").glob("*.json")}
    assert rendered == committed, "run: python grafana/build_dashboards.py"
    for name, text in rendered.items():
        board = json.loads(text)
        assert board["uid"].startswith("agentperf-"), name
        refs = [[t["refId"] for t in p["targets"]] for p in board["panels"]]
        assert all(len(r) == len(set(r)) and all(r) for r in refs), name


# Grafana's template-variable syntax (public/app/features/variables/utils.ts, variableRegex): $var, [[var]],
# ${var}, ${var.field}, ${var:format}. Anything it does not match is left as it is, e.g. a percent-encoded %24var.
GRAFANA_VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}")


def interpolate(url: str, values: dict[str, list[str]]) -> tuple[str, set[str]]:
    """What Grafana makes of a link URL: the ``pipe`` format joins values with "|"; returns the names used."""
    used: set[str] = set()

    def repl(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(4)
        fmt = m.group(3) or m.group(6) or "glob"
        used.add(name)
        chosen = values[name]
        if fmt == "pipe" or len(chosen) == 1:
            return "|".join(chosen)
        return "{" + ",".join(chosen) + "}"  # Grafana's default (glob) format for several values

    return GRAFANA_VARIABLE.sub(repl, url), used


def test_traces_in_tempo_links_are_filled_in_by_grafana() -> None:
    """The Explore URL is percent-encoded JSON; Grafana only sees the variables left unencoded. After Grafana's
    interpolation the pane is valid JSON whose TraceQL matches the selected agents/models."""
    links = 0
    for path in sorted((ROOT / "grafana" / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        declared = {v["name"] for v in board["templating"]["list"]} | {"__from", "__to"}
        for panel in board["panels"]:
            for link in panel.get("links", []):
                links += 1
                assert "%24" not in link["url"], f"{path.name}: an encoded $ is never interpolated"
                values = {n: ["writer", "planner"] for n in declared} | {
                    "__from": ["1700000000000"],
                    "__to": ["1700003600000"],
                }
                url, used = interpolate(link["url"], values)
                assert used and used <= declared, f"{path.name}: {used - declared} is not a variable of the dashboard"
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
                pane = json.loads(query["panes"][0])["traces"]
                assert pane["datasource"] == "tempo" and pane["range"] == {
                    "from": "1700000000000",
                    "to": "1700003600000",
                }
                traceql = pane["queries"][0]["query"]
                assert re.fullmatch(
                    r'\{ span\.gen_ai\.(agent\.name|request\.model) =~ "writer\|planner" \}', traceql
                ), traceql
    assert links == 2


def test_every_alert_links_to_its_runbook() -> None:
    """runbook_url (not free text) on every alert, pointing at the printer's /runbooks/<alert>; runbooks.md has a
    section for every alert and none for an alert that does not exist."""
    groups = [g for path in ALERT_FILES for g in yaml.safe_load(path.read_text())["groups"]]
    rules = [r for g in groups for r in g["rules"] if "alert" in r]
    sections = re.findall(r"^## (\w+)\s*$", (DEPLOY / "prometheus" / "runbooks.md").read_text(), flags=re.MULTILINE)
    for rule in rules:
        notes = rule["annotations"]
        assert "runbook" not in notes, rule["alert"]
        assert notes["runbook_url"] == f"http://127.0.0.1:9095/runbooks/{rule['alert']}"
        assert notes["dashboard"].startswith("/d/agentperf-")
    assert sorted(sections) == sorted(r["alert"] for r in rules)


# --- The Collector configs against the Collector's own config structs ------------------------------------------
# No Collector binary can run here, so both configs are decoded against a typed subset of the config structs of
# the pinned components (otel/opentelemetry-collector-contrib:0.120.0): every key we use, its Go type, required
# fields and the Validate() rules we rely on. Decoding in 0.120 is strict (confmap/confmap.go decodeConfig:
# WeaklyTypedInput false, ErrorUnused true): a number where the struct has a string, or an unknown key, stops the
# Collector at start-up. Sources (mapstructure tags):
#   collector v0.120.0: receiver/otlpreceiver/config.go; config/configgrpc/configgrpc.go (ClientConfig,
#     ServerConfig); config/confighttp/confighttp.go (ServerConfig); config/confignet/confignet.go (AddrConfig);
#     config/configtls/configtls.go; exporter/otlpexporter/config.go; exporter/exporterhelper/internal/
#     queue_sender.go (QueueConfig); config/configretry/backoff.go; internal/memorylimiter/config.go;
#     processor/batchprocessor/config.go; service/telemetry/internal/migration/v0.3.0.go (+ contrib/config
#     v0.14.0 MetricReader for `readers`)
#   collector-contrib: exporter/loadbalancingexporter/config.go (DNSResolver.Port is a string);
#     exporter/prometheusexporter/config.go; exporter/prometheusremotewriteexporter/config.go;
#     extension/healthcheckextension/config.go; processor/resourcedetectionprocessor/config.go
# A key missing here is reported as unknown: add it from its struct (with its type) rather than loosen the check.


@dataclass(frozen=True)
class F:
    """A config field: its Go type, whether the component requires it, the values it accepts."""

    type: Any
    required: bool = False
    choices: tuple[Any, ...] = ()


STR, INT, UINT, BOOL, FLOAT, DURATION = "string", "int", "uint", "bool", "float", "duration"
MAP_STR = "map[string]string"


def LIST(item: Any) -> tuple[str, Any]:
    return ("list", item)


TLS_CLIENT = {
    "insecure": BOOL, "insecure_skip_verify": BOOL, "ca_file": STR, "cert_file": STR, "key_file": STR,
    "server_name_override": STR, "min_version": STR, "max_version": STR, "reload_interval": DURATION,
}  # fmt: skip
TLS_SERVER = {"ca_file": STR, "cert_file": STR, "key_file": STR, "client_ca_file": STR, "min_version": STR}
QUEUE = {"enabled": BOOL, "num_consumers": INT, "queue_size": INT, "blocking": BOOL, "storage": STR}
RETRY = {
    "enabled": BOOL, "initial_interval": DURATION, "randomization_factor": FLOAT, "multiplier": FLOAT,
    "max_interval": DURATION, "max_elapsed_time": DURATION,
}  # fmt: skip
GRPC_CLIENT = {
    "endpoint": STR, "compression": STR, "tls": TLS_CLIENT, "headers": MAP_STR, "balancer_name": STR,
    "authority": STR, "wait_for_ready": BOOL, "read_buffer_size": INT, "write_buffer_size": INT,
}  # fmt: skip
OTLP_EXPORTER = {**GRPC_CLIENT, "timeout": DURATION, "sending_queue": QUEUE, "retry_on_failure": RETRY}
GRPC_SERVER = {
    "endpoint": STR, "transport": STR, "tls": TLS_SERVER, "max_recv_msg_size_mib": INT, "max_concurrent_streams": UINT,
    "read_buffer_size": INT, "write_buffer_size": INT, "include_metadata": BOOL,
}  # fmt: skip
HTTP_SERVER = {
    "endpoint": STR, "tls": TLS_SERVER, "max_request_body_size": INT, "include_metadata": BOOL,
    "response_headers": MAP_STR, "compression_algorithms": LIST(STR), "read_timeout": DURATION,
    "read_header_timeout": DURATION, "write_timeout": DURATION, "idle_timeout": DURATION,
    "cors": {"allowed_origins": LIST(STR), "allowed_headers": LIST(STR), "max_age": INT},
}  # fmt: skip
RESOLVERS = ("static", "dns", "k8s", "aws_cloud_map")

COMPONENTS: dict[str, dict[str, dict[str, Any]]] = {
    "extensions": {
        "health_check": {
            **HTTP_SERVER, "path": STR, "response_body": {"healthy": STR, "unhealthy": STR},
            "check_collector_pipeline": {"enabled": BOOL, "interval": STR, "exporter_failure_threshold": INT},
        },
    },
    "receivers": {
        "otlp": {
            "protocols": {
                "grpc": GRPC_SERVER,
                "http": {**HTTP_SERVER, "traces_url_path": STR, "metrics_url_path": STR, "logs_url_path": STR},
            }
        },
    },
    "processors": {
        "memory_limiter": {
            "check_interval": F(DURATION, required=True), "limit_mib": UINT, "spike_limit_mib": UINT,
            "limit_percentage": UINT, "spike_limit_percentage": UINT,
        },
        "batch": {
            "timeout": DURATION, "send_batch_size": UINT, "send_batch_max_size": UINT, "metadata_keys": LIST(STR),
            "metadata_cardinality_limit": UINT,
        },
        "resourcedetection": {
            "detectors": LIST(F(STR, choices=(
                "env", "system", "docker", "ec2", "ecs", "eks", "elasticbeanstalk", "lambda", "gcp", "azure", "aks",
                "consul", "heroku", "openshift", "k8snode", "kubeadm", "dynatrace",
            ))),
            "timeout": DURATION, "override": BOOL,
        },
    },
    "exporters": {
        "otlp": {**OTLP_EXPORTER, "endpoint": F(STR, required=True)},
        "prometheus": {
            "endpoint": F(STR, required=True), "tls": TLS_SERVER, "namespace": STR, "const_labels": MAP_STR,
            "send_timestamps": BOOL, "metric_expiration": DURATION, "enable_open_metrics": BOOL,
            "resource_to_telemetry_conversion": {"enabled": BOOL}, "add_metric_suffixes": BOOL,
        },
        "loadbalancing": {
            "protocol": {"otlp": OTLP_EXPORTER},
            "resolver": {
                "static": {"hostnames": LIST(STR)},
                "dns": {"hostname": F(STR, required=True), "port": STR, "interval": DURATION, "timeout": DURATION},
                "k8s": {"service": STR, "ports": LIST(INT), "timeout": DURATION, "return_hostnames": BOOL},
                "aws_cloud_map": {"namespace": STR, "service_name": STR, "health_status": STR, "port": UINT},
            },
            "routing_key": F(STR, choices=("traceID", "service", "metric", "resource", "streamID")),
            "timeout": DURATION, "retry_on_failure": RETRY, "sending_queue": QUEUE,
        },
        "prometheusremotewrite": {
            "endpoint": F(STR, required=True), "tls": TLS_CLIENT, "headers": MAP_STR, "timeout": DURATION,
            "namespace": STR, "external_labels": MAP_STR, "resource_to_telemetry_conversion": {"enabled": BOOL},
            "target_info": {"enabled": BOOL}, "export_created_metric": {"enabled": BOOL},
            "remote_write_queue": {"enabled": BOOL, "queue_size": INT, "num_consumers": INT},
            "add_metric_suffixes": BOOL, "send_metadata": BOOL, "max_batch_size_bytes": INT, "retry_on_failure": RETRY,
        },
    },
}  # fmt: skip
SERVICE = {
    "extensions": LIST(STR),
    "pipelines": ("map", {"receivers": LIST(STR), "processors": LIST(STR), "exporters": LIST(STR)}),
    "telemetry": {
        "logs": {
            "level": F(STR, choices=("debug", "info", "warn", "error", "dpanic", "panic", "fatal")),
            "encoding": STR, "development": BOOL, "output_paths": LIST(STR), "error_output_paths": LIST(STR),
        },
        "metrics": {
            "level": F(STR, choices=("none", "basic", "normal", "detailed")),
            "address": STR,
            "readers": LIST({
                "pull": {"exporter": {"prometheus": {
                    "host": STR, "port": INT, "without_units": BOOL, "without_type_suffix": BOOL,
                    "without_scope_info": BOOL,
                }}},
            }),
        },
        "resource": MAP_STR,
    },
}  # fmt: skip
_GO_DURATION = re.compile(r"^-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$|^0$")


def _type_error(value: Any, kind: str) -> str | None:
    """Why ``value`` (as YAML decodes it) does not decode into a Go field of ``kind`` under strict decoding."""
    ok = {
        STR: isinstance(value, str),
        INT: isinstance(value, int) and not isinstance(value, bool),
        UINT: isinstance(value, int) and not isinstance(value, bool) and value >= 0,
        BOOL: isinstance(value, bool),
        FLOAT: isinstance(value, (int, float)) and not isinstance(value, bool),
        # time.Duration: a Go duration string (StringToTimeDurationHookFunc) or an integer of nanoseconds
        DURATION: (isinstance(value, str) and bool(_GO_DURATION.match(value)))
        or (isinstance(value, int) and not isinstance(value, bool)),
        MAP_STR: isinstance(value, dict) and all(isinstance(v, str) for v in value.values()),
    }[kind]
    return None if ok else f"expected {kind}, got {type(value).__name__} {value!r}"


def check_value(path: str, value: Any, spec: Any) -> list[str]:
    if isinstance(spec, F):
        errors = check_value(path, value, spec.type)
        if not errors and spec.choices and value not in spec.choices:
            errors.append(f"{path}: {value!r} is not one of {', '.join(map(str, spec.choices))}")
        return errors
    if isinstance(spec, dict):
        if value is None:
            value = {}  # `key:` with nothing under it decodes to the struct's defaults
        if not isinstance(value, dict):
            return [f"{path}: expected a mapping, got {type(value).__name__} {value!r}"]
        errors = [f"{path}.{key}: unknown key (not in the struct)" for key in value if key not in spec]
        for key, sub in spec.items():
            if key in value:
                errors += check_value(f"{path}.{key}", value[key], sub)
            elif isinstance(sub, F) and sub.required:
                errors.append(f"{path}.{key}: required")
        return errors
    if isinstance(spec, tuple) and spec[0] == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__} {value!r}"]
        return [e for i, item in enumerate(value) for e in check_value(f"{path}[{i}]", item, spec[1])]
    if isinstance(spec, tuple) and spec[0] == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a mapping, got {type(value).__name__}"]
        return [e for key, item in value.items() for e in check_value(f"{path}.{key}", item, spec[1])]
    error = _type_error(value, spec)
    return [f"{path}: {error}"] if error else []


def validate_collector_config(config: dict[str, Any]) -> list[str]:
    """Decode a Collector config against COMPONENTS/SERVICE and the Validate() rules of the components used."""
    errors = [f"{key}: unknown top-level key" for key in config if key not in (*COMPONENTS, "connectors", "service")]
    for kind, known in COMPONENTS.items():
        for component_id, body in (config.get(kind) or {}).items():
            ctype = component_id.split("/", 1)[0]
            if ctype not in known:
                errors.append(f"{kind}.{component_id}: component type {ctype!r} is not in the checked schema")
                continue
            path = f"{kind}.{component_id}"
            errors += check_value(path, body, known[ctype])
            errors += _validate(ctype, path, body or {})
    errors += check_value("service", config.get("service"), SERVICE)
    return errors


def _validate(ctype: str, path: str, body: dict[str, Any]) -> list[str]:
    """The components' Validate() rules that our values exercise."""
    errors: list[str] = []
    if ctype == "memory_limiter":
        limit, spike = body.get("limit_percentage", 0), body.get("spike_limit_percentage", 0)
        if not body.get("limit_mib") and not limit:
            errors.append(f"{path}: 'limit_mib' or 'limit_percentage' must be greater than zero")
        if limit and not (spike < limit <= 100):
            errors.append(f"{path}: 'spike_limit_percentage' must be smaller than 'limit_percentage' (≤ 100)")
    if (
        ctype == "batch"
        and body.get("send_batch_max_size", 0)
        and body["send_batch_max_size"] < body.get("send_batch_size", 8192)
    ):
        errors.append(f"{path}: send_batch_max_size must be greater or equal to send_batch_size")
    if ctype == "otlp" and path.startswith("receivers.") and not (body.get("protocols") or {}):
        errors.append(f"{path}: must specify at least one protocol when using the OTLP receiver")
    if ctype == "loadbalancing":
        resolvers = [r for r in RESOLVERS if r in (body.get("resolver") or {})]
        if len(resolvers) != 1:
            errors.append(f"{path}.resolver: exactly one of {', '.join(RESOLVERS)} (got {resolvers})")
    return errors


COLLECTOR_CONFIGS = ["otel-collector.yaml", "otel-collector-gateway.yaml"]


@pytest.mark.parametrize("name", COLLECTOR_CONFIGS)
def test_collector_config_decodes_into_the_component_structs(name: str) -> None:
    config = yaml.safe_load((DEPLOY / "collector" / name).read_text())
    assert validate_collector_config(config) == []


@pytest.mark.parametrize(
    ("edit", "error"),
    [
        # the bug the gateway shipped with: resolver.dns.port is `Port string`
        (lambda c: c["exporters"]["loadbalancing"]["resolver"]["dns"].update(port=4317),
         "exporters.loadbalancing.resolver.dns.port: expected string, got int 4317"),
        (lambda c: c["processors"]["memory_limiter"].update(check_intervall="1s"),
         "processors.memory_limiter.check_intervall: unknown key (not in the struct)"),
        (lambda c: c["processors"]["memory_limiter"].pop("check_interval"),
         "processors.memory_limiter.check_interval: required"),
        (lambda c: c["processors"]["batch"].update(timeout="2 seconds"),
         "processors.batch.timeout: expected duration, got str '2 seconds'"),
        (lambda c: c["exporters"]["loadbalancing"].update(routing_key="traceid"),
         "exporters.loadbalancing.routing_key: 'traceid' is not one of"),
        (lambda c: c["exporters"]["loadbalancing"]["resolver"].update(static={"hostnames": ["a:4317"]}),
         "exporters.loadbalancing.resolver: exactly one of"),
        (lambda c: c["service"]["telemetry"]["metrics"].update(level="verbose"),
         "service.telemetry.metrics.level: 'verbose' is not one of"),
    ],
    ids=["dns-port-number", "unknown-key", "missing-required", "bad-duration", "routing-key", "two-resolvers", "level"],
)  # fmt: skip
def test_collector_schema_catches_what_the_collector_rejects(edit: Any, error: str) -> None:
    config = yaml.safe_load((DEPLOY / "collector" / "otel-collector-gateway.yaml").read_text())
    edit(config)
    errors = validate_collector_config(config)
    assert any(e.startswith(error) for e in errors), errors


def _components(section: Any) -> set[str]:
    return set(section or {})


@pytest.mark.parametrize("name", COLLECTOR_CONFIGS)
def test_collector_config_structure(name: str) -> None:
    """No Collector binary can be installed here: check that every pipeline component is defined and every
    defined component is used, that memory_limiter runs first and batch last, and health_check is on."""
    config = yaml.safe_load((DEPLOY / "collector" / name).read_text())
    service = config["service"]
    used: dict[str, set[str]] = {"receivers": set(), "processors": set(), "exporters": set(), "connectors": set()}
    for pipeline_name, pipeline in service["pipelines"].items():
        assert re.match(r"^(traces|metrics|logs)(/[\w-]+)?$", pipeline_name), pipeline_name
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                defined = _components(config.get(kind)) | _components(config.get("connectors"))
                assert component in defined, f"{pipeline_name}: {component} is not defined"
                used[kind].add(component)
        processors = pipeline.get("processors", [])
        assert processors and processors[0].startswith("memory_limiter"), pipeline_name
        assert any(p.startswith("batch") for p in processors), pipeline_name
    for kind in ("receivers", "processors", "exporters"):
        unused = _components(config.get(kind)) - used[kind] - used["connectors"]
        assert not unused, f"defined but unused {kind}: {unused}"
    assert "health_check" in service.get("extensions", [])
    assert set(service.get("extensions", [])) <= _components(config.get("extensions"))
    assert "telemetry" in service


def test_compose_file_pins_images_and_binds_localhost() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"otel-collector", "prometheus", "alertmanager", "grafana", "tempo", "demo", "agentperf-alerts"} <= set(
        services
    )
    for name, svc in services.items():
        image = svc.get("image")
        if image:
            assert re.search(r":[\w.\-]+$", image) and not image.endswith(":latest"), f"{name}: pin {image}"
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:") or str(port).startswith("${"), f"{name}: {port}"
        one_shot = svc.get("restart") == "no"  # runs once and exits (the Collector's probe copier)
        assert "healthcheck" in svc or one_shot or name in ("demo",), f"{name} has no health check"
    assert compose.get("volumes"), "named volumes"
    grafana_env = services["grafana"]["environment"]
    assert any(
        "GF_SECURITY_ADMIN_PASSWORD" in str(e)
        for e in (grafana_env if isinstance(grafana_env, list) else grafana_env.keys())
    )
    mounts = json.dumps(services["prometheus"].get("volumes", []))
    assert "deploy/prometheus/rules" in mounts
    for svc in services.values():  # every mounted file or folder of the repository exists
        for volume in svc.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            assert not source.startswith("./") or (ROOT / source).exists(), source


def test_compose_collector_health_check_asks_the_health_check_extension() -> None:
    """The Collector image is FROM scratch: the check runs a static busybox copied into a volume by a pinned
    one-shot service, and asks the health_check extension, which answers 200 only once the pipelines run."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    collector = services["otel-collector"]
    config = yaml.safe_load((DEPLOY / "collector" / "otel-collector.yaml").read_text())
    endpoint = config["extensions"]["health_check"]["endpoint"]
    path = config["extensions"]["health_check"].get("path", "/")
    test = collector["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "/probe/busybox" and test[2] == "wget"
    assert test[-1] == f"http://127.0.0.1:{endpoint.rsplit(':', 1)[1]}{path}"
    assert "/otelcol-contrib" not in test  # `components` only proved that the binary runs
    probe = services["collector-probe"]
    assert probe["image"].startswith("busybox:") and "musl" in probe["image"]  # statically linked
    assert probe["command"] == ["cp", "/bin/busybox", "/probe/busybox"]
    volume = probe["volumes"][0].split(":")[0]
    assert f"{volume}:/probe:ro" in collector["volumes"]
    assert collector["depends_on"]["collector-probe"] == {"condition": "service_completed_successfully"}


def test_compose_links_use_external_urls() -> None:
    """Alert links must not carry container host names: Prometheus' generatorURL and Alertmanager's links use
    --web.external-url, Grafana its root URL, the printer its Grafana base; all default to the published ports."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    expected = {
        "prometheus": "--web.external-url=${PROMETHEUS_EXTERNAL_URL:-http://127.0.0.1:9090}",
        "alertmanager": "--web.external-url=${ALERTMANAGER_EXTERNAL_URL:-http://127.0.0.1:9093}",
    }
    for name, flag in expected.items():
        assert flag in services[name]["command"], name
        port = re.search(r":(\d+)\}$", flag)
        assert port and f"127.0.0.1:{port.group(1)}:{port.group(1)}" in services[name]["ports"]
    assert services["grafana"]["environment"]["GF_SERVER_ROOT_URL"] == "${GRAFANA_ROOT_URL:-http://127.0.0.1:3000}"
    assert "${GRAFANA_ROOT_URL:-http://127.0.0.1:3000}" in services["agentperf-alerts"]["command"]
    assert "127.0.0.1:9095:9095" in services["agentperf-alerts"]["ports"]  # the runbooks the alerts link to


def test_tempo_reports_no_usage_and_grafana_needs_no_metrics_generator() -> None:
    tempo = yaml.safe_load((DEPLOY / "tempo" / "tempo.yaml").read_text())
    assert tempo["usage_report"] == {"reporting_enabled": False}
    assert "metrics_generator" not in tempo
    sources = yaml.safe_load((ROOT / "grafana" / "provisioning" / "datasources" / "agentperf.yml").read_text())
    tempo_source = next(d for d in sources["datasources"] if d["type"] == "tempo")
    settings = tempo_source.get("jsonData", {})
    assert "serviceMap" not in settings and "tracesToMetrics" not in settings  # both need span metrics


def test_native_stack_configs_are_valid(tmp_path: Path) -> None:
    """What `agentperf stack up` writes passes promtool and amtool too (normal and fast mode)."""
    from otel_agentperf.stack.runner import write_configs

    for fast in (False, True):
        directory = tmp_path / ("fast" if fast else "normal")
        prom, am = write_configs(
            directory,
            ["127.0.0.1:9464"],
            prometheus_port=9090,
            alertmanager_port=9093,
            alerts_port=9095,
            fast=fast,
            thresholds={"agentperf:budget:usd_per_day": 250},
        )
        out = run(require_binary("promtool"), "check", "config", str(prom))
        assert out.returncode == 0, out.stdout + out.stderr
        out = run(require_binary("amtool"), "check-config", str(am))
        assert out.returncode == 0, out.stdout + out.stderr
        assert "vector(250)" in (directory / "rules" / "agentperf-thresholds.yml").read_text()
    assert "[5s]" in (tmp_path / "fast" / "rules" / "agentperf-recording.yml").read_text()
    fast_thresholds = (tmp_path / "fast" / "rules" / "agentperf-thresholds.yml").read_text()
    assert "min_horizon_seconds\n        expr: vector(60)" in fast_thresholds  # one compressed hour ahead
    assert "[30s]" in (tmp_path / "fast" / "rules" / "agentperf-forecast.yml").read_text()
    assert os.path.exists(tmp_path / "normal" / "rules" / "agentperf-alerts.yml")


def test_native_stack_prints_every_alert_once_and_links_locally(tmp_path: Path) -> None:
    """Only the console receiver posts to the printer (paging and chat have nothing to post to locally), so
    each alert is printed once per notification; runbook links follow the printer's port; a Collector's
    exporter is scraped with honor_labels, as deploy/prometheus/prometheus.yml does."""
    from otel_agentperf.stack.runner import write_configs

    prom, am = write_configs(
        tmp_path, ["127.0.0.1:8889"], prometheus_port=9190, alertmanager_port=9193, alerts_port=9195, fast=False,
        honor_labels=True,
    )  # fmt: skip
    receivers = {r["name"]: r for r in yaml.safe_load(am.read_text())["receivers"]}
    assert receivers["agentperf-console"]["webhook_configs"] == [
        {"url": "http://127.0.0.1:9195/alerts", "send_resolved": True}
    ]
    assert receivers["paging"] == {"name": "paging"} and receivers["chat"] == {"name": "chat"}
    alerts = (tmp_path / "rules" / "agentperf-alerts.yml").read_text()
    assert "http://127.0.0.1:9195/runbooks/SpendOverBudget" in alerts and ":9095/" not in alerts
    scrape = yaml.safe_load(prom.read_text())["scrape_configs"][0]
    assert scrape["honor_labels"] is True and scrape["static_configs"][0]["targets"] == ["127.0.0.1:8889"]
    collector_path = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())["scrape_configs"][0]
    assert collector_path["honor_labels"] is True
