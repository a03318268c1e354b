"""Table-driven tests of ``fold``: each message as the broker delivers it, and what it changes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from wallboard.kiosk.state import Board, Changes, fold
from wallboard.messages import Cleared, Envelope, decode
from wallboard.topics import Kind, build

T0 = 1_795_420_800.0  # Mon 23 Nov 2026 08:00 UTC
SITE = "hq"


def receive(kind: Kind, payload: dict[str, Any] | None, **ids: str) -> Envelope | Cleared:
    """Decode a message exactly as the kiosk's MQTT shell will; None is an empty payload."""
    raw = b"" if payload is None else json.dumps(payload).encode()
    return decode(build(kind, site=SITE, **ids), raw, now=T0 + 3600)


def window(name: str) -> dict[str, Any]:
    return {"name": name, "start": T0 - 1800, "end": T0, "offered": 40, "answered": 36,
            "abandoned": 4, "short_abandoned": 1, "answered_in_sl": 30, "abandoned_in_sl": 1,
            "completed": 35, "sl_threshold_s": 20.0, "service_level": 0.75, "asa_s": 17.0,
            "abandon_rate": 0.075, "aht_s": 265.0, "occupancy": 0.83}


def snapshot(ts: float, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ts": ts, "sl_treatment": "count_against", "short_abandon_s": 5.0, "waiting": 7,
        "longest_wait_s": 45.0, "agents_available": 3, "agents_busy": 10, "agents_on_break": 2,
        "agents_logged_in": 15, "today": window("today"), "sliding": window("last 30 min")}
    data.update(changes)
    return data


def floor(ts: float = T0, holds: dict[str, float] | None = None,
          **changes: Any) -> Envelope | Cleared:
    long_holds = [{"agent": a, "hold_s": s} for a, s in (holds or {}).items()]
    return receive(Kind.KPI_FLOOR, snapshot(
        ts, queues=["sales", "support"], agents_by_state={"talking": 10},
        long_holds=long_holds, **changes))


def queue(name: str, ts: float = T0, **changes: Any) -> Envelope | Cleared:
    return receive(Kind.KPI_QUEUE, snapshot(ts, queue=name, **changes), queue=name)


def agent(name: str, state: str, ts: float = T0, **extra: Any) -> Envelope | Cleared:
    return receive(Kind.AGENT_STATE, {"ts": ts, "state": state, "since": ts - 30, **extra},
                   agent=name)


def wellbeing(name: str, score: float, ts: float = T0) -> Envelope | Cleared:
    return receive(Kind.AGENT_WELLBEING, {"ts": ts, "score": score, "components": []},
                   agent=name)


def light(desk: str, red: str = "off", ts: float = T0) -> Envelope | Cleared:
    return receive(Kind.DESK_LIGHT, {"ts": ts, "red": red, "amber": "off", "green": "on",
                                     "buzzer": "off"}, desk=desk)


def desk_status(desk: str, online: bool, ts: float = T0) -> Envelope | Cleared:
    return receive(Kind.DESK_STATUS, {"ts": ts, "online": online}, desk=desk)


def help_status(desk: str, state: str, ts: float = T0) -> Envelope | Cleared:
    return receive(Kind.HELP, {"ts": ts, "request": "r1", "state": state, "agent": "a1",
                               "requested_at": T0 - 60}, desk=desk)


def alert(name: str, level: int, ts: float = T0) -> Envelope | Cleared:
    return receive(Kind.ALERT, {"ts": ts, "level": level, "kind": "sl_breach",
                                "text": f"{name} level {level}"}, alert=name)


def cleared(name: str) -> Envelope | Cleared:
    return receive(Kind.ALERT, None, alert=name)


def service(name: str, online: bool, ts: float = T0) -> Envelope | Cleared:
    return receive(Kind.SERVICE_STATUS, {"ts": ts, "online": online}, service=name)


