"""InfluxDB's answers, shaped into the data each chart draws. Pure: testable without InfluxDB.

``report_data`` takes the results of ``queries.report_queries`` by query name. The only
arithmetic done here is on already-aggregated rows: folding at most 24 values a day into a
weekday x hour grid, and Erlang C per interval.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wallboard.report import queries as q
from wallboard.report.results import Row, rows_of, statement_rows
from wallboard.report.scope import ReportScope
from wallboard.staffing import agents_required, traffic_erlangs

# Query name -> the results ``InfluxHttp.query`` returned for it (one per statement).
Answers = Mapping[str, Sequence[Mapping[str, Any]]]
Times = tuple[dt.datetime, ...]
Maybe = tuple[float | None, ...]


@dataclass(frozen=True, slots=True)
class ServiceLevel:
    """The floor's service level per interval, against its target."""

    times: Times
    values: tuple[float, ...]
    target: float
    window_min: int  # the sliding window each value covers, ending at the interval's end

    def met(self) -> tuple[bool, ...]:
        """Whether each interval met the target."""
        return tuple(value >= self.target for value in self.values)


@dataclass(frozen=True, slots=True)
class OfferedHeatmap:
    """Calls offered, summed per weekday (Monday = 0) and local hour over the range; None
    for a cell no hour of the range fell in, so a short range claims nothing of the rest."""

    calls: tuple[tuple[float | None, ...], ...]  # [weekday][hour]

    def peak(self) -> tuple[int, int]:
        """(weekday, hour) of the busiest cell; the earliest one if several tie."""
        cells = ((self.calls[d][h] or 0.0, -d, -h) for d in range(7) for h in range(24))
        _, day, hour = max(cells)
        return -day, -hour

    def total(self) -> float:
        """Every call offered in the range."""
        return sum(calls or 0.0 for day in self.calls for calls in day)


@dataclass(frozen=True, slots=True)
class AbandonAht:
    """Abandon rate and AHT per interval (sliding window) and per site day ('today')."""

    times: Times
    abandon_rate: Maybe
    aht_s: Maybe
    days: tuple[dt.date, ...]
    day_abandon_rate: Maybe
    day_aht_s: Maybe
    day_offered: Maybe = ()  # the controller's 'today' counts at the day's (or range's) end
    day_answered: Maybe = ()


@dataclass(frozen=True, slots=True)
class Distribution:
    """Percentiles of one help time over the range: (percent, seconds), rising."""

    requests: int
    points: tuple[tuple[float, float], ...]

    def at(self, percent: float) -> float | None:
        """The time at ``percent``, if it was asked for."""
        return next((seconds for p, seconds in self.points if p == percent), None)


@dataclass(frozen=True, slots=True)
class HelpResponse:
    """Help requests: how times were spread, p50 and p90 per day, and alerts per day."""

    ack: Distribution | None  # None when raw no longer covers the range, or nothing happened
    resolve: Distribution | None
    days: tuple[dt.date, ...]
    requests: Maybe
    ack_p50_s: Maybe
    ack_p90_s: Maybe
    resolve_p50_s: Maybe
    resolve_p90_s: Maybe
    alert_days: tuple[dt.date, ...]
    alerts: tuple[float, ...]
    alert_level_max: Maybe


@dataclass(frozen=True, slots=True)
class Staffing:
    """Per interval: Erlang C agents required for the calls offered, and agents staffed."""

    times: Times
    offered: tuple[float, ...]
    aht_s: Maybe
    required: tuple[int | None, ...]  # None where the AHT is unknown
    staffed: Maybe  # agents on calls or ready for one (logged in, not on a break)

    def understaffed(self) -> tuple[bool, ...]:
        """Intervals with fewer agents staffed than Erlang C required."""
        return tuple(need is not None and have is not None and have < need
                     for need, have in zip(self.required, self.staffed, strict=True))


