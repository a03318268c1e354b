"""The controller process under libfaketime, its wall clock stepped an hour as NTP does, both
ways, against a real mosquitto (issue 18, point 2).

Only the wall clock moves (``FAKETIME_DONT_FAKE_MONOTONIC``): the test rewrites the
timestamp file the library reads on every call. The test itself and the broker keep the
real time. A request pressed seconds before the step must escalate at its real due time,
not at once; a hold nudge likewise; the longest wait and the sliding window must keep what
they measured; snapshots must keep coming at their pacing after a step back.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.live import Recorder, ServiceProcess, require, write_config
from wallboard.devservices import wait_for

SITE = "wallboard/hq"
ESCALATE_S = 12.0
REMIND_S = 12.0


def libfaketime() -> str:
    """The multithreaded libfaketime the system installed, or skip saying how to get it."""
    require("faketime", "faketime")
    listed = subprocess.run(["dpkg-query", "-L", "libfaketime"], capture_output=True,
                            text=True, check=False).stdout.split()
    found = [p for p in listed if p.endswith("/libfaketimeMT.so.1")]
    found += glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1")
    if not found:
        pytest.skip("libfaketimeMT.so.1 not found: run `make test`, which installs faketime")
    return found[0]


@pytest.fixture
def faked(mosquitto, tmp_path, monkeypatch):
    """A controller whose wall clock the test steps by writing ``tmp_path/faketime.rc``."""
    rc = tmp_path / "faketime.rc"
    rc.write_text("+0\n")
    monkeypatch.setenv("LD_PRELOAD", libfaketime())
    monkeypatch.setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1")
    monkeypatch.setenv("FAKETIME_NO_CACHE", "1")
    monkeypatch.setenv("FAKETIME_TIMESTAMP_FILE", str(rc))
    extra = f"[help]\nescalate_after_s = {ESCALATE_S}\n[hold]\nremind_after_s = {REMIND_S}\n"
    config = write_config(tmp_path / "wallboard.toml", mosquitto, tmp_path / "state",
                          extra=extra)
    log_path = tmp_path / "controller.log"
    controller = ServiceProcess(config, log_path).start()
    monkeypatch.delenv("LD_PRELOAD")  # only the controller runs on the faked clock
    client = Recorder(mosquitto)
    yield client, rc, log_path
    client.close()
    assert controller.stop() == 0, controller.logs()


def floors_dated_after(client: Recorder, step: float, real: float) -> list[dict[str, Any]]:
    """Floor snapshots the controller dated on its stepped clock, after real time ``real``
    (those dated before the step are an hour away from any real time after it)."""
    found = [json.loads(p) for p in client.on(f"{SITE}/kpi/floor")]
    return [f for f in found if real <= f["ts"] - step <= time.time() + 60]


def set_offset(rc: Path, offset: float) -> None:
    """Step the controller's wall clock: replace the file at once, never half-written."""
    part = rc.with_suffix(".part")
    part.write_text(f"{offset:+.0f}\n")
    os.replace(part, rc)


@pytest.mark.parametrize("step", [3600.0, -3600.0], ids=["ahead", "back"])
def test_a_stepped_wall_clock_keeps_ages_timers_and_pacing(faked, step):
    client, rc, log_path = faked
    t = time.time()

    def subscribed() -> bool:
        """Whether the controller has c0's offer; sent again until it has (duplicates do
        nothing): the controller may still be subscribing when it says it is connected."""
        client.publish(f"{SITE}/queue/sales/call",
                       {"ts": t - 100, "call": "c0", "event": "offered"})
        floor = client.json(f"{SITE}/kpi/floor")
        return floor is not None and floor["sliding"]["offered"] == 1
    wait_for(subscribed, 10, interval=0.3, what="the controller to take calls")
    client.publish(f"{SITE}/queue/sales/call",
                   {"ts": t - 90, "call": "c0", "event": "answered", "wait_s": 10.0,
                    "agent": "a1"})
    client.publish(f"{SITE}/queue/sales/call", {"ts": t - 11, "call": "c1", "event": "offered"})
    client.publish(f"{SITE}/agent/a2/state", {"ts": t - 2, "state": "hold", "since": t - 2,
                                              "desk": "d2", "queue": "sales"})
    client.publish(f"{SITE}/desk/d1/help",
                   {"ts": t - 3, "request": "r1", "state": "requested", "agent": "a1"})
    before = client.wait_json(f"{SITE}/kpi/floor", lambda k: k["help_open"] and k["waiting"] == 1
                              and k["sliding"]["offered"] == 2 and k["long_holds"] == [])

    set_offset(rc, step)
    stepped = wait_for(lambda: f"wall clock stepped {step:+.1f} s" in log_path.read_text(),
                       10, what="the controller to log the step")
    assert stepped
    real_step = time.time()

    # The first snapshot dated on the stepped clock: what was measured kept its age.
    after = wait_for(lambda: floors_dated_after(client, step, real_step - 1.0), 10,
                     what="a snapshot dated on the stepped clock")[0]
    real_at = after["ts"] - step
    assert after["longest_wait_s"] == pytest.approx(real_at - (t - 11), abs=1.0)
    assert after["help_open"][0]["age_s"] == pytest.approx(real_at - (t - 3), abs=1.0)
    assert after["sliding"]["offered"] == before["sliding"]["offered"] == 2
    assert after["sliding"]["answered"] == 1
    assert after["today"]["offered"] == before["today"]["offered"]
    # No escalation fired by the step (the old code: level 2 within 0.2 s of +1 h).
    assert time.time() < t - 3 + ESCALATE_S, "the test ran too slowly to tell"
    assert client.on(f"{SITE}/alert/help-d1") == []

    # Snapshots keep their pacing (max interval 1 s): the old code was silent for the hour
    # after a step back.
    wait_for(lambda: len(floors_dated_after(client, step, real_step)) >= 4, 10,
             what="snapshots at their pacing after the step")

    # Escalation and the hold nudge come at their real due times, dated on the new clock.
    alert = client.wait_json(f"{SITE}/alert/help-d1", lambda a: a["level"] == 1, timeout=30)
    assert alert["since"] - step == pytest.approx(t - 3, abs=0.5)
    assert alert["ts"] - step >= t - 3 + ESCALATE_S - 0.5
    assert alert["ts"] - step <= t - 3 + ESCALATE_S + 2.0
    nudge = wait_for(lambda: [json.loads(p) for p in client.on(f"{SITE}/desk/d2/cmd")], 30,
                     what="the hold nudge")[0]
    assert nudge["cmd"] == "nudge"
    assert nudge["ts"] - step >= t - 2 + REMIND_S - 0.5
    assert nudge["ts"] - step <= t - 2 + REMIND_S + 2.0
    assert log_path.read_text().count("wall clock stepped") == 1

