"""One queue's calls: the call lifecycle as a table, calls waiting, and per-window tallies.

Every event counts in the window its own ``ts`` falls in, so a late event lands in the right
day and the right slice of the sliding window. Each call's state is the set of its events
seen so far, and ``CALL_TRANSITIONS`` lists every step the lifecycle allows. An event the
call has already had is a duplicate and ignored. Any other step not in the table contradicts
what is known (answered after abandoned, say) and is refused. A ``completed`` for a call not
yet seen is held back until the call's earlier events arrive, since QoS 1 can deliver them
late; if they never do, it is dropped when the call would be forgotten anyway.

The translation of Asterisk's queue_log into these events is ``VERBS`` in
``wallboard/telephony/asterisk_core.py``: check one table against the other.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from wallboard.floor.days import DayCalendar
from wallboard.floor.settings import QueuePolicy
from wallboard.floor.tally import CallTally
from wallboard.messages import CallEvent, CallEventKind

CallOutcome = Literal["applied", "duplicate", "held", "refused"]

# A call's state: "new" before any event, "held" while only its completed has come (held
# back), else the events seen so far joined by "+" in lifecycle order.
CallState = str

# (state, event) -> next state, for every step the lifecycle allows. A call leaves the queue
# exactly one way (answered or abandoned, never both); completed needs the call's offer or
# answer, so alone it is held, and after abandoned it is refused. Two rows keep what the
# floor has always done with late events, though they pair a completed with an abandon:
# ("held", "abandoned") and ("offered+completed", "abandoned").
CALL_TRANSITIONS: dict[tuple[CallState, str], CallState] = {
    ("new", "offered"): "offered",
    ("new", "answered"): "answered",
    ("new", "abandoned"): "abandoned",
    ("new", "completed"): "held",
    ("held", "offered"): "offered+completed",
    ("held", "answered"): "answered+completed",
    ("held", "abandoned"): "abandoned+completed",
    ("offered", "answered"): "offered+answered",
    ("offered", "abandoned"): "offered+abandoned",
    ("offered", "completed"): "offered+completed",
    ("answered", "offered"): "offered+answered",
    ("answered", "completed"): "answered+completed",
    ("abandoned", "offered"): "offered+abandoned",
    ("offered+answered", "completed"): "offered+answered+completed",
    ("offered+completed", "answered"): "offered+answered+completed",
    ("offered+completed", "abandoned"): "offered+abandoned+completed",
    ("answered+completed", "offered"): "offered+answered+completed",
    ("abandoned+completed", "offered"): "offered+abandoned+completed",
}
# The events each state has seen: one of them again is a duplicate, not a refusal.
_SEEN: dict[CallState, frozenset[str]] = {
    state: frozenset(("completed",) if state == "held" else
                     () if state == "new" else state.split("+"))
    for pair in CALL_TRANSITIONS.items() for state in (pair[0][0], pair[1])
}
_ENDS = ("answered", "abandoned")  # the ways a call leaves the queue
_LEFT_QUEUE = frozenset(state for state, seen in _SEEN.items() if seen.intersection(_ENDS))


def step(state: CallState, event: CallEventKind) -> tuple[CallOutcome, CallState, str | None]:
    """What ``event`` does to a call in ``state``: outcome, next state and why if not applied."""
    nxt = CALL_TRANSITIONS.get((state, event))
    if nxt == "held":
        return "held", nxt, "completed for an unknown call: held until its answer arrives"
    if nxt is not None:
        return "applied", nxt, None
    seen = _SEEN[state]
    if event in seen:
        return "duplicate", state, None
    if event == "completed":
        return "refused", state, "completed for a call that was abandoned"
    other = "abandoned" if event == "answered" else "answered"
    return "refused", state, f"{event} for a call already {other}"


def call_path_ok(events: Iterable[str]) -> bool:
    """Whether these events, in this order, take a new call through the table, each applied.

    A source that sends a call's events in order never needs one held back, so a path
    through ``"held"`` is not ok either.
    """
    state: CallState = "new"
    for event in events:
        nxt = CALL_TRANSITIONS.get((state, event))
        if nxt is None or nxt == "held":
            return False
        state = nxt
    return True


# Codes of window entries: what one event adds to a tally.
OFFERED, ANSWERED_IN_SL, ANSWERED_LATE, ABANDONED_SHORT, ABANDONED_IN_SL, ABANDONED_LATE, \
    COMPLETED = range(7)

# (ts, code, wait_s or handle_s, hold_s); hold_s is None when the source could not know it.
Entry = tuple[float, int, float, float | None]


def count(tally: CallTally, code: int, a: float, b: float | None) -> None:
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
        if b is not None:  # an unknown hold is left out, never counted as 0
            tally.holds += 1
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
    hold = msg.hold_s
    return (msg.ts, COMPLETED, msg.handle_s or 0.0, hold if isinstance(hold, float) else None)


@dataclass(slots=True)
class _Call:
    state: CallState
    offered_ts: float | None
    last_ts: float


class QueueCalls:
    """Calls of one queue, folded event by event."""

    __slots__ = ("_calls", "_days", "_held", "_recent", "calendar", "policy", "waiting")

    def __init__(self, policy: QueuePolicy, calendar: DayCalendar) -> None:
        self.policy = policy
        self.calendar = calendar
        self._calls: dict[str, _Call] = {}  # calls with an applied event; "held" ones are not
        self.waiting: dict[str, float] = {}  # call id -> offered ts, for calls still in queue
        self._days: dict[dt.date, CallTally] = {}
        self._recent: list[Entry] = []  # sorted by ts; the sliding window reads from here
        self._held: dict[str, CallEvent] = {}  # call id -> completed event for an unseen call

    def apply(self, msg: CallEvent) -> tuple[CallOutcome, str | None]:
        """Fold one event; say why when it is a duplicate, held back or refused."""
        call = self._calls.get(msg.call)
        state = call.state if call is not None else ("held" if msg.call in self._held else "new")
        nxt = CALL_TRANSITIONS.get((state, msg.event))
        if nxt is None or nxt == "held":  # the rare paths: the table's outcome and reason
            outcome, _, reason = step(state, msg.event)
            if outcome == "held":
                self._held[msg.call] = msg
            return outcome, reason
        if call is None:
            call = self._calls[msg.call] = _Call(nxt, None, msg.ts)
        else:
            call.state = nxt
        self._fold(call, msg)
        if state == "held":
            self._fold(call, self._held.pop(msg.call))
        return "applied", None

    def _fold(self, call: _Call, msg: CallEvent) -> None:
        call.last_ts = max(call.last_ts, msg.ts)
        if msg.event == "offered":
            call.offered_ts = msg.ts
            if call.state not in _LEFT_QUEUE:
                self.waiting[msg.call] = msg.ts
        elif msg.event in _ENDS:
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

    def state(self, call_id: str) -> CallState:
        """Where one call is in the lifecycle table ("new" if unseen or forgotten)."""
        call = self._calls.get(call_id)
        return call.state if call is not None else ("held" if call_id in self._held else "new")

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
