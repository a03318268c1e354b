"""The desk unit's pure core: what a press, a command or the connection does to the desk.

No I/O and no clock: every event carries its time, and ``step`` returns the new state with
the messages to publish. The help lifecycle is one table, ``MOVES``. The shell
(``unit.py``) feeds events from the button, MQTT and timers, and keeps the tower, the broker
and the file on disk in line with the state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from wallboard.messages import OPEN_HELP_STATES, DeskCommand, DeskHelp, HelpState

BEEP_S = 0.2  # the buzzer's chirp when a supervisor acknowledges
TEST_STEP_S = 0.5  # the `test` command lights each lamp, then the buzzer, for this long
TEST_ROUNDS = 2
TEST_S = TEST_STEP_S * 4 * TEST_ROUNDS
OPEN = OPEN_HELP_STATES  # the controller's own set: the unit never disagrees on what is open


@dataclass(frozen=True, slots=True)
class Request:
    """The desk's latest help request, as this unit knows it."""

    id: str
    state: HelpState
    requested_at: float  # when it was pressed: escalation counts from here, even offline
    ts: float  # when it reached this state
    agent: str | None = None
    by: str | None = None
    delivered: bool = False  # the broker has acknowledged this state (QoS 1 PUBACK)

    def as_message(self) -> DeskHelp:
        """The retained ``desk/{desk}/help`` payload for this state."""
        return DeskHelp(ts=self.ts, request=self.id, state=self.state, agent=self.agent,
                        by=self.by)


@dataclass(frozen=True, slots=True)
class Desk:
    """Everything the tower and the broker depend on."""

    request: Request | None = None
    online: bool = False
    nudged: bool = False
    beep_until: float = 0.0
    test_from: float | None = None
    last_press: float | None = None  # for debouncing a chattering contact


# -- events -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pressed:
    """A short press: released before the long-press time."""

    now: float
    new_id: str  # used if the press opens a request; the shell makes it (uuid)


@dataclass(frozen=True, slots=True)
class LongPressed:
    """The button has been held for the long-press time."""

    now: float


@dataclass(frozen=True, slots=True)
class Connected:
    """The broker accepted the connection."""

    now: float


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The connection to the broker is gone."""

    now: float


@dataclass(frozen=True, slots=True)
class Delivered:
    """The broker acknowledged the ``help`` publish for this request in this state."""

    request: str
    state: HelpState


@dataclass(frozen=True, slots=True)
class Command:
    """A valid ``desk/{desk}/cmd`` message."""

    now: float
    cmd: DeskCommand


@dataclass(frozen=True, slots=True)
class BrokerCopy:
    """The retained ``desk/{desk}/help`` the broker holds, read once at start."""

    now: float
    help: DeskHelp


Event = Pressed | LongPressed | Connected | Disconnected | Delivered | Command | BrokerCopy
# applied: taken into the state; ignored: harmless, only logged; refused: bad input, counted.
StepKind = Literal["applied", "ignored", "refused"]


@dataclass(frozen=True, slots=True)
class Stepped:
    """What an event did: the new state, help messages to publish, and why if it did nothing."""

    desk: Desk
    publish: tuple[DeskHelp, ...] = ()
    reason: str | None = None  # one line, why it was ignored or refused; None when applied
    kind: StepKind = "applied"


# -- the lifecycle table ------------------------------------------------------------------

# (current state or None for no open request, action) -> next state. Anything missing is
# ignored with a reason.
MOVES: dict[tuple[HelpState | None, str], HelpState] = {
    (None, "press"): "requested",
    ("acknowledged", "press"): "resolved",  # the supervisor is at the desk
    ("requested", "long_press"): "cancelled",
    ("acknowledged", "long_press"): "cancelled",
    ("requested", "ack"): "acknowledged",
    ("requested", "resolve"): "resolved",
    ("acknowledged", "resolve"): "resolved",
}


def _open_state(desk: Desk) -> HelpState | None:
    r = desk.request
    return r.state if r is not None and r.state in OPEN else None


def _move(desk: Desk, now: float, to: HelpState, by: str | None = None) -> Stepped:
    assert desk.request is not None
    request = replace(desk.request, state=to, ts=now, by=by or desk.request.by,
                      delivered=False)
    beep = now + BEEP_S if to == "acknowledged" else desk.beep_until
    return _publish(replace(desk, request=request, beep_until=beep))


def _publish(desk: Desk) -> Stepped:
    """Publish the request's state; paho holds it while offline and sends it on connect."""
    assert desk.request is not None
    return Stepped(desk, (desk.request.as_message(),))


