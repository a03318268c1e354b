"""The desk unit end to end: gpiozero's MockFactory for the pins, a real mosquitto for the
broker, and the unit wired by the same ``build_desk`` that runs on a Pi."""

from __future__ import annotations

import contextlib
import itertools
import json
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from tests.lamp_trace import SLOW, SLOW_S, Trace, assert_rhythm
from tests.live import ROOT_DIR, Recorder
from wallboard.devservices import Mosquitto, wait_for
from wallboard.topics import DEFAULT_ROOT
from wallboard_desk.bootstrap import DeskRuntime, build_desk
from wallboard_desk.config import DeskConfig, parse_desk_config
from wallboard_desk.desk import BEEP_S, TEST_S, TEST_STEP_S
from wallboard_desk.tower import PATTERNS

SITE, DESK = "lon", "d7"
BASE = f"{DEFAULT_ROOT}/{SITE}/desk/{DESK}"
HELP, LIGHT, CMD, STATUS = (f"{BASE}/{t}" for t in ("help", "light", "cmd", "status"))


def desk_toml(broker: Mosquitto, state_dir: Path, extra: str = "") -> str:
    return (f'[desk]\nid = "{DESK}"\nsite = "{SITE}"\nagent = "a42"\n'
            f'state_dir = "{state_dir}"\n'
            f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\nkeepalive_s = 2\n'
            f"[button]\nlong_press_s = 0.5\n{extra}")


class Unit:
    """A desk unit running in a thread on mock pins."""

    def __init__(self, config: DeskConfig) -> None:
        self.config = config
        self.factory = MockFactory()
        self.runtime: DeskRuntime = build_desk(config, pin_factory=self.factory)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.runtime.run, args=(self.stop,), daemon=True)

    def pin(self, lamp: str):
        return self.factory.pin(getattr(self.config.pins, lamp).pin)

    def lit(self, lamp: str) -> bool:
        return bool(self.runtime.lamps.devices[lamp].value)

    def press(self, seconds: float = 0.1) -> None:
        button = self.factory.pin(self.config.pins.button.pin)
        button.drive_low()
        time.sleep(seconds)
        button.drive_high()

    @property
    def request(self):
        return self.runtime.unit.desk.request

    def close(self) -> None:
        self.stop.set()
        self.runtime.unit.wake()
        self.thread.join(10)
        assert not self.thread.is_alive()
        self.factory.reset()


@contextlib.contextmanager
def running(config: DeskConfig, connected: bool = True) -> Iterator[Unit]:
    unit = Unit(config)
    unit.thread.start()
    try:
        if connected:
            wait_for(unit.runtime.link.connected.is_set, 10, what="the unit to connect")
        yield unit
    finally:
        unit.close()


def _states(recorder: Recorder, topic: str = HELP) -> list[str]:
    return [json.loads(p)["state"] for p in recorder.on(topic) if p]


def _cmd(recorder: Recorder, cmd: str, **fields) -> None:
    recorder.publish(CMD, {"ts": time.time(), "cmd": cmd, **fields})


def test_press_shows_a_retained_request_to_another_subscriber(mosquitto, tmp_path):
    config = parse_desk_config(desk_toml(mosquitto, tmp_path))
    with running(config) as unit:
        assert unit.lit("green") and not unit.lit("red")
        unit.press()
        wait_for(lambda: unit.lit("red") and unit.request.delivered, 5, what="red on")
        late = Recorder(mosquitto, f"{BASE}/#")  # subscribes after the press
        wait_for(lambda: HELP in late.latest, 5, what="the retained help")
        _, payload, retained = next(m for m in late.messages if m[0] == HELP)
        body = json.loads(payload)
        assert retained and body["state"] == "requested" and body["agent"] == "a42"
        assert body["request"] == unit.request.id
        light = late.wait_json(LIGHT, lambda b: b["red"] == "on")
        assert light == {**light, "amber": "off", "green": "off", "buzzer": "off"}
        assert json.loads(late.latest[STATUS])["online"] is True
        late.close()


