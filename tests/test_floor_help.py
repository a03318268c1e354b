"""Help-request lifecycle, escalation and hold reminders, on an injected clock."""

from __future__ import annotations

import pytest

from wallboard.floor.agents import AgentView
from wallboard.floor.effects import ClearAlert, RaiseAlert, SendDeskCommand
from wallboard.floor.help import (
    TRANSITIONS,
    HelpBoard,
    alert_id,
    level_for,
    percentile,
    status,
)
from wallboard.floor.holds import HoldReminders
from wallboard.messages import HelpState, HelpTimes

T0 = 1_795_420_800.0
STATES = ("requested", "acknowledged", "resolved", "cancelled")


# Every (state, event) pair written out with what must happen, independently of TRANSITIONS:
# a wrong edit to the table fails here. "open" is what the desk has afterwards.
LIFECYCLE = [
    # state before     step            outcome      open afterwards
    (None,             "requested",    "applied",   "requested"),
    (None,             "acknowledged", "refused",   None),
    (None,             "resolved",     "refused",   None),
    (None,             "cancelled",    "refused",   None),
    ("requested",      "requested",    "duplicate", "requested"),
    ("requested",      "acknowledged", "applied",   "acknowledged"),
    ("requested",      "resolved",     "applied",   None),
    ("requested",      "cancelled",    "applied",   None),
    ("acknowledged",   "requested",    "refused",   "acknowledged"),
    ("acknowledged",   "acknowledged", "duplicate", "acknowledged"),
    ("acknowledged",   "resolved",     "applied",   None),
    ("acknowledged",   "cancelled",    "applied",   None),
    ("resolved",       "requested",    "refused",   None),
    ("resolved",       "acknowledged", "refused",   None),
    ("resolved",       "resolved",     "duplicate", None),
    ("resolved",       "cancelled",    "refused",   None),
    ("cancelled",      "requested",    "refused",   None),
    ("cancelled",      "acknowledged", "refused",   None),
    ("cancelled",      "resolved",     "refused",   None),
    ("cancelled",      "cancelled",    "duplicate", None),
]
PATH: dict[HelpState | None, list[HelpState]] = {
    None: [], "requested": ["requested"], "acknowledged": ["requested", "acknowledged"],
    "resolved": ["requested", "resolved"], "cancelled": ["requested", "cancelled"]}


def test_the_lifecycle_rows_cover_every_pair_once():
    assert sorted((str(b), a) for b, a, _, _ in LIFECYCLE) == sorted(
        (str(b), a) for b in (None, *STATES) for a in STATES)


@pytest.mark.parametrize(("before", "step", "outcome", "still_open"), LIFECYCLE)
def test_every_transition_follows_the_lifecycle(before, step, outcome, still_open):
    board = HelpBoard()
    for i, earlier in enumerate(PATH[before]):
        assert board.apply("d1", "r1", earlier, T0 + i)[0] == "applied"
    assert board.apply("d1", "r1", step, T0 + 10)[0] == outcome
    assert [r.state for r in board.open_requests()] == ([still_open] if still_open else [])


def test_the_table_is_exactly_the_applied_rows():
    assert {(b, a) for b, a, outcome, _ in LIFECYCLE if outcome == "applied"} == TRANSITIONS


def test_ack_for_a_resolved_request_is_refused_and_changes_nothing():
    board = HelpBoard()
    board.apply("d1", "r1", "requested", T0)
    board.apply("d1", "r1", "resolved", T0 + 30, by="sup1")
    assert board.apply("d1", "r1", "acknowledged", T0 + 40) == ("refused", [])
    assert board.open_requests() == []
    assert board.closed[-1].time_to_resolve_s == 30.0


def test_a_step_for_a_request_the_desk_does_not_have_is_refused():
    board = HelpBoard()
    board.apply("d1", "r1", "requested", T0)
    assert board.apply("d1", "r9", "acknowledged", T0 + 5)[0] == "refused"
    assert board.open_requests()[0].state == "requested"


def test_a_new_press_replaces_a_request_the_desk_lost():
    board = HelpBoard()
    board.apply("d1", "r1", "requested", T0)
    assert board.apply("d1", "r2", "requested", T0 + 100)[0] == "applied"
    assert [r.request for r in board.open_requests()] == ["r2"]
    assert (board.closed[0].request, board.closed[0].state) == ("r1", "cancelled")


