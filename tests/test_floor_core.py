"""The controller's pure core: outcomes and reasons, effects, dirty snapshots, time rules."""

from __future__ import annotations

import pytest

from tests.floor_events import abandoned, answered, completed, env, offered, state
from wallboard.floor.core import FloorCore
from wallboard.floor.effects import ClearAlert, PublishHelp, RaiseAlert, SendDeskCommand
from wallboard.floor.help import alert_id
from wallboard.floor.settings import FloorSettings
from wallboard.messages import Cleared, HelpTimes, decode

T0 = 1_795_420_800.0


def help_msg(desk: str, request: str, st: str, ts: float, **extra: object):
    return env(f"desk/{desk}/help", ts=ts, request=request, state=st, **extra)


CALL_CASES = [
    # (name, events before, event, outcome, reason fragment)
    ("first-offer", [], offered("q", "c1", T0), "applied", None),
    ("repeat-offer", [offered("q", "c1", T0)], offered("q", "c1", T0), "duplicate", None),
    ("answer-after-abandon", [offered("q", "c1", T0), abandoned("q", "c1", T0 + 9, 9.0)],
     answered("q", "c1", T0 + 10, 10.0), "refused", "answered for a call already abandoned"),
    ("abandon-after-answer", [offered("q", "c1", T0), answered("q", "c1", T0 + 5, 5.0)],
     abandoned("q", "c1", T0 + 9, 9.0), "refused", "abandoned for a call already answered"),
    ("complete-abandoned", [offered("q", "c1", T0), abandoned("q", "c1", T0 + 9, 9.0)],
     completed("q", "c1", T0 + 60, 50.0), "refused", "completed for a call that was abandoned"),
    ("complete-unknown", [], completed("q", "c9", T0 + 60, 50.0), "held",
     "completed for an unknown call"),
    ("complete-unknown-twice", [completed("q", "c9", T0 + 60, 50.0)],
     completed("q", "c9", T0 + 60, 50.0), "duplicate", None),
    ("answer-before-offer", [], answered("q", "c1", T0 + 5, 5.0), "applied", None),
]


@pytest.mark.parametrize(("before", "event", "outcome", "reason"),
                         [pytest.param(*c[1:], id=c[0]) for c in CALL_CASES])
def test_call_outcomes_and_reasons(before, event, outcome, reason):
    core = FloorCore()
    for e in before:
        core.fold(e)
    folded = core.fold(event)
    assert folded.outcome == outcome
    if reason is None:
        assert folded.reason is None
    else:
        assert folded.reason is not None and reason in folded.reason
    assert folded.queues == (frozenset({"q"}) if outcome == "applied" else frozenset())


def test_held_completion_counts_once_its_answer_arrives():
    core = FloorCore()
    assert core.fold(completed("q", "c1", T0 + 60, 50.0)).outcome == "held"
    _, floor = core.snapshots(T0 + 61)
    assert floor.today.completed == 0  # not counted while nothing vouches for the call
    assert core.fold(answered("q", "c1", T0 + 10, 10.0)).outcome == "applied"
    _, floor = core.snapshots(T0 + 61)
    assert (floor.today.answered, floor.today.completed, floor.today.aht_s) == (1, 1, 50.0)


def test_agent_state_marks_both_the_old_and_the_new_queue():
    core = FloorCore()
    core.fold(state("a1", "available", T0, queue="sales"))
    folded = core.fold(state("a1", "available", T0 + 5, queue="support"))
    assert (folded.queues, folded.floor) == (frozenset({"sales", "support"}), True)
    again = core.fold(state("a1", "available", T0 + 5, queue="support"))
    assert (again.outcome, again.queues, again.floor) == ("duplicate", frozenset(), False)


def test_help_steps_publish_the_help_state_with_times():
    core = FloorCore()
    first = core.fold(help_msg("d1", "r1", "requested", T0, agent="a1"))
    assert first.outcome == "applied" and first.floor
    (publish,) = first.effects
    assert isinstance(publish, PublishHelp) and publish.desk == "d1"
    assert (publish.status.state, publish.status.requested_at) == ("requested", T0)
    ack = core.fold(help_msg("d1", "r1", "acknowledged", T0 + 40, by="sup1"))
    publish = ack.effects[-1]
    assert isinstance(publish, PublishHelp) and publish.desk == "d1"
    status = publish.status
    assert (status.time_to_acknowledge_s, status.by, status.agent) == (40.0, "sup1", "a1")


def test_refused_help_step_says_what_the_desk_has():
    core = FloorCore()
    core.fold(help_msg("d1", "r1", "requested", T0))
    core.fold(help_msg("d1", "r1", "resolved", T0 + 5))
    folded = core.fold(help_msg("d1", "r1", "acknowledged", T0 + 6))
    assert folded.outcome == "refused"
    assert folded.reason == "acknowledged for request r1 refused: r1 is resolved"