def test_ack_turns_amber_then_press_resolves_and_long_press_cancels(mosquitto, tmp_path):
    config = parse_desk_config(desk_toml(mosquitto, tmp_path))
    watcher = Recorder(mosquitto, f"{BASE}/#")
    with running(config) as unit:
        unit.press()
        wait_for(lambda: _states(watcher) == ["requested"], 5, what="requested")
        rid = unit.request.id
        buzzer = unit.pin("buzzer")
        buzzer.clear_states()
        _cmd(watcher, "ack", request=rid, by="sup1")
        wait_for(lambda: unit.lit("amber"), 5, what="amber")
        assert not unit.lit("red") and not unit.lit("green")
        wait_for(lambda: _states(watcher)[-1:] == ["acknowledged"], 5, what="acknowledged")
        assert json.loads(watcher.on(HELP)[-1])["by"] == "sup1"
        wait_for(lambda: len(buzzer.states) >= 3, 2, what="the beep to end")
        beep = buzzer.states[2].timestamp  # on, then off after this long
        assert [s.state for s in buzzer.states[:3]] == [False, True, False]
        # One interval, so no median: from below, less the time the unit took to light it.
        assert BEEP_S / 2 <= beep <= BEEP_S * SLOW + SLOW_S, beep

        unit.press()  # the supervisor has arrived
        wait_for(lambda: _states(watcher)[-1:] == ["resolved"], 5, what="resolved")
        wait_for(lambda: unit.lit("green") and not unit.lit("amber"), 5, what="green again")

        unit.press()
        wait_for(lambda: _states(watcher)[-1:] == ["requested"], 5, what="a new request")
        assert unit.request.id != rid
        unit.press(0.8)  # longer than long_press_s
        wait_for(lambda: _states(watcher)[-1:] == ["cancelled"], 5, what="cancelled")
        wait_for(lambda: unit.lit("green") and not unit.lit("red"), 5, what="green again")
        assert _states(watcher) == ["requested", "acknowledged", "resolved", "requested",
                                    "cancelled"]
    watcher.close()


def test_offline_press_blinks_red_and_is_delivered_exactly_once(mosquitto, tmp_path):
    config = parse_desk_config(desk_toml(mosquitto, tmp_path))
    # A kept session: it gets every publish the unit makes, even across the broker restart.
    watcher = Recorder(mosquitto, HELP, persistent_id="desk-test-watcher")
    with running(config) as unit:
        mosquitto.stop()
        wait_for(lambda: not unit.runtime.link.connected.is_set(), 10, what="the drop")
        wait_for(lambda: unit.runtime.lamps.shown.green == "flash", 5, what="offline pattern")
        trace = Trace({"red": unit.pin("red"), "green": unit.pin("green")})
        unit.press()
        wait_for(lambda: unit.lit("red"), 2, what="red at once, offline")
        assert_rhythm(trace, "red", *PATTERNS["blink"], starts_lit=True)
        assert_rhythm(trace, "green", *PATTERNS["flash"])
        assert not unit.request.delivered
        assert (tmp_path / "request.json").exists()  # kept on disk until delivered

        mosquitto.restart()
        wait_for(lambda: unit.request.delivered, 20, what="delivery after the restart")
        wait_for(lambda: _states(watcher) == ["requested"], 10, what="the request")
        wait_for(lambda: unit.runtime.lamps.shown.red == "on", 5, what="red steady")
        assert unit.lit("red") and not unit.lit("green")
        time.sleep(1.0)  # anything sent twice would have arrived by now
        assert _states(watcher) == ["requested"]
    watcher.close()


def test_a_press_kept_on_disk_survives_a_restart_and_goes_out_once(mosquitto, tmp_path):
    config = parse_desk_config(desk_toml(mosquitto, tmp_path))
    mosquitto.stop()
    with running(config, connected=False) as unit:
        unit.press()
        wait_for(lambda: (tmp_path / "request.json").exists(), 5, what="the saved request")
        rid = unit.request.id
    mosquitto.restart()
    watcher = Recorder(mosquitto, HELP)
    with running(config) as unit:
        assert unit.request.id == rid
        wait_for(lambda: unit.request.delivered, 10, what="delivery")
        wait_for(lambda: _states(watcher) == ["requested"], 5, what="the request")
        time.sleep(0.5)
        assert [json.loads(p)["request"] for p in watcher.on(HELP)] == [rid]
        assert unit.lit("red")
    watcher.close()


