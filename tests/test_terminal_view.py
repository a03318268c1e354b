"""The terminal view is a pure function of the snapshots it has heard and the time."""

from __future__ import annotations

import pytest

from tests.floor_events import abandoned, answered, env, offered, state
from wallboard.floor.core import FloorCore
from wallboard.floor.settings import FloorSettings
from wallboard.link_status import LinkState
from wallboard.messages import Alert, RecorderHealth
from wallboard.terminal_view import STALE_AFTER_S, FloorView, render

T0 = 1_795_420_800.0  # Mon 23 Nov 2026 08:00 UTC


def floor_view(now: float) -> FloorView:
    core = FloorCore(FloorSettings(escalate_after_s=60.0))
    for e in [state("a1", "talking", T0 - 10, queue="sales", desk="d1"),
              state("a2", "available", T0 - 10, queue="support", desk="d2"),
              state("a3", "hold", T0 - 100, queue="sales", desk="d3"),
              offered("sales", "c1", T0 - 30), answered("sales", "c1", T0 - 20, 10.0),
              offered("sales", "c2", T0 - 40), abandoned("sales", "c2", T0 - 5, 35.0),
              offered("support", "c3", T0 - 45),
              env("desk/d1/help", ts=T0 - 130, request="r1", state="requested", agent="a1")]:
        core.fold(e)
    core.tick(T0)
    queues, floor = core.snapshots(now)
    return FloorView(floor=floor, queues={q.queue: q for q in queues})


def test_shows_queues_sl_waiting_help_and_long_holds():
    lines = render(floor_view(T0), T0, "hq")
    text = "\n".join(lines)
    assert lines[0] == "WALLBOARD  hq  Mon 23 Nov 08:00:00"
    assert ("FLOOR  waiting 1 (longest 0:45)  SL 50% today  last 30 min: SL 50%, ASA 0:10, "
            "abandoned 50%") in text
    assert "QUEUES  SL 30m, ASA, ABAND, AHT and OCC: last 30 min; SL day: today" in lines
    assert "SL 30m  SL day" in text
    sales = next(line for line in lines if line.startswith("sales"))
    assert sales.split()[:5] == ["sales", "0", "0:00", "50%", "50%"]
    support = next(line for line in lines if line.startswith("support"))
    assert support.split()[:3] == ["support", "1", "0:45"]
    assert "HELP  open 1   today 1 requests" in text
    assert "  desk d1 (a1): requested,  2:10 ago  !! ESCALATED TWICE" in lines
    assert "LONG HOLDS  a3  1:40" in text
    assert "STALE" not in text


def test_agents_show_by_display_name_where_one_is_configured():
    text = "\n".join(render(floor_view(T0), T0, "hq", names={"a1": "Jane Smith",
                                                             "a3": "Ravi Patel"}))
    assert "  desk d1 (Jane Smith): requested,  2:10 ago  !! ESCALATED TWICE" in text
    assert "LONG HOLDS  Ravi Patel  1:40" in text


def test_says_when_snapshots_are_stale_or_the_controller_is_down():
    view = floor_view(T0)
    view.controller_online = False
    lines = render(view, T0 + STALE_AFTER_S + 5, "hq")
    assert "!! controller offline since 08:00:00: numbers below are frozen" in lines
    assert "!! STALE: last snapshot 15 s ago" in lines


def test_each_recorder_gets_a_storage_line_that_says_when_influxdb_is_down():
    view = floor_view(T0)
    view.recorders = {
        "main": RecorderHealth(ts=T0, received=12_500, written=12_400, spooled=0, rejected=3,
                               lag_s=0.8, database_up=True),
        "b": RecorderHealth(ts=T0, received=900, written=100, spooled=800, rejected=0,
                            lag_s=21.4, database_up=False)}
    lines = render(view, T0, "hq")
    assert lines[-2:] == [
        "STORAGE  recorder b: 100 stored, 800 spooled, 0 rejected, lag 21.4 s, !! InfluxDB DOWN",
        "STORAGE  recorder main: 12,400 stored, 0 spooled, 3 rejected, lag 0.8 s, InfluxDB up"]


