"""The report's InfluxQL: one query per kind of data, each aggregating inside InfluxDB.

Pure: a ``ReportScope`` in, query strings out. Each query groups by 30 minutes, an hour or a
day in the site's time zone, so a week comes back as a few hundred rows whatever the floor's
size. A range of up to ``RAW_MAX_S`` that ``raw`` still holds is read from the raw points:
they are exact, and they include points the continuous queries never saw (these resample
only the last 30 minutes of the database's own clock, so points that arrive later, or are
dated by another clock, as a simulated floor's are, reach no aggregate). Longer or older
ranges read the 15-minute aggregates (``agg_15m``, kept for two years). The help-time
distribution is always read from ``raw`` (percentiles do not combine across intervals), and
only while ``raw`` still holds the whole range.

Aggregate field names are those the continuous queries write
(``wallboard.recorder.downsampling``): snapshot fields as ``mean_<field>``, ``max_<field>``
and ``last_<field>``; on raw points, the field itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from wallboard.floor.help import ALERT_KIND
from wallboard.recorder.downsampling import RAW, quote
from wallboard.report.scope import ReportScope

AGGREGATES = "agg_15m"
RAW_MAX_S = 2 * 86_400  # raw points of two days of a big floor still come back in a second
INTERVAL_MIN = 30  # staffing is planned per half hour, so every per-interval chart uses it
PERCENTILES = (5, 10, 20, 30, 40, 50, 60, 70, 75, 80, 90, 95, 99)

# Names the results are read back by (see ``chart_data``).
FLOOR_INTERVALS = "floor_intervals"
FLOOR_DAYS = "floor_days"
OFFERED_HOURLY = "offered_hourly"
DEMAND_INTERVALS = "demand_intervals"
HELP_ALERTS = "help_alerts"
HELP_DISTRIBUTION = "help_distribution"
TEAM_STRAIN = "team_strain"


@dataclass(frozen=True, slots=True)
class Query:
    """One request to ``/query``: its name, what the progress bar says, and its InfluxQL."""

    name: str
    what: str
    text: str  # statements separated by "; ", each answered by one result


@dataclass(frozen=True, slots=True)
class Source:
    """Where the queries read: the 15-minute aggregates, or the raw points."""

    policy: str

    @property
    def raw(self) -> bool:
        """Whether this reads raw points."""
        return self.policy == RAW

    def of(self, measurement: str) -> str:
        """The measurement under this source's retention policy."""
        return source(measurement, self.policy)

    def snapshot(self, function: str, field: str) -> str:
        """``function`` of a snapshot field: of the field itself on raw points, of the
        aggregate the continuous queries made with that same function otherwise."""
        return f"{function}({quote(field if self.raw else f'{function}_{field}')})"

    def pick(self, aggregated: str, raw: str) -> str:
        """The expression for this source, given the one for each."""
        return raw if self.raw else aggregated


AGGREGATED = Source(AGGREGATES)
RAW_POINTS = Source(RAW)


def literal(value: str) -> str:
    """An InfluxQL string literal in single quotes."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def equals(tag: str, value: str) -> str:
    """A condition that a tag has a value."""
    return f"{quote(tag)} = {literal(value)}"


def rfc3339(when: dt.datetime) -> str:
    """An aware datetime as the UTC time literal InfluxQL compares ``time`` with."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def where(scope: ReportScope, *conditions: str) -> str:
    """``WHERE`` the site, the extra conditions and the report's time range."""
    period = scope.period
    parts = [f'"site" = {literal(scope.site)}', *conditions,
             f"time >= '{rfc3339(period.start)}'", f"time < '{rfc3339(period.end)}'"]
    return "WHERE " + " AND ".join(parts)


def group_by(scope: ReportScope, every: str, *tags: str, fill: str = "none") -> str:
    """``GROUP BY time(every)`` in the site's zone; a day starts at the site's day start."""
    offset = ""
    if every == "1d" and scope.day_start != dt.time(0):
        start = scope.day_start
        offset = f", {start.hour * 60 + start.minute}m"  # the controller's "today" starts then
    tag_part = "".join(f", {quote(tag)}" for tag in tags)
    return f"GROUP BY time({every}{offset}){tag_part} fill({fill}) tz({literal(scope.timezone)})"


def source(measurement: str, policy: str = AGGREGATES) -> str:
    """A measurement under a named retention policy (never the database's default)."""
    return f"{quote(policy)}.{quote(measurement)}"


def floor_intervals(scope: ReportScope, points: Source = AGGREGATED) -> Query:
    """Per interval: the floor's sliding-window SL, abandon rate and AHT at the interval's end
    (the controller's own figures), and the agents on calls or ready for one."""
    text = (f'SELECT {points.snapshot("last", "sliding_service_level")} AS "service_level", '
            f'{points.snapshot("last", "sliding_abandon_rate")} AS "abandon_rate", '
            f'{points.snapshot("last", "sliding_aht_s")} AS "aht_s", '
            f'{points.snapshot("mean", "agents_available")} + '
            f'{points.snapshot("mean", "agents_busy")} AS "staffed" '
            f'FROM {points.of("kpi_floor")} {where(scope)} '
            f"{group_by(scope, f'{INTERVAL_MIN}m')}")
    return Query(FLOOR_INTERVALS, "floor KPIs per interval", text)