def fold_all(board: Board, items: list[Envelope | Cleared]) -> Changes:
    """Fold every item; the changes of the last one."""
    changes = Changes()
    for item in items:
        changes = fold(board, item)
    return changes


Held = Callable[[Board], object]

# --- each kind, into an empty board ----------------------------------------------------------

KINDS: list[Any] = [
    # (id, message, expected changes, where the board holds it)
    ("floor", floor(), Changes(tiles=True), lambda b: b.floor),
    ("floor-with-long-hold", floor(holds={"a1": 95.0}),
     Changes(tiles=True, agents={"a1"}), lambda b: b.floor),
    ("queue", queue("sales"), Changes(tiles=True), lambda b: b.queues["sales"]),
    ("agent-state", agent("a1", "talking", desk="d1", team="blue"),
     Changes(agents={"a1"}, roster=True), lambda b: b.agents["a1"]),
    ("wellbeing", wellbeing("a1", 62.0), Changes(agents={"a1"}), lambda b: b.wellbeing["a1"]),
    ("light-no-agent-there", light("d1"), Changes(), lambda b: b.lights["d1"]),
    ("desk-status-no-agent-there", desk_status("d1", True), Changes(),
     lambda b: b.desks_online["d1"]),
    ("help", help_status("d1", "requested"), Changes(help=True), lambda b: b.help["d1"]),
    ("alert", alert("sl-sales", 2), Changes(alerts=True), lambda b: b.alerts["sl-sales"]),
    ("controller-status", service("controller", False), Changes(tiles=True),
     lambda b: b.controller),
]


@pytest.mark.parametrize(("item", "expected", "held"),
                         [pytest.param(*r[1:], id=r[0]) for r in KINDS])
def test_fold_each_kind(item, expected, held):
    board = Board()
    assert isinstance(item, Envelope)
    assert fold(board, item) == expected
    assert held(board) is item.message


IGNORED: list[Any] = [
    # (id, message the kiosk does not show): folded, it changes nothing
    ("recorder-status", service("recorder", False)),
    ("desk-help", receive(Kind.DESK_HELP, {"ts": T0, "request": "r1", "state": "requested"},
                          desk="d1")),
    ("agent-signal", receive(Kind.AGENT_SIGNAL, {"ts": T0, "kind": "irate_caller"},
                             agent="a1")),
    ("team-wellbeing", receive(Kind.TEAM_WELLBEING, {"ts": T0, "agents": 5, "mean_score": 30.0,
                                                     "agents_over_threshold": 0}, team="blue")),
    ("call", receive(Kind.CALL, {"ts": T0, "call": "c1", "event": "offered"}, queue="sales")),
    ("desk-cmd", receive(Kind.DESK_CMD, {"ts": T0, "cmd": "test"}, desk="d1")),
    ("clear-unknown-alert", cleared("never-raised")),
]


@pytest.mark.parametrize("item", [pytest.param(r[1], id=r[0]) for r in IGNORED])
def test_fold_what_the_kiosk_does_not_show(item):
    board = Board()
    changes = fold(board, item)
    assert changes == Changes()
    assert not changes
    assert board == Board()


# --- an older message never rolls the screen back --------------------------------------------

ROLLBACK: list[Any] = [
    # (id, newer, older, where the board holds it)
    ("floor", floor(T0 + 10, waiting=3), floor(T0, waiting=9), lambda b: b.floor),
    ("queue", queue("sales", T0 + 10), queue("sales", T0), lambda b: b.queues["sales"]),
    ("agent-state", agent("a1", "available", T0 + 10), agent("a1", "talking", T0),
     lambda b: b.agents["a1"]),
    ("wellbeing", wellbeing("a1", 20.0, T0 + 10), wellbeing("a1", 80.0, T0),
     lambda b: b.wellbeing["a1"]),
    ("light", light("d1", "off", T0 + 10), light("d1", "blink", T0), lambda b: b.lights["d1"]),
    ("desk-status", desk_status("d1", True, T0 + 10), desk_status("d1", False, T0),
     lambda b: b.desks_online["d1"]),
    ("help", help_status("d1", "acknowledged", T0 + 10), help_status("d1", "requested", T0),
     lambda b: b.help["d1"]),
    ("controller", service("controller", True, T0 + 10), service("controller", False, T0),
     lambda b: b.controller),
]


