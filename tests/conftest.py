"""Fixtures for real mosquitto/influxd services, and a CI mode in which skips fail."""

from __future__ import annotations

import os
import uuid
from collections.abc import Generator, Iterator

import pytest

from tests.history import SimulatedWeek, load_week
from tests.live import require
from wallboard.devservices import Influxd, Mosquitto

CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def pytest_report_header(config: pytest.Config) -> str:
    """Say whether skips count as failures in this run."""
    state = "on (CI=true): skipped tests fail" if CI else "off: skipped tests stay skipped"
    return f"wallboard CI mode: {state}"


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    """Extract the human reason from a skip report."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under CI=true, turn a skipped test (not an xfail) into a failure."""
    report = yield
    if CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true: {_skip_reason(report)}"
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Under CI=true, a module skipped at import (e.g. importorskip) fails too."""
    report = yield
    if CI and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true: {_skip_reason(report)}"
    return report


@pytest.fixture(params=["fast", "stock"])
def paho_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test on the MQTT link's fast receive path, then on stock paho; services
    started as processes inherit the choice (WALLBOARD_MQTT_FAST)."""
    path: str = request.param
    monkeypatch.setenv("WALLBOARD_MQTT_FAST", "1" if path == "fast" else "0")
    return path


@pytest.fixture
def mosquitto() -> Iterator[Mosquitto]:
    """A fresh, anonymous, persistent mosquitto broker on a free localhost port."""
    binary = require("mosquitto", "mosquitto")
    with Mosquitto(binary) as broker:
        yield broker


@pytest.fixture(scope="session")
def influxd() -> Iterator[Influxd]:
    """One influxd 1.x server for the whole session; use influx_db for isolation."""
    binary = require("influxd", "influxdb")
    with Influxd(binary) as server:
        yield server


@pytest.fixture(scope="session")
def simulated_week(influxd: Influxd) -> SimulatedWeek:
    """One simulated week of a 30-agent site, stored as the recorder stores it (every
    retention policy, aggregates filled); shared by the tests of reports and dashboards,
    which only read it."""
    return load_week(influxd, f"week_{uuid.uuid4().hex[:8]}")


@pytest.fixture
def influx_db(influxd: Influxd) -> Iterator[str]:
    """A uniquely named, freshly created database, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    influxd.query(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        influxd.query(f'DROP DATABASE "{name}"')
