"""The recorder on a full disk (its spool on a real 2 MiB tmpfs), with real mosquitto and
influxd: it stays up, says the disk is full on time, drains what InfluxDB takes, restarts
without a crash loop, stops cleanly, and loses and duplicates nothing."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live import Recorder as Watcher
from tests.live import require
from tests.recorder_stream import SITE, Sent, expected_counts, mixed_stream, stored_counts
from tests.small_disk import ServiceOnDisk, SmallDisk, small_disk
from tests.test_recorder_live import (
    assert_exactly_once,
    config_text,
    publish_all,
    run_cli,
)
from wallboard.devservices import Influxd, Mosquitto, wait_for

HEALTH = f"wallboard/{SITE}/service/recorder/main"
INTERVAL_S = 1.0  # config_text's health_interval_s
DISK_BYTES = 2 * 1024 * 1024
MESSAGES = 20_000  # about 4 MB of line protocol: twice the disk


@pytest.fixture
def own_influxd() -> Iterator[Influxd]:
    """An influxd of this test's own, which it may stop and start."""
    with Influxd(require("influxd", "influxdb")) as server:
        yield server


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """The spool directory on a 2 MiB tmpfs."""
    with small_disk(tmp_path / "spool", size=str(DISK_BYTES)) as mounted:
        yield mounted


def recorder_on(disk: SmallDisk, broker: Mosquitto, influxd: Influxd, db: str,
                tmp_path: Path) -> ServiceOnDisk:
    config = tmp_path / "wallboard.toml"
    config.write_text(config_text(broker, influxd, db, disk.directory))
    init = run_cli("recorder", "--init-db", "--config", str(config))
    assert init.returncode == 0, init.stderr
    return ServiceOnDisk(disk, config, tmp_path / "recorder.log", "recorder")


def fill_the_disk(recorder: ServiceOnDisk, broker: Mosquitto, influxd: Influxd,
                  watcher: Watcher) -> list[Sent]:
    """With InfluxDB down, publish twice what the disk holds; return once health says full."""
    influxd.stop()
    stream = mixed_stream(MESSAGES, start=time.time() - 600)
    publish_all(broker, stream)
    report = watcher.wait_json(HEALTH, lambda h: h.get("disk_full") is True, timeout=30)
    assert "full" in report["spool_error"], report
    assert report["database_up"] is False and report["spooled"] > 0, report
    # Full for the recorder: its next batch does not fit (a batch of 5,000 is about 1 MiB).
    assert recorder.disk.free_bytes() < DISK_BYTES // 2, "the spool should fill the disk"
    return stream


def reports(watcher: Watcher) -> list[dict[str, Any]]:
    """Every health report received, in order."""
    return [json.loads(p) for p in watcher.on(HEALTH) if p]


def wait_drained(recorder: ServiceOnDisk, influxd: Influxd, db: str, stream: list[Sent],
                 watcher: Watcher) -> None:
    """Wait until InfluxDB has the whole stream and health says the spool is empty; the
    recorder must stay up all along."""
    expected = expected_counts(stream)

    def stored() -> bool:
        assert recorder.process is not None and recorder.process.poll() is None, (
            "the recorder died\n" + recorder.logs())
        counts = stored_counts(influxd, db)
        return all(counts[m] >= n for m, n in expected.items())
    wait_for(stored, 90, interval=0.5, what="the whole stream in InfluxDB")
    try:
        watcher.wait_json(HEALTH, lambda h: h["spooled"] == 0 and h["disk_full"] is False,
                          timeout=20)
    except AssertionError:
        raise AssertionError(f"health: {watcher.json(HEALTH)}\n{recorder.logs()}") from None


def test_on_a_full_disk_health_comes_on_time_and_the_spool_drains_once_influxdb_answers(
        mosquitto, own_influxd, disk, tmp_path):
    db = "full_disk"
    recorder = recorder_on(disk, mosquitto, own_influxd, db, tmp_path)
    watcher = Watcher(mosquitto, HEALTH)
    recorder.start()
    try:
        stream = fill_the_disk(recorder, mosquitto, own_influxd, watcher)
        # Health keeps coming, on time, for as long as the disk stays full.
        seen = len(reports(watcher))
        wait_for(lambda: len(reports(watcher)) >= seen + 5, 10 * INTERVAL_S,
                 what="five more health reports while the disk is full")
        full = [r for r in reports(watcher)[max(seen - 1, 0):] if r["disk_full"]]
        assert len(full) >= 5, full
        gaps = [b["ts"] - a["ts"] for a, b in itertools.pairwise(full)]
        assert max(gaps) < 2 * INTERVAL_S, gaps
        log = recorder.log_path.read_text()
        assert "disk is full" in log
        assert log.count("disk is full") <= 3, "the disk-full line must be rate-limited"
        # InfluxDB answers again: draining starts at once, though the disk is still full.
        own_influxd.restart()
        wait_for(lambda: sum(stored_counts(own_influxd, db).values()) > 0, 10,
                 what="InfluxDB to receive points while the disk is full")
        wait_drained(recorder, own_influxd, db, stream, watcher)
    finally:
        code = recorder.stop()
        watcher.close()
    assert code == 0, recorder.logs()
    assert_exactly_once(own_influxd, db, stream)


def test_restarted_on_a_full_disk_it_stays_up_drains_and_sigterm_exits_0(
        mosquitto, own_influxd, disk, tmp_path):
    db = "full_restart"
    recorder = recorder_on(disk, mosquitto, own_influxd, db, tmp_path)
    watcher = Watcher(mosquitto, HEALTH)
    recorder.start()
    try:
        stream = fill_the_disk(recorder, mosquitto, own_influxd, watcher)
        assert recorder.stop() == 0, "SIGTERM on a full disk is a clean stop\n" + recorder.logs()
        disk.fill()  # not a byte left: removing a batch from the spool needs its reserve
        assert disk.free_bytes() == 0
        own_influxd.restart()
        recorder.start()  # on the full disk, InfluxDB up: it must drain, not crash
        wait_drained(recorder, own_influxd, db, stream, watcher)
        assert "released the 256 KiB reserve" in recorder.log_path.read_text()
    finally:
        code = recorder.stop()
        watcher.close()
    assert code == 0, recorder.logs()
    assert_exactly_once(own_influxd, db, stream)