@pytest.mark.parametrize(("newer", "older", "held"),
                         [pytest.param(*r[1:], id=r[0]) for r in ROLLBACK])
def test_an_older_message_is_ignored(newer, older, held):
    board = Board(desk_agent={"d1": "a1"})
    assert fold(board, newer)
    changes = fold(board, older)
    assert changes == Changes()
    assert held(board) is newer.message


# (id, dated an hour ahead by a clock NTP then stepped back, the next one, where it is held)
STEPPED_BACK: list[Any] = [
    ("floor", floor(T0 + 3600, waiting=9), floor(T0 + 1, waiting=3), lambda b: b.floor),
    ("queue", queue("sales", T0 + 3600), queue("sales", T0 + 1), lambda b: b.queues["sales"]),
    ("help", help_status("d1", "requested", T0 + 3600), help_status("d1", "acknowledged", T0),
     lambda b: b.help["d1"]),
    ("alert", alert("sl-sales", 2, T0 + 3600), alert("sl-sales", 1, T0 + 1),
     lambda b: b.alerts["sl-sales"]),
    ("agent-state", agent("a1", "talking", T0 + 3600), agent("a1", "available", T0 + 1),
     lambda b: b.agents["a1"]),
    ("controller", service("controller", True, T0 + 3600), service("controller", False, T0),
     lambda b: b.controller),
]


@pytest.mark.parametrize(("ahead", "then", "held"),
                         [pytest.param(*r[1:], id=r[0]) for r in STEPPED_BACK])
def test_a_message_dated_far_ahead_of_the_screen_holds_nothing_back(ahead, then, held):
    board = Board()
    fold(board, ahead, T0)
    assert fold(board, then, T0 + 2)  # the old code kept the one an hour ahead
    assert held(board) is then.message


@pytest.mark.parametrize(("ahead", "then", "held"),
                         [pytest.param(*r[1:], id=r[0]) for r in STEPPED_BACK])
def test_a_message_a_minute_ahead_still_holds_older_ones_back(ahead, then, held):
    board = Board()
    fold(board, ahead, ahead.message.ts - 60)  # skew within FUTURE_S: trusted
    assert not fold(board, then, ahead.message.ts - 60)
    assert held(board) is ahead.message


@pytest.mark.parametrize(("first", "second", "held"),
                         [pytest.param(r[2], r[1], r[3], id=r[0]) for r in ROLLBACK])
def test_a_newer_message_replaces_the_older(first, second, held):
    board = Board(desk_agent={"d1": "a1"})
    fold(board, first)
    assert fold(board, second)
    assert held(board) is second.message


@pytest.mark.parametrize(("online", "will", "held"), [
    pytest.param(desk_status("d1", True, T0), desk_status("d1", False, T0),
                 lambda b: b.desks_online["d1"], id="desk"),
    pytest.param(service("controller", True, T0), service("controller", False, T0),
                 lambda b: b.controller, id="controller"),
])
def test_a_last_will_with_the_online_messages_ts_takes_effect(online, will, held):
    # A unit's will is built when it connects, with the same ts as its online status.
    board = Board(desk_agent={"d1": "a1"})
    fold(board, online)
    assert fold(board, will)
    assert held(board) is will.message
    assert held(board).online is False


def test_an_older_queue_snapshot_does_not_block_another_queue():
    board = Board()
    fold(board, queue("sales", T0 + 10))
    assert fold(board, queue("support", T0)) == Changes(tiles=True)
    assert set(board.queues) == {"sales", "support"}


# --- alerts -----------------------------------------------------------------------------------


