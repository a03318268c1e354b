"""The desk unit's pure core: the help lifecycle, reconciliation with the broker, and the
tower for every state, on an injected clock."""

from __future__ import annotations

from dataclasses import replace

import pytest

from wallboard.messages import DeskCommand, DeskHelp
from wallboard_desk.desk import (
    BEEP_S,
    TEST_S,
    TEST_STEP_S,
    BrokerCopy,
    Command,
    Connected,
    Delivered,
    Desk,
    Disconnected,
    LongPressed,
    Pressed,
    Request,
    restore,
    step,
)
from wallboard_desk.tower import Tower, next_change, tower

T0 = 1_800_000_000.0
ESC = 60.0


def _request(state="requested", delivered=True, rid="r1", at=T0) -> Request:
    return Request(rid, state, requested_at=at, ts=at, delivered=delivered)


def _desk(state=None, delivered=True, online=True, **kw) -> Desk:
    request = None if state is None else _request(state, delivered)
    return Desk(request=request, online=online, **kw)


def _open(desk: Desk) -> Request:
    assert desk.request is not None
    return desk.request


def _cmd(cmd, request="r1", by="sup1") -> DeskCommand:
    return DeskCommand(ts=T0, cmd=cmd, request=request, by=by)


# -- lifecycle: (start state, event) -> (end state or None, kind) ---------------------------

LIFECYCLE = [
    ("press when idle opens a request", None, Pressed(T0 + 5, "r2"), "requested", "applied"),
    ("press after resolved opens a new one", "resolved", Pressed(T0 + 5, "r2"), "requested",
     "applied"),
    ("press while waiting is ignored", "requested", Pressed(T0 + 5, "r2"), "requested",
     "ignored"),
    ("press when acknowledged resolves", "acknowledged", Pressed(T0 + 5, "r2"), "resolved",
     "applied"),
    ("long press cancels a waiting request", "requested", LongPressed(T0 + 5), "cancelled",
     "applied"),
    ("long press cancels an acknowledged one", "acknowledged", LongPressed(T0 + 5),
     "cancelled", "applied"),
    ("long press with nothing open is ignored", None, LongPressed(T0 + 5), None, "ignored"),
    ("ack acknowledges", "requested", Command(T0 + 5, _cmd("ack")), "acknowledged", "applied"),
    ("resolve from a screen", "acknowledged", Command(T0 + 5, _cmd("resolve")), "resolved",
     "applied"),
    ("ack repeated is harmless", "acknowledged", Command(T0 + 5, _cmd("ack")), "acknowledged",
     "ignored"),
    ("ack for a resolved request is refused", "resolved", Command(T0 + 5, _cmd("ack")),
     "resolved", "refused"),
    ("ack for a cancelled request is refused", "cancelled", Command(T0 + 5, _cmd("ack")),
     "cancelled", "refused"),
    ("ack for another desk's request is refused", "requested",
     Command(T0 + 5, _cmd("ack", request="other")), "requested", "refused"),
    ("ack with no request at all is refused", None, Command(T0 + 5, _cmd("ack")), None,
     "refused"),
]


@pytest.mark.parametrize(("start", "event", "end", "kind"),
                         [c[1:] for c in LIFECYCLE], ids=[c[0] for c in LIFECYCLE])
def test_lifecycle(start, event, end, kind):
    desk = _desk(start)
    out = step(desk, event)
    assert out.kind == kind
    assert (_open(out.desk).state if out.desk.request else None) == end
    if kind == "applied" and end is not None:
        # Every applied change is published once, not yet delivered.
        assert [(m.request, m.state) for m in out.publish] == [(_open(out.desk).id, end)]
        assert not _open(out.desk).delivered
        assert out.reason is None
    else:
        assert out.publish == ()
        assert out.reason  # a reason for the log line


def test_a_new_request_takes_the_new_id_and_press_time():
    out = step(Desk(online=True), Pressed(T0, "abc"))
    assert out.desk.request == Request("abc", "requested", requested_at=T0, ts=T0)
    assert out.publish == (DeskHelp(ts=T0, request="abc", state="requested"),)


