"""Help requests: requested → acknowledged → resolved, or cancelled at any point.

Every transition the lifecycle allows is in ``TRANSITIONS``; anything else (an ack for a
request already resolved, say) is refused and counted, never applied. Escalation is a pure
function of age: unacknowledged after ``escalate_after_s`` raises a level-1 alert, after twice
that a level-2 alert, and handling the request clears it. The record keeps the highest level
a request reached (``max_level``) and when it became due, through acknowledgement and close.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from typing import Literal

from wallboard.alert_age import help_text
from wallboard.floor.effects import ClearAlert, Effect, RaiseAlert
from wallboard.messages import OPEN_HELP_STATES, HelpState, HelpStatus, HelpTimes

# What one help step did; its values are a subset of the floor core's FoldOutcome.
HelpOutcome = Literal["applied", "duplicate", "refused"]

# (from, to) pairs the lifecycle allows; None is "no request yet". Resolving a request that
# was never acknowledged is allowed: the supervisor who arrives has acknowledged it too.
TRANSITIONS: frozenset[tuple[HelpState | None, HelpState]] = frozenset({
    (None, "requested"),
    ("requested", "acknowledged"),
    ("requested", "resolved"),
    ("requested", "cancelled"),
    ("acknowledged", "resolved"),
    ("acknowledged", "cancelled"),
})
OPEN = OPEN_HELP_STATES  # one set for the controller, the desk unit and the screens
ALERT_KIND = "help_unacknowledged"


@dataclass(frozen=True, slots=True)
class HelpRequest:
    """One request's lifecycle with the time of each step."""

    request: str
    desk: str
    state: HelpState
    requested_at: float
    agent: str | None = None
    acknowledged_at: float | None = None
    closed_at: float | None = None
    by: str | None = None
    level: int = 0  # the alert up now: 0 none, 1 raised, 2 escalated; 0 once handled
    max_level: int = 0  # the highest level reached, kept after the request is handled
    max_level_at: float | None = None  # when max_level became due; None while it is 0

    def age_s(self, now: float) -> float:
        """Seconds since the press, until the request closed."""
        end = self.closed_at if self.closed_at is not None else now
        return max(0.0, end - self.requested_at)

    @property
    def time_to_acknowledge_s(self) -> float | None:
        """Press to acknowledgement (or to resolution, if that came first)."""
        if self.acknowledged_at is None:
            return None
        return self.acknowledged_at - self.requested_at

    @property
    def time_to_resolve_s(self) -> float | None:
        """Press to resolution; None unless resolved."""
        if self.state != "resolved" or self.closed_at is None:
            return None
        return self.closed_at - self.requested_at


def status(req: HelpRequest, ts: float) -> HelpStatus:
    """The ``help/{desk}`` message for a request, as of ``ts``."""
    return HelpStatus(
        ts=ts, request=req.request, state=req.state, agent=req.agent, by=req.by,
        requested_at=req.requested_at, acknowledged_at=req.acknowledged_at,
        closed_at=req.closed_at, time_to_acknowledge_s=req.time_to_acknowledge_s,
        time_to_resolve_s=req.time_to_resolve_s, level=req.level,
        max_level=req.max_level, max_level_at=req.max_level_at,
    )


def alert_id(desk: str) -> str:
    """The alert id for a desk's help escalation, kept within the 64-character id limit."""
    name = f"help-{desk}"
    return name if len(name) <= 64 else "help-" + hashlib.sha1(desk.encode()).hexdigest()[:16]


def level_for(age_s: float, escalate_after_s: float) -> int:
    """Escalation level of an unacknowledged request of this age."""
    if age_s >= 2 * escalate_after_s:
        return 2
    return 1 if age_s >= escalate_after_s else 0


def reached(req: HelpRequest, now: float, escalate_after_s: float) -> HelpRequest:
    """``req`` with the highest level its wait has reached by ``now``, if still unacknowledged.

    The time is when the level became due, not when a tick noticed: the same whether the
    controller ticked in between or replays its journal, and whatever the tick's jitter.
    """
    if req.state != "requested":
        return req
    level = level_for(req.age_s(now), escalate_after_s)
    if level <= req.max_level:
        return req
    return replace(req, max_level=level,
                   max_level_at=req.requested_at + level * escalate_after_s)


def shifted(req: HelpRequest, delta_s: float) -> HelpRequest:
    """``req`` with every time it holds moved by ``delta_s`` (a wall-clock step)."""
    def move(ts: float | None) -> float | None:
        return None if ts is None else ts + delta_s
    return replace(req, requested_at=req.requested_at + delta_s,
                   acknowledged_at=move(req.acknowledged_at), closed_at=move(req.closed_at),
                   max_level_at=move(req.max_level_at))


def alert_text(req: HelpRequest, level: int, now: float) -> str:
    """The help alert's text at ``now``: the wait in seconds below a minute, never "0 min"."""
    return help_text(req.desk, req.agent, req.age_s(now), level)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (always a value that happened); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