def test_on_start_the_brokers_copy_wins_over_a_delivered_local_state(mosquitto, tmp_path):
    config = parse_desk_config(desk_toml(mosquitto, tmp_path))
    other = Recorder(mosquitto, "nothing/#")
    # Say a replacement unit: nothing on its disk, an acknowledged request on the broker.
    other.publish(HELP, {"ts": time.time() - 30, "request": "r-open", "state": "acknowledged",
                         "by": "sup2"}, retain=True)
    with running(config) as unit:
        wait_for(lambda: unit.request is not None and unit.request.id == "r-open", 5,
                 what="the broker's request adopted")
        wait_for(lambda: unit.lit("amber") and not unit.lit("green"), 5, what="amber")
        unit.press()  # the supervisor arrives: the adopted request resolves as usual
        wait_for(lambda: unit.request.state == "resolved" and unit.request.delivered, 5,
                 what="resolved")
    other.close()


def test_escalation_nudge_and_test_pattern_on_the_pins(mosquitto, tmp_path):
    config = parse_desk_config(desk_toml(mosquitto, tmp_path,
                                         "[help]\nescalate_after_s = 1.0\n"))
    watcher = Recorder(mosquitto, f"{BASE}/#")
    with running(config) as unit:
        unit.press()
        wait_for(lambda: unit.runtime.lamps.shown.red == "on", 5, what="red on")
        wait_for(lambda: unit.runtime.lamps.shown.red == "fast", 3, what="escalation")
        trace = Trace({"red": unit.pin("red")})
        assert_rhythm(trace, "red", *PATTERNS["fast"], count=6)
        watcher.wait_json(LIGHT, lambda b: b["red"] == "fast")

        trace = Trace({"amber": unit.pin("amber")})
        _cmd(watcher, "nudge")
        assert_rhythm(trace, "amber", *PATTERNS["blink"], starts_lit=True)
        _cmd(watcher, "clear_nudge")
        wait_for(lambda: not unit.lit("amber"), 2, what="the nudge to clear")

        unit.press(0.8)  # cancel, so the test cycle starts from idle
        wait_for(lambda: unit.lit("green"), 5, what="idle")
        trace = Trace({lamp: unit.pin(lamp) for lamp in ("red", "amber", "green", "buzzer")})
        _cmd(watcher, "test")
        # Each lamp then the buzzer, twice, one step apart; then green again: idle.
        cycle = ["red", "amber", "green", "buzzer"] * 2 + ["green"]
        wait_for(lambda: len([e for e in trace.edges() if e.lit]) >= len(cycle),
                 TEST_S + 5, what="the test cycle")
        lit = [e for e in trace.edges() if e.lit]
        assert [e.lamp for e in lit] == cycle
        # Each goes dark as the next one lights: one at a time, never two for part of a step.
        for a, b in itertools.pairwise(lit):
            dark = next(e for e in trace.edges(a.lamp) if e.at > a.at)
            assert not dark.lit and abs(dark.at - b.at) < TEST_STEP_S / 4, (a, dark, b)
        # Steps on the unit's clock from the start: the median step is one step long.
        steps = [b.at - a.at for a, b in itertools.pairwise(lit)]
        assert TEST_STEP_S * 0.8 <= statistics.median(steps) <= TEST_STEP_S * 1.25, steps
        assert unit.lit("green") and not unit.lit("buzzer")
    watcher.close()