def test_acknowledge_records_who_and_beeps():
    out = step(_desk("requested"), Command(T0 + 9, _cmd("ack", by="sup7")))
    assert _open(out.desk).by == "sup7"
    assert out.desk.beep_until == T0 + 9 + BEEP_S
    assert out.publish[0].by == "sup7"


def test_contact_bounce_is_one_press():
    desk = step(Desk(online=True), Pressed(T0, "a")).desk
    bounced = step(desk, Pressed(T0 + 0.01, "b"), bounce_s=0.05)
    assert bounced.kind == "ignored" and bounced.desk == desk
    later = step(desk, Pressed(T0 + 0.2, "c"), bounce_s=0.05)
    assert later.kind == "ignored"  # already waiting, but not bounce
    assert later.reason and "bounce" not in later.reason


def test_delivery_marks_only_the_state_that_was_sent():
    desk = step(Desk(online=True), Pressed(T0, "a")).desk
    acked = step(desk, Command(T0 + 1, _cmd("ack", request="a"))).desk
    stale = step(acked, Delivered("a", "requested")).desk
    assert not _open(stale).delivered
    assert _open(step(acked, Delivered("a", "acknowledged")).desk).delivered


def test_commands_that_only_touch_the_tower():
    desk = _desk()
    nudged = step(desk, Command(T0, DeskCommand(ts=T0, cmd="nudge"))).desk
    assert nudged.nudged
    assert not step(nudged, Command(T0, DeskCommand(ts=T0, cmd="clear_nudge"))).desk.nudged
    assert step(desk, Command(T0, DeskCommand(ts=T0, cmd="test"))).desk.test_from == T0


def test_connection_changes_only_the_online_flag():
    desk = _desk("requested", delivered=False, online=False)
    up = step(desk, Connected(T0)).desk
    assert up == replace(desk, online=True)
    assert step(up, Disconnected(T0)).desk == desk


def test_restore_resends_only_an_undelivered_request():
    undelivered = _request(delivered=False)
    assert restore(undelivered).publish == (undelivered.as_message(),)
    assert restore(_request()).publish == ()
    assert restore(None).desk == Desk()


# -- reconciliation with the broker's retained copy ----------------------------------------

RECONCILE = [
    ("nothing local: the broker's open request is adopted", None, True,
     ("r9", "acknowledged"), ("r9", "acknowledged")),
    ("delivered local, newer broker copy: broker wins", "requested", True,
     ("r1", "acknowledged"), ("r1", "acknowledged")),
    ("delivered local, other request on the broker: broker wins", "resolved", True,
     ("r9", "requested"), ("r9", "requested")),
    ("undelivered local change: it wins", "requested", False,
     ("r0", "resolved"), ("r1", "requested")),
    ("undelivered local cancel beats the broker's open copy", "cancelled", False,
     ("r1", "requested"), ("r1", "cancelled")),
    ("same on both sides: nothing changes", "requested", True,
     ("r1", "requested"), ("r1", "requested")),
]


@pytest.mark.parametrize(("local", "delivered", "copy", "expected"),
                         [c[1:] for c in RECONCILE], ids=[c[0] for c in RECONCILE])
def test_reconcile(local, delivered, copy, expected):
    desk = _desk(local, delivered)
    rid, state = copy
    out = step(desk, BrokerCopy(T0 + 30, DeskHelp(ts=T0 + 20, request=rid, state=state)))
    assert (_open(out.desk).id, _open(out.desk).state) == expected
    assert out.publish == ()  # adopting the broker's copy republishes nothing
    if expected == copy:
        assert _open(out.desk).delivered


def test_adopted_request_keeps_the_local_press_time_for_escalation():
    desk = _desk("requested")
    out = step(desk, BrokerCopy(T0 + 30, DeskHelp(ts=T0 + 20, request="r1",
                                                  state="acknowledged")))
    assert _open(out.desk).requested_at == T0


# -- the tower -----------------------------------------------------------------------------

