"""Help alert texts: seconds below a minute at both levels, and an age screens keep live."""

from __future__ import annotations

import pytest

from wallboard.alert_age import age_words, live_text
from wallboard.floor.core import FloorCore
from wallboard.floor.effects import RaiseAlert
from wallboard.floor.help import HelpBoard
from wallboard.kiosk.view import ticker
from wallboard.messages import Alert
from wallboard.terminal_view import FloorView, render

T0 = 1_795_420_800.0


@pytest.mark.parametrize(("seconds", "words"), [
    (-3, "0 s"), (0, "0 s"), (0.9, "0 s"), (20, "20 s"), (45.7, "45 s"), (59.99, "59 s"),
    (60, "1 min"), (119, "1 min"), (186, "3 min"), (3599, "59 min"), (3600, "1 h 00 min"),
    (3600 * 10 + 65, "10 h 01 min")])
def test_age_words(seconds, words):
    assert age_words(seconds) == words


# (escalate after, level, age at the tick that raises it, text)
TEXTS = [
    (60.0, 1, 60, "Desk d4 (a2) has waited 1 min for a supervisor"),
    (60.0, 2, 120, "Desk d4 (a2) has waited 2 min for a supervisor: escalated"),
    (20.0, 1, 20, "Desk d4 (a2) has waited 20 s for a supervisor"),
    (20.0, 2, 40, "Desk d4 (a2) has waited 40 s for a supervisor: escalated"),
    (45.0, 2, 90.4, "Desk d4 (a2) has waited 1 min for a supervisor: escalated"),
    (600.0, 1, 600, "Desk d4 (a2) has waited 10 min for a supervisor"),
    (2400.0, 2, 4800, "Desk d4 (a2) has waited 1 h 20 min for a supervisor: escalated"),
]


@pytest.mark.parametrize(("escalate_s", "level", "age", "text"), TEXTS)
def test_the_alert_text_at_each_level_and_age(escalate_s, level, age, text):
    board = HelpBoard(escalate_after_s=escalate_s)
    board.apply("d4", "r1", "requested", T0, agent="a2")
    if level == 2:
        board.tick(T0 + escalate_s)  # level 1 first, as the live tick would
    raised = [e for e in board.tick(T0 + age) if isinstance(e, RaiseAlert)]
    assert [(e.level, e.text, e.since) for e in raised] == [(level, text, T0)]
    assert " 0 min" not in text and " 0 s" not in text


def test_no_agent_no_brackets():
    board = HelpBoard(escalate_after_s=30.0)
    board.apply("d9", "r1", "requested", T0)
    raised = board.tick(T0 + 30)
    assert [e.text for e in raised if isinstance(e, RaiseAlert)] == [
        "Desk d9 has waited 30 s for a supervisor"]


def help_alert(level: int, raised_at: float, since: float | None = T0) -> Alert:
    board = HelpBoard(escalate_after_s=20.0)
    board.apply("d4", "r1", "requested", T0, agent="a2")
    effects = [e for e in board.tick(raised_at) if isinstance(e, RaiseAlert)]
    effect = effects[-1]
    return Alert(ts=raised_at, level=effect.level, kind=effect.kind, text=effect.text,
                 desk=effect.desk, agent=effect.agent, request=effect.request, since=since)


@pytest.mark.parametrize(("now", "shown"), [
    (T0 + 20, "has waited 20 s"), (T0 + 45, "has waited 45 s"), (T0 + 60, "has waited 1 min"),
    (T0 + 186, "has waited 3 min"), (T0 + 3 * 3600, "has waited 3 h 00 min")])
def test_live_text_shows_the_age_as_of_now(now, shown):
    alert = help_alert(1, T0 + 20)
    assert live_text(alert, now) == f"Desk d4 (a2) {shown} for a supervisor"


def test_a_screen_clock_behind_the_controller_s_never_makes_the_wait_shorter():
    alert = help_alert(2, T0 + 40)
    assert live_text(alert, T0 + 10) == "Desk d4 (a2) has waited 40 s for a supervisor: escalated"


def test_live_text_leaves_alerts_without_since_or_age_alone():
    assert live_text(help_alert(1, T0 + 20, since=None), T0 + 500) == (
        "Desk d4 (a2) has waited 20 s for a supervisor")
    other = Alert(ts=T0, level=1, kind="sl_breach", text="Sales SL 61%", since=T0 - 30)
    assert live_text(other, T0 + 500) == "Sales SL 61%"


def test_the_ticker_line_moves_on_with_the_clock():
    alerts = {"help-d4": help_alert(2, T0 + 40)}
    lines = [ticker(alerts, T0 + t)[0] for t in (40, 41, 59, 60, 186)]
    assert lines == [
        "✖ Desk d4 (a2) has waited 40 s for a supervisor: escalated",
        "✖ Desk d4 (a2) has waited 41 s for a supervisor: escalated",
        "✖ Desk d4 (a2) has waited 59 s for a supervisor: escalated",
        "✖ Desk d4 (a2) has waited 1 min for a supervisor: escalated",
        "✖ Desk d4 (a2) has waited 3 min for a supervisor: escalated"]


def test_the_terminal_view_shows_the_live_age():
    _, floor = FloorCore().snapshots(T0 + 186)
    view = FloorView(floor=floor, alerts={"help-d4": help_alert(1, T0 + 20)})
    lines = render(view, T0 + 186, "hq", width=200)
    assert [line for line in lines if "supervisor" in line] == [
        "  L1 Desk d4 (a2) has waited 3 min for a supervisor"]


# (audience, mask, display names, how the help alert names the agent)
WHO_IN_ALERTS = [
    ("supervisor", "none", {}, "Desk d4 (a2) has waited 1 min for a supervisor: escalated"),
    ("supervisor", "none", {"a2": "Jane Smith"},
     "Desk d4 (Jane Smith) has waited 1 min for a supervisor: escalated"),
    ("floor", "initials", {"a2": "Jane Smith"},
     "Desk d4 (JS) has waited 1 min for a supervisor: escalated"),
    ("floor", "initials", {}, "Desk d4 has waited 1 min for a supervisor: escalated"),
    ("floor", "desk", {"a2": "Jane Smith"},
     "Desk d4 has waited 1 min for a supervisor: escalated"),
]


@pytest.mark.parametrize(("audience", "mask", "names", "line"), WHO_IN_ALERTS)
def test_a_help_alert_names_the_agent_as_the_screen_may(audience, mask, names, line):
    from wallboard.kiosk.config import KioskConfig

    config = KioskConfig(audience=audience, mask_names=mask)
    alerts = {"help-d4": help_alert(2, T0 + 40)}
    assert ticker(alerts, T0 + 60, config, names) == [f"✖ {line}"]