def test_times_to_acknowledge_and_resolve():
    board = HelpBoard()
    board.apply("d1", "r1", "requested", T0, agent="a7")
    board.apply("d1", "r1", "acknowledged", T0 + 25, by="kiosk-1")
    req = board.open_requests()[0]
    assert (req.time_to_acknowledge_s, req.time_to_resolve_s, req.by) == (25.0, None, "kiosk-1")
    assert req.age_s(T0 + 40) == 40.0
    board.apply("d1", "r1", "resolved", T0 + 95)
    done = board.closed[-1]
    assert (done.time_to_acknowledge_s, done.time_to_resolve_s, done.agent) == (25.0, 95.0, "a7")
    assert done.age_s(T0 + 1000) == 95.0


@pytest.mark.parametrize(("age", "level"), [(0, 0), (59.9, 0), (60, 1), (119.9, 1), (120, 2),
                                            (3600, 2)])
def test_escalation_level_by_age(age, level):
    assert level_for(age, 60.0) == level


def test_escalation_raises_then_escalates_then_clears_on_the_injected_clock():
    board = HelpBoard(escalate_after_s=60.0)
    board.apply("d4", "r1", "requested", T0, agent="a2")
    assert board.tick(T0 + 59) == []
    first = board.tick(T0 + 60)
    assert first == [RaiseAlert("help-d4", 1, "help_unacknowledged",
                                "Desk d4 (a2) has waited 1 min for a supervisor",
                                desk="d4", agent="a2", request="r1", since=T0)]
    assert board.tick(T0 + 90) == []  # raised once, not on every tick
    second = board.tick(T0 + 121)
    assert [(e.level, e.text.endswith("escalated")) for e in second
            if isinstance(e, RaiseAlert)] == [(2, True)]
    assert board.apply("d4", "r1", "acknowledged", T0 + 130) == (
        "applied", [ClearAlert("help-d4")])
    assert board.tick(T0 + 500) == []  # acknowledged requests don't escalate


def test_cancelling_an_escalated_request_clears_its_alert():
    board = HelpBoard(escalate_after_s=30.0)
    board.apply("d1", "r1", "requested", T0)
    board.tick(T0 + 31)
    assert board.apply("d1", "r1", "cancelled", T0 + 40)[1] == [ClearAlert("help-d1")]


def test_alert_id_fits_the_id_limit():
    assert alert_id("d1") == "help-d1"
    long_desk = "d" * 64
    assert len(alert_id(long_desk)) <= 64 and alert_id(long_desk) != alert_id("e" * 64)


@pytest.mark.parametrize(("values", "p", "expected"), [
    ([], 50, None), ([7.0], 90, 7.0), ([1.0, 2.0, 3.0, 4.0], 50, 2.0),
    ([float(v) for v in range(1, 11)], 90, 9.0), ([5.0, 1.0, 3.0], 50, 3.0),
])
def test_nearest_rank_percentile(values, p, expected):
    assert percentile(values, p) == expected


def test_response_times_today():
    board = HelpBoard()
    for i, (ack, resolve) in enumerate([(10, 60), (20, 120), (30, 180), (200, 400)]):
        desk = f"d{i}"
        board.apply(desk, f"r{i}", "requested", T0)
        board.apply(desk, f"r{i}", "acknowledged", T0 + ack)
        board.apply(desk, f"r{i}", "resolved", T0 + resolve)
    board.apply("d9", "old", "requested", T0 - 90_000)
    board.apply("d9", "old", "resolved", T0 - 80_000)
    stats = board.response_times(since=T0)
    assert stats == HelpTimes(requests=4, ack_p50_s=20.0, ack_p90_s=200.0,
                              resolve_p50_s=120.0, resolve_p90_s=400.0)


def _view(agent: str, state: str, since: float, desk: str | None = "d1") -> AgentView:
    return AgentView(agent, state, since, 0.0, None, desk, "q", None, None)


def test_hold_reminder_nudges_once_and_clears_once():
    holds = HoldReminders(remind_after_s=60.0)
    on_hold = [_view("a1", "hold", T0)]
    assert holds.tick(on_hold, T0 + 59) == []
    assert holds.tick(on_hold, T0 + 60) == [SendDeskCommand("d1", "nudge")]
    assert holds.tick(on_hold, T0 + 90) == []
    assert holds.tick([_view("a1", "talking", T0 + 95)], T0 + 95) == [
        SendDeskCommand("d1", "clear_nudge")]
    assert holds.tick([_view("a1", "talking", T0 + 95)], T0 + 99) == []


