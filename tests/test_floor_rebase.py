"""``rebase``: after a wall-clock step the floor takes the stepped clock as the corrected time,
and everything it measured keeps its age (issue 18, point 2).

Each stateful component is read at ``now`` before the step and at ``now + step`` after it:
the readings must agree. Then the core, as the issue saw it fail: no escalation fired by a
step, a longest wait that stays 11 s, a sliding window that keeps its calls, and what
"today" does across the day start.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from tests.floor_events import env, offered, state
from wallboard.floor.agents import Agents
from wallboard.floor.calls import QueueCalls
from wallboard.floor.core import FloorCore
from wallboard.floor.days import DayCalendar
from wallboard.floor.effects import RaiseAlert, SendDeskCommand
from wallboard.floor.help import HelpBoard
from wallboard.floor.settings import FloorSettings, QueuePolicy
from wallboard.floor.strain import StrainPolicy
from wallboard.floor.wellbeing import WellbeingBoard
from wallboard.floor.workload import SignalLog
from wallboard.messages import AgentSignal, AgentState, CallEvent

T0 = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC).timestamp()  # a Monday 09:00 UTC
STEPS = [3600.0, -3600.0, 7.5]
SETTINGS = FloorSettings()


def _calls() -> QueueCalls:
    calls = QueueCalls(QueuePolicy(), DayCalendar(SETTINGS.timezone, SETTINGS.day_start))
    for i, ago in enumerate((600.0, 300.0, 11.0)):
        calls.apply(CallEvent(ts=T0 - ago, call=f"c{i}", event="offered"))
    calls.apply(CallEvent(ts=T0 - 290.0, call="c1", event="answered", wait_s=10.0, agent="a1"))
    calls.apply(CallEvent(ts=T0 - 5.0, call="c9", event="completed", agent="a1", handle_s=60.0,
                          hold_s=0.0))  # held: its call is unknown
    return calls


def _calls_reading(calls: QueueCalls, now: float) -> object:
    window = calls.window_tally(now - 1800, now)
    return (sorted(round(now - ts, 6) for ts in calls.live_waits(now, 4 * 3600.0)),
            window.offered, window.answered, calls.window_tally(now - 299, now).offered,
            [round(now - m.ts, 6) for m in calls._held.values()])


def _agents() -> Agents:
    agents = Agents(DayCalendar(SETTINGS.timezone, SETTINGS.day_start))
    agents.apply("a1", AgentState(ts=T0 - 900, state="available", since=T0 - 900, queue="q"))
    agents.apply("a1", AgentState(ts=T0 - 50, state="hold", since=T0 - 50, queue="q",
                                  desk="d1"))
    return agents


def _agents_reading(agents: Agents, now: float) -> object:
    view = agents.by_id["a1"].view(now)
    window = agents.window_totals(now - 1800, now)
    return view.state, round(view.time_in_state_s, 6), {q: [round(v, 6) for v in t]
                                                        for q, t in window.items()}


def _help() -> HelpBoard:
    board = HelpBoard(60.0)
    board.apply("d1", "r1", "requested", T0 - 6, "a1")
    board.apply("d2", "r2", "requested", T0 - 100, "a2")
    board.tick(T0)  # r2 is at level 1
    board.apply("d3", "r3", "requested", T0 - 30, "a3")
    board.apply("d3", "r3", "acknowledged", T0 - 20, by="s1")
    return board


def _help_reading(board: HelpBoard, now: float) -> object:
    open_ = [(r.request, round(r.age_s(now), 6), r.level) for r in board.open_requests()]
    acked = [round(now - r.acknowledged_at, 6) for r in board.open_requests()
             if r.acknowledged_at is not None]
    return open_, acked, board.tick(now)  # nothing new is due, before the step or after


def _signals() -> SignalLog:
    log = SignalLog()
    log.add("a1", AgentSignal(ts=T0 - 600, kind="compliment"))
    log.add("a1", AgentSignal(ts=T0 - 4000, kind="abusive_caller"))
    return log


def _signals_reading(log: SignalLog, now: float) -> object:
    return ([(agent, round(now - at, 6)) for agent, at in log.compliments(now - 3600, now)],
            sorted(round(now - s.ts, 6) for s in log.of("a1")))


def _wellbeing() -> WellbeingBoard:
    board = WellbeingBoard(StrainPolicy(), every_s=5.0)
    board.update({}, SignalLog(), Counter(), T0 - 2, T0 - 9 * 3600)
    return board


def _wellbeing_reading(board: WellbeingBoard, now: float) -> object:
    return round(board.next_at - now, 6)


COMPONENTS: list[tuple[str, Callable[[], Any], Callable[[Any, float], object]]] = [
    ("queue-calls", _calls, _calls_reading),
    ("agents", _agents, _agents_reading),
    ("help-board", _help, _help_reading),
    ("signal-log", _signals, _signals_reading),
    ("wellbeing-schedule", _wellbeing, _wellbeing_reading),
]


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize(("build", "read"), [pytest.param(b, r, id=n) for n, b, r in COMPONENTS])
def test_a_component_reads_the_same_after_a_step_and_its_rebase(build, read, step):
    before = read(build(), T0)
    component = build()
    component.rebase(step)
    assert read(component, T0 + step) == before


@pytest.mark.parametrize("step", STEPS)
def test_a_wellbeing_board_never_scored_stays_due(step):
    board = WellbeingBoard(StrainPolicy())
    board.rebase(step)
    assert board.next_at == float("-inf")


# -- the core, as issue 18 found it --------------------------------------------------------


def help_msg(desk: str, request: str, st: str, ts: float, **extra: object):
    return env(f"desk/{desk}/help", ts=ts, request=request, state=st, **extra)


def busy_core() -> FloorCore:
    """A request pressed 6 s ago, a call waiting 11 s, two calls in the window, a hold."""
    core = FloorCore(FloorSettings(escalate_after_s=60.0, hold_remind_s=60.0))
    core.fold(help_msg("d1", "r1", "requested", T0 - 6, agent="a1"), T0)
    for call, ago in (("c1", 900.0), ("c2", 11.0)):
        core.fold(offered("sales", call, T0 - ago), T0)
    core.fold(state("a2", "hold", T0 - 50, desk="d2", queue="sales"), T0)
    assert [e for e in core.tick(T0) if isinstance(e, RaiseAlert | SendDeskCommand)] == []
    return core


def alerts(effects: list[Any]) -> list[tuple[str | None, int]]:
    return [(e.desk, e.level) for e in effects if isinstance(e, RaiseAlert)]


@pytest.mark.parametrize("step", [3600.0, -3600.0])
def test_a_step_fires_no_escalation_and_the_real_due_time_still_does(step):
    core = busy_core()
    core.rebase(step)
    now = T0 + step
    assert alerts(core.tick(now + 0.2)) == []  # on the old code: level 2 at once (+1 h)
    assert alerts(core.tick(now + 53.9)) == []
    assert alerts(core.tick(now + 54.0)) == [("d1", 1)]  # 60 s after the press
    assert alerts(core.tick(now + 114.0)) == [("d1", 2)]


@pytest.mark.parametrize("step", [3600.0, -3600.0])
def test_a_hold_reminder_comes_when_the_hold_is_really_long(step):
    core = busy_core()
    core.rebase(step)
    now = T0 + step
    nudges = [e for e in core.tick(now + 9.9) if isinstance(e, SendDeskCommand)]
    assert nudges == []
    assert SendDeskCommand("d2", "nudge") in core.tick(now + 10.0)


@pytest.mark.parametrize("step", [3600.0, -3600.0])
def test_the_longest_wait_and_the_sliding_window_keep_what_they_measured(step):
    core = busy_core()
    _, before = core.snapshots(T0)
    core.rebase(step)
    _, after = core.snapshots(T0 + step)
    assert after.longest_wait_s == pytest.approx(900.0)  # the old code: 900 + 3600
    assert after.waiting == before.waiting == 2
    assert after.sliding.offered == before.sliding.offered == 2  # the old code: 0 at +1 h
    assert [h.age_s for h in after.help_open] == [pytest.approx(6.0)]
    assert after.today.offered == before.today.offered == 2  # 09:00 ± 1 h: the same day


def test_a_step_across_the_day_start_rolls_today_over_as_midnight_would():
    late = T0 + 14.5 * 3600  # 23:30
    core = FloorCore()
    core.fold(offered("sales", "c1", late - 600), late)
    core.fold(offered("sales", "c2", late - 11), late)
    _, before = core.snapshots(late)
    assert (before.today.offered, before.sliding.offered) == (2, 2)
    core.rebase(3600.0)
    _, after = core.snapshots(late + 3600)  # 00:30 the next day
    assert after.today.offered == 0  # a new day: counted where it happened, yesterday
    assert after.sliding.offered == 2
    assert after.longest_wait_s == pytest.approx(600.0)
