"""The call lifecycle table: every (state, event) pair, written out by hand, and call paths."""

from __future__ import annotations

import pytest

from wallboard.floor.calls import CALL_TRANSITIONS, QueueCalls, call_path_ok, step
from wallboard.floor.days import DayCalendar
from wallboard.floor.settings import FloorSettings, QueuePolicy
from wallboard.messages import CallEvent

T0 = 1_700_000_000.0
SETTINGS = FloorSettings()
ANSWERED_GONE = "answered for a call already abandoned"
ABANDONED_GONE = "abandoned for a call already answered"
COMPLETED_GONE = "completed for a call that was abandoned"
HELD = "completed for an unknown call: held until its answer arrives"

# One way to reach each state from a new call.
PATHS: dict[str, tuple[str, ...]] = {
    "new": (),
    "held": ("completed",),
    "offered": ("offered",),
    "answered": ("answered",),
    "abandoned": ("abandoned",),
    "offered+answered": ("offered", "answered"),
    "offered+abandoned": ("offered", "abandoned"),
    "offered+completed": ("offered", "completed"),
    "answered+completed": ("answered", "completed"),
    "abandoned+completed": ("completed", "abandoned"),
    "offered+answered+completed": ("offered", "answered", "completed"),
    "offered+abandoned+completed": ("offered", "completed", "abandoned"),
}

# (state, event, outcome, next state, reason): all 12 x 4 pairs, as the floor has always done.
ROWS = [
    ("new", "offered", "applied", "offered", None),
    ("new", "answered", "applied", "answered", None),
    ("new", "abandoned", "applied", "abandoned", None),
    ("new", "completed", "held", "held", HELD),
    ("held", "offered", "applied", "offered+completed", None),
    ("held", "answered", "applied", "answered+completed", None),
    ("held", "abandoned", "applied", "abandoned+completed", None),
    ("held", "completed", "duplicate", "held", None),
    ("offered", "offered", "duplicate", "offered", None),
    ("offered", "answered", "applied", "offered+answered", None),
    ("offered", "abandoned", "applied", "offered+abandoned", None),
    ("offered", "completed", "applied", "offered+completed", None),
    ("answered", "offered", "applied", "offered+answered", None),
    ("answered", "answered", "duplicate", "answered", None),
    ("answered", "abandoned", "refused", "answered", ABANDONED_GONE),
    ("answered", "completed", "applied", "answered+completed", None),
    ("abandoned", "offered", "applied", "offered+abandoned", None),
    ("abandoned", "answered", "refused", "abandoned", ANSWERED_GONE),
    ("abandoned", "abandoned", "duplicate", "abandoned", None),
    ("abandoned", "completed", "refused", "abandoned", COMPLETED_GONE),
    ("offered+answered", "offered", "duplicate", "offered+answered", None),
    ("offered+answered", "answered", "duplicate", "offered+answered", None),
    ("offered+answered", "abandoned", "refused", "offered+answered", ABANDONED_GONE),
    ("offered+answered", "completed", "applied", "offered+answered+completed", None),
    ("offered+abandoned", "offered", "duplicate", "offered+abandoned", None),
    ("offered+abandoned", "answered", "refused", "offered+abandoned", ANSWERED_GONE),
    ("offered+abandoned", "abandoned", "duplicate", "offered+abandoned", None),
    ("offered+abandoned", "completed", "refused", "offered+abandoned", COMPLETED_GONE),
    ("offered+completed", "offered", "duplicate", "offered+completed", None),
    ("offered+completed", "answered", "applied", "offered+answered+completed", None),
    ("offered+completed", "abandoned", "applied", "offered+abandoned+completed", None),
    ("offered+completed", "completed", "duplicate", "offered+completed", None),
    ("answered+completed", "offered", "applied", "offered+answered+completed", None),
    ("answered+completed", "answered", "duplicate", "answered+completed", None),
    ("answered+completed", "abandoned", "refused", "answered+completed", ABANDONED_GONE),
    ("answered+completed", "completed", "duplicate", "answered+completed", None),
    ("abandoned+completed", "offered", "applied", "offered+abandoned+completed", None),
    ("abandoned+completed", "answered", "refused", "abandoned+completed", ANSWERED_GONE),
    ("abandoned+completed", "abandoned", "duplicate", "abandoned+completed", None),
    ("abandoned+completed", "completed", "duplicate", "abandoned+completed", None),
    ("offered+answered+completed", "offered", "duplicate", "offered+answered+completed", None),
    ("offered+answered+completed", "answered", "duplicate", "offered+answered+completed", None),
    ("offered+answered+completed", "abandoned", "refused", "offered+answered+completed",
     ABANDONED_GONE),
    ("offered+answered+completed", "completed", "duplicate", "offered+answered+completed",
     None),
    ("offered+abandoned+completed", "offered", "duplicate", "offered+abandoned+completed",
     None),
    ("offered+abandoned+completed", "answered", "refused", "offered+abandoned+completed",
     ANSWERED_GONE),
    ("offered+abandoned+completed", "abandoned", "duplicate", "offered+abandoned+completed",
     None),
    ("offered+abandoned+completed", "completed", "duplicate", "offered+abandoned+completed",
     None),
]
IDS = [f"{state}-{event}" for state, event, *_ in ROWS]