def test_cleared_alert_is_removed():
    board = Board()
    fold_all(board, [alert("sl-sales", 1), alert("help-d4", 2)])
    assert fold(board, cleared("sl-sales")) == Changes(alerts=True)
    assert list(board.alerts) == ["help-d4"]
    assert fold(board, cleared("sl-sales")) == Changes()
    assert fold(board, cleared("help-d4")) == Changes(alerts=True)
    assert board.alerts == {}


def test_an_alert_rising_replaces_the_held_one():
    board = Board()
    fold(board, alert("sl-sales", 1, T0))
    assert fold(board, alert("sl-sales", 2, T0 + 60)) == Changes(alerts=True)
    assert board.alerts["sl-sales"].level == 2


# --- desks and the agents sitting at them -----------------------------------------------------

DESK_TOUCHES: list[Any] = [
    # (id, message about a desk, agents whose cell changes)
    ("light-at-a1s-desk", light("d1", "blink", T0 + 5), {"a1"}),
    ("light-at-a2s-desk", light("d2", "fast", T0 + 5), {"a2"}),
    ("light-at-empty-desk", light("d9", "blink", T0 + 5), set()),
    ("status-at-a1s-desk", desk_status("d1", False, T0 + 5), {"a1"}),
    ("status-at-empty-desk", desk_status("d9", False, T0 + 5), set()),
]


@pytest.mark.parametrize(("item", "agents"), [pytest.param(*r[1:], id=r[0])
                                              for r in DESK_TOUCHES])
def test_desk_change_marks_the_agent_sitting_there(item, agents):
    board = Board()
    fold_all(board, [agent("a1", "talking", desk="d1"), agent("a2", "available", desk="d2")])
    assert fold(board, item) == Changes(agents=agents)


def test_agent_moving_desk_is_marked_by_the_new_desk_only():
    board = Board()
    fold_all(board, [agent("a1", "talking", T0, desk="d1"),
                     agent("a1", "available", T0 + 10, desk="d2")])
    assert board.desk_agent == {"d2": "a1"}
    assert fold(board, light("d1", "blink", T0 + 20)) == Changes()
    assert fold(board, light("d2", "blink", T0 + 20)) == Changes(agents={"a1"})


def test_agent_leaving_their_desk_is_no_longer_marked_by_it():
    board = Board()
    fold_all(board, [agent("a1", "talking", T0, desk="d1"), agent("a1", "offline", T0 + 10)])
    assert board.desk_agent == {}
    assert fold(board, light("d1", "blink", T0 + 20)) == Changes()


def test_desk_handed_over_marks_the_agent_now_sitting_there():
    board = Board()
    fold_all(board, [agent("a1", "talking", T0, desk="d1"),
                     agent("a2", "available", T0 + 5, desk="d1")])
    assert board.desk_agent == {"d1": "a2"}
    assert fold(board, light("d1", "blink", T0 + 20)) == Changes(agents={"a2"})


# --- roster -----------------------------------------------------------------------------------

ROSTER: list[Any] = [
    # (id, earlier state fields, later state fields, roster changed?)
    ("same-team-state-change", {"state": "talking", "team": "blue"},
     {"state": "available", "team": "blue"}, False),
    ("break-to-talking", {"state": "break", "team": "blue", "reason": "lunch"},
     {"state": "talking", "team": "blue"}, False),
    ("team-change", {"state": "talking", "team": "blue"}, {"state": "talking", "team": "red"},
     True),
    ("joins-a-team", {"state": "talking"}, {"state": "talking", "team": "red"}, True),
    ("leaves-a-team", {"state": "talking", "team": "red"}, {"state": "talking"}, True),
    ("logging-off", {"state": "available", "team": "blue"},
     {"state": "offline", "team": "blue"}, True),
    ("logging-on", {"state": "offline", "team": "blue"},
     {"state": "available", "team": "blue"}, True),
    ("still-offline", {"state": "offline", "team": "blue"},
     {"state": "offline", "team": "blue", "reason": "shift end"}, False),
]


@pytest.mark.parametrize(("before", "after", "roster"),
                         [pytest.param(*r[1:], id=r[0]) for r in ROSTER])
