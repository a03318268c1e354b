"""One queue's calls: duplicate filtering, calls waiting, and per-window tallies.

Every event counts in the window its own ``ts`` falls in, so a late event lands in the right
day and the right slice of the sliding window. A repeated (call, event) pair is ignored.
Events that contradict what is known (answered after abandoned, say) are refused. A
``completed`` for a call not yet seen is held back until the call's earlier events arrive,
since QoS 1 can deliver them late; if they never do, it is dropped when the call would be
forgotten anyway.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass
from typing import Literal

from wallboard.floor.days import DayCalendar
from wallboard.floor.settings import QueuePolicy
from wallboard.floor.tally import CallTally
from wallboard.messages import CallEvent

_BIT = {"offered": 1, "answered": 2, "abandoned": 4, "completed": 8}
_ENDS = 2 | 4  # answered and abandoned: a call leaves the queue exactly one way

CallOutcome = Literal["applied", "duplicate", "held", "refused"]

# Codes of window entries: what one event adds to a tally.
OFFERED, ANSWERED_IN_SL, ANSWERED_LATE, ABANDONED_SHORT, ABANDONED_IN_SL, ABANDONED_LATE, \
    COMPLETED = range(7)

Entry = tuple[float, int, float, float]  # (ts, code, wait_s or handle_s, hold_s)


def count(tally: CallTally, code: int, a: float, b: float) -> None:
    """Add one window entry to ``tally``."""
    if code == OFFERED:
        tally.offered += 1
    elif code <= ANSWERED_LATE:
        tally.answered += 1
        tally.wait_answered_s += a
        if code == ANSWERED_IN_SL:
            tally.answered_in_sl += 1
    elif code <= ABANDONED_LATE:
        tally.abandoned += 1
        if code == ABANDONED_SHORT:
            tally.short_abandoned += 1
        elif code == ABANDONED_IN_SL:
            tally.abandoned_in_sl += 1
    else:
        tally.completed += 1
        tally.handle_s += a
        tally.hold_s += b


def entry_for(msg: CallEvent, policy: QueuePolicy) -> Entry:
    """Classify one call event against the queue's policy."""
    wait = msg.wait_s or 0.0
    if msg.event == "offered":
        return (msg.ts, OFFERED, 0.0, 0.0)
    if msg.event == "answered":
        code = ANSWERED_IN_SL if wait <= policy.sl_threshold_s else ANSWERED_LATE
        return (msg.ts, code, wait, 0.0)
    if msg.event == "abandoned":
        if wait < policy.short_abandon_s:
            code = ABANDONED_SHORT
        elif wait <= policy.sl_threshold_s:
            code = ABANDONED_IN_SL
        else:
            code = ABANDONED_LATE
        return (msg.ts, code, wait, 0.0)
    return (msg.ts, COMPLETED, msg.handle_s or 0.0, msg.hold_s or 0.0)


@dataclass(slots=True)
class _Call:
    seen: int
    offered_ts: float | None
    ended: bool
    last_ts: float


