"""The recorder against real mosquitto and real influxd: every message stored exactly once,
through SIGKILLs and a database outage; shared subscriptions; ``--init-db``."""

from __future__ import annotations

import contextlib
import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live import ROOT_DIR, ServiceProcess, require
from tests.recorder_stream import (
    ID_FIELDS,
    SITE,
    Sent,
    expected_counts,
    mixed_stream,
    rejected_markers,
    rows,
    stored_counts,
    stored_keys,
)
from wallboard.adapters.influx import InfluxHttp
from wallboard.adapters.mqtt import LinkSettings, MqttLink
from wallboard.adapters.spool import Spool
from wallboard.bootstrap import Recorder, build_recorder
from wallboard.config import parse_config
from wallboard.devservices import Influxd, Mosquitto, wait_for
from wallboard.recorder.downsampling import Retention
from wallboard.services.database_setup import init_database


@pytest.fixture
def own_influxd() -> Iterator[Influxd]:
    """An influxd of this test's own, which it may stop and start."""
    binary = require("influxd", "influxdb")
    with Influxd(binary) as server:
        yield server


def config_text(broker: Mosquitto, influxd: Influxd, db: str, spool_dir: Path) -> str:
    return f"""
[site]
id = "{SITE}"

[mqtt]
host = "{broker.host}"
port = {broker.port}

[influx]
url = "{influxd.url}"
database = "{db}"

[recorder]
spool_dir = "{spool_dir}"
retry_s = 0.5
health_interval_s = 1.0
"""


def publish_all(broker: Mosquitto, stream: list[Sent], per_second: float | None = None) -> None:
    """Publish every message at QoS 1, paced if asked, and wait until the broker has them."""
    link = MqttLink(LinkSettings(broker.host, broker.port, f"publisher-{time.monotonic_ns()}"))
    assert link.start(), "publisher could not connect"
    began = time.monotonic()
    try:
        for i, sent in enumerate(stream):
            info = link.publish(sent.topic, sent.payload, retain=sent.retain)
            if per_second is not None:
                ahead = began + i / per_second - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            if i % 2_000 == 1_999:  # paho has 65,535 message ids: never run out of them
                info.wait_for_publish(30)
        info.wait_for_publish(30)
    finally:
        link.stop()


def wait_stored(influxd: Influxd, db: str, stream: list[Sent], timeout: float) -> None:
    """Wait until every measurement holds at least what the stream should leave."""
    expected = expected_counts(stream)

    def done() -> bool:
        counts = stored_counts(influxd, db)
        return all(counts[m] >= n for m, n in expected.items())
    try:
        wait_for(done, timeout, interval=0.5, what="every message in InfluxDB")
    except AssertionError:
        missing = {m: (stored_counts(influxd, db)[m], n) for m, n in expected.items()}
        raise AssertionError(f"stored vs expected: {missing}") from None


def assert_exactly_once(influxd: Influxd, db: str, stream: list[Sent]) -> None:
    """Each valid message once (per measurement and by id); each bad one in ``rejected``."""
    counts = stored_counts(influxd, db)
    for measurement, n in expected_counts(stream).items():
        if measurement == "rejected":  # duplicates are checked marker by marker below
            assert counts[measurement] >= n, (measurement, counts[measurement], n)
        else:
            assert counts[measurement] == n, (measurement, counts[measurement], n)
    for measurement in ID_FIELDS:
        keys = stored_keys(influxd, db, measurement)
        sent = [s.key for s in stream if s.measurement == measurement and s.key]
        assert sorted(keys) == sorted(sent), measurement
        assert set(keys.values()) == {1}, f"{measurement}: an id stored twice"
    markers = rejected_markers(influxd, db)
    for bad in (s for s in stream if s.measurement == "rejected"):
        assert bad.marker is not None
        assert markers[bad.marker] == 1 if bad.has_ts else markers[bad.marker] >= 1, bad


def health(broker: Mosquitto, recorder_id: str) -> dict[str, Any]:
    """The recorder's latest retained health message."""
    out = subprocess.run(
        [require("mosquitto_sub", "mosquitto-clients"), "-h", broker.host, "-p",
         str(broker.port), "-t", f"wallboard/{SITE}/service/recorder/{recorder_id}", "-C", "1",
         "-W", "5"], capture_output=True, check=True)
    data: dict[str, Any] = json.loads(out.stdout)
    return data


