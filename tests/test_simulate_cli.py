"""`wallboard simulate` against a real broker: the seeded stream, paced, with retained state."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

from tests.live import Recorder, write_config
from wallboard.devservices import wait_for
from wallboard.messages import encode
from wallboard.sim.floor import SimSettings, simulate

START = dt.datetime(2026, 11, 16, 9, 0, tzinfo=dt.UTC)  # a Monday morning, in the past
HOURS = 0.5


def test_publishes_the_seeded_floor_paced_at_1000x(mosquitto, tmp_path):
    config = write_config(tmp_path / "wallboard.toml", mosquitto, tmp_path / "state")
    client = Recorder(mosquitto, "wallboard/hq/#")
    t = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "wallboard.cli", "simulate", "--config", str(config),
         "--seed", "3", "--agents", "30", "--queues", "4", "--speed", "1000",
         "--start", START.isoformat(), "--hours", str(HOURS)],
        capture_output=True, text=True, timeout=120, check=False)
    elapsed = time.monotonic() - t
    assert proc.returncode == 0, proc.stderr
    settings = SimSettings(agents=30, queues=4, site="hq", seed=3,
                           id_prefix=f"s3-{int(START.timestamp())}-")
    want = [(topic, encode(msg)) for topic, msg in
            simulate(settings, START.timestamp(), START.timestamp() + HOURS * 3600)]
    assert f"published {len(want)} messages" in proc.stderr
    wait_for(lambda: len(client.messages) >= len(want), 10, what="every message")
    got = [(topic, payload) for topic, payload, _ in client.messages]
    assert sorted(got) == sorted(want)  # per-topic order is checked below
    for topic in {t for t, _ in want}:
        assert client.on(topic) == [p for t, p in want if t == topic], topic
    assert {t.split("/")[3] for t, _ in want if "/queue/" in t} == {
        "sales", "support", "billing", "retention"}
    # Half an hour at 1000x is 1.8 s of wall time: paced, not dumped all at once.
    assert elapsed >= HOURS * 3600 / 1000 * 0.8, elapsed
    client.close()

    late = Recorder(mosquitto, "wallboard/hq/agent/+/state")  # a screen that joins later
    agents = {t for t, _ in want if t.endswith("/state")}
    wait_for(lambda: set(late.latest) == agents, 10, what="retained agent states")
    late.close()
