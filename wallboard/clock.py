"""Clocks for the shell: the wall clock, or simulated time running at a chosen speed.

The pure core never reads a clock; services are handed one of these. The demo hands the
controller, the simulator and the view one shared ``ScaledClock``, so a simulated Monday
morning at 10x is consistent everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class ScaledClock:
    """Time that reads ``start`` now and runs ``speed`` times as fast as the wall clock."""

    def __init__(self, start: float, speed: float = 1.0,
                 wall: Callable[[], float] = time.monotonic) -> None:
        if speed <= 0:
            raise ValueError("speed must be above 0")
        self.start, self.speed, self._wall = start, speed, wall
        self._wall0 = wall()

    def __call__(self) -> float:
        """The simulated time now."""
        return self.start + (self._wall() - self._wall0) * self.speed

    def wall_delay(self, ts: float) -> float:
        """Wall-clock seconds until this clock reads ``ts`` (negative if it already has)."""
        return (ts - self()) / self.speed