def test_roster_changes(before, after, roster):
    board = Board()
    assert fold(board, agent("a1", ts=T0, **before)).roster  # first sight is always a change
    changes = fold(board, agent("a1", ts=T0 + 10, **after))
    assert changes == Changes(agents={"a1"}, roster=roster)


# --- long holds come from the floor snapshot --------------------------------------------------

HOLDS: list[Any] = [
    # (id, holds before, holds after, agents whose cell changes)
    ("new-hold", {}, {"a1": 95.0}, {"a1"}),
    ("hold-grows", {"a1": 95.0}, {"a1": 100.0}, {"a1"}),
    ("hold-unchanged", {"a1": 95.0}, {"a1": 95.0}, set()),
    ("hold-ends", {"a1": 95.0}, {}, {"a1"}),
    ("one-of-two-ends", {"a1": 95.0, "a2": 70.0}, {"a2": 70.0}, {"a1"}),
    ("swap", {"a1": 95.0}, {"a2": 61.0}, {"a1", "a2"}),
    ("none", {}, {}, set()),
]


@pytest.mark.parametrize(("before", "after", "agents"),
                         [pytest.param(*r[1:], id=r[0]) for r in HOLDS])
def test_floor_snapshot_marks_agents_whose_long_hold_changed(before, after, agents):
    board = Board()
    fold(board, floor(T0, holds=before))
    assert fold(board, floor(T0 + 1, holds=after)) == Changes(tiles=True, agents=agents)
    assert board.long_holds() == after


def test_no_floor_snapshot_means_no_long_holds():
    assert Board().long_holds() == {}


# --- changes ----------------------------------------------------------------------------------


def test_changes_merge_and_truth():
    total = Changes()
    assert not total
    total.merge(Changes(agents={"a1"}))
    assert total
    total.merge(Changes(tiles=True, agents={"a2"}))
    total.merge(Changes(help=True, roster=True))
    total.merge(Changes())
    assert total == Changes(tiles=True, help=True, alerts=False, agents={"a1", "a2"},
                            roster=True)
    for one in (Changes(tiles=True), Changes(help=True), Changes(alerts=True),
                Changes(roster=True), Changes(agents={"x"})):
        assert one


def test_a_burst_of_retained_messages_merges_into_one_redraw():
    board = Board()
    total = Changes()
    for item in [floor(), queue("sales"), agent("a1", "talking", desk="d1"), light("d1"),
                 help_status("d1", "requested"), alert("sl-sales", 1),
                 service("controller", True)]:
        total.merge(fold(board, item))
    assert total == Changes(tiles=True, help=True, alerts=True, agents={"a1"}, roster=True)


def test_an_older_alert_does_not_roll_the_screen_back():
    board = Board()
    raised = {"ts": T0 + 10, "level": 2, "kind": "sl", "text": "Sales below target"}
    fold(board, receive(Kind.ALERT, raised, alert="sl-sales"))
    older = {**raised, "ts": T0, "level": 1}
    assert not fold(board, receive(Kind.ALERT, older, alert="sl-sales"))
    assert board.alerts["sl-sales"].level == 2


@pytest.mark.parametrize("leaves", [
    {"state": "offline"},
    {"state": "available", "desk": "d2"},
], ids=["logs-off", "moves-desk"])
def test_an_agent_leaving_a_desk_keeps_the_agent_now_sitting_there(leaves):
    board = Board()
    fold(board, agent("a1", "available", T0, desk="d1"))
    fold(board, agent("a2", "available", T0 + 5, desk="d1"))
    fold(board, agent("a1", leaves.pop("state"), T0 + 10, **leaves))
    assert board.desk_agent["d1"] == "a2"
    light = {"ts": T0 + 11, "red": "on", "amber": "off", "green": "off", "buzzer": "off"}
    assert fold(board, receive(Kind.DESK_LIGHT, light, desk="d1")).agents == {"a2"}
