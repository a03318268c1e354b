"""Call counters for one window, and the KPI formulas from docs/kpi.md computed from them.

The formulas follow the industry definitions in the project's KPI reference:
short abandons (wait below ``short_abandon_s``) leave every rate; service level counts calls
whose queue wait ended (answered or abandoned) and treats abandons one of three ways.
"""

from __future__ import annotations

from dataclasses import dataclass

from wallboard.messages import SlTreatment


@dataclass(slots=True)
class CallTally:
    """Running counts and sums of call events in one window."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    answered_in_sl: int = 0
    abandoned_in_sl: int = 0
    completed: int = 0
    holds: int = 0  # completed calls whose hold is known; hold_s sums over these only
    wait_answered_s: float = 0.0
    handle_s: float = 0.0
    hold_s: float = 0.0

    def add(self, other: CallTally) -> None:
        """Add another tally into this one (floor totals are sums of queues)."""
        self.offered += other.offered
        self.answered += other.answered
        self.abandoned += other.abandoned
        self.short_abandoned += other.short_abandoned
        self.answered_in_sl += other.answered_in_sl
        self.abandoned_in_sl += other.abandoned_in_sl
        self.completed += other.completed
        self.holds += other.holds
        self.wait_answered_s += other.wait_answered_s
        self.handle_s += other.handle_s
        self.hold_s += other.hold_s


def service_level(t: CallTally, treatment: SlTreatment) -> float | None:
    """Share of calls served within the threshold; None when no call's wait has ended."""
    ended = t.answered + t.abandoned - t.short_abandoned
    if treatment == "count_against":
        num, den = t.answered_in_sl, ended
    elif treatment == "ignore":
        num, den = t.answered_in_sl, ended - t.abandoned_in_sl
    else:  # count_in_favour
        num, den = t.answered_in_sl + t.abandoned_in_sl, ended
    return num / den if den > 0 else None


def asa_s(t: CallTally) -> float | None:
    """Average speed of answer: queue wait of answered calls over answered calls."""
    return t.wait_answered_s / t.answered if t.answered else None


def abandon_rate(t: CallTally) -> float | None:
    """Abandoned over calls whose wait ended, short abandons excluded from both."""
    ended = t.answered + t.abandoned - t.short_abandoned
    return (t.abandoned - t.short_abandoned) / ended if ended > 0 else None


def aht_s(t: CallTally) -> float | None:
    """Average handle time: (talk + hold + wrap-up) over calls completed."""
    return t.handle_s / t.completed if t.completed else None


def avg_hold_s(t: CallTally) -> float | None:
    """Average hold over completed calls whose hold is known; None when none is (never 0)."""
    return t.hold_s / t.holds if t.holds else None


def occupancy(busy_s: float, available_s: float) -> float | None:
    """Handling time over handling plus available time; None with no logged-in time."""
    total = busy_s + available_s
    return busy_s / total if total > 0 else None
