"""Shared fixtures: every test captures in memory, with internal errors turned into failures."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ["AGENTPERF_RAISE_INTERNAL_ERRORS"] = "1"

from otel_agentperf.testing import Capture, capture


@pytest.fixture
def cap() -> Iterator[Capture]:
    with capture() as c:
        yield c


def pytest_configure(config: pytest.Config) -> None:
    # Under CI an integration test never skips: a missing binary must fail the run.
    config.addinivalue_line("markers", "integration: needs real prometheus binaries")


# What the integration tests run for real; outside CI a machine without them skips those tests, one line each.
INTEGRATION_BINARIES = {
    "prometheus": ("prometheus",),
    "promtool": ("promtool",),
    "alertmanager": ("prometheus-alertmanager", "alertmanager"),
}


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before any fixture: a module-scoped fixture starting the stack would otherwise fail first.
    if item.get_closest_marker("integration") is None:
        return
    import shutil

    missing = [name for name, candidates in INTEGRATION_BINARIES.items() if not any(map(shutil.which, candidates))]
    if not missing:
        return
    message = f"needs {', '.join(missing)}: apt-get install prometheus prometheus-alertmanager (see README)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _fresh_once_logs() -> None:
    from otel_agentperf._errors import reset_once_logs

    reset_once_logs()


# 2026-11-20 10:00 UTC: within DeepSeek's standard hours. Prices depend on the date and the time of day,
# so every test prices calls at this instant unless it pins another one.
PINNED_PRICE_TIME = 1_795_168_800.0


@pytest.fixture(autouse=True)
def _pinned_price_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    from otel_agentperf.tracing import accounting as _accounting

    monkeypatch.setattr(_accounting, "clock", lambda: PINNED_PRICE_TIME)
