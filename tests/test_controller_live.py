"""The controller as a real process against a real mosquitto: exact KPIs, crash recovery,
help and alerts, hold nudges on the right desk, and bad input that changes nothing."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time

import pytest

from tests.live import Recorder, ServiceProcess, write_config
from tests.recorder_stream import rows
from tests.snapshots import differences
from wallboard.adapters.influx import InfluxHttp
from wallboard.config import load_config
from wallboard.devservices import wait_for
from wallboard.floor.core import FloorCore
from wallboard.messages import Envelope, decode, encode
from wallboard.services.database_setup import init_database
from wallboard.sim.event_mix import MixSettings, generate

SITE = "wallboard/hq"


@pytest.fixture
def live(mosquitto, tmp_path):
    """A running controller on the test broker, a recording client, and the process."""
    config = write_config(tmp_path / "wallboard.toml", mosquitto, tmp_path / "state")
    controller = ServiceProcess(config, tmp_path / "controller.log").start()
    client = Recorder(mosquitto)
    yield client, controller
    client.close()
    assert controller.stop() == 0, controller.logs()


def call(queue: str, ts: float, call_id: str, event: str, **fields: object
         ) -> tuple[str, dict[str, object]]:
    return f"{SITE}/queue/{queue}/call", {"ts": ts, "call": call_id, "event": event, **fields}


def test_scripted_calls_give_exact_retained_kpis(live):
    client, _ = live
    t = time.time() - 300
    script = [
        call("sales", t, "c1", "offered"),
        call("sales", t + 8, "c1", "answered", wait_s=8.0, agent="a1"),
        call("sales", t + 128, "c1", "completed", agent="a1", handle_s=120.0, hold_s=30.0),
        call("sales", t + 10, "c2", "offered"),
        call("sales", t + 13, "c2", "abandoned", wait_s=3.0),  # short: left out of rates
        call("sales", t + 20, "c3", "offered"),
        call("sales", t + 60, "c3", "abandoned", wait_s=40.0),
        call("sales", t + 30, "c4", "offered"),
        call("sales", t + 55, "c4", "answered", wait_s=25.0, agent="a2"),
        call("sales", t + 200, "c5", "offered"),  # still waiting
        call("support", t + 40, "s1", "offered"),
        call("support", t + 45, "s1", "answered", wait_s=5.0, agent="a3"),
    ]
    for topic, payload in script:
        client.publish(topic, payload)

    sales = client.wait_json(f"{SITE}/kpi/queue/sales", lambda k: k["today"]["offered"] == 5)
    today = sales["today"]
    assert {k: today[k] for k in ("offered", "answered", "abandoned", "short_abandoned",
                                  "answered_in_sl", "abandoned_in_sl", "completed")} == {
        "offered": 5, "answered": 2, "abandoned": 2, "short_abandoned": 1,
        "answered_in_sl": 1, "abandoned_in_sl": 0, "completed": 1}
    # count_against: 1 answered in 20 s of 3 calls whose wait ended (the short abandon is out).
    assert today["service_level"] == pytest.approx(1 / 3)
    assert today["abandon_rate"] == pytest.approx(1 / 3)
    assert today["asa_s"] == pytest.approx(16.5)
    assert today["aht_s"] == pytest.approx(120.0)
    assert sales["waiting"] == 1
    assert sales["longest_wait_s"] == pytest.approx(sales["ts"] - (t + 200))

    floor = client.wait_json(f"{SITE}/kpi/floor", lambda k: k["today"]["offered"] == 6)
    assert floor["queues"] == ["sales", "support"]
    assert (floor["today"]["answered"], floor["waiting"]) == (3, 1)
    assert floor["today"]["service_level"] == pytest.approx(2 / 4)
    support = client.wait_json(f"{SITE}/kpi/queue/support",
                               lambda k: k["today"]["answered"] == 1)
    assert support["today"]["asa_s"] == pytest.approx(5.0)


def test_snapshots_are_coalesced_but_refreshed(live):
    client, _ = live
    t = time.time() - 60
    for i in range(40):
        client.publish(*call("burst", t + i, f"b{i}", "offered"))
    client.wait_json(f"{SITE}/kpi/queue/burst", lambda k: k["today"]["offered"] == 40)
    time.sleep(2.5)  # no input: the max interval (1 s here) still refreshes the snapshot
    stamps = [json.loads(p)["ts"] for p in client.on(f"{SITE}/kpi/queue/burst")]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(stamps) < 40, "every event produced its own snapshot: not coalesced"
    assert min(gaps) >= 0.2 - 0.01, gaps  # publish_min_interval_s in write_config
    assert max(gaps) <= 1.0 + 0.5, gaps  # publish_max_interval_s, plus scheduling slack


def test_help_request_escalates_publishes_times_and_clears(live):
    client, _ = live
    # Every step is dated in the past: one dated ahead of the controller's clock is refused.
    now = time.time() - 35
    help_topic = f"{SITE}/desk/d3/help"
    client.publish(help_topic, {"ts": now - 65, "request": "r1", "state": "requested",
                                "agent": "a1"}, retain=True)
    alert = client.wait_json(f"{SITE}/alert/help-d3", lambda a: a["level"] == 1)
    assert (alert["desk"], alert["agent"], alert["request"]) == ("d3", "a1", "r1")
    status = client.wait_json(f"{SITE}/help/d3", lambda s: s["level"] == 1)
    assert status["state"] == "requested"
    floor = client.wait_json(f"{SITE}/kpi/floor", lambda k: len(k["help_open"]) == 1)
    assert floor["help_open"][0]["age_s"] >= 65

    client.publish(help_topic, {"ts": now + 1, "request": "r1", "state": "acknowledged",
                                "by": "sup1"}, retain=True)
    status = client.wait_json(f"{SITE}/help/d3", lambda s: s["state"] == "acknowledged")
    assert status["time_to_acknowledge_s"] == pytest.approx(66.0)
    assert status["by"] == "sup1"
    wait_cleared = client.on(f"{SITE}/alert/help-d3")
    assert wait_cleared, "alert never published"
    client.wait_json(f"{SITE}/kpi/floor", lambda k: k["help_today"]["ack_p50_s"] is not None)
    assert client.on(f"{SITE}/alert/help-d3")[-1] == b"", "alert not cleared"

    client.publish(help_topic, {"ts": now + 30, "request": "r1", "state": "resolved",
                                "by": "sup1"}, retain=True)
    status = client.wait_json(f"{SITE}/help/d3", lambda s: s["state"] == "resolved")
    assert status["time_to_resolve_s"] == pytest.approx(95.0)
    floor = client.wait_json(f"{SITE}/kpi/floor",
                             lambda k: k["help_today"]["resolve_p50_s"] is not None)
    assert floor["help_open"] == []
    assert floor["help_today"]["requests"] == 1
    # The alert is gone, but the record keeps the level the request reached, and when.
    assert (status["level"], status["max_level"], status["max_level_at"]) == (
        0, 1, pytest.approx(now - 5))


def test_an_escalated_request_keeps_its_highest_level_when_acknowledged(
        mosquitto, influxd, influx_db, tmp_path):
    """Retained on help/{desk} for a screen that connects later, and stored by the recorder."""
    config = write_config(tmp_path / "wallboard.toml", mosquitto, tmp_path / "state", extra=f"""
