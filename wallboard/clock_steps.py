"""Wall-clock steps: NTP setting the clock at boot or after an outage, told from its pace.

Pure: fed (wall, monotonic) readings, ``StepDetector`` reports a step when the wall clock
moved more (or less) than the monotonic one since the last reading, by over a threshold.
Slow corrections (NTP slewing, at most 0.5 ms a second) stay far below it and are followed
without a report, so only a real jump is one.
"""

from __future__ import annotations

STEP_THRESHOLD_S = 2.0  # readings come every 0.2 s: a 2 s mismatch is never jitter


class StepDetector:
    """Remembers the wall clock's offset from the monotonic clock and reports its jumps."""

    __slots__ = ("_offset", "threshold_s")

    def __init__(self, threshold_s: float = STEP_THRESHOLD_S) -> None:
        self.threshold_s = threshold_s
        self._offset: float | None = None  # wall - monotonic at the last reading

    def feed(self, wall: float, monotonic: float) -> float | None:
        """The step (positive: the wall clock jumped ahead) since the last reading, or None."""
        offset = wall - monotonic
        last, self._offset = self._offset, offset
        if last is None:
            return None
        step = offset - last
        return step if abs(step) > self.threshold_s else None