@dataclass(frozen=True, slots=True)
class TeamStrain:
    """Mean strain score per team and hour, for groups of at least the privacy minimum."""

    teams: tuple[str, ...]
    times: Times
    scores: tuple[Maybe, ...]  # [team][time]
    min_group: int


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything the charts draw."""

    scope: ReportScope
    service_level: ServiceLevel
    offered: OfferedHeatmap
    abandon_aht: AbandonAht
    help: HelpResponse
    staffing: Staffing
    teams: TeamStrain


def service_level(rows: Sequence[Row], scope: ReportScope) -> ServiceLevel:
    """Intervals with a service level (closed hours have none)."""
    kept = [(r.time, v) for r in rows if (v := r.number("service_level")) is not None]
    return ServiceLevel(tuple(t for t, _ in kept), tuple(v for _, v in kept),
                        scope.sl_target, scope.sliding_window_min)


def offered_heatmap(rows: Sequence[Row]) -> OfferedHeatmap:
    """Hourly counts (bucket starts in site time) folded into weekday x hour."""
    grid: list[list[float | None]] = [[None] * 24 for _ in range(7)]
    for row in rows:
        day, hour = row.time.weekday(), row.time.hour
        grid[day][hour] = (grid[day][hour] or 0.0) + (row.number("offered") or 0.0)
    return OfferedHeatmap(tuple(tuple(day) for day in grid))


def abandon_aht(interval_rows: Sequence[Row], day_rows: Sequence[Row]) -> AbandonAht:
    """Both rates per interval and per day; intervals with neither are left out."""
    kept = [r for r in interval_rows
            if r.number("abandon_rate") is not None or r.number("aht_s") is not None]
    return AbandonAht(
        times=tuple(r.time for r in kept),
        abandon_rate=tuple(r.number("abandon_rate") for r in kept),
        aht_s=tuple(r.number("aht_s") for r in kept),
        days=tuple(r.time.date() for r in day_rows),
        day_abandon_rate=tuple(r.number("abandon_rate") for r in day_rows),
        day_aht_s=tuple(r.number("aht_s") for r in day_rows),
        day_offered=tuple(r.number("offered") for r in day_rows),
        day_answered=tuple(r.number("answered") for r in day_rows),
    )


def distribution(rows: Sequence[Row]) -> Distribution | None:
    """The percentile row of one help time, or None if no request carried it."""
    if not rows or not rows[0].number("requests"):
        return None
    row = rows[0]
    points = [(float(p), row.number(f"p{p}")) for p in (*q.PERCENTILES, 100)]
    return Distribution(int(row.number("requests") or 0),
                        tuple((p, s) for p, s in points if s is not None))


def help_response(day_rows: Sequence[Row], alert_rows: Sequence[Row],
                  distribution_rows: Sequence[Sequence[Row]] | None) -> HelpResponse:
    """Help times per day from the floor's 'today' figures, alerts per day, and the spread."""
    ack, resolve = (distribution(rows) for rows in distribution_rows or ((), ()))
    days = [r for r in day_rows if r.number("help_requests") is not None]

    def column(name: str) -> Maybe:
        return tuple(r.number(name) for r in days)

    return HelpResponse(
        ack=ack, resolve=resolve, days=tuple(r.time.date() for r in days),
        requests=column("help_requests"), ack_p50_s=column("ack_p50_s"),
        ack_p90_s=column("ack_p90_s"), resolve_p50_s=column("resolve_p50_s"),
        resolve_p90_s=column("resolve_p90_s"),
        alert_days=tuple(r.time.date() for r in alert_rows),
        alerts=tuple(r.number("alerts") or 0.0 for r in alert_rows),
        alert_level_max=tuple(r.number("level_max") for r in alert_rows),
    )


