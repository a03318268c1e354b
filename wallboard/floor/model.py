"""The pure floor model: fold validated events into state, read KPI snapshots at a given time.

No I/O and no clock: every event carries its own ``ts`` and every read takes ``now``. The
controller (the shell) feeds it envelopes from the broker and publishes what it returns.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal, TypedDict

from wallboard.floor.agents import Agents, AgentView, Totals
from wallboard.floor.calls import QueueCalls
from wallboard.floor.days import DayCalendar
from wallboard.floor.settings import FloorSettings, QueuePolicy
from wallboard.floor.tally import CallTally, abandon_rate, aht_s, asa_s, occupancy, service_level
from wallboard.messages import (
    AGENT_STATES,
    BUSY_STATES,
    MAX_LISTED,
    AgentState,
    AgentStateName,
    CallEvent,
    Envelope,
    FloorKpi,
    LongHold,
    QueueKpi,
    SlTreatment,
    WindowKpi,
)
from wallboard.topics import Kind

# What folding one input did (calls.CallOutcome and help.HelpOutcome are subsets). held: kept
# back until the events it depends on arrive; refused: contradicts what is known.
FoldOutcome = Literal["applied", "duplicate", "ignored", "held", "refused"]


class FloorModel:
    """All of one site's queues and agents."""

    def __init__(self, settings: FloorSettings | None = None) -> None:
        self.settings = settings or FloorSettings()
        self.calendar = DayCalendar(self.settings.timezone, self.settings.day_start)
        self.queues: dict[str, QueueCalls] = {}
        self.agents = Agents(self.calendar)
        self._pruned_at = float("-inf")

    # -- folding -------------------------------------------------------------------------

    def apply(self, envelope: Envelope) -> FoldOutcome:
        """Fold one validated message. Kinds the floor model doesn't track are 'ignored'."""
        return self.fold(envelope)[0]

    def fold(self, envelope: Envelope) -> tuple[FoldOutcome, str | None]:
        """Fold one validated message and say why when it was not applied."""
        msg = envelope.message
        kind = envelope.topic.kind
        if kind is Kind.CALL and isinstance(msg, CallEvent):
            return self._calls(envelope.topic.ids[0][1]).apply(msg)
        if kind is Kind.AGENT_STATE and isinstance(msg, AgentState):
            if msg.queue is not None:
                self._calls(msg.queue)
            applied = self.agents.apply(envelope.topic.ids[0][1], msg)
            return ("applied" if applied else "duplicate"), None
        return "ignored", None

    def _calls(self, queue: str) -> QueueCalls:
        calls = self.queues.get(queue)
        if calls is None:
            calls = self.queues[queue] = QueueCalls(self.settings.policy(queue), self.calendar)
        return calls

    # -- reading -------------------------------------------------------------------------

    def agent_views(self, now: float) -> list[AgentView]:
        """Every known agent with state and time in state, sorted by agent id."""
        return [self.agents.by_id[a].view(now) for a in sorted(self.agents.by_id)]

    def snapshots(self, now: float) -> tuple[list[QueueKpi], FloorKpi]:
        """Every queue's snapshot and the floor's, all as of ``now``."""
        self._maybe_prune(now)
        s = self.settings
        today = self.calendar.day_of(now)
        window_start = now - s.window_s
        window_name = f"last {s.window_s / 60:g} min"
        occ_today = self.agents.today_totals(today.date, today.start, now)
        occ_window = self.agents.window_totals(window_start, now)
        views = self.agent_views(now)
        long_holds = _long_holds(views, now, s.hold_remind_s)

        per_queue: list[QueueKpi] = []
        floor_today, floor_window = CallTally(), CallTally()
        all_waits: list[float] = []
        for queue in sorted(self.queues):
            calls = self.queues[queue]
            day_tally = calls.day_tally(today.date)
            win_tally = calls.window_tally(window_start, now)
            floor_today.add(day_tally)
            floor_window.add(win_tally)
            waits = calls.live_waits(now, s.stale_call_s)
            all_waits.extend(waits)
            policy = calls.policy
            per_queue.append(QueueKpi(
                ts=now, queue=queue, **_policy_fields(policy),
                long_holds=[h for h in long_holds if h.queue == queue][:MAX_LISTED],
                **_live(waits, [v for v in views if v.queue == queue], now),
                today=_window("today", today.start, now, day_tally, policy,
                              _busy_avail(occ_today, queue)),
                sliding=_window(window_name, window_start, now, win_tally, policy,
                                _busy_avail(occ_window, queue)),
            ))

        floor = FloorKpi(
            ts=now, **_policy_fields(s.default), **_live(all_waits, views, now),
            today=_window("today", today.start, now, floor_today, s.default,
                          _busy_avail(occ_today, None, whole=True)),
            sliding=_window(window_name, window_start, now, floor_window, s.default,
                            _busy_avail(occ_window, None, whole=True)),
            queues=sorted(self.queues),
            agents_by_state=_by_state(views),
            long_holds=long_holds[:MAX_LISTED],
        )
        return per_queue, floor

    def prune(self, now: float) -> None:
        """Forget what no window can need any more (called by ``snapshots`` now and then)."""
        today = self.calendar.day_of(now)
        yesterday = self.calendar.day_of(today.start - 1)
        for calls in self.queues.values():
            calls.prune(now, self.settings.window_s, yesterday.date, self.settings.stale_call_s)
        self.agents.prune(now, yesterday.date)
        self._pruned_at = now

    def rebase(self, delta_s: float) -> None:
        """Move every stored time by a wall-clock step: open calls, the sliding window and
        agents' states keep their age; day tallies stay with their day."""
        for calls in self.queues.values():
            calls.rebase(delta_s)
        self.agents.rebase(delta_s)
        self._pruned_at += delta_s

    def _maybe_prune(self, now: float) -> None:
        if now - self._pruned_at >= 60.0:
            self.prune(now)


