"""One lifecycle for help requests: the desk unit only makes moves the controller's
``TRANSITIONS`` allows, and the controller, the desk and the screens share one set of open
states."""

from __future__ import annotations

from collections.abc import Iterator

from wallboard.floor import help as floor_help
from wallboard.floor.help import TRANSITIONS
from wallboard.kiosk.view import OPEN_WORDS
from wallboard.messages import OPEN_HELP_STATES, DeskCommand, HelpState
from wallboard_desk import desk as desk_core
from wallboard_desk.desk import (
    MOVES,
    Command,
    Connected,
    Delivered,
    Desk,
    Disconnected,
    Event,
    LongPressed,
    Pressed,
    step,
)

T0 = 1_800_000_000.0
DEPTH = 6  # every state the desk can reach is reached within a few events

Move = tuple[HelpState | None, HelpState]


def events(desk: Desk, now: float, serial: int) -> Iterator[Event]:
    """Everything that can happen to ``desk`` next, commands for its own request included."""
    yield Pressed(now, f"r{serial}")
    yield LongPressed(now)
    yield Connected(now)
    yield Disconnected(now)
    own = desk.request.id if desk.request is not None else "r0"
    for cmd in ("ack", "resolve"):
        yield Command(now, DeskCommand(ts=now, cmd=cmd, request=own, by="sup1"))
        yield Command(now, DeskCommand(ts=now, cmd=cmd, request="elsewhere", by="sup1"))
    if desk.request is not None:
        yield Delivered(desk.request.id, desk.request.state)


def desk_moves() -> set[Move]:
    """Every (state before, state published) the desk's core makes, walking ``step`` from a
    desk with no request through every sequence of ``DEPTH`` events. A published request
    the desk did not hold before starts from None, as in ``TRANSITIONS``."""
    moves: set[Move] = set()
    frontier = [Desk()]
    serial = 0
    for depth in range(DEPTH):
        now = T0 + depth  # a second apart: never a contact bounce
        following = []
        for desk in frontier:
            for event in events(desk, now, serial := serial + 1):
                stepped = step(desk, event)
                before = desk.request
                for message in stepped.publish:
                    same = before is not None and before.id == message.request
                    moves.add((before.state if same and before else None, message.state))
                following.append(stepped.desk)
        # States that differ only in times behave alike: keep one of each.
        kinds = {(d.request.state if d.request else None,
                  d.request.delivered if d.request else None, d.online): d
                 for d in following}
        frontier = list(kinds.values())
    return moves


def test_every_move_the_desk_makes_is_one_the_controller_accepts():
    moves = desk_moves()
    outside = moves - TRANSITIONS
    assert not outside, f"the desk makes moves the controller refuses: {sorted(map(str, outside))}"


def test_the_desk_makes_every_move_of_the_lifecycle():
    # The walk is not vacuous: it reaches all of the controller's moves.
    assert desk_moves() == TRANSITIONS


def test_every_entry_of_the_desk_table_is_a_controller_transition():
    for (state, action), after in MOVES.items():
        assert (state, after) in TRANSITIONS, (state, action, after)


def test_controller_desk_and_screens_share_one_set_of_open_states():
    assert floor_help.OPEN is OPEN_HELP_STATES
    assert desk_core.OPEN is OPEN_HELP_STATES
    assert OPEN_WORDS.keys() == OPEN_HELP_STATES, "an open state with no word on the screens"


def test_the_open_states_are_those_the_lifecycle_can_leave():
    assert {before for before, _ in TRANSITIONS if before is not None} == OPEN_HELP_STATES