def test_a_snapshot_dated_well_ahead_of_this_clock_is_a_clock_mismatch_not_fresh_data():
    view = floor_view(T0)
    lines = render(view, T0 - 3_600, "hq")
    assert "!! CLOCK MISMATCH: data dated 1 h ahead of this clock" in lines
    assert not any("STALE" in line for line in lines)
    assert not any("CLOCK" in line for line in render(view, T0 - 30, "hq"))


def test_a_recorder_whose_spool_disk_is_full_says_so():
    view = floor_view(T0)
    view.recorders = {"main": RecorderHealth(
        ts=T0, received=900, written=100, spooled=800, rejected=0, lag_s=21.4,
        database_up=False, disk_full=True)}
    assert render(view, T0, "hq")[-1] == (
        "!! recorder main: spool disk full, new messages wait at the broker")


BROKER = "mq.floor:1883"
WAITING: list[tuple[str, FloorView, LinkState | None, str]] = [
    ("first-frame", FloorView(), LinkState(BROKER, down_since=T0),
     "!! NO DATA: connecting to broker mq.floor:1883"),
    ("no-broker", FloorView(), LinkState(BROKER, error="connection refused", down_since=T0),
     "!! NO DATA: cannot reach broker mq.floor:1883 (connection refused)"),
    ("no-controller", FloorView(), LinkState(BROKER, connected=True),
     "!! NO DATA: connected, waiting for the controller"),
    ("untracked-link", FloorView(), None, "!! NO DATA: connected, waiting for the controller"),
    ("controller-offline", FloorView(controller_online=False, controller_ts=T0 - 65),
     LinkState(BROKER, connected=True), "!! NO DATA: controller offline since 07:58:55"),
]


@pytest.mark.parametrize(("view", "link", "line"), [pytest.param(*w[1:], id=w[0])
                                                    for w in WAITING])
def test_before_the_first_snapshot_it_says_what_it_is_waiting_for(view, link, line):
    lines = render(view, T0, "hq", link=link)
    assert lines[1:] == [line]


def test_with_data_a_lost_broker_freezes_the_numbers():
    lines = render(floor_view(T0), T0 + 2, "hq",
                   link=LinkState(BROKER, error="connection lost", down_since=T0))
    assert lines[1] == ("!! cannot reach broker mq.floor:1883 (connection lost): "
                        "numbers below are frozen")


def test_alerts_are_listed_highest_level_first_and_lines_fit_the_width():
    view = floor_view(T0)
    view.alerts = {"a": Alert(ts=T0, level=1, kind="x", text="low"),
                   "b": Alert(ts=T0, level=2, kind="x", text="high " * 30)}
    lines = render(view, T0, "hq", width=60)
    first = lines.index("ALERTS  2 active")
    assert lines[first + 1].startswith("  L2 high") and lines[first + 2] == "  L1 low"
    assert max(len(line) for line in lines) <= 60


def test_the_watcher_says_since_when_the_controller_is_offline():
    import json

    from wallboard.link_status import LinkTracker
    from wallboard.services.watch import Watcher
    from wallboard.topics import DEFAULT_ROOT, Kind, build

    watcher = Watcher(DEFAULT_ROOT, "hq", clock=lambda: T0)
    watcher.link = LinkTracker(BROKER, "watch", clock=lambda: T0)
    assert watcher.lines()[1] == "!! NO DATA: connecting to broker mq.floor:1883"
    watcher.link.on_connected()
    assert watcher.lines()[1] == "!! NO DATA: connected, waiting for the controller"
    watcher.handle(build(Kind.SERVICE_STATUS, site="hq", service="controller"),
                   json.dumps({"ts": T0 - 65, "online": False}).encode())
    assert watcher.lines()[1] == "!! NO DATA: controller offline since 07:58:55"