@contextlib.contextmanager
def running_recorder(broker: Mosquitto, influxd: Influxd, db: str, tmp_path: Path
                     ) -> Iterator[Recorder]:
    """A recorder wired by ``build_recorder``, running in a thread, stopped cleanly after."""
    config = parse_config(config_text(broker, influxd, db, tmp_path / "spool"))
    init_database(InfluxHttp.from_config(config.influx), config.recorder.retention)
    recorder = build_recorder(config)
    stop = threading.Event()
    thread = threading.Thread(target=recorder.run, args=(stop,))
    thread.start()
    try:
        wait_for(recorder.link.connected.is_set, 10, what="the recorder to connect")
        yield recorder
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive(), "the recorder did not stop"


def test_every_message_is_stored_once_and_bad_ones_are_kept_as_rejected(
        mosquitto, influxd, influx_db, tmp_path, paho_path):
    with running_recorder(mosquitto, influxd, influx_db, tmp_path) as recorder:
        assert recorder.link.fast is (paho_path == "fast")  # its acks go out either way
        stream = mixed_stream(3_000, start=time.time() - 600)
        publish_all(mosquitto, stream)
        wait_stored(influxd, influx_db, stream, timeout=60)
        report = health(mosquitto, "main")
        assert report["received"] >= len(stream)
        assert report["rejected"] == sum(s.measurement == "rejected" for s in stream)
        assert report["spooled"] == 0 and report["database_up"] is True
    assert_exactly_once(influxd, influx_db, stream)


def test_individual_wellbeing_is_kept_in_its_own_policy_and_nothing_else_is(
        mosquitto, influxd, influx_db, tmp_path):
    with running_recorder(mosquitto, influxd, influx_db, tmp_path):
        stream = mixed_stream(600, start=time.time() - 600)
        publish_all(mosquitto, stream)
        wait_stored(influxd, influx_db, stream, timeout=60)
    individual = sum(s.measurement == "agent_wellbeing" for s in stream)
    assert individual > 0 and sum(s.measurement == "team_wellbeing" for s in stream) > 0

    def count(policy: str, measurement: str) -> int:
        found = list(rows(influxd, influx_db,
                          f'SELECT count("n") FROM "{policy}"."{measurement}"'))
        return int(found[0]["count"]) if found else 0
    assert count("wellbeing", "agent_wellbeing") == individual
    assert count("raw", "agent_wellbeing") == 0
    assert count("wellbeing", "team_wellbeing") == 0
    assert count("raw", "team_wellbeing") > 0
    policies = influxd.query(f'SHOW RETENTION POLICIES ON "{influx_db}"')["results"][0]
    durations = {row[0]: row[1] for row in policies["series"][0]["values"]}
    assert durations["wellbeing"] == "720h0m0s"


def test_a_database_set_up_before_the_wellbeing_policy_spools_until_init_db_adds_it(
        mosquitto, influxd, influx_db, tmp_path, caplog):
    with running_recorder(mosquitto, influxd, influx_db, tmp_path) as recorder:
        influxd.query(f'DROP RETENTION POLICY "wellbeing" ON "{influx_db}"')
        stream = mixed_stream(600, start=time.time() - 600)
        publish_all(mosquitto, stream)
        service = recorder.service
        wait_for(lambda: service.spool.messages >= len(stream), 20,
                 what="the stream to be spooled")
        assert service.database_up is False
        assert "run `wallboard recorder --init-db`" in caplog.text
        init_database(InfluxHttp(influxd.url, influx_db), Retention())
        wait_stored(influxd, influx_db, stream, timeout=30)
        wait_for(lambda: service.spool.messages == 0, 10, what="the spool to drain")
    assert_exactly_once(influxd, influx_db, stream)


def test_an_outage_is_spooled_to_disk_and_drained_when_influxdb_returns(
        mosquitto, own_influxd, tmp_path):
    db = "outage"
    with running_recorder(mosquitto, own_influxd, db, tmp_path) as recorder:
        own_influxd.stop()
        stream = mixed_stream(1_500, start=time.time() - 600)
        publish_all(mosquitto, stream)
        service = recorder.service
        wait_for(lambda: service.spool.messages >= len(stream), 20,
                 what="the stream to be spooled")
        assert service.database_up is False
        assert Spool.file_for(tmp_path / "spool", "main").exists()
        report = wait_for(lambda: (h := health(mosquitto, "main"))["spooled"] and h, 5,
                          what="health to report the spool")
        assert report["database_up"] is False and report["lag_s"] > 0
        own_influxd.restart()
        wait_stored(own_influxd, db, stream, timeout=60)
        wait_for(lambda: service.spool.messages == 0, 10, what="the spool to drain")
    assert_exactly_once(own_influxd, db, stream)


