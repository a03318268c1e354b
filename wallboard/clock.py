"""Clocks for the shell: the wall clock, or simulated time running at a chosen speed.

The pure core never reads a clock; services are handed one of these. The demo hands the
controller, the simulator and the view one shared ``ScaledClock``, so a simulated Monday
morning at 10x is consistent everywhere. ``steady_for`` gives the clock that paces a
service beside its clock: one that never steps (NTP steps the wall clock) and runs at the
same rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]  # seconds; the wall clock, a monotonic one or simulated time


class ScaledClock:
    """Time that reads ``start`` now and runs ``speed`` times as fast as the wall clock."""

    def __init__(self, start: float, speed: float = 1.0,
                 wall: Clock = time.monotonic, steady: Clock = time.monotonic) -> None:
        """``wall`` drives the time; ``steady`` (never stepped) paces services beside it."""
        if speed <= 0:
            raise ValueError("speed must be above 0")
        self.start, self.speed, self._wall, self._steady = start, speed, wall, steady
        self._wall0 = wall()

    def __call__(self) -> float:
        """The simulated time now."""
        return self.start + (self._wall() - self._wall0) * self.speed

    def wall_delay(self, ts: float) -> float:
        """Wall-clock seconds until this clock reads ``ts`` (negative if it already has)."""
        return (ts - self()) / self.speed

    def steady(self) -> float:
        """Monotonic seconds at this clock's speed: its pace, without the wall clock's steps."""
        return self._steady() * self.speed


def steady_for(clock: Clock) -> Clock:
    """The clock that never steps and runs at ``clock``'s rate: pacing and step detection."""
    if clock is time.time:
        return time.monotonic
    if isinstance(clock, ScaledClock):
        return clock.steady
    return clock  # simulated time only moves as its owner moves it: it never steps
