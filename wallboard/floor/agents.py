"""Agents' states over time: who is in which state now, and handling vs available time.

Each agent keeps its state changes sorted by ``since``, so a late change slots into place.
Closed intervals are summed per business day and queue as they close, which keeps the
'today' occupancy cheap; the sliding window reads the few recent changes directly.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field

from wallboard.floor.days import DayCalendar
from wallboard.messages import BUSY_STATES, AgentState

Change = tuple[float, float, str, str | None]  # (since, ts, state, queue)
Totals = dict[str | None, list[float]]  # queue -> [busy_s, available_s]


@dataclass(frozen=True, slots=True)
class AgentView:
    """What a screen shows for one agent."""

    agent: str
    state: str
    since: float
    time_in_state_s: float
    team: str | None
    desk: str | None
    queue: str | None
    reason: str | None
    call: str | None


def _add(totals: Totals, queue: str | None, state: str, seconds: float) -> None:
    if seconds <= 0:
        return
    if state in BUSY_STATES:
        totals.setdefault(queue, [0.0, 0.0])[0] += seconds
    elif state == "available":
        totals.setdefault(queue, [0.0, 0.0])[1] += seconds


@dataclass(slots=True)
class AgentRecord:
    """One agent's recent history and the current (latest) state message."""

    agent: str
    current: AgentState
    changes: list[Change] = field(default_factory=list)
    closed: dict[dt.date, Totals] = field(default_factory=dict)

    def view(self, now: float) -> AgentView:
        """The agent as a screen shows it at ``now``."""
        msg = self.current
        return AgentView(self.agent, msg.state, msg.since, max(0.0, now - msg.since),
                         msg.team, msg.desk, msg.queue, msg.reason, msg.call)

    def rebase(self, delta_s: float) -> None:
        """Move the state changes by a wall-clock step; closed day totals stay where they are."""
        msg = self.current
        self.current = msg.model_copy(update={"ts": msg.ts + delta_s,
                                              "since": msg.since + delta_s})
        self.changes = [(since + delta_s, ts + delta_s, state, queue)
                        for since, ts, state, queue in self.changes]


class Agents:
    """Every agent's state history, folded event by event."""

    __slots__ = ("by_id", "calendar")

    def __init__(self, calendar: DayCalendar) -> None:
        self.calendar = calendar
        self.by_id: dict[str, AgentRecord] = {}

    def apply(self, agent: str, msg: AgentState) -> bool:
        """Fold one state message; False if the same change was already folded."""
        change: Change = (msg.since, msg.ts, msg.state, msg.queue)
        rec = self.by_id.get(agent)
        if rec is None:
            self.by_id[agent] = AgentRecord(agent, msg, [change])
            return True
        changes = rec.changes
        lo = bisect.bisect_left(changes, msg.since, key=lambda c: c[0])
        for i in range(lo, len(changes)):
            if changes[i][0] != msg.since:
                break
            if changes[i][2] == msg.state:
                return False  # a re-sent retained state, or a duplicate delivery
        last = changes[-1]
        if (msg.since, msg.ts) >= (last[0], last[1]):
            changes.append(change)
            self._close(rec.closed, last, msg.since)
            rec.current = msg
        else:
            bisect.insort(changes, change)
            self._rebuild(rec)
        return True

    def _close(self, closed: dict[dt.date, Totals], change: Change, end: float) -> None:
        """Add the interval [change.since, end) to the per-day totals, split at day starts."""
        start, _, state, queue = change
        while start < end:
            day = self.calendar.day_of(start)
            stop = min(end, day.end)
            _add(closed.setdefault(day.date, {}), queue, state, stop - start)
            start = stop

    def _rebuild(self, rec: AgentRecord) -> None:
        rec.closed = {}
        for prev, nxt in zip(rec.changes, rec.changes[1:], strict=False):
            self._close(rec.closed, prev, nxt[0])

    def today_totals(self, date: dt.date, day_start: float, now: float) -> Totals:
        """Busy and available seconds per queue from ``day_start`` to ``now``."""
        totals: Totals = {}
        for rec in self.by_id.values():
            for queue, (busy, avail) in rec.closed.get(date, {}).items():
                slot = totals.setdefault(queue, [0.0, 0.0])
                slot[0] += busy
                slot[1] += avail
            since, _, state, queue = rec.changes[-1]
            _add(totals, queue, state, now - max(since, day_start))
        return totals

    def window_totals(self, start: float, now: float) -> Totals:
        """Busy and available seconds per queue in ``[start, now]``."""
        totals: Totals = {}
        for rec in self.by_id.values():
            changes = rec.changes
            i = max(0, bisect.bisect_right(changes, start, key=lambda c: c[0]) - 1)
            for k in range(i, len(changes)):
                since, _, state, queue = changes[k]
                end = changes[k + 1][0] if k + 1 < len(changes) else now
                _add(totals, queue, state, min(end, now) - max(since, start))
        return totals

    def rebase(self, delta_s: float) -> None:
        """Move every agent's state changes by a wall-clock step (``AgentRecord.rebase``)."""
        for rec in self.by_id.values():
            rec.rebase(delta_s)

    def prune(self, now: float, oldest_day: dt.date) -> None:
        """Drop changes older than two days (keeping each agent's latest) and old day totals."""
        horizon = now - 2 * 86_400.0
        for rec in self.by_id.values():
            # Keep the change in force at the horizon: it still covers time after it.
            cut = bisect.bisect_left(rec.changes, horizon, key=lambda c: c[0]) - 1
            cut = min(cut, len(rec.changes) - 1)
            if cut > 0:
                del rec.changes[:cut]
            for date in [d for d in rec.closed if d < oldest_day]:
                del rec.closed[date]