def test_bad_input_never_changes_the_light(mosquitto, tmp_path):
    config = parse_desk_config(desk_toml(mosquitto, tmp_path))
    watcher = Recorder(mosquitto, f"{BASE}/#")
    with running(config) as unit:
        unit.press()
        wait_for(lambda: unit.request is not None and unit.request.delivered, 5, what="sent")
        rid = unit.request.id
        _cmd(watcher, "ack", request=rid)
        wait_for(lambda: unit.lit("amber"), 5, what="amber")
        unit.press()
        wait_for(lambda: unit.request.state == "resolved", 5, what="resolved")
        wait_for(lambda: unit.lit("green") and not unit.lit("buzzer"), 5, what="green")
        # ...and the light topic has caught up with the pins (the beep may just have ended).
        watcher.wait_json(LIGHT, lambda b: b["green"] == "on" and b["buzzer"] == "off")
        lights_before = len(watcher.on(LIGHT))
        pins = {lamp: unit.pin(lamp) for lamp in ("red", "amber", "green", "buzzer")}
        for pin in pins.values():
            pin.clear_states()
        counts = dict(unit.runtime.unit.counts)
        _cmd(watcher, "ack", request="someone-elses")  # another desk's request
        watcher.publish(CMD, {"ts": time.time(), "cmd": "self_destruct"})  # unknown
        watcher.publish(CMD, b"{not json")  # malformed
        _cmd(watcher, "ack", request=rid)  # already resolved
        wait_for(lambda: unit.runtime.unit.counts["bad"] - counts.get("bad", 0) == 2
                 and unit.runtime.unit.counts["refused"] - counts.get("refused", 0) == 2,
                 5, what="four rejections counted")
        time.sleep(0.3)
        assert all(len(pin.states) == 1 for pin in pins.values()), {
            lamp: pin.states for lamp, pin in pins.items()}
        assert len(watcher.on(LIGHT)) == lights_before
        assert unit.request.state == "resolved" and unit.lit("green")
    watcher.close()


def test_clean_stop_publishes_offline_and_leaves_the_tower_dark(mosquitto, tmp_path):
    config = parse_desk_config(desk_toml(mosquitto, tmp_path))
    watcher = Recorder(mosquitto, f"{BASE}/#")
    with running(config) as unit:
        wait_for(lambda: unit.lit("green"), 5, what="green")
        pins = {lamp: unit.pin(lamp) for lamp in ("red", "amber", "green", "buzzer")}
    assert all(pin.state is False for pin in pins.values())
    wait_for(lambda: json.loads(watcher.latest.get(STATUS, b"{}")).get("online") is False, 5,
             what="status offline")
    assert json.loads(watcher.latest[LIGHT]) | {"ts": 0} == {
        "ts": 0, "red": "off", "amber": "off", "green": "off", "buzzer": "off"}
    watcher.close()


def test_sigkill_sends_the_last_will_within_one_and_a_half_keepalives(mosquitto, tmp_path):
    config_path = tmp_path / "desk.toml"
    config_path.write_text(desk_toml(mosquitto, tmp_path / "state"), encoding="utf-8")
    watcher = Recorder(mosquitto, STATUS)
    process = subprocess.Popen(
        [sys.executable, "-m", "wallboard_desk.cli", "--virtual", "--config", str(config_path)],
        cwd=ROOT_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: json.loads(watcher.latest.get(STATUS, b"{}")).get("online") is True,
                 15, what="the unit online")
        killed = time.monotonic()
        process.send_signal(signal.SIGKILL)
        process.wait(5)
        wait_for(lambda: json.loads(watcher.latest[STATUS])["online"] is False, 1.5 * 2,
                 what="the last will")
        assert time.monotonic() - killed <= 1.5 * 2
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        watcher.close()


def test_virtual_mode_draws_the_tower_and_takes_keys(mosquitto, tmp_path):
    config_path = tmp_path / "desk.toml"
    config_path.write_text(desk_toml(mosquitto, tmp_path / "state"), encoding="utf-8")
    watcher = Recorder(mosquitto, f"{BASE}/#")
    process = subprocess.Popen(
        [sys.executable, "-m", "wallboard_desk.cli", "--virtual", "--config", str(config_path)],
        cwd=ROOT_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdin is not None
    try:
        wait_for(lambda: watcher.json(LIGHT) is not None, 15, what="the first light")
        process.stdin.write(b" ")
        process.stdin.flush()
        wait_for(lambda: _states(watcher) == ["requested"], 5,
                 what=f"space: a press; {process.poll()=}")
        process.stdin.write(b"c")
        process.stdin.flush()
        wait_for(lambda: _states(watcher)[-1:] == ["cancelled"], 5, what="c: a cancel")
        time.sleep(0.3)  # a few frames, so the drawing has caught up
        process.stdin.write(b"q")
        process.stdin.flush()
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        watcher.close()
    assert process.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert lines[0] == "[red ○ | amber ○ | GREEN ● | buzzer ○]  online  help: none"
    assert "[RED ● | amber ○ | green ○ | buzzer ○]  online  help: requested" in lines
    assert lines[-1].endswith("help: cancelled")
