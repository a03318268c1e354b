"""``ControllerService.step(now)`` on an injected clock: pacing, time rules and the wait it
returns, with no broker and no sleeping (issue 18, point 10)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wallboard.floor.core import FloorCore
from wallboard.floor.settings import FloorSettings
from wallboard.services.controller import TICK_S, ControllerService, Pacing

T0 = 1_795_420_800.0 + 9 * 3600  # a Monday 09:00 UTC
ROOT = "wallboard/hq/"


class Sink:
    """Keeps what the service publishes, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bool]] = []

    def publish(self, topic: str, payload: bytes, *, retain: bool = False, qos: int = 1
                ) -> None:
        self.sent.append((topic.removeprefix(ROOT), payload, retain))

    def take(self) -> list[str]:
        """The topics published since the last call."""
        topics = [topic for topic, _, _ in self.sent]
        self.sent.clear()
        return topics


def service(clock: list[float]) -> tuple[ControllerService, Sink]:
    sink = Sink()
    core = FloorCore(FloorSettings(escalate_after_s=60.0))
    return ControllerService(core, sink, root="wallboard", site="hq", clock=lambda: clock[0],
                             pacing=Pacing(min_interval_s=1.0, max_interval_s=5.0)), sink


def offered(call: str, ts: float) -> bytes:
    return json.dumps({"ts": ts, "call": call, "event": "offered"}).encode()


def test_the_first_step_publishes_the_floor_and_waits_one_tick():
    clock = [T0]
    ctl, sink = service(clock)
    wait = ctl.step(T0)
    assert sink.take() == ["kpi/floor"]
    assert wait == pytest.approx(TICK_S)


def test_a_second_change_waits_for_the_minimum_interval():
    clock = [T0]
    ctl, sink = service(clock)
    ctl.step(T0)
    sink.take()
    clock[0] = T0 + 0.2
    ctl.handle(ROOT + "queue/sales/call", offered("c1", T0 + 0.2))
    ctl.step(T0 + 0.2)
    assert sink.take() == ["kpi/queue/sales"]  # a new queue goes out at once
    clock[0] = T0 + 0.5
    ctl.handle(ROOT + "queue/sales/call", offered("c2", T0 + 0.5))
    assert 0 < ctl.step(T0 + 0.5) <= 0.5  # the floor is due at T0 + 1, the tick sooner
    assert sink.take() == []
    ctl.step(T0 + 1.1)
    assert sink.take() == []
    # The queue's minimum interval runs from T0 + 0.2; the floor, due since T0 + 1, joins it
    # so that the two agree.
    ctl.step(T0 + 1.2)
    sent = {topic: (json.loads(payload), retained) for topic, payload, retained in sink.sent}
    assert sorted(sent) == ["kpi/floor", "kpi/queue/sales"]
    assert all(retained for _, retained in sent.values())
    assert sent["kpi/queue/sales"][0]["waiting"] == sent["kpi/floor"][0]["waiting"] == 2


def test_without_changes_a_snapshot_is_published_again_at_the_maximum_interval():
    clock = [T0]
    ctl, sink = service(clock)
    ctl.step(T0)
    sink.take()
    ctl.step(T0 + 4.9)
    assert sink.take() == []
    ctl.step(T0 + 5.0)
    assert sink.take() == ["kpi/floor"]


def test_escalation_fires_on_the_first_tick_at_or_after_it_never_before():
    clock = [T0]
    ctl, sink = service(clock)
    press = {"ts": T0, "request": "r1", "state": "requested", "agent": "a1"}
    ctl.handle(ROOT + "desk/d1/help", json.dumps(press).encode())
    ctl.step(T0)
    assert "alert/help-d1" not in sink.take()
    ctl.step(T0 + 59.9)
    assert "alert/help-d1" not in sink.take()
    ctl.step(T0 + 60.0)  # time rules run once a tick: the last ran at T0 + 59.9
    assert "alert/help-d1" not in sink.take()
    ctl.step(T0 + 59.9 + TICK_S)
    alerts = [json.loads(p) for t, p, retained in sink.sent if t == "alert/help-d1" and retained]
    assert [(a["level"], a["since"]) for a in alerts] == [(1, T0)]


