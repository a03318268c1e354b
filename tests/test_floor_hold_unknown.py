"""Hold is counted only over completed calls whose hold is known; unknown is never 0."""

from __future__ import annotations

import pytest

from tests.floor_events import answered, env, offered
from wallboard.floor.calls import QueueCalls
from wallboard.floor.days import DayCalendar
from wallboard.floor.model import FloorModel
from wallboard.floor.settings import FloorSettings, QueuePolicy
from wallboard.floor.tally import CallTally, aht_s, avg_hold_s
from wallboard.messages import CallEvent

T0 = 1_700_000_000.0
SETTINGS = FloorSettings()


def _completed(call: str, ts: float, handle: float, hold: float | str) -> CallEvent:
    return CallEvent.model_validate({"ts": ts, "call": call, "event": "completed",
                                     "agent": "a1", "handle_s": handle, "hold_s": hold})


@pytest.mark.parametrize(("holds", "completed", "known", "hold_sum", "average"), [
    ((), 0, 0, 0.0, None),
    (("unknown",), 1, 0, 0.0, None),  # unknown, not an average of 0
    (("unknown", "unknown", "unknown"), 3, 0, 0.0, None),
    ((0.0,), 1, 1, 0.0, 0.0),  # a known hold of 0 is 0
    ((10.0, 20.0), 2, 2, 30.0, 15.0),
    ((10.0, "unknown", 20.0), 3, 2, 30.0, 15.0),  # the unknown one leaves the average
    (("unknown", 0.0), 2, 1, 0.0, 0.0),
], ids=["none", "one-unknown", "all-unknown", "known-zero", "all-known", "mixed",
        "unknown-and-zero"])
def test_tally_counts_hold_over_known_holds_only(holds, completed, known, hold_sum, average):
    calls = QueueCalls(QueuePolicy(), DayCalendar(SETTINGS.timezone, SETTINGS.day_start))
    for i, hold in enumerate(holds):
        calls.apply(CallEvent(ts=T0 + i, call=f"c{i}", event="offered"))
        assert calls.apply(_completed(f"c{i}", T0 + 60 + i, 100.0, hold)) == ("applied", None)
    for tally in (calls.day_tally(calls.calendar.day_of(T0).date),
                  calls.window_tally(T0 - 1, T0 + 3600)):
        assert (tally.completed, tally.holds, tally.hold_s) == (completed, known, hold_sum)
        assert avg_hold_s(tally) == average
        assert aht_s(tally) == (100.0 if completed else None)  # handle time stays known


def test_a_held_back_completed_keeps_its_unknown_hold():
    calls = QueueCalls(QueuePolicy(), DayCalendar(SETTINGS.timezone, SETTINGS.day_start))
    assert calls.apply(_completed("c1", T0 + 60, 100.0, "unknown"))[0] == "held"
    calls.apply(CallEvent(ts=T0, call="c1", event="offered"))
    tally = calls.window_tally(T0 - 1, T0 + 3600)
    assert (tally.completed, tally.holds, avg_hold_s(tally)) == (1, 0, None)


@pytest.mark.parametrize(("a", "b", "known", "average"), [
    (CallTally(completed=2), CallTally(completed=1), 0, None),
    (CallTally(completed=2), CallTally(completed=1, holds=1, hold_s=30.0), 1, 30.0),
    (CallTally(completed=2, holds=2, hold_s=10.0), CallTally(completed=1, holds=1, hold_s=20.0),
     3, 10.0),
], ids=["both-unknown", "one-queue-known", "both-known"])
def test_floor_totals_add_known_holds(a, b, known, average):
    total = CallTally()
    total.add(a)
    total.add(b)
    assert (total.completed, total.holds, avg_hold_s(total)) == (a.completed + b.completed,
                                                                 known, average)


def test_the_floor_model_folds_a_completed_call_with_unknown_hold():
    model = FloorModel(SETTINGS)
    model.apply(offered("sales", "c1", T0))
    model.apply(answered("sales", "c1", T0 + 10, 10.0))
    outcome = model.apply(env("queue/sales/call", ts=T0 + 200, call="c1", event="completed",
                              agent="a1", handle_s=190.0, hold_s="unknown"))
    assert outcome == "applied"
    queue, _floor = model.snapshots(T0 + 300)
    assert queue[0].today.completed == 1
    assert queue[0].today.aht_s == 190.0
