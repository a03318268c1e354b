"""`wallboard demo` as a user runs it over SSH: no display, a live terminal view, a clean stop."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.live import require
from wallboard.devservices import wait_for
from wallboard.sim.floor import SimSettings

QUEUES = ("sales", "support", "billing", "retention", "tech", "general")


@pytest.fixture
def demo_env():
    require("mosquitto", "mosquitto")
    require("influxd", "influxdb")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return {**env, "PYTHONUNBUFFERED": "1"}


def _ports(stderr: str) -> list[int]:
    found = re.search(r"mosquitto on [\d.]+:(\d+), influxd on http://[\d.]+:(\d+)", stderr)
    assert found, stderr
    return [int(found.group(1)), int(found.group(2))]


def _closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_demo_without_a_display_shows_the_live_floor_and_stops_everything(demo_env, tmp_path):
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.run(
            [sys.executable, "-m", "wallboard.cli", "demo", "--duration", "8", "--speed", "20",
             "--agents", "80"], stdout=o, stderr=e, env=demo_env, timeout=120, check=False)
    text, log = out.read_text(), err.read_text()
    assert proc.returncode == 0, log
    last = text.rsplit("WALLBOARD  demo", 1)[-1]  # the final frame
    for queue in QUEUES:
        assert re.search(rf"^{queue}\s+\d+\s+\d+:\d\d\s", last, re.M), (queue, last)
    assert re.search(r"^FLOOR  waiting \d+ \(longest \d+:\d\d\)  SL\s+\d+%", last, re.M), last
    assert re.search(r"^HELP  open \d+   today \d+ requests", last, re.M), last
    assert "STALE" not in last and "OFFLINE" not in last
    # The recorder stores the floor in the demo's InfluxDB as it goes.
    stored = re.search(r"^STORAGE  recorder main: ([\d,]+) stored, 0 spooled, 0 rejected, "
                       r"lag [\d.]+ s, InfluxDB up$", last, re.M)
    assert stored and int(stored.group(1).replace(",", "")) > 0, last
    assert "demo stopped" in text
    for port in _ports(log):
        assert _closed(port), f"port {port} still open after the demo stopped"


def test_ctrl_c_stops_every_child_cleanly(demo_env, tmp_path):
    err = tmp_path / "err.txt"
    with err.open("wb") as e:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wallboard.cli", "demo", "--speed", "10", "--agents", "40"],
            stdout=subprocess.PIPE, stderr=e, env=demo_env)
        assert proc.stdout is not None
        os.set_blocking(proc.stdout.fileno(), False)
        seen = bytearray()

        def showing_queues() -> bool:
            seen.extend(proc.stdout.read() or b"")  # type: ignore[union-attr]
            return b"QUEUE" in seen
        wait_for(showing_queues, 60, what="the first frame with queues")
        proc.send_signal(signal.SIGINT)
        started = time.monotonic()
        assert proc.wait(30) == 0, err.read_text()
        assert time.monotonic() - started < 30
    for port in _ports(err.read_text()):
        assert _closed(port)
    assert SimSettings().agents == 200  # the default floor `make demo` runs