def restore(request: Request | None) -> Stepped:
    """The state after a restart, from the request kept on disk; resend it if undelivered."""
    desk = Desk(request=request)
    return _publish(desk) if request is not None and not request.delivered else Stepped(desk)


def step(desk: Desk, event: Event, bounce_s: float = 0.05) -> Stepped:
    """Apply one event."""
    match event:
        case Pressed(now=now, new_id=new_id):
            if desk.last_press is not None and 0 <= now - desk.last_press < bounce_s:
                return Stepped(desk, reason="contact bounce", kind="ignored")
            desk = replace(desk, last_press=now)
            current = _open_state(desk)
            if (current, "press") not in MOVES:
                return Stepped(desk, reason=f"press while {current}: already waiting",
                               kind="ignored")
            if current is None:
                request = Request(new_id, "requested", requested_at=now, ts=now)
                return _publish(replace(desk, request=request))
            return _move(desk, now, MOVES[(current, "press")])
        case LongPressed(now=now):
            current = _open_state(desk)
            if (current, "long_press") not in MOVES:
                return Stepped(desk, reason="long press with no open request", kind="ignored")
            return _move(desk, now, MOVES[(current, "long_press")])
        case Connected():
            desk = replace(desk, online=True)
            return Stepped(desk)
        case Disconnected():
            return Stepped(replace(desk, online=False))
        case Delivered(request=rid, state=state):
            r = desk.request
            if r is None or r.id != rid or r.state != state:
                return Stepped(desk)  # an older state, already superseded
            return Stepped(replace(desk, request=replace(r, delivered=True)))
        case Command(now=now, cmd=cmd):
            return _command(desk, now, cmd)
        case BrokerCopy(help=copy):
            return _reconcile(desk, copy)
    raise AssertionError(f"unknown event {event!r}")  # pragma: no cover


def _command(desk: Desk, now: float, cmd: DeskCommand) -> Stepped:
    if cmd.cmd == "nudge":
        return Stepped(replace(desk, nudged=True))
    if cmd.cmd == "clear_nudge":
        return Stepped(replace(desk, nudged=False))
    if cmd.cmd == "test":
        return Stepped(replace(desk, test_from=now))
    r = desk.request
    if r is None or cmd.request != r.id:
        return Stepped(desk, reason=f"{cmd.cmd} for request {cmd.request}, not this desk's "
                                    f"{r.id if r else 'none'}", kind="refused")
    if (r.state, cmd.cmd) not in MOVES:
        if (r.state, cmd.cmd) in (("acknowledged", "ack"), ("resolved", "resolve")):
            return Stepped(desk, reason=f"{cmd.cmd} repeated", kind="ignored")
        return Stepped(desk, reason=f"{cmd.cmd} for request {r.id}, which is {r.state}",
                       kind="refused")
    return _move(desk, now, MOVES[(r.state, cmd.cmd)], by=cmd.by)


def _reconcile(desk: Desk, copy: DeskHelp) -> Stepped:
    """The broker's copy wins, unless this unit holds a change it has not delivered yet.

    An undelivered change is the agent's latest action, which nobody else has seen; anything
    else here is at best what the broker already has, and may be stale (a restored SD card,
    a swapped unit), while the broker's copy is what every screen shows.
    """
    r = desk.request
    if r is not None and not r.delivered:
        return Stepped(desk, reason="broker copy older than an undelivered change",
                       kind="ignored")
    if r is not None and r.id == copy.request and r.state == copy.state:
        return Stepped(desk)
    # Only a "requested" copy's ts is the press time; for the others it is the best we have.
    requested_at = r.requested_at if r is not None and r.id == copy.request else copy.ts
    adopted = Request(copy.request, copy.state, requested_at=requested_at, ts=copy.ts,
                      agent=copy.agent, by=copy.by, delivered=True)
    return Stepped(replace(desk, request=adopted))


# -- timers --------------------------------------------------------------------------------


def escalated(desk: Desk, now: float, escalate_after_s: float) -> bool:
    """Unacknowledged for longer than the escalation time, counted on this unit's clock."""
    r = desk.request
    return (r is not None and r.state == "requested"
            and now - r.requested_at >= escalate_after_s)
