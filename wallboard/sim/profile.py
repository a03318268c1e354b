"""The simulated floor's demand: how many calls arrive on each weekday and in each local hour.

Plain data and pure functions, so a test can compute the expected count for any
(weekday, hour) bin and compare it with what the simulator produced:

* a day's volume is ``agents * calls_per_agent_day * weekday_factor[weekday]``;
* the day's volume is spread over its opening hours by ``hour_weights[weekday]``;
* within one local hour the arrival rate is constant (calls arrive as a Poisson process).

Weekdays count from Monday = 0, as ``datetime.weekday()`` does. Hours are local wall-clock
hours in whatever time zone the caller converts to; the profile itself knows no zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# Monday carries the weekend's backlog, the week tails off, Saturday is a short quiet
# morning-to-afternoon, and Sunday is closed. Monday is 1.0 so that, with one shift per
# rostered agent, a "70 calls per agent-day" volume needs every agent on a Monday.
WEEKDAY_FACTOR: tuple[float, ...] = (1.00, 0.90, 0.86, 0.84, 0.76, 0.30, 0.0)

# Opening hours per weekday as (open hour, close hour), local; ``None`` means closed.
OPENING: tuple[tuple[int, int] | None, ...] = (
    (8, 20), (8, 20), (8, 20), (8, 20), (8, 20), (9, 17), None,
)

# Relative arrivals per opening hour. Only the shape matters: each day is normalised to 1.
# The 12:00 hour dips because callers are at lunch too; 13:00 recovers part of it.
_MIDWEEK: dict[int, float] = {
    8: 0.55, 9: 0.95, 10: 1.15, 11: 1.10, 12: 0.80, 13: 0.85,
    14: 1.00, 15: 0.95, 16: 0.85, 17: 0.70, 18: 0.50, 19: 0.35,
}
# Monday mornings are heavier: the weekend's problems all ring in at once.
_MONDAY: dict[int, float] = {**_MIDWEEK, 9: 1.05, 10: 1.25, 11: 1.15}
# Friday afternoon empties out as callers (and their companies) wind down for the weekend.
_FRIDAY: dict[int, float] = {
    **_MIDWEEK, 14: 0.80, 15: 0.70, 16: 0.55, 17: 0.40, 18: 0.28, 19: 0.18,
}
_SATURDAY: dict[int, float] = {
    9: 0.80, 10: 1.00, 11: 1.00, 12: 0.80, 13: 0.75, 14: 0.70, 15: 0.60, 16: 0.45,
}


def hour_table(weights: Mapping[int, float]) -> tuple[float, ...]:
    """Expand ``{hour: weight}`` to 24 weights, zero for hours not listed."""
    return tuple(float(weights.get(h, 0.0)) for h in range(24))


HOUR_WEIGHTS: tuple[tuple[float, ...], ...] = (
    hour_table(_MONDAY), hour_table(_MIDWEEK), hour_table(_MIDWEEK), hour_table(_MIDWEEK),
    hour_table(_FRIDAY), hour_table(_SATURDAY), hour_table({}),
)

CALLS_PER_AGENT_DAY = 70.0


@dataclass(frozen=True, slots=True)
class DemandProfile:
    """Weekly call demand: weekday volume factors, opening hours and hourly weights."""

    calls_per_agent_day: float = CALLS_PER_AGENT_DAY
    weekday_factor: tuple[float, ...] = WEEKDAY_FACTOR
    opening: tuple[tuple[int, int] | None, ...] = OPENING
    hour_weights: tuple[tuple[float, ...], ...] = HOUR_WEIGHTS
    # Derived: each weekday's hour weights normalised to sum to 1 (all zero when closed).
    _shares: tuple[tuple[float, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.weekday_factor) != 7 or len(self.opening) != 7 or len(self.hour_weights) != 7:
            raise ValueError("weekday_factor, opening and hour_weights need 7 entries (Mon..Sun)")
        shares: list[tuple[float, ...]] = []
        for day, (factor, hours, weights) in enumerate(
                zip(self.weekday_factor, self.opening, self.hour_weights, strict=True)):
            if len(weights) != 24 or min(weights) < 0 or factor < 0:
                raise ValueError(f"{WEEKDAYS[day]}: need 24 non-negative weights and factor >= 0")
            if hours is not None and not 0 <= hours[0] < hours[1] <= 24:
                raise ValueError(f"{WEEKDAYS[day]}: opening {hours} is not 0 <= open < close <= 24")
            # Weights outside opening hours are ignored, so a closed hour never gets calls.
            inside = [w if hours is not None and hours[0] <= h < hours[1] else 0.0
                      for h, w in enumerate(weights)]
            total = sum(inside)
            shares.append(tuple(w / total for w in inside) if total > 0 and factor > 0
                          else (0.0,) * 24)
        object.__setattr__(self, "_shares", tuple(shares))

    def is_open(self, weekday: int, hour: int) -> bool:
        """True when the centre takes calls in this local hour of this weekday."""
        return self._shares[weekday][hour] > 0

    def daily_volume(self, weekday: int, agents: float) -> float:
        """Expected calls offered on this weekday for a floor sized at ``agents``."""
        if self.opening[weekday] is None:
            return 0.0
        return agents * self.calls_per_agent_day * self.weekday_factor[weekday]

    def hour_share(self, weekday: int, hour: int) -> float:
        """The share of the day's volume arriving in this local hour (a day's shares sum to 1)."""
        return self._shares[weekday][hour]

    def expected_calls(self, weekday: int, hour: int, agents: float) -> float:
        """Expected calls offered in one local hour of this weekday."""
        return self.daily_volume(weekday, agents) * self._shares[weekday][hour]

    def rate(self, local: dt.datetime, agents: float) -> float:
        """Arrival rate in calls per second at local wall-clock time ``local``."""
        return self.expected_calls(local.weekday(), local.hour, agents) / 3600.0


DEFAULT_PROFILE = DemandProfile()