[help]
escalate_after_s = 30

[influx]
url = "{influxd.url}"
database = "{influx_db}"

[recorder]
spool_dir = "{tmp_path / "spool"}"
""")
    settings = load_config(config)
    init_database(InfluxHttp.from_config(settings.influx), settings.recorder.retention)
    recorder = ServiceProcess(config, tmp_path / "recorder.log", command="recorder").start()
    controller = ServiceProcess(config, tmp_path / "controller.log").start()
    client = Recorder(mosquitto)
    try:
        pressed = time.time() - 75  # level 2 fell due 60 s after the press
        help_topic = f"{SITE}/desk/d5/help"
        client.publish(help_topic, {"ts": pressed, "request": "r5", "state": "requested",
                                    "agent": "a5"}, retain=True)
        escalated = client.wait_json(f"{SITE}/help/d5", lambda s: s["level"] == 2)
        assert (escalated["max_level"], escalated["max_level_at"]) == (
            2, pytest.approx(pressed + 60))
        client.publish(help_topic, {"ts": pressed + 72, "request": "r5",
                                    "state": "acknowledged", "by": "sup1"}, retain=True)
        client.wait_json(f"{SITE}/help/d5", lambda s: s["state"] == "acknowledged")

        late = Recorder(mosquitto, f"{SITE}/help/d5")  # a screen that connects afterwards
        try:
            retained = late.wait_json(f"{SITE}/help/d5", lambda s: True)
        finally:
            late.close()
        assert (retained["state"], retained["level"], retained["max_level"]) == (
            "acknowledged", 0, 2)
        assert retained["max_level_at"] == pytest.approx(pressed + 60)

        query = ('SELECT "level", "max_level", "max_level_at", "request" FROM "raw"."help" '
                 "WHERE \"state\" = 'acknowledged' AND \"desk\" = 'd5'")
        stored = wait_for(lambda: list(rows(influxd, influx_db, query)), 15,
                          what="the acknowledged help record in InfluxDB")
        assert [(r["request"], r["level"], r["max_level"]) for r in stored] == [("r5", 0, 2)]
        assert stored[0]["max_level_at"] == pytest.approx(pressed + 60)
    finally:
        client.close()
        assert controller.stop() == 0, controller.logs()
        assert recorder.stop() == 0, recorder.logs()


def test_long_hold_nudges_the_agents_desk_then_clears(live):
    client, _ = live
    now = time.time()
    state = f"{SITE}/agent/a7/state"
    client.publish(state, {"ts": now - 70, "state": "hold", "since": now - 70, "desk": "d7",
                           "queue": "sales", "call": "c9"}, retain=True)
    nudge = client.wait_json(f"{SITE}/desk/d7/cmd", lambda c: c["cmd"] == "nudge")
    assert nudge["ts"] >= now
    floor = client.wait_json(f"{SITE}/kpi/floor", lambda k: len(k["long_holds"]) == 1)
    assert floor["long_holds"][0]["agent"] == "a7"
    assert floor["long_holds"][0]["hold_s"] >= 70

    client.publish(state, {"ts": now + 1, "state": "talking", "since": now + 1, "desk": "d7",
                           "queue": "sales", "call": "c9"}, retain=True)
    client.wait_json(f"{SITE}/desk/d7/cmd", lambda c: c["cmd"] == "clear_nudge")
    assert [json.loads(p)["cmd"] for p in client.on(f"{SITE}/desk/d7/cmd")] == [
        "nudge", "clear_nudge"]
    assert not [t for t, _, _ in client.messages if t.endswith("/cmd") and "/d7/" not in t]


def test_bad_and_contradicting_input_is_logged_counted_and_changes_nothing(live):
    client, controller = live
    t = time.time() - 100
    hostile = [
        (f"{SITE}/queue/sales/call", b"{not json"),
        (f"{SITE}/queue/sales/call", json.dumps({"ts": t, "call": "x", "event": "boom"})
         .encode()),
        (f"{SITE}/queue/sales/call", b"\xff\xfe"),
        (f"{SITE}/queue/sales/call", json.dumps({"ts": t, "call": "c1", "event": "offered",
                                                 "evil": "x" * 70_000}).encode()),
    ]
    for topic, payload in hostile:
        client.publish(topic, payload)
    client.publish(*call("sales", t, "c1", "offered"))
    client.publish(*call("sales", t + 5, "c1", "answered", wait_s=5.0, agent="a1"))
    client.publish(*call("sales", t + 9, "c1", "abandoned", wait_s=9.0))  # contradicts
    client.publish(*call("sales", t + 9, "ghost", "completed", agent="a1", handle_s=5.0,
                         hold_s=0.0))  # unknown call: held back
    client.publish(f"{SITE}/desk/d1/help", {"ts": t, "request": "r9", "state": "resolved"})
    kpi = client.wait_json(f"{SITE}/kpi/queue/sales", lambda k: k["today"]["answered"] == 1)
    assert (kpi["today"]["offered"], kpi["today"]["abandoned"], kpi["today"]["completed"]) == (
        1, 0, 0)
    log = controller.logs()
    assert "rejected wallboard/hq/queue/sales/call: payload: malformed JSON" in log
    assert "rejected wallboard/hq/queue/sales/call: event:" in log
    assert "not UTF-8" in log and "over the 64 KiB limit" in log
    assert "refused wallboard/hq/queue/sales/call: abandoned for a call already answered" in log
    assert "held wallboard/hq/queue/sales/call: completed for an unknown call" in log
    assert "refused wallboard/hq/desk/d1/help: resolved for request r9 refused" in log
    assert controller.process is not None and controller.process.poll() is None


def test_retained_wellbeing_left_by_a_stopped_run_is_cleared_at_start(mosquitto, tmp_path):
    """A run stopped before a1 logged off and before team t9 shrank left their retained
    wellbeing behind; the next run clears both, and publishes a2, who is logged in."""
    now = time.time()
    client = Recorder(mosquitto)
    try:
        client.publish(f"{SITE}/agent/a1/wellbeing", {
            "ts": now - 60, "score": 70.0, "components": [], "suggestion": "check_in"},
            retain=True)
        client.publish(f"{SITE}/team/t9/wellbeing", {
            "ts": now - 60, "agents": 5, "mean_score": 40.0, "agents_over_threshold": 1},
            retain=True)
        config = write_config(tmp_path / "wallboard.toml", mosquitto, tmp_path / "state")
        controller = ServiceProcess(config, tmp_path / "controller.log").start()
        try:
            at = time.time()
            client.publish(f"{SITE}/agent/a2/state", {"ts": at, "state": "available",
                                                      "since": at, "team": "t9"})
            for topic in (f"{SITE}/agent/a1/wellbeing", f"{SITE}/team/t9/wellbeing"):

                def cleared(topic: str = topic) -> bool:
                    return client.on(topic)[-1:] == [b""]
                wait_for(cleared, 10, what=f"{topic} to be cleared")
            client.wait_json(f"{SITE}/agent/a2/wellbeing", lambda m: m["team"] == "t9")
        finally:
            assert controller.stop() == 0, controller.logs()
    finally:
        client.close()
    # Nothing is left for a screen that connects now.
    late = Recorder(mosquitto, f"{SITE}/+/+/wellbeing")
    try:
        time.sleep(0.5)
        assert late.json(f"{SITE}/agent/a1/wellbeing") is None
        assert late.json(f"{SITE}/team/t9/wellbeing") is None
        assert late.json(f"{SITE}/agent/a2/wellbeing") is not None
    finally:
        late.close()


def test_sigkill_mid_stream_then_restart_matches_an_uninterrupted_run(
        mosquitto, tmp_path, paho_path):
    """Kill -9 half-way through; the restarted controller's snapshots equal the pure core's
    after folding the whole input without interruption, read at the same instant."""
    start = time.time() - 1800
    events = [(t, encode(m)) for t, m in generate(start, 1700, MixSettings(agents=30), seed=5)]
    topics = [t.replace("wallboard/main/", "wallboard/hq/", 1) for t, _ in events]
    config = write_config(tmp_path / "wallboard.toml", mosquitto, tmp_path / "state")
    controller = ServiceProcess(config, tmp_path / "controller.log").start()
    client = Recorder(mosquitto, f"{SITE}/kpi/#")
    try:
        half = len(events) // 2
        for topic, (_, payload) in zip(topics[:half], events[:half], strict=True):
            client.publish(topic, payload)
        controller.kill()
        # While it is dead the broker queues for its persistent session.
        for topic, (_, payload) in zip(topics[half:], events[half:], strict=True):
            client.publish(topic, payload)
        controller.start()

        reference = FloorCore(load_config(config).floor_settings())
        for topic, (_, payload) in zip(topics, events, strict=True):
            item = decode(topic, payload, now=time.time())
            assert isinstance(item, Envelope)
            reference.fold(item)
        queue_ids = sorted(reference.model.queues)
        # Same instant for both: the reference is read at each live snapshot's own ts.
        for topic, pick in [(f"{SITE}/kpi/floor", None),
                            *[(f"{SITE}/kpi/queue/{q}", q) for q in queue_ids]]:
            last: list[str] = []

            def matches(topic: str = topic, pick: str | None = pick,
                        last: list[str] = last) -> bool:
                got = client.json(topic)
                if got is None:
                    return False
                queues, floor = reference.snapshots(got["ts"])
                want = floor if pick is None else next(q for q in queues if q.queue == pick)
                live_snap = type(want).model_validate_json(json.dumps(got))
                last[:] = differences(live_snap, want)
                return not last

            try:
                wait_for(matches, 20, interval=0.1, what=topic)
            except AssertionError:
                raise AssertionError(f"{topic} differs: {last[:10]}\n"
                                     + controller.logs()) from None
        assert "restored" in controller.logs()
        path = "fast" if paho_path == "fast" else "stock paho"
        assert f"{path} receive path" in controller.log_path.read_text()
    finally:
        client.close()
        controller.stop()


@pytest.mark.parametrize(("config", "expected"), [
    ("[help]\nescalate_after_s = -5\n", "help.escalate_after_s: Input should be greater than 0"),
    ("[controller]\nstate_dir = \"{blocker}/journal\"\n", "controller.state_dir:"),
])
def test_bad_config_stops_start_up_naming_file_key_and_reason(tmp_path, config, expected):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    path = tmp_path / "wallboard.toml"
    path.write_text(config.format(blocker=blocker))
    proc = subprocess.run([sys.executable, "-m", "wallboard.cli", "controller", "--config",
                           str(path)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert expected in proc.stderr
    assert "wallboard.toml" in proc.stderr or str(blocker) in proc.stderr
