"""The demo's floor: a busy morning happening now, and a warm-up the controller folds first.

Two things keep every screen, desk and report attached to the demo in step with the wall
clock, and the first frame plausible:

* **Real time, busy hour.** The demo's events carry real timestamps (its clock starts at
  the wall clock's now). So that the floor is busy whatever the hour, the simulator's
  demand profile runs in the fixed-offset zone where it is now between 09:30 and 10:30, and
  every day of that profile is a Monday: the floor is always 90 minutes into a busy Monday
  morning. That zone is only the simulator's; the site's own time zone stays the machine's.
* **Warm-up folded first.** The 90 minutes before now are simulated at once. The controller
  folds them into its core before it publishes anything, in event time, and their effects
  (help states, alerts raised and cleared back then) are dropped: only the help state each
  desk had at the end is kept, to retain it on the broker. The first time rules and the
  first snapshots then run at now, so every age on the first frame is a real one.

Pure: no I/O and no clock; "now" is an argument.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator

from wallboard.floor.core import FloorCore
from wallboard.floor.effects import PublishHelp
from wallboard.messages import HelpStatus, Message, decode, encode
from wallboard.sim.profile import HOUR_WEIGHTS, OPENING, WEEKDAY_FACTOR, DemandProfile

WARM_UP = dt.timedelta(minutes=90)  # the floor opens at 08:00; the demo joins 90 min later
MONDAY = 0
# Every day a Monday: the busiest weekday's volume, opening hours and hourly shape.
DEMO_PROFILE = DemandProfile(weekday_factor=(WEEKDAY_FACTOR[MONDAY],) * 7,
                             opening=(OPENING[MONDAY],) * 7,
                             hour_weights=(HOUR_WEIGHTS[MONDAY],) * 7)
# Fixed-offset zones run from UTC-12 (Etc/GMT+12) to UTC+14 (Etc/GMT-14): 27 offsets, so
# every UTC hour has one where the local hour is any chosen one.
_MIN_OFFSET_H, _MAX_OFFSET_H = -12, 14


def busy_zone(now: float) -> str:
    """The fixed-offset IANA zone where ``now`` falls between 09:30 and 10:30 local time."""
    utc = dt.datetime.fromtimestamp(now, dt.UTC)
    target = 9 if utc.minute >= 30 else 10
    offset = (target - utc.hour) % 24
    if offset > _MAX_OFFSET_H:
        offset -= 24
    assert _MIN_OFFSET_H <= offset <= _MAX_OFFSET_H
    if offset == 0:
        return "Etc/GMT"
    # POSIX-style names: Etc/GMT-5 is five hours ahead of UTC.
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def split_warm_up(events: Iterable[tuple[str, Message]], join: float
                  ) -> tuple[list[tuple[str, Message]], Iterator[tuple[str, Message]]]:
    """The events before ``join`` as a list, and the rest (from ``join`` on) still lazy."""
    stream = iter(events)
    before: list[tuple[str, Message]] = []
    for topic, msg in stream:
        if msg.ts >= join:
            return before, itertools.chain([(topic, msg)], stream)
        before.append((topic, msg))
    return before, iter(())


def fold_warm_up(core: FloorCore, events: Iterable[tuple[str, Message]], root: str
                 ) -> dict[str, HelpStatus]:
    """Fold past events into ``core`` in event time; return each desk's last help state.

    Time rules are not run, and every other effect is dropped: an alert raised and cleared
    an hour ago is no news, and the first ``tick`` at now raises what is still due.
    """
    help_now: dict[str, HelpStatus] = {}
    for topic, msg in events:
        # Through the contract's one door, as a message from the broker would come.
        item = decode(topic, encode(msg), now=msg.ts, root=root)
        for effect in core.fold(item).effects:
            if isinstance(effect, PublishHelp):
                help_now[effect.desk] = effect.status
    return help_now
