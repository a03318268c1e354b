"""The controller's pure core: every input folded into one place, and what to publish back.

``fold`` takes one decoded message and returns a ``Folded``: the outcome, why it was not
applied, the effects to carry out now (help states, alerts, desk commands) and which
snapshots changed. ``tick`` runs the time rules (escalation, hold reminders, strain) at
``now``.
``snapshots`` reads every KPI snapshot at ``now``; ``rebase`` follows a wall-clock step. No
I/O, and the clock is always passed in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from wallboard.floor.effects import (
    ClearAlert,
    Effect,
    PublishHelp,
    PublishTeamWellbeing,
    PublishWellbeing,
    RaiseAlert,
)
from wallboard.floor.help import ALERT_KIND, HelpBoard, status
from wallboard.floor.holds import HoldReminders
from wallboard.floor.model import FloorModel, FoldOutcome
from wallboard.floor.settings import FloorSettings
from wallboard.floor.skew import ahead_reason, clamped
from wallboard.floor.wellbeing import WellbeingBoard
from wallboard.floor.workload import SignalLog
from wallboard.messages import (
    MAX_LISTED,
    AgentSignal,
    AgentState,
    Alert,
    Cleared,
    DeskHelp,
    Envelope,
    FloorKpi,
    Kudos,
    OpenHelp,
    QueueKpi,
)
from wallboard.topics import Kind

# Inputs whose time decides where they count; ahead of the clock, they are clamped or refused.
DATED_INPUTS = frozenset({Kind.CALL, Kind.AGENT_STATE, Kind.AGENT_SIGNAL, Kind.DESK_HELP})


@dataclass(frozen=True, slots=True)
class Folded:
    """What one message did: its outcome, the reason if not applied, and what follows."""

    outcome: FoldOutcome
    reason: str | None = None
    effects: tuple[Effect, ...] = ()
    queues: frozenset[str] = frozenset()  # queue snapshots it changed
    floor: bool = False  # whether it changed the floor snapshot


class FloorCore:
    """One site's floor model, help board and hold reminders, behind one fold function."""

    def __init__(self, settings: FloorSettings | None = None) -> None:
        self.settings = settings or FloorSettings()
        self.model = FloorModel(self.settings)
        self.help = HelpBoard(self.settings.escalate_after_s)
        self.holds = HoldReminders(self.settings.hold_remind_s)
        self.signals = SignalLog()
        self.wellbeing = WellbeingBoard(self.settings.strain, self.settings.wellbeing_every_s)
        self._help_day = float("-inf")

    def fold(self, item: Envelope | Cleared, now: float | None = None) -> Folded:
        """Fold one decoded message received at ``now``; never raises for a valid one.

        An input dated after ``now`` is clamped to it or refused (``floor.skew``); ``now`` None
        (a history replayed in order) takes every time as it is.
        """
        if isinstance(item, Cleared):
            return Folded("ignored")
        if now is not None and item.topic.kind in DATED_INPUTS:
            reason = ahead_reason(item.topic.kind, item.message.ts, now)
            if reason is not None:
                return Folded("refused", reason)
            item = clamped(item, now)
        msg, topic = item.message, item.topic
        if topic.kind is Kind.CALL:
            outcome, reason = self.model.fold(item)
            applied = outcome == "applied"
            return Folded(outcome, reason, queues=frozenset({topic.id("queue")} if applied
                                                            else ()), floor=applied)
        if topic.kind is Kind.AGENT_STATE and isinstance(msg, AgentState):
            record = self.model.agents.by_id.get(topic.id("agent"))
            before = record.current.queue if record is not None else None
            outcome, reason = self.model.fold(item)
            applied = outcome == "applied"
            touched = {q for q in (before, msg.queue) if q is not None} if applied else set()
            return Folded(outcome, reason, queues=frozenset(touched), floor=applied)
        if topic.kind is Kind.DESK_HELP and isinstance(msg, DeskHelp):
            return self._help(topic.id("desk"), msg)
        if topic.kind is Kind.AGENT_SIGNAL and isinstance(msg, AgentSignal):
            if not self.signals.add(topic.id("agent"), msg):
                return Folded("duplicate")
            return Folded("applied", floor=msg.kind == "compliment")  # kudos on the floor
        if topic.kind is Kind.ALERT and isinstance(msg, Alert):
            return self._stale_alert(topic.id("alert"), msg)
        if topic.kind is Kind.AGENT_WELLBEING:
            return self._stale_wellbeing(topic.id("agent"))
        if topic.kind is Kind.TEAM_WELLBEING:
            return self._stale_team_wellbeing(topic.id("team"))
        return Folded("ignored")

    def _help(self, desk: str, msg: DeskHelp) -> Folded:
        outcome, effects = self.help.apply(desk, msg.request, msg.state, msg.ts, msg.agent,
                                           msg.by)
        if outcome == "refused":
            latest = self.help.latest(desk)
            now_state = f"{latest.request} is {latest.state}" if latest else "no request"
            return Folded(outcome, f"{msg.state} for request {msg.request} refused: {now_state}")
        if outcome != "applied":
            return Folded(outcome)
        latest = self.help.latest(desk)
        if latest is not None:
            effects.append(PublishHelp(desk, status(latest, msg.ts)))
        return Folded(outcome, effects=tuple(effects), floor=True)

    def _stale_alert(self, alert: str, msg: Alert) -> Folded:
        """Clear a help alert that no waiting request backs (left by a run that crashed)."""
        if msg.kind != ALERT_KIND:
            return Folded("ignored")
        if self.help.raised_alerts().get(alert) == msg.request:
            return Folded("duplicate")  # our own alert, echoed back by the broker
        return Folded("applied", effects=(ClearAlert(alert),))

    def _stale_wellbeing(self, agent: str) -> Folded:
        """Clear an agent's retained strain that no run of ours stands behind any more: left
        by a run that stopped before the agent logged off. A logged-in agent's is replaced
        at the next scoring anyway."""
        if agent in self.wellbeing.agents:
            return Folded("duplicate")  # our own, echoed back by the broker
        record = self.model.agents.by_id.get(agent)
        if record is not None and record.current.state != "offline":
            return Folded("ignored")
        return Folded("applied", effects=(PublishWellbeing(agent, None),))

    def _stale_team_wellbeing(self, team: str) -> Folded:
        """Withdraw a team aggregate left by an earlier run, unless the team is big enough
        to be shown now: a public screen must not keep a group under ``min_group``."""
        if team in self.wellbeing.teams:
            return Folded("duplicate")
        logged_in = sum(1 for r in self.model.agents.by_id.values()
                        if r.current.team == team and r.current.state != "offline")
        if logged_in >= self.settings.strain.min_group:
            return Folded("ignored")
        return Folded("applied", effects=(PublishTeamWellbeing(team, None),))

    def tick(self, now: float) -> list[Effect]:
        """Escalations and hold reminders due at ``now``."""
        effects = self.help.tick(now)
        for effect in list(effects):
            if isinstance(effect, RaiseAlert) and effect.desk is not None:
                latest = self.help.latest(effect.desk)
                if latest is not None:
                    effects.append(PublishHelp(effect.desk, status(latest, now)))
        effects += self.holds.tick(self.model.agent_views(now), now)
        if now >= self.wellbeing.next_at:
            help_by_agent = Counter(r.agent for r in self.help.open_requests()
                                    if r.agent is not None)
            day_start = self.model.calendar.day_of(now).start
            self.signals.prune(now)
            effects += self.wellbeing.update(self.model.agents.by_id, self.signals,
                                             help_by_agent, now, day_start)
        return effects

    def rebase(self, delta_s: float) -> None:
        """Take a wall-clock step of ``delta_s`` as the corrected time: everything measured so
        far keeps its age (open calls and requests, agents' states, the sliding window,
        signals, the schedules), so a step neither fires escalations nor delays them.
        Day tallies stay with their day: "today" is the day the stepped clock is in."""
        self.model.rebase(delta_s)
        self.help.rebase(delta_s)
        self.signals.rebase(delta_s)
        self.wellbeing.rebase(delta_s)

    def snapshots(self, now: float) -> tuple[list[QueueKpi], FloorKpi]:
        """Every queue's snapshot and the floor's (with help requests), as of ``now``."""
        day_start = self.model.calendar.day_of(now).start
        if day_start != self._help_day:
            self.help.prune(day_start)  # yesterday's requests leave today's response times
            self._help_day = day_start
        per_queue, floor = self.model.snapshots(now)
        open_help = [
            OpenHelp(desk=r.desk, request=r.request, state=r.state, agent=r.agent,
                     requested_at=r.requested_at, age_s=r.age_s(now), level=r.level)
            for r in self.help.open_requests()[:MAX_LISTED]
        ]
        kudos = [Kudos(agent=agent, at=at) for agent, at in
                 self.signals.compliments(now - self.settings.kudos_window_s, now)[:MAX_LISTED]]
        floor = floor.model_copy(update={"help_open": open_help,
                                         "help_today": self.help.response_times(day_start),
                                         "kudos": kudos})
        return per_queue, floor