def test_hold_reminder_follows_an_agent_who_changes_desk_and_skips_deskless_agents():
    holds = HoldReminders(remind_after_s=10.0)
    holds.tick([_view("a1", "hold", T0, desk="d1")], T0 + 20)
    assert holds.tick([_view("a1", "hold", T0, desk="d2")], T0 + 30) == [
        SendDeskCommand("d1", "clear_nudge"), SendDeskCommand("d2", "nudge")]
    assert holds.tick([_view("a2", "hold", T0, desk=None)], T0 + 30) == []


def test_redelivered_retained_help_messages_are_duplicates_not_new_requests():
    board = HelpBoard()
    board.apply("d1", "r1", "requested", T0)
    board.apply("d1", "r1", "resolved", T0 + 50)
    # A reconnecting consumer gets the retained message again, or an older one late.
    assert board.apply("d1", "r1", "resolved", T0 + 50)[0] == "duplicate"
    assert board.apply("d1", "r1", "requested", T0)[0] == "refused"
    assert board.open_requests() == []
    assert len(board.closed) == 1


def test_a_new_press_replacing_an_escalated_request_clears_its_alert():
    board = HelpBoard(escalate_after_s=60.0)
    board.apply("d1", "r1", "requested", T0)
    board.tick(T0 + 61)
    outcome, effects = board.apply("d1", "r2", "requested", T0 + 70)
    assert (outcome, effects) == ("applied", [ClearAlert(alert_id("d1"))])
    assert board.closed[-1].request == "r1" and board.closed[-1].state == "cancelled"
    assert [r.request for r in board.open_requests()] == ["r2"]
    assert board.tick(T0 + 129) == []  # r2's own clock: nothing due until T0 + 130


# The highest level reached, kept after the request is handled (escalate_after_s = 60).
@pytest.mark.parametrize(("ticks", "step", "handled", "level", "at"), [
    ((), "acknowledged", 30, 0, None),  # handled before anything was due
    ((61,), "acknowledged", 70, 1, T0 + 60),
    ((61, 121), "acknowledged", 130, 2, T0 + 120),
    ((61, 121), "resolved", 130, 2, T0 + 120),  # resolved without an acknowledgement
    ((61,), "cancelled", 90, 1, T0 + 60),
    ((), "acknowledged", 130, 2, T0 + 120),  # no tick between: a journal replay, say
    ((), "acknowledged", 60, 1, T0 + 60),  # handled the moment level 1 fell due
    ((200,), "acknowledged", 210, 2, T0 + 120),  # a late tick: the time is when it fell due
])
def test_the_highest_level_reached_outlives_the_alert(ticks, step, handled, level, at):
    board = HelpBoard(escalate_after_s=60.0)
    board.apply("d1", "r1", "requested", T0)
    for tick in ticks:
        board.tick(T0 + tick)
    board.apply("d1", "r1", step, T0 + handled)
    latest = board.latest("d1")
    assert latest is not None
    message = status(latest, T0 + handled)
    assert (message.state, message.level, message.max_level, message.max_level_at) == (
        step, 0, level, at)


def test_the_highest_level_survives_acknowledge_then_resolve():
    board = HelpBoard(escalate_after_s=60.0)
    board.apply("d1", "r1", "requested", T0)
    board.tick(T0 + 61)
    assert (board.open_requests()[0].level, board.open_requests()[0].max_level) == (1, 1)
    board.apply("d1", "r1", "acknowledged", T0 + 150)  # level 2 fell due at T0 + 120
    board.tick(T0 + 400)  # acknowledged: no further escalation
    board.apply("d1", "r1", "resolved", T0 + 500)
    done = board.closed[-1]
    assert (done.state, done.level, done.max_level, done.max_level_at) == (
        "resolved", 0, 2, T0 + 120)


def test_a_request_replaced_by_a_new_press_keeps_its_highest_level():
    board = HelpBoard(escalate_after_s=60.0)
    board.apply("d1", "r1", "requested", T0)
    board.tick(T0 + 61)
    board.apply("d1", "r2", "requested", T0 + 125)
    lost = board.closed[-1]
    assert (lost.request, lost.state, lost.level, lost.max_level, lost.max_level_at) == (
        "r1", "cancelled", 0, 2, T0 + 120)
    assert (board.open_requests()[0].max_level, board.open_requests()[0].max_level_at) == (
        0, None)


def test_an_escalation_publishes_the_level_reached_and_when():
    board = HelpBoard(escalate_after_s=60.0)
    board.apply("d1", "r1", "requested", T0)
    board.tick(T0 + 60.15)  # ticks come every 0.2 s: the time is the due time, not the tick
    message = status(board.open_requests()[0], T0 + 60.15)
    assert (message.level, message.max_level, message.max_level_at) == (1, 1, T0 + 60)