def _event(kind: str, ts: float) -> CallEvent:
    extra: dict[str, object] = {}
    if kind in ("answered", "abandoned"):
        extra["wait_s"] = 5.0
    if kind in ("answered", "completed"):
        extra["agent"] = "a1"
    if kind == "completed":
        extra.update(handle_s=100.0, hold_s=10.0)
    return CallEvent.model_validate({"ts": ts, "call": "c1", "event": kind, **extra})


def _calls() -> QueueCalls:
    return QueueCalls(QueuePolicy(), DayCalendar(SETTINGS.timezone, SETTINGS.day_start))


def test_rows_cover_every_state_and_event_once():
    pairs = [(state, event) for state, event, *_ in ROWS]
    assert len(pairs) == len(set(pairs)) == len(PATHS) * 4
    assert {state for state, _ in pairs} == set(PATHS)


def test_the_table_allows_exactly_the_applied_and_held_rows():
    allowed = {(state, event): nxt for state, event, outcome, nxt, _ in ROWS
               if outcome in ("applied", "held")}
    assert allowed == CALL_TRANSITIONS


@pytest.mark.parametrize(("state", "event", "outcome", "nxt", "reason"), ROWS, ids=IDS)
def test_step(state, event, outcome, nxt, reason):
    assert step(state, event) == (outcome, nxt, reason)


@pytest.mark.parametrize(("state", "event", "outcome", "nxt", "reason"), ROWS, ids=IDS)
def test_queue_calls_follow_the_rows(state, event, outcome, nxt, reason):
    calls = _calls()
    for i, kind in enumerate(PATHS[state]):
        calls.apply(_event(kind, T0 + i))
    assert calls.state("c1") == state
    assert calls.apply(_event(event, T0 + 10)) == (outcome, reason)
    assert calls.state("c1") == nxt
    tally = calls.day_tally(calls.calendar.day_of(T0).date)
    counted = {"offered": tally.offered, "answered": tally.answered,
               "abandoned": tally.abandoned, "completed": tally.completed}
    # every event of the state counts once, and a held completed not until it is released
    assert counted == {kind: int(kind in nxt.split("+")) for kind in counted}


@pytest.mark.parametrize(("state", "waiting"), [
    ("offered", True), ("offered+completed", True), ("offered+answered", False),
    ("offered+abandoned", False), ("offered+answered+completed", False),
    ("offered+abandoned+completed", False),
], ids=lambda v: str(v))
def test_a_call_waits_from_its_offer_until_it_leaves_the_queue(state, waiting):
    calls = _calls()
    for i, kind in enumerate(PATHS[state]):
        calls.apply(_event(kind, T0 + i))
    assert ("c1" in calls.waiting) is waiting


@pytest.mark.parametrize(("events", "ok"), [
    ((), True),
    (("offered",), True),
    (("offered", "answered", "completed"), True),
    (("offered", "abandoned"), True),
    (("answered", "completed"), True),  # the offer was never seen
    (("offered", "answered"), True),  # still talking
    (("completed",), False),  # held, not applied: its call was never seen
    (("completed", "offered"), False),
    (("offered", "offered"), False),  # duplicate
    (("offered", "answered", "abandoned"), False),  # left the queue twice
    (("offered", "abandoned", "completed"), False),  # a completed abandoned call
    (("offered", "answered", "completed", "completed"), False),
], ids=lambda v: ("-".join(v) or "none") if isinstance(v, tuple) else str(v))
def test_call_path_ok(events, ok):
    assert call_path_ok(events) is ok