def floor_days(scope: ReportScope, points: Source = AGGREGATED) -> Query:
    """Per site day: the controller's 'today' figures as they stood at the day's end."""
    fields = {"service_level": "today_service_level", "abandon_rate": "today_abandon_rate",
              "aht_s": "today_aht_s", "offered": "today_offered",
              "answered": "today_answered", "help_requests": "help_today_requests",
              "ack_p50_s": "help_today_ack_p50_s", "ack_p90_s": "help_today_ack_p90_s",
              "resolve_p50_s": "help_today_resolve_p50_s",
              "resolve_p90_s": "help_today_resolve_p90_s"}
    select = ", ".join(f'{points.snapshot("last", field)} AS {quote(name)}'
                       for name, field in fields.items())
    text = (f"SELECT {select} FROM {points.of('kpi_floor')} {where(scope)} "
            f"{group_by(scope, '1d')}")
    return Query(FLOOR_DAYS, "floor KPIs per day", text)


def offered_hourly(scope: ReportScope, points: Source = AGGREGATED) -> Query:
    """Calls offered per hour, all queues together; folded into weekday x hour afterwards."""
    calls = points.pick('sum("calls")', 'count("n")')
    text = (f'SELECT {calls} AS "offered" FROM {points.of("call")} '
            f"{where(scope, equals('event', 'offered'))} "
            f"{group_by(scope, '1h', fill='0')}")
    return Query(OFFERED_HOURLY, "calls offered per hour", text)


def demand_intervals(scope: ReportScope, points: Source = AGGREGATED) -> Query:
    """Per interval: calls offered, and handle time of calls completed (for the AHT)."""
    events = f"({equals('event', 'offered')} OR {equals('event', 'completed')})"
    calls = points.pick('sum("calls")', 'count("n")')
    handle_s = points.pick('sum("handle_s_sum")', 'sum("handle_s")')
    handles = points.pick('sum("handles")', 'count("handle_s")')
    text = (f'SELECT {calls} AS "calls", {handle_s} AS "handle_s", '
            f'{handles} AS "handles" FROM {points.of("call")} {where(scope, events)} '
            f"{group_by(scope, f'{INTERVAL_MIN}m', 'event')}")
    return Query(DEMAND_INTERVALS, "call demand per interval", text)


def help_alerts(scope: ReportScope, points: Source = AGGREGATED) -> Query:
    """Per site day: help alerts raised or escalated, and the highest level reached."""
    alerts = points.pick('sum("alerts")', 'count("n")')
    level = points.pick('max("level_max")', 'max("level")')
    text = (f'SELECT {alerts} AS "alerts", {level} AS "level_max" '
            f"FROM {points.of('alert')} {where(scope, equals('kind', ALERT_KIND))} "
            f"{group_by(scope, '1d')}")
    return Query(HELP_ALERTS, "help alerts per day", text)


def help_distribution(scope: ReportScope) -> Query:
    """Percentiles of time to acknowledge and to resolve over the whole range, from ``raw``."""

    def statement(field: str, state: str) -> str:
        parts = [f"count({quote(field)}) AS \"requests\"",
                 *(f"percentile({quote(field)}, {p}) AS \"p{p}\"" for p in PERCENTILES),
                 f"max({quote(field)}) AS \"p100\""]
        return (f"SELECT {', '.join(parts)} FROM {source('help', RAW)} "
                f"{where(scope, equals('state', state))}")

    # Each time is read on one state only, so no request counts twice (docs/storage.md).
    text = (statement("time_to_acknowledge_s", "acknowledged") + "; "
            + statement("time_to_resolve_s", "resolved"))
    return Query(HELP_DISTRIBUTION, "help response times", text)


def team_strain(scope: ReportScope, points: Source = AGGREGATED) -> Query:
    """Per hour and team: mean strain score, only from aggregates of ``min_group`` or more."""
    big_enough = f'"agents" >= {scope.min_group}'
    # A team aggregate's fields have the same names raw and aggregated.
    text = (f'SELECT mean("mean_score") AS "score", min("agents") AS "agents" '
            f"FROM {points.of('team_wellbeing')} {where(scope, big_enough)} "
            f"{group_by(scope, '1h', 'team')}")
    return Query(TEAM_STRAIN, "team wellbeing per hour", text)


def raw_covers(scope: ReportScope, now: float) -> bool:
    """Whether ``raw`` still holds every point of the range, as of ``now``."""
    return scope.period.start.timestamp() >= now - scope.raw_retention_days * 86_400


def source_for(scope: ReportScope, now: float) -> Source:
    """Raw points for a short range raw still holds; the aggregates otherwise."""
    short = scope.period.seconds <= RAW_MAX_S
    return RAW_POINTS if short and raw_covers(scope, now) else AGGREGATED


def report_queries(scope: ReportScope, now: float) -> tuple[Query, ...]:
    """Every query the report runs, in order; the raw one only while raw covers the range."""
    spread = (help_distribution(scope),) if raw_covers(scope, now) else ()
    points = source_for(scope, now)
    return (floor_intervals(scope, points), floor_days(scope, points),
            offered_hourly(scope, points), demand_intervals(scope, points),
            help_alerts(scope, points), *spread, team_strain(scope, points))