class _PolicyFields(TypedDict):
    sl_treatment: SlTreatment
    short_abandon_s: float


class _LiveFields(TypedDict):
    waiting: int
    longest_wait_s: float
    agents_available: int
    agents_busy: int
    agents_on_break: int
    agents_logged_in: int


def _policy_fields(policy: QueuePolicy) -> _PolicyFields:
    return {"sl_treatment": policy.sl_treatment, "short_abandon_s": policy.short_abandon_s}


def _live(waits: list[float], views: list[AgentView], now: float) -> _LiveFields:
    """Live values: calls waiting now, the longest wait, agents by state group."""
    states = Counter(v.state for v in views)
    return {
        "waiting": len(waits),
        "longest_wait_s": max(0.0, now - min(waits)) if waits else 0.0,
        "agents_available": states["available"],
        "agents_busy": sum(states[st] for st in BUSY_STATES),
        "agents_on_break": states["break"],
        "agents_logged_in": len(views) - states["offline"],
    }


def _long_holds(views: list[AgentView], now: float, after_s: float) -> list[LongHold]:
    """Agents holding a caller for at least ``after_s``, longest hold first."""
    held = sorted((v for v in views if v.state == "hold" and now - v.since >= after_s),
                  key=lambda v: v.since)
    return [LongHold(agent=v.agent, desk=v.desk, queue=v.queue, hold_s=now - v.since)
            for v in held]


def _by_state(views: list[AgentView]) -> dict[AgentStateName, int]:
    states = Counter(v.state for v in views)
    return {st: states[st] for st in AGENT_STATES}


def _busy_avail(totals: Totals, queue: str | None, whole: bool = False) -> tuple[float, float]:
    if whole:
        return (sum(v[0] for v in totals.values()), sum(v[1] for v in totals.values()))
    busy, avail = totals.get(queue, (0.0, 0.0))
    return busy, avail


def _window(name: str, start: float, end: float, t: CallTally, policy: QueuePolicy,
            busy_avail: tuple[float, float]) -> WindowKpi:
    return WindowKpi(
        name=name, start=start, end=end,
        offered=t.offered, answered=t.answered, abandoned=t.abandoned,
        short_abandoned=t.short_abandoned, answered_in_sl=t.answered_in_sl,
        abandoned_in_sl=t.abandoned_in_sl, completed=t.completed,
        sl_threshold_s=policy.sl_threshold_s,
        service_level=service_level(t, policy.sl_treatment),
        asa_s=asa_s(t), abandon_rate=abandon_rate(t), aht_s=aht_s(t),
        occupancy=occupancy(*busy_avail),
    )
