"""An agent's workload facts, read from their state history and the signals about callers.

Pure. Calls, breaks, holds and occupancy come from the agent's state changes (a call starts
each time they go to ``talking`` other than back from ``hold``); abusive, irate, escalated
and complimenting callers come from ``agent/{agent}/signal``. Nothing here describes the
agent's feelings: the contract has no field for that.
"""

from __future__ import annotations

from dataclasses import dataclass

from wallboard.floor.agents import AgentRecord, Change
from wallboard.floor.strain import StrainPolicy, Workload
from wallboard.messages import BUSY_STATES, AgentSignal

HOUR_S = 3600.0
RESTING = frozenset({"break", "offline"})
MIN_LOGGED_S = 1800.0  # occupancy over the last hour needs at least this much logged-in time


@dataclass(frozen=True, slots=True)
class Signal:
    """One signal about a caller, as folded."""

    ts: float
    kind: str
    call: str | None


class SignalLog:
    """Signals per agent, without duplicates, for the last two days."""

    def __init__(self) -> None:
        self.by_agent: dict[str, dict[Signal, None]] = {}  # insertion-ordered set

    def add(self, agent: str, msg: AgentSignal) -> bool:
        """Fold one signal; False if it was already folded (a redelivery)."""
        signal = Signal(msg.ts, msg.kind, msg.call)
        seen = self.by_agent.setdefault(agent, {})
        if signal in seen:
            return False
        seen[signal] = None
        return True

    def of(self, agent: str) -> list[Signal]:
        """The agent's signals, in no particular order."""
        return list(self.by_agent.get(agent, ()))

    def compliments(self, since: float, now: float) -> list[tuple[str, float]]:
        """(agent, ts) of compliments in ``[since, now]``, newest first."""
        found = [(agent, s.ts) for agent, signals in self.by_agent.items() for s in signals
                 if s.kind == "compliment" and since <= s.ts <= now]
        return sorted(found, key=lambda pair: (-pair[1], pair[0]))

    def rebase(self, delta_s: float) -> None:
        """Move every signal by a wall-clock step, so "in the last hour" keeps its meaning."""
        self.by_agent = {agent: {Signal(s.ts + delta_s, s.kind, s.call): None for s in seen}
                         for agent, seen in self.by_agent.items()}

    def prune(self, now: float) -> None:
        """Forget signals older than two days."""
        horizon = now - 2 * 86_400.0
        for agent in list(self.by_agent):
            kept = {s: None for s in self.by_agent[agent] if s.ts >= horizon}
            if kept:
                self.by_agent[agent] = kept
            else:
                del self.by_agent[agent]


def _end(changes: list[Change], i: int, now: float) -> float:
    return changes[i + 1][0] if i + 1 < len(changes) else now


def workload(record: AgentRecord, signals: list[Signal], pending_help: int, now: float,
             day_start: float, policy: StrainPolicy) -> Workload:
    """The agent's workload facts at ``now``; ``day_start`` is the start of their day."""
    changes = [c for c in record.changes if c[0] <= now]
    if not changes:
        return Workload(pending_help=pending_help)
    last_rest = max((i for i, c in enumerate(changes) if c[2] in RESTING), default=None)
    if last_rest is None:
        rested_at = max(changes[0][0], day_start)
        first_after_rest = 0
    else:
        rested_at = _end(changes, last_rest, now)
        first_after_rest = last_rest + 1
    calls = sum(1 for i in range(first_after_rest, len(changes))
                if changes[i][2] == "talking" and (i == 0 or changes[i - 1][2] != "hold"))
    hour_ago = now - HOUR_S
    long_holds = sum(1 for i, c in enumerate(changes) if c[2] == "hold"
                     and _end(changes, i, now) > hour_ago
                     and _end(changes, i, now) - c[0] >= policy.long_hold_s)
    handling_since = now
    for since, _, state, _ in reversed(changes):
        if state not in BUSY_STATES:
            break
        handling_since = since
    busy = available = 0.0
    for i, (since, _, state, _) in enumerate(changes):
        seconds = min(_end(changes, i, now), now) - max(since, hour_ago)
        if seconds > 0 and state in BUSY_STATES:
            busy += seconds
        elif seconds > 0 and state == "available":
            available += seconds
    logged = busy + available
    abusive = [s.ts for s in signals if s.kind == "abusive_caller" and s.ts <= now]
    latest_abusive = max((ts for ts in abusive if ts >= rested_at), default=None)
    return Workload(
        calls_since_break=calls,
        minutes_since_break=float((now - rested_at) // 60),
        abusive_last_hour=sum(1 for ts in abusive if ts > hour_ago),
        abusive_today=sum(1 for ts in abusive if ts >= day_start),
        irate_last_hour=sum(1 for s in signals
                            if s.kind == "irate_caller" and hour_ago < s.ts <= now),
        escalated_today=sum(1 for s in signals
                            if s.kind == "escalated" and day_start <= s.ts <= now),
        long_holds_last_hour=long_holds,
        continuous_handle_min=float((now - handling_since) // 60),
        occupancy_last_hour_pct=(round(100 * busy / logged) if logged >= MIN_LOGGED_S
                                 else None),
        pending_help=pending_help,
        minutes_since_abusive=(None if latest_abusive is None
                               else float((now - latest_abusive) // 60)),
    )