class HelpBoard:
    """Every desk's current request, plus the closed ones for today's response times."""

    def __init__(self, escalate_after_s: float = 60.0) -> None:
        self.escalate_after_s = escalate_after_s
        self.by_desk: dict[str, HelpRequest] = {}
        self.closed: list[HelpRequest] = []
        # Each desk's last closed request: a retained help message is delivered again on
        # every reconnect, and must read as a duplicate, not as a step for an unknown request.
        self.last_closed: dict[str, HelpRequest] = {}

    def apply(self, desk: str, request: str, state: HelpState, ts: float,
              agent: str | None = None,
              by: str | None = None) -> tuple[HelpOutcome, list[Effect]]:
        """Move ``request`` at ``desk`` to ``state`` at ``ts``, if the lifecycle allows it."""
        current = self.by_desk.get(desk)
        done = self.last_closed.get(desk)
        if current is None and done is not None and done.request == request:
            return ("duplicate" if done.state == state else "refused"), []
        if current is not None and current.request != request:
            if state != "requested":
                return "refused", []  # a step for a request this desk no longer has
            replaced: list[Effect] = []
            if current.state in OPEN:
                # A new press replaces a request the desk lost track of (a reboot, say).
                lost = reached(current, ts, self.escalate_after_s)
                self._close(replace(lost, state="cancelled", closed_at=ts, level=0))
                if current.level:
                    replaced.append(ClearAlert(alert_id(desk)))
            self.by_desk[desk] = HelpRequest(request, desk, "requested", ts, agent)
            return "applied", replaced
        before = current.state if current is not None else None
        if before == state:
            return "duplicate", []
        if (before, state) not in TRANSITIONS:
            return "refused", []
        if current is None:
            self.by_desk[desk] = HelpRequest(request, desk, "requested", ts, agent)
            return "applied", []
        # The level its wait reached counts even if no tick came between (a journal replay).
        updated = replace(reached(current, ts, self.escalate_after_s), state=state,
                          by=by or current.by, agent=current.agent or agent)
        if state in ("acknowledged", "resolved") and current.acknowledged_at is None:
            updated = replace(updated, acknowledged_at=ts)
        effects: list[Effect] = []
        if current.level:
            effects.append(ClearAlert(alert_id(desk)))
            updated = replace(updated, level=0)
        if state in OPEN:
            self.by_desk[desk] = updated
        else:
            self._close(replace(updated, closed_at=ts))
        return "applied", effects

    def _close(self, done: HelpRequest) -> None:
        self.closed.append(done)
        self.last_closed[done.desk] = done
        if self.by_desk.get(done.desk, done).request == done.request:
            self.by_desk.pop(done.desk, None)

    def tick(self, now: float) -> list[Effect]:
        """Raise or escalate alerts for unacknowledged requests, as of ``now``."""
        effects: list[Effect] = []
        for desk, req in self.by_desk.items():
            if req.state != "requested":
                continue
            level = level_for(req.age_s(now), self.escalate_after_s)
            if level > req.level:
                self.by_desk[desk] = replace(reached(req, now, self.escalate_after_s),
                                             level=level)
                effects.append(RaiseAlert(
                    alert_id(desk), level, ALERT_KIND, alert_text(req, level, now), desk=desk,
                    agent=req.agent, request=req.request, since=req.requested_at))
        return effects

    def open_requests(self) -> list[HelpRequest]:
        """Open requests, oldest first."""
        return sorted(self.by_desk.values(), key=lambda r: r.requested_at)

    def response_times(self, since: float) -> HelpTimes:
        """Requests made since ``since``, and p50/p90 times to acknowledge and to resolve."""
        recent = [r for r in self.closed if r.closed_at is not None and r.closed_at >= since]
        acks = [t for r in recent if (t := r.time_to_acknowledge_s) is not None]
        acks += [t for r in self.by_desk.values()
                 if r.acknowledged_at is not None and r.acknowledged_at >= since
                 and (t := r.time_to_acknowledge_s) is not None]
        resolves = [t for r in recent if (t := r.time_to_resolve_s) is not None]
        made = sum(1 for r in (*self.closed, *self.by_desk.values()) if r.requested_at >= since)
        return HelpTimes(
            requests=made,
            ack_p50_s=percentile(acks, 50), ack_p90_s=percentile(acks, 90),
            resolve_p50_s=percentile(resolves, 50), resolve_p90_s=percentile(resolves, 90),
        )

    def latest(self, desk: str) -> HelpRequest | None:
        """The desk's open request, or else its last closed one."""
        return self.by_desk.get(desk) or self.last_closed.get(desk)

    def raised_alerts(self) -> dict[str, str]:
        """Alert id -> request for every request whose escalation alert is up now."""
        return {alert_id(r.desk): r.request for r in self.by_desk.values() if r.level}

    def rebase(self, delta_s: float) -> None:
        """Move open requests' times by a wall-clock step, so no escalation fires or waits
        for the step; closed ones stay with the day they were counted in."""
        self.by_desk = {desk: shifted(req, delta_s) for desk, req in self.by_desk.items()}

    def prune(self, before: float) -> None:
        """Forget closed requests older than ``before`` (yesterday's are no longer shown)."""
        self.closed = [r for r in self.closed if r.closed_at is not None and r.closed_at >= before]
