"""The report's time range: the dates given on the command line, in the site's time zone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from wallboard.errors import WallboardError


class BadPeriod(WallboardError, ValueError):
    """``--from`` and ``--to`` do not make a range; ``str()`` says why in one line."""


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open range [start, end) of aware datetimes, in the site's time zone."""

    start: dt.datetime
    end: dt.datetime

    @property
    def seconds(self) -> float:
        """Length of the range in real seconds (a clock change makes a day 23 or 25 hours)."""
        # Subtracting datetimes of one zone gives wall-clock time; timestamps do not.
        return self.end.timestamp() - self.start.timestamp()


def parse_when(text: str) -> dt.date | dt.datetime:
    """A date (``2026-11-16``) or a date and time (``2026-11-16T08:00``); ValueError if neither."""
    text = text.strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a date: {text!r} (e.g. 2026-11-16 or 2026-11-16T08:00)") from None


def period_of(first: dt.date | dt.datetime, last: dt.date | dt.datetime, tz: ZoneInfo) -> Period:
    """The range from ``first`` to ``last``; a date as ``last`` includes that whole day.

    Times without an offset are site time. Raises ``BadPeriod`` if the range is empty.
    """
    start = _instant(first, tz, whole_day=False)
    end = _instant(last, tz, whole_day=True)
    if start >= end:
        raise BadPeriod(f"--from {first.isoformat()} is not before --to {last.isoformat()}")
    return Period(start, end)


def _instant(when: dt.date | dt.datetime, tz: ZoneInfo, *, whole_day: bool) -> dt.datetime:
    if isinstance(when, dt.datetime):
        return when.replace(tzinfo=tz) if when.tzinfo is None else when.astimezone(tz)
    # "--to 2026-11-22" reads as "up to and including the 22nd": end at the next midnight.
    day = when + dt.timedelta(days=1) if whole_day else when
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz)
