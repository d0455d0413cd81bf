"""What a real ``configure()`` serves on its Prometheus endpoint after a test module's ``traffic()``: the page
``top --endpoint`` and ``report`` read, saved to a file they can scrape (``file://``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import PINNED_PRICE_TIME

ROOT = Path(__file__).resolve().parents[2]


def metrics_page(service_name: str, traffic: str, folder: Path) -> Path:
    """Run ``traffic`` (``module:function``, e.g. ``tests.test_unpriced_views:traffic``) in a fresh process
    configured with a Prometheus endpoint and a pinned pricing clock; the page it serves, as a file in ``folder``."""
    module, function = traffic.split(":")
    code = f"""
        import urllib.request
        import otel_agentperf as ap
        from otel_agentperf.tracing import accounting
        accounting.clock = lambda: {PINNED_PRICE_TIME!r}
        setup = ap.configure(
            service_name={service_name!r}, traces_exporter="none", metrics_exporter="prometheus", prometheus_port=0
        )
        from {module} import {function}
        {function}()
        print(urllib.request.urlopen(setup.prometheus_url).read().decode())
        ap.shutdown()
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTPERF_PRICES"))}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "AGENTPERF_RAISE_INTERNAL_ERRORS": "1"},
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    page = folder / "metrics.txt"
    page.write_text(out.stdout)
    return page
