"""Rate-limited problem logging, so a flood of bad input cannot fill the disk."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class LogLimiter:
    """Log at most ``burst`` problem lines per ``period_s``, then one line saying how many
    were left out, so a flood of bad messages cannot fill the disk."""

    def __init__(self, burst: int = 20, period_s: float = 60.0) -> None:
        self.burst, self.period_s = burst, period_s
        self._start, self._count, self._dropped = float("-inf"), 0, 0

    def allow(self, now: float) -> bool:
        """True if a line may be logged now."""
        if now - self._start >= self.period_s:
            if self._dropped:
                log.warning("%d more problem lines left out in the last %.0f s",
                            self._dropped, self.period_s)
            self._start, self._count, self._dropped = now, 0, 0
        self._count += 1
        if self._count > self.burst:
            self._dropped += 1
            return False
        return True
