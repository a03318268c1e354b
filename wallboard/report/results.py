"""InfluxDB's JSON answers as rows: a time, the series' tags, and numbers by column name.

Pure. ``InfluxHttp.query`` returns one result per statement; each holds series, and each
series holds columns and values. A statement that matched nothing has no ``series``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

# InfluxDB gives up to nine fractional digits; Python's parser takes at most six.
_FRACTION = re.compile(r"(\.\d{6})\d+")


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a series: the bucket's start, the series' tags, and its numbers."""

    time: dt.datetime
    values: Mapping[str, float | None]
    tags: Mapping[str, str] = field(default_factory=dict)

    def number(self, column: str) -> float | None:
        """The column's value, or None if absent or null."""
        return self.values.get(column)


def parse_time(text: str, tz: ZoneInfo) -> dt.datetime:
    """An RFC 3339 time from InfluxDB (``Z`` or an offset), in the zone ``tz``."""
    return dt.datetime.fromisoformat(_FRACTION.sub(r"\1", text)).astimezone(tz)


def rows_of(result: Mapping[str, Any], tz: ZoneInfo) -> list[Row]:
    """Every row of one statement's result, series after series."""
    rows = []
    for series in result.get("series", []):
        columns = series["columns"]
        tags = dict(series.get("tags") or {})
        for values in series.get("values", []):
            numbers = {name: _number(value) for name, value in zip(columns[1:], values[1:],
                                                                     strict=True)}
            rows.append(Row(parse_time(values[0], tz), numbers, tags))
    return rows


def statement_rows(results: Sequence[Mapping[str, Any]], tz: ZoneInfo) -> list[list[Row]]:
    """Rows per statement of a multi-statement query, in statement order."""
    return [rows_of(result, tz) for result in results]


def _number(value: object) -> float | None:
    # Booleans are ints in Python, but never a number on a chart.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