def test_two_sigkills_and_a_20_s_outage_lose_and_duplicate_nothing(
        mosquitto, own_influxd, tmp_path, paho_path):
    seed = random.randrange(1_000_000)
    print(f"random seed {seed}")  # shown on failure, to replay the same kill times
    rng = random.Random(seed)
    db = "crash"
    config = tmp_path / "wallboard.toml"
    config.write_text(config_text(mosquitto, own_influxd, db, tmp_path / "spool"))
    init = run_cli("recorder", "--init-db", "--config", str(config))
    assert init.returncode == 0, init.stderr
    recorder = ServiceProcess(config, tmp_path / "recorder.log", "recorder").start()
    stream = mixed_stream(20_000, start=time.time() - 3_600)
    publisher = threading.Thread(target=publish_all, args=(mosquitto, stream, 500.0))
    began = time.monotonic()
    publisher.start()
    try:
        # First kill at a random point while all is well; the second while spooling.
        at(began + rng.uniform(2, 8))
        recorder.kill()
        recorder.start()
        at(began + 10)
        own_influxd.stop()
        at(began + rng.uniform(13, 25))
        recorder.kill()
        recorder.start()
        at(began + 30)
        own_influxd.restart()
        publisher.join(120)
        assert not publisher.is_alive()
        wait_stored(own_influxd, db, stream, timeout=120)
        time.sleep(2)  # anything stored twice would show up now
    finally:
        code = recorder.stop()
    assert code == 0, recorder.logs()
    path = "fast" if paho_path == "fast" else "stock paho"  # acknowledged by it, either way
    assert f"{path} receive path" in recorder.log_path.read_text()
    assert_exactly_once(own_influxd, db, stream)


def test_recorders_sharing_a_group_split_the_stream_and_store_it_once(
        mosquitto, influxd, influx_db, tmp_path):
    config = tmp_path / "wallboard.toml"
    config.write_text(config_text(mosquitto, influxd, influx_db, tmp_path / "spool"))
    assert run_cli("recorder", "--init-db", "--config", str(config)).returncode == 0
    recorders = [ServiceProcess(config, tmp_path / f"{name}.log", "recorder",
                                ["--share", "floor", "--id", name]).start()
                 for name in ("r1", "r2")]
    try:
        stream = mixed_stream(4_000, start=time.time() - 600)
        publish_all(mosquitto, stream)
        wait_stored(influxd, influx_db, stream, timeout=60)
        time.sleep(1.5)  # both publish health every second
        received = [health(mosquitto, name)["received"] for name in ("r1", "r2")]
    finally:
        codes = [r.stop() for r in recorders]
    assert codes == [0, 0]
    assert all(isinstance(n, int) and n > len(stream) // 10 for n in received), received
    assert_exactly_once(influxd, influx_db, stream)


def test_init_db_twice_changes_nothing_and_the_continuous_queries_downsample(
        influxd, tmp_path):
    db = "init_twice"
    config = tmp_path / "wallboard.toml"
    config.write_text(f'[influx]\nurl = "{influxd.url}"\ndatabase = "{db}"\n')
    first = run_cli("recorder", "--init-db", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert "CREATE RETENTION POLICY" in first.stdout
    state = database_state(influxd, db)
    second = run_cli("recorder", "--init-db", "--config", str(config))
    assert second.returncode == 0, second.stderr
    assert second.stdout == "" and "nothing changed" in second.stderr
    assert database_state(influxd, db) == state
    # Calls 3 to 5 minutes ago. The queries run each minute over the 10 and 30 minutes before
    # that minute began; calls in the minute just begun wait for the next run (one run saw
    # 119 of 120 that way). Every run after the write begins after all of these calls, so
    # the first run that sees them sees them all.
    now = time.time()
    lines = [f"call,site=hq,queue=sales,event=offered call=\"c-{i}\",n=1i "
             f"{int((now - 300 + i) * 1e9)}" for i in range(120)]
    influxd.write(db, "\n".join(lines), precision="ns")
    for policy in ("agg_1m", "agg_15m"):
        query = f'SELECT sum("calls") FROM "{policy}"."call" WHERE time > now() - 1h'

        def downsampled(q: str = query) -> list[dict[str, Any]]:
            return list(rows(influxd, db, q))
        found = wait_for(downsampled, 75, interval=1,
                         what=f"{policy}.call from the continuous query")
        assert found[0]["sum"] == 120, (policy, found)


def database_state(influxd: Influxd, db: str) -> tuple[object, object]:
    policies = influxd.query(f'SHOW RETENTION POLICIES ON "{db}"')
    queries = [s for s in influxd.query("SHOW CONTINUOUS QUERIES")["results"][0]["series"]
               if s["name"] == db]
    return policies, queries


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wallboard.cli", *args], cwd=ROOT_DIR,
                          capture_output=True, text=True, timeout=60)


def at(moment: float) -> None:
    """Sleep until ``moment`` on the monotonic clock."""
    time.sleep(max(0.0, moment - time.monotonic()))