def staffing(demand_rows: Sequence[Row], floor_rows: Sequence[Row], scope: ReportScope
             ) -> Staffing:
    """Erlang C per interval from the calls offered and that interval's AHT.

    An interval where no call completed takes the AHT of the whole range: a handful of
    calls would say little about handle times anyway.
    """
    offered: dict[dt.datetime, float] = {}
    handled: dict[dt.datetime, tuple[float, float]] = {}
    for row in demand_rows:
        if row.tags.get("event") == "offered":
            offered[row.time] = row.number("calls") or 0.0
        elif (handles := row.number("handles")) and (handle_s := row.number("handle_s")):
            handled[row.time] = (handle_s, handles)
    staffed = {r.time: v for r in floor_rows if (v := r.number("staffed")) is not None}
    total_n = sum(n for _, n in handled.values())
    range_aht = sum(s for s, _ in handled.values()) / total_n if total_n else None
    times = sorted(set(offered) | set(staffed))
    aht = tuple(handled[t][0] / handled[t][1] if t in handled else range_aht for t in times)
    required = tuple(_required(offered.get(t, 0.0), a, scope) for t, a in zip(times, aht,
                                                                            strict=True))
    return Staffing(tuple(times), tuple(offered.get(t, 0.0) for t in times), aht, required,
                    tuple(staffed.get(t) for t in times))


def _required(calls: float, aht_s: float | None, scope: ReportScope) -> int | None:
    if calls <= 0:
        return 0  # closed, or nobody rang: Erlang C would still ask for one agent
    if aht_s is None or aht_s <= 0:
        return None
    traffic = traffic_erlangs(calls, q.INTERVAL_MIN * 60.0, aht_s)
    return agents_required(traffic, aht_s, scope.sl_target, scope.sl_threshold_s,
                           scope.max_occupancy)


def hours_of(scope: ReportScope) -> Times:
    """Every site-time hour's start in the range, as InfluxDB's ``GROUP BY time(1h) tz()``
    cuts it; stepped in real hours, so a clock change gives a 23- or 25-hour day."""
    first = scope.period.start.replace(minute=0, second=0, microsecond=0).astimezone(dt.UTC)
    count = math.ceil((scope.period.end.timestamp() - first.timestamp()) / 3600)
    return tuple((first + dt.timedelta(hours=h)).astimezone(scope.tz) for h in range(count))


def team_strain(rows: Sequence[Row], scope: ReportScope) -> TeamStrain:
    """A team x hour grid over the whole range (empty hours None, so a heatmap keeps its
    time scale); any aggregate of fewer than ``min_group`` agents is dropped here too."""
    kept = [r for r in rows if r.tags.get("team") and r.number("score") is not None
            and (r.number("agents") or 0.0) >= scope.min_group]
    teams = sorted({r.tags["team"] for r in kept})
    times = hours_of(scope) if teams else ()
    cell = {(r.tags["team"], r.time): r.number("score") for r in kept}
    return TeamStrain(tuple(teams), tuple(times),
                      tuple(tuple(cell.get((team, t)) for t in times) for team in teams),
                      scope.min_group)


def report_data(scope: ReportScope, answers: Answers) -> ReportData:
    """Every chart's data from the answers to ``report_queries``, by query name."""
    tz = scope.tz

    def rows(name: str) -> list[Row]:
        results = answers.get(name) or ()
        return rows_of(results[0], tz) if results else []

    raw_help = answers.get(q.HELP_DISTRIBUTION)
    intervals, days = rows(q.FLOOR_INTERVALS), rows(q.FLOOR_DAYS)
    return ReportData(
        scope=scope,
        service_level=service_level(intervals, scope),
        offered=offered_heatmap(rows(q.OFFERED_HOURLY)),
        abandon_aht=abandon_aht(intervals, days),
        help=help_response(days, rows(q.HELP_ALERTS),
                           statement_rows(raw_help, tz) if raw_help else None),
        staffing=staffing(rows(q.DEMAND_INTERVALS), intervals, scope),
        teams=team_strain(rows(q.TEAM_STRAIN), scope),
    )