def test_tick_escalates_and_republishes_the_help_state():
    core = FloorCore(FloorSettings(escalate_after_s=60.0))
    core.fold(help_msg("d1", "r1", "requested", T0, agent="a1"))
    assert core.tick(T0 + 59) == []
    effects = core.tick(T0 + 60)
    assert [type(e) for e in effects] == [RaiseAlert, PublishHelp]
    assert effects[0].level == 1  # type: ignore[union-attr]
    assert effects[1].status.level == 1  # type: ignore[union-attr]
    assert [e.level for e in core.tick(T0 + 120) if isinstance(e, RaiseAlert)] == [2]
    handled = core.fold(help_msg("d1", "r1", "acknowledged", T0 + 130))
    assert ClearAlert(alert_id("d1")) in handled.effects


def test_tick_nudges_long_holds_on_the_agents_desk():
    core = FloorCore(FloorSettings(hold_remind_s=60.0))
    core.fold(state("a1", "hold", T0, desk="d4", queue="q"))

    def commands(now: float) -> list[object]:
        return [e for e in core.tick(now) if isinstance(e, SendDeskCommand)]

    assert commands(T0 + 30) == []
    assert commands(T0 + 60) == [SendDeskCommand("d4", "nudge")]
    core.fold(state("a1", "talking", T0 + 70, desk="d4", queue="q"))
    assert commands(T0 + 71) == [SendDeskCommand("d4", "clear_nudge")]


@pytest.mark.parametrize(("alert_request", "open_request", "cleared"), [
    ("r1", None, True),    # no request at all: an alert a crashed run left behind
    ("r1", "r2", True),    # a different request
    ("r1", "r1", False),   # our own alert, echoed back
])
def test_leftover_help_alerts_are_cleared(alert_request, open_request, cleared):
    core = FloorCore(FloorSettings(escalate_after_s=10.0))
    if open_request is not None:
        core.fold(help_msg("d1", open_request, "requested", T0))
        core.tick(T0 + 11)
    alert = env(f"alert/{alert_id('d1')}", ts=T0 + 12, level=1, kind="help_unacknowledged",
                text="Desk d1 has waited", desk="d1", request=alert_request)
    folded = core.fold(alert)
    assert (ClearAlert(alert_id("d1")) in folded.effects) is cleared


def test_other_alerts_and_cleared_alerts_are_ignored():
    core = FloorCore()
    other = env("alert/sl-sales", ts=T0, level=1, kind="sl_breach", text="SL low")
    assert core.fold(other).outcome == "ignored"
    gone = decode("wallboard/hq/alert/sl-sales", b"", now=T0)
    assert isinstance(gone, Cleared)
    assert core.fold(gone).outcome == "ignored"


def test_floor_snapshot_lists_open_help_with_age_and_todays_times():
    core = FloorCore()
    core.fold(help_msg("d1", "r1", "requested", T0, agent="a1"))
    core.fold(help_msg("d1", "r1", "acknowledged", T0 + 20))
    core.fold(help_msg("d1", "r1", "resolved", T0 + 100))
    core.fold(help_msg("d2", "r2", "requested", T0 + 50, agent="a2"))
    _, floor = core.snapshots(T0 + 80)
    assert [(h.desk, h.request, h.age_s, h.level) for h in floor.help_open] == [
        ("d2", "r2", 30.0, 0)]
    assert floor.help_today == HelpTimes(requests=2, ack_p50_s=20.0, ack_p90_s=20.0,
                                         resolve_p50_s=100.0, resolve_p90_s=100.0)


def test_yesterdays_help_leaves_todays_times():
    core = FloorCore()  # UTC, day starts at midnight
    midnight = T0 + 16 * 3600  # T0 is 08:00 UTC
    core.fold(help_msg("d1", "r1", "requested", midnight - 3600))
    core.fold(help_msg("d1", "r1", "resolved", midnight - 3540))
    _, floor = core.snapshots(midnight - 10)
    assert floor.help_today.requests == 1
    _, floor = core.snapshots(midnight + 10)
    assert floor.help_today == HelpTimes()


def test_snapshots_list_long_holds_per_queue_and_on_the_floor():
    core = FloorCore(FloorSettings(hold_remind_s=60.0))
    core.fold(state("a1", "hold", T0, desk="d1", queue="sales"))
    core.fold(state("a2", "hold", T0 + 50, desk="d2", queue="support"))
    core.fold(state("a3", "hold", T0 - 30, desk="d3", queue="sales"))
    queues, floor = core.snapshots(T0 + 60)
    assert [(h.agent, h.hold_s) for h in floor.long_holds] == [("a3", 90.0), ("a1", 60.0)]
    by_queue = {q.queue: [h.agent for h in q.long_holds] for q in queues}
    assert by_queue == {"sales": ["a3", "a1"], "support": []}
