"""The site's business day: which 'today' a timestamp belongs to, in the site's time zone.

A day starts at ``day_start`` local time and lasts until the next day's start, so a daylight
saving change day is 23 or 25 hours long. Lookups are cached because every event needs one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Day:
    """One business day: its local date and its [start, end) in epoch seconds."""

    date: dt.date
    start: float
    end: float


class DayCalendar:
    """Maps epoch seconds to business days for one time zone and day start."""

    __slots__ = ("_cache", "_last", "day_start", "tz")

    def __init__(self, tz: ZoneInfo, day_start: dt.time) -> None:
        self.tz = tz
        self.day_start = day_start
        self._cache: dict[dt.date, Day] = {}
        self._last: Day | None = None

    def start_of(self, date: dt.date) -> float:
        """Epoch seconds at which the business day ``date`` starts."""
        # A start inside a spring-forward gap resolves with the pre-gap offset (PEP 495 fold=0).
        return dt.datetime.combine(date, self.day_start, tzinfo=self.tz).timestamp()

    def day(self, date: dt.date) -> Day:
        """The business day with local date ``date``."""
        found = self._cache.get(date)
        if found is None:
            found = Day(date, self.start_of(date), self.start_of(date + dt.timedelta(days=1)))
            if len(self._cache) > 64:  # only a few days are ever live; keep the cache small
                self._cache.clear()
            self._cache[date] = found
        return found

    def day_of(self, ts: float) -> Day:
        """The business day that contains ``ts``."""
        last = self._last
        if last is not None and last.start <= ts < last.end:
            return last
        date = dt.datetime.fromtimestamp(ts, self.tz).date()
        found = self.day(date)
        while ts < found.start:
            found = self.day(found.date - dt.timedelta(days=1))
        while ts >= found.end:
            found = self.day(found.date + dt.timedelta(days=1))
        self._last = found
        return found
