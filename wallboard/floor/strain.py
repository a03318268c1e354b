"""The strain score: a documented sum of capped components, each with the reason it shows.

Pure. The input is ``Workload``, facts about an agent's work (calls, breaks, callers, holds,
help) and never about the agent's emotions; ``docs/wellbeing.md`` explains each component
and its default. A component scores ``per`` points for each unit of its fact above ``free``,
up to ``cap``; the score is their sum, at most 100.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from wallboard.messages import StrainComponent, Suggestion


@dataclass(frozen=True, slots=True)
class Rule:
    """Points for one fact: ``per`` a unit above ``free``, at most ``cap``."""

    free: float
    per: float
    cap: float

    def points(self, value: float) -> float:
        """The fact's points under this rule."""
        return round(min(self.cap, max(0.0, value - self.free) * self.per), 1)


def default_rules() -> dict[str, Rule]:
    """The site defaults; ``docs/wellbeing.md`` gives the reasons and the evidence."""
    return {
        "calls_since_break": Rule(free=12, per=1.5, cap=15),
        "minutes_since_break": Rule(free=90, per=0.25, cap=20),
        "abusive_last_hour": Rule(free=0, per=12, cap=30),
        "abusive_today": Rule(free=1, per=4, cap=16),
        "irate_last_hour": Rule(free=0, per=5, cap=15),
        "escalated_today": Rule(free=1, per=3, cap=9),
        "long_holds_last_hour": Rule(free=0, per=4, cap=12),
        "continuous_handle_min": Rule(free=30, per=0.5, cap=15),
        "occupancy_last_hour_pct": Rule(free=85, per=1, cap=15),
        "pending_help": Rule(free=0, per=10, cap=20),
    }


COMPONENTS = tuple(default_rules())


@dataclass(frozen=True, slots=True)
class StrainPolicy:
    """Site policy: the rules, when to suggest what, and the privacy minimum for teams."""

    rules: dict[str, Rule] = field(default_factory=default_rules)
    check_in_score: float = 50.0  # a supervisor check-in is suggested from this score
    recovery_break_min: float = 5.0  # the break suggested after an abusive caller
    recovery_window_min: float = 15.0  # ...if the call was this recent and no break since
    break_due_min: float = 120.0  # a break is due after this long without one
    break_due_calls: int = 30  # ...or after this many calls
    long_hold_s: float = 60.0  # a hold this long counts as long
    min_group: int = 5  # team aggregates only for at least this many agents logged in


@dataclass(frozen=True, slots=True)
class Workload:
    """One agent's workload facts at one moment; what the score is computed from."""

    calls_since_break: int = 0
    minutes_since_break: float = 0.0
    abusive_last_hour: int = 0
    abusive_today: int = 0
    irate_last_hour: int = 0
    escalated_today: int = 0
    long_holds_last_hour: int = 0
    continuous_handle_min: float = 0.0
    occupancy_last_hour_pct: float | None = None  # None: too little time logged in to say
    pending_help: int = 0
    minutes_since_abusive: float | None = None  # the latest abusive caller since the break


def _duration(minutes: float) -> str:
    hours, mins = divmod(int(minutes), 60)
    return f"{hours} h {mins} min" if hours else f"{mins} min"


def _plural(n: float, one: str, many: str) -> str:
    return f"{n:.0f} {one if n == 1 else many}"


# How each fact reads on a supervisor's screen.
REASONS: dict[str, Callable[[float], str]] = {
    "calls_since_break": lambda v: _plural(v, "call", "calls") + " since the last break",
    "minutes_since_break": lambda v: f"{_duration(v)} without a break",
    "abusive_last_hour": lambda v: _plural(v, "abusive caller", "abusive callers") + " in 60 min",
    "abusive_today": lambda v: _plural(v, "abusive caller", "abusive callers") + " today",
    "irate_last_hour": lambda v: _plural(v, "irate caller", "irate callers") + " in 60 min",
    "escalated_today": lambda v: _plural(v, "escalated call", "escalated calls") + " today",
    "long_holds_last_hour": lambda v: _plural(v, "long hold", "long holds") + " in 60 min",
    "continuous_handle_min": lambda v: f"{_duration(v)} on calls without a pause",
    "occupancy_last_hour_pct": lambda v: f"occupancy {v:.0f} % over 60 min",
    "pending_help": lambda v: _plural(v, "help request", "help requests") + " waiting",
}


@dataclass(frozen=True, slots=True)
class Strain:
    """A score, the components behind it, and what a supervisor might do."""

    score: float
    components: list[StrainComponent]
    suggestion: Suggestion | None = None
    suggestion_text: str | None = None


def strain(work: Workload, policy: StrainPolicy) -> Strain:
    """Score ``work`` under ``policy``. Facts that are zero (or unknown) are left out."""
    components = []
    for name in COMPONENTS:
        value = getattr(work, name)
        if not value:
            continue
        components.append(StrainComponent(name=name, value=round(float(value), 1),
                                          points=policy.rules[name].points(value),
                                          reason=REASONS[name](value)))
    score = round(min(100.0, sum(c.points for c in components)), 1)
    suggestion, text = suggest(work, score, policy)
    return Strain(score, components, suggestion, text)


def suggest(work: Workload, score: float, policy: StrainPolicy
            ) -> tuple[Suggestion | None, str | None]:
    """The one suggestion that matters most: recovery, then a due break, then a check-in."""
    recent = work.minutes_since_abusive
    if recent is not None and recent <= policy.recovery_window_min:
        return "recovery_break", (f"{policy.recovery_break_min:.0f} min recovery break after "
                                  f"an abusive caller {recent:.0f} min ago")
    if work.minutes_since_break >= policy.break_due_min:
        return "break_due", f"break due: {_duration(work.minutes_since_break)} without one"
    if work.calls_since_break >= policy.break_due_calls:
        return "break_due", f"break due: {work.calls_since_break} calls since the last one"
    if score >= policy.check_in_score:
        return "check_in", f"check in: strain {score:.0f} of 100"
    return None, None
