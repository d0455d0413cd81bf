"""Where the stack's files are: ``deploy/``, ``grafana/`` and ``docker-compose.yml``, in a checkout or a wheel.

The product layout keeps ``deploy/`` and ``grafana/`` at the top of the repository; the wheel carries them as
data files under ``<prefix>/share/otel_agentperf/`` (pyproject.toml ``[tool.setuptools.data-files]``), found
through the distribution's RECORD so any install scheme works (venv, ``--user``, pipx). ``export`` copies
them, with the compose file, to a folder of the user's choice.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import site
import sys
import sysconfig
from pathlib import Path

DEPLOY_ENV = "AGENTPERF_DEPLOY_DIR"
SHARE = ("share", "otel_agentperf")
_MARKER = ("deploy", "prometheus", "rules", "agentperf-thresholds.yml")
_CHECKOUT = Path(__file__).resolve().parents[2]


class StackError(Exception):
    """Something the user must fix (one line)."""


def _has_deploy(root: Path) -> bool:
    return root.joinpath(*_MARKER).is_file()


def _installed_roots() -> list[Path]:
    """``share/otel_agentperf`` folders an installed wheel may have put its data in, most specific first."""
    roots: list[Path] = []
    try:
        dist = importlib.metadata.distribution("otel_agentperf")
    except importlib.metadata.PackageNotFoundError:
        dist = None
    suffix = "/".join((*SHARE, *_MARKER))
    for entry in (dist.files or []) if dist is not None else []:
        if str(entry).replace("\\", "/").endswith(suffix):
            located = Path(str(dist.locate_file(entry))).resolve() if dist is not None else None
            if located is not None:
                roots.append(located.parents[len(_MARKER) - 1])
    bases = [sysconfig.get_path("data"), sys.prefix, sys.base_prefix, site.getuserbase()]
    roots.extend(Path(base).joinpath(*SHARE) for base in bases if base)
    return roots


def root() -> Path:
    """The folder holding ``deploy/``, ``grafana/`` and ``docker-compose.yml``: this checkout, else the wheel's."""
    for candidate in (_CHECKOUT, *_installed_roots()):
        if _has_deploy(candidate):
            return candidate
    raise StackError(
        f"cannot find the stack's files (deploy/, grafana/): reinstall otel_agentperf from its wheel, "
        f"or set {DEPLOY_ENV} to a checkout's deploy/"
    )


def deploy_dir() -> Path:
    configured = os.environ.get(DEPLOY_ENV)
    if configured:
        path = Path(configured)
        if not path.joinpath(*_MARKER[1:]).is_file():
            raise StackError(f"{DEPLOY_ENV}={configured} has no prometheus/rules/{_MARKER[-1]}")
        return path
    return root() / "deploy"


def grafana_dir() -> Path:
    configured = os.environ.get(DEPLOY_ENV)
    base = Path(configured).parent if configured else root()
    path = base / "grafana"
    if not (path / "dashboards").is_dir():
        raise StackError(f"cannot find grafana/dashboards next to {base / 'deploy'}")
    return path


DOCKERFILE = """\
# The demo app and `agentperf alerts` of the exported stack: otel_agentperf=={version} from PyPI, or the
# wheel you put next to this file (it wins when present).
FROM python:3.11-slim
ARG AGENTPERF=otel_agentperf=={version}
COPY Dockerfile *.whl /src/
RUN set -e; wheel=$(ls /src/*.whl 2>/dev/null | head -n 1); pip install --no-cache-dir "${{wheel:-$AGENTPERF}}"
ENV PYTHONUNBUFFERED=1
CMD ["agentperf", "demo", "--duration", "86400", "--rate", "1", "--otlp", "http://otel-collector:4317"]
"""

_SKIP = ("__pycache__", "*.pyc", "build_dashboards.py")


def export(directory: Path, *, force: bool = False) -> list[Path]:
    """Write docker-compose.yml, a Dockerfile, deploy/ and grafana/ to ``directory``; return what was written."""
    from .._version import VERSION

    source = root()
    deploy, grafana = deploy_dir(), grafana_dir()
    targets = [directory / "docker-compose.yml", directory / "Dockerfile", directory / "deploy", directory / "grafana"]
    existing = [t for t in targets if t.exists()]
    if existing and not force:
        raise StackError(f"{existing[0]} exists; choose an empty folder or pass --force")
    directory.mkdir(parents=True, exist_ok=True)
    compose = source / "docker-compose.yml"
    if not compose.is_file():
        raise StackError(f"{compose} is missing from this installation")
    shutil.copyfile(compose, targets[0])
    targets[1].write_text(DOCKERFILE.format(version=VERSION))
    for src, dst in ((deploy, targets[2]), (grafana, targets[3])):
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns(*_SKIP), dirs_exist_ok=True)
    return sorted(p for p in directory.rglob("*") if p.is_file())