TOWERS = [
    ("connected, idle", _desk(), 0, Tower(green="on")),
    ("request confirmed by the broker", _desk("requested"), 5, Tower(red="on")),
    ("request pressed while offline", _desk("requested", delivered=False, online=False), 5,
     Tower(red="blink", green="flash")),
    ("request sent, not yet confirmed", _desk("requested", delivered=False), 5,
     Tower(red="blink")),
    ("escalated, computed locally", _desk("requested"), ESC, Tower(red="fast")),
    ("escalated while offline", _desk("requested", delivered=False, online=False), ESC + 1,
     Tower(red="fast", green="flash")),
    ("acknowledged, with the beep", _desk("acknowledged", beep_until=T0 + BEEP_S), 0,
     Tower(amber="on", buzzer="on")),
    ("acknowledged, after the beep", _desk("acknowledged", beep_until=T0 + BEEP_S), 1,
     Tower(amber="on")),
    ("acknowledged, not escalated however long", _desk("acknowledged"), ESC * 5,
     Tower(amber="on")),
    ("resolved: idle again", _desk("resolved"), 5, Tower(green="on")),
    ("cancelled: idle again", _desk("cancelled"), 5, Tower(green="on")),
    ("nudge when idle", _desk(nudged=True), 0, Tower(amber="blink", green="on")),
    ("nudge while waiting", _desk("requested", nudged=True), 5,
     Tower(red="on", amber="blink")),
    ("nudge while acknowledged: amber blinks", _desk("acknowledged", nudged=True), 5,
     Tower(amber="blink")),
    ("connection lost, idle", _desk(online=False), 0, Tower(green="flash")),
    ("connection lost, acknowledged", _desk("acknowledged", online=False), 5,
     Tower(amber="on", green="flash")),
]


@pytest.mark.parametrize(("desk", "after", "expected"), [c[1:] for c in TOWERS],
                         ids=[c[0] for c in TOWERS])
def test_tower(desk, after, expected):
    assert tower(desk, T0 + after, ESC) == expected


def test_connection_lost_looks_unlike_every_other_state():
    # Only the lost connection uses "flash", and only on the green lamp.
    for name, desk, _after, shown in TOWERS:
        uses_flash = "flash" in (shown.red, shown.amber, shown.green, shown.buzzer)
        assert uses_flash == (not desk.online), name
        assert shown.red != "flash" and shown.amber != "flash", name


def test_test_command_cycles_every_lamp_then_returns():
    desk = _desk(test_from=T0)
    seen = [tower(desk, T0 + (i + 0.5) * TEST_STEP_S, ESC) for i in range(int(TEST_S /
                                                                             TEST_STEP_S))]
    lit = [next(n for n in ("red", "amber", "green", "buzzer") if getattr(t, n) == "on")
           for t in seen]
    assert lit == ["red", "amber", "green", "buzzer"] * 2
    assert all(sum(getattr(t, n) != "off" for n in ("red", "amber", "green", "buzzer")) == 1
               for t in seen)
    assert tower(desk, T0 + TEST_S, ESC) == Tower(green="on")


NEXT = [
    ("idle: nothing scheduled", _desk(), 0, None),
    ("waiting: escalation time", _desk("requested"), 5, T0 + ESC),
    ("escalated: nothing more", _desk("requested"), ESC + 1, None),
    ("beeping: end of the beep", _desk("acknowledged", beep_until=T0 + BEEP_S), 0,
     T0 + BEEP_S),
    ("test: next step", _desk(test_from=T0), 0.1, T0 + TEST_STEP_S),
    ("test: its end", _desk(test_from=T0), TEST_S - 0.1, T0 + TEST_S),
]


@pytest.mark.parametrize(("desk", "after", "expected"), [c[1:] for c in NEXT],
                         ids=[c[0] for c in NEXT])
def test_next_change(desk, after, expected):
    assert next_change(desk, T0 + after, ESC) == expected
    if expected is not None:
        # The tower really does change there (or the escalation time is reached).
        before = tower(desk, expected - 1e-6, ESC)
        assert tower(desk, expected, ESC) != before
