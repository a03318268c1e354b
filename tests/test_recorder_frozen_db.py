"""The recorder against a frozen InfluxDB (a real influxd under SIGSTOP: it accepts
connections and never answers), with a real mosquitto: receiving, spooling and health go on
while a write hangs, and after SIGCONT everything is in InfluxDB exactly once."""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live import Recorder as Watcher
from tests.live import ServiceProcess, require
from tests.recorder_stream import SITE, mixed_stream
from tests.test_recorder_live import (
    assert_exactly_once,
    config_text,
    publish_all,
    run_cli,
    wait_stored,
)
from wallboard.devservices import Influxd, wait_for

HEALTH = f"wallboard/{SITE}/service/recorder/main"
INTERVAL_S = 1.0  # config_text's health_interval_s
WRITE_TIMEOUT_S = 10.0  # the default: one hung write lasts this long
RATE = 300.0  # messages per second while InfluxDB is frozen
FROZEN_S = 14.0


@pytest.fixture
def own_influxd() -> Iterator[Influxd]:
    """An influxd of this test's own, which it may freeze."""
    with Influxd(require("influxd", "influxdb")) as server:
        yield server


def reports(watcher: Watcher) -> list[dict[str, Any]]:
    """Every health report received, in order."""
    return [json.loads(p) for p in watcher.on(HEALTH) if p]


def test_a_frozen_influxdb_holds_up_neither_spooling_nor_health(
        mosquitto, own_influxd, tmp_path: Path):
    db = "frozen"
    config = tmp_path / "wallboard.toml"
    config.write_text(config_text(mosquitto, own_influxd, db, tmp_path / "spool")
                      + f"write_timeout_s = {WRITE_TIMEOUT_S}\n")
    assert run_cli("recorder", "--init-db", "--config", str(config)).returncode == 0
    watcher = Watcher(mosquitto, HEALTH)
    recorder = ServiceProcess(config, tmp_path / "recorder.log", "recorder").start()
    pid = own_influxd.pid
    assert pid is not None
    try:
        watcher.wait_json(HEALTH, lambda h: h["database_up"], 10)
        stream = mixed_stream(int(RATE * FROZEN_S), start=time.time() - 600)
        os.kill(pid, signal.SIGSTOP)
        try:
            seen = len(reports(watcher))
            publisher = threading.Thread(target=publish_all, args=(mosquitto, stream, RATE))
            publisher.start()
            publisher.join(FROZEN_S + 30)
            assert not publisher.is_alive()
            wait_for(lambda: len(reports(watcher)) >= seen + 3, 5 * INTERVAL_S,
                     what="health after the stream")
            frozen = reports(watcher)[seen:]
        finally:
            os.kill(pid, signal.SIGCONT)
        # Health came on its period, though each write hung for WRITE_TIMEOUT_S.
        gaps = [b["ts"] - a["ts"] for a, b in itertools.pairwise(frozen)]
        assert len(frozen) >= FROZEN_S / INTERVAL_S - 2, frozen
        assert max(gaps) < 1.6 * INTERVAL_S, gaps
        assert any(not r["database_up"] for r in frozen), frozen
        # Received messages reached the spool at once: at most about two seconds of traffic
        # (the batch that waits its linger and the write that hangs) is not yet in it.
        behind = [r["received"] - r["written"] - r["spooled"] for r in frozen]
        assert max(behind) <= 2.5 * RATE, behind
        assert frozen[-1]["spooled"] >= len(stream) - 2.5 * RATE, frozen[-1]
        wait_stored(own_influxd, db, stream, timeout=60)
        watcher.wait_json(HEALTH, lambda h: h["spooled"] == 0 and h["database_up"], 20)
    finally:
        code = recorder.stop()
        watcher.close()
    assert code == 0, recorder.logs()
    assert_exactly_once(own_influxd, db, stream)