class QueueCalls:
    """Calls of one queue, folded event by event."""

    __slots__ = ("_calls", "_days", "_held", "_recent", "calendar", "policy", "waiting")

    def __init__(self, policy: QueuePolicy, calendar: DayCalendar) -> None:
        self.policy = policy
        self.calendar = calendar
        self._calls: dict[str, _Call] = {}
        self.waiting: dict[str, float] = {}  # call id -> offered ts, for calls still in queue
        self._days: dict[dt.date, CallTally] = {}
        self._recent: list[Entry] = []  # sorted by ts; the sliding window reads from here
        self._held: dict[str, CallEvent] = {}  # call id -> completed event for an unseen call

    def apply(self, msg: CallEvent) -> tuple[CallOutcome, str | None]:
        """Fold one event; say why when it is a duplicate, held back or refused."""
        bit = _BIT[msg.event]
        call = self._calls.get(msg.call)
        if call is not None and call.seen & bit:
            return "duplicate", None
        if msg.event == "completed" and call is not None and call.seen & 4:
            return "refused", "completed for a call that was abandoned"
        if msg.event == "completed" and (call is None or not call.seen & (1 | 2)):
            if msg.call in self._held:
                return "duplicate", None
            self._held[msg.call] = msg
            return "held", "completed for an unknown call: held until its answer arrives"
        if call is not None and bit & _ENDS and call.seen & _ENDS:
            other = "abandoned" if msg.event == "answered" else "answered"
            return "refused", f"{msg.event} for a call already {other}"
        if call is None:
            call = self._calls[msg.call] = _Call(0, None, False, msg.ts)
        self._fold(call, msg, bit)
        held = self._held.pop(msg.call, None)
        if held is not None:
            self._fold(call, held, _BIT["completed"])
        return "applied", None

    def _fold(self, call: _Call, msg: CallEvent, bit: int) -> None:
        call.seen |= bit
        call.last_ts = max(call.last_ts, msg.ts)
        if msg.event == "offered":
            call.offered_ts = msg.ts
            if not call.ended:
                self.waiting[msg.call] = msg.ts
        elif msg.event in ("answered", "abandoned"):
            call.ended = True
            self.waiting.pop(msg.call, None)

        entry = entry_for(msg, self.policy)
        day = self.calendar.day_of(msg.ts).date
        tally = self._days.get(day)
        if tally is None:
            tally = self._days[day] = CallTally()
        count(tally, entry[1], entry[2], entry[3])
        recent = self._recent
        if not recent or recent[-1][0] <= msg.ts:
            recent.append(entry)
        else:
            bisect.insort(recent, entry)

    @property
    def held(self) -> int:
        """Completed events waiting for their call's earlier events."""
        return len(self._held)

    def day_tally(self, date: dt.date) -> CallTally:
        """Counts for one business day (a fresh zero tally if nothing happened)."""
        return self._days.get(date) or CallTally()

    def window_tally(self, start: float, end: float) -> CallTally:
        """Counts for events with ``start < ts <= end``."""
        tally = CallTally()
        recent = self._recent
        lo = bisect.bisect_right(recent, start, key=lambda e: e[0])
        hi = bisect.bisect_right(recent, end, key=lambda e: e[0])
        for i in range(lo, hi):
            e = recent[i]
            count(tally, e[1], e[2], e[3])
        return tally

    def live_waits(self, now: float, stale_s: float) -> list[float]:
        """Offered times of calls waiting now; calls older than ``stale_s`` lost their end."""
        oldest = now - stale_s
        return [ts for ts in self.waiting.values() if oldest <= ts <= now]

    def rebase(self, delta_s: float) -> None:
        """Move every stored time by a wall-clock step, so what was measured keeps its age.

        Day tallies stay with the day they were counted in: "today" is whatever day the
        stepped clock says it is.
        """
        for call in self._calls.values():
            call.last_ts += delta_s
            if call.offered_ts is not None:
                call.offered_ts += delta_s
        self.waiting = {c: ts + delta_s for c, ts in self.waiting.items()}
        self._recent = [(ts + delta_s, code, a, b) for ts, code, a, b in self._recent]
        self._held = {c: msg.model_copy(update={"ts": msg.ts + delta_s})
                      for c, msg in self._held.items()}

    def prune(self, now: float, window_s: float, oldest_day: dt.date, stale_s: float) -> None:
        """Forget what no window can need any more."""
        cut = bisect.bisect_right(self._recent, now - window_s, key=lambda e: e[0])
        del self._recent[:cut]
        for date in [d for d in self._days if d < oldest_day]:
            del self._days[date]
        horizon = now - max(stale_s, 2 * 86_400.0)  # duplicates can arrive late; remember 2 days
        for call_id in [c for c, rec in self._calls.items() if rec.last_ts < horizon]:
            del self._calls[call_id]
        for call_id in [c for c, ts in self.waiting.items() if ts < now - stale_s]:
            del self.waiting[call_id]
        for call_id in [c for c, msg in self._held.items() if msg.ts < horizon]:
            del self._held[call_id]