# -- a stepped wall clock (issue 18, point 2) ---------------------------------------------


class Clocks:
    """A wall clock that NTP may step, and a monotonic one that only moves on."""

    def __init__(self) -> None:
        self.wall, self.mono = T0, 1000.0

    def run(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def stepping_service(clocks: Clocks) -> tuple[ControllerService, Sink]:
    sink = Sink()
    core = FloorCore(FloorSettings(escalate_after_s=60.0))
    return ControllerService(core, sink, root="wallboard", site="hq",
                             clock=lambda: clocks.wall, monotonic=lambda: clocks.mono,
                             pacing=Pacing(min_interval_s=1.0, max_interval_s=5.0)), sink


def run_for(ctl: ControllerService, clocks: Clocks, seconds: float) -> None:
    """Step the service every tick for ``seconds`` of both clocks."""
    end = clocks.mono + seconds
    while clocks.mono < end - 1e-9:
        clocks.run(TICK_S)
        ctl.step()


def floors(sink: Sink) -> list[dict[str, Any]]:
    return [json.loads(p) for t, p, _ in sink.sent if t == "kpi/floor"]


@pytest.mark.parametrize("step", [3600.0, -3600.0])
def test_a_wall_clock_step_is_logged_once_and_fires_no_escalation(step, caplog):
    clocks = Clocks()
    ctl, sink = stepping_service(clocks)
    press = {"ts": T0 - 6, "request": "r1", "state": "requested", "agent": "a1"}
    ctl.handle(ROOT + "desk/d1/help", json.dumps(press).encode())
    ctl.handle(ROOT + "queue/sales/call", offered("c1", T0 - 11))
    ctl.step()
    sink.take()
    clocks.wall += step
    caplog.set_level("WARNING", logger="wallboard.services.controller")
    run_for(ctl, clocks, 5.0)
    assert ctl.counts["clock_steps"] == 1
    stepped = [r.getMessage() for r in caplog.records if "wall clock stepped" in r.getMessage()]
    assert len(stepped) == 1 and f"{step:+.1f} s" in stepped[0]
    assert not [t for t, _, _ in sink.sent if t.startswith("alert/")]  # old code: level 2
    latest = floors(sink)[-1]
    assert latest["ts"] >= T0 + step
    waited = latest["ts"] - (T0 + step)  # the real time since the first step: 1 s
    assert latest["longest_wait_s"] == pytest.approx(11.0 + waited)  # old code: 3612 s at +1 h
    assert latest["help_open"][0]["age_s"] == pytest.approx(6.0 + waited)
    run_for(ctl, clocks, 48.6)  # 59.8 s after the press
    assert not [t for t, _, _ in sink.sent if t.startswith("alert/")]
    run_for(ctl, clocks, 0.4)
    alerts = [json.loads(p) for t, p, _ in sink.sent if t == "alert/help-d1"]
    assert [(a["level"], a["since"]) for a in alerts] == [(1, pytest.approx(T0 - 6 + step))]


def test_after_a_step_back_snapshots_keep_their_pacing():
    clocks = Clocks()
    ctl, sink = stepping_service(clocks)
    ctl.step()
    sink.take()
    clocks.wall -= 3600.0
    run_for(ctl, clocks, 20.0)
    sent = floors(sink)
    # The step marks the snapshot changed (out after the minimum interval), then one every
    # 5 s; the old code, pacing on the wall clock, published nothing for an hour.
    assert [round(f["ts"] - (T0 - 3600.0), 1) for f in sent] == [1.0, 6.0, 11.0, 16.0]


def test_the_wall_clock_alone_never_reads_as_a_step():
    clocks = Clocks()
    ctl, _ = stepping_service(clocks)
    run_for(ctl, clocks, 30.0)
    clocks.wall += 1.5  # NTP slewing or jitter: below the threshold
    run_for(ctl, clocks, 1.0)
    assert ctl.counts["clock_steps"] == 0
