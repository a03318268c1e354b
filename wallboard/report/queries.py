"""The report's InfluxQL: one query per kind of data, each aggregating inside InfluxDB.

Pure: a ``ReportScope`` in, query strings out. Every query reads the 15-minute aggregates
(``agg_15m``, kept for two years) and groups them by 30 minutes, an hour or a day in the
site's time zone, so a week comes back as a few hundred rows whatever the floor's size. The
one exception is the help-time distribution: percentiles do not combine across intervals,
so it is computed by InfluxDB from ``raw`` points, and only while ``raw`` still holds the
whole range.

Field names are those the continuous queries write (``wallboard.recorder.downsampling``):
snapshot fields as ``mean_<field>``, ``max_<field>`` and ``last_<field>``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from wallboard.floor.help import ALERT_KIND
from wallboard.recorder.downsampling import RAW, quote
from wallboard.report.scope import ReportScope

AGGREGATES = "agg_15m"
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


def floor_intervals(scope: ReportScope) -> Query:
    """Per interval: the floor's sliding-window SL, abandon rate and AHT at the interval's end
    (the controller's own figures), and the agents on calls or ready for one."""
    text = (f'SELECT last("last_sliding_service_level") AS "service_level", '
            f'last("last_sliding_abandon_rate") AS "abandon_rate", '
            f'last("last_sliding_aht_s") AS "aht_s", '
            f'mean("mean_agents_available") + mean("mean_agents_busy") AS "staffed" '
            f'FROM {source("kpi_floor")} {where(scope)} '
            f"{group_by(scope, f'{INTERVAL_MIN}m')}")
    return Query(FLOOR_INTERVALS, "floor KPIs per interval", text)


def floor_days(scope: ReportScope) -> Query:
    """Per site day: the controller's 'today' figures as they stood at the day's end."""
    fields = {"service_level": "today_service_level", "abandon_rate": "today_abandon_rate",
              "aht_s": "today_aht_s", "help_requests": "help_today_requests",
              "ack_p50_s": "help_today_ack_p50_s", "ack_p90_s": "help_today_ack_p90_s",
              "resolve_p50_s": "help_today_resolve_p50_s",
              "resolve_p90_s": "help_today_resolve_p90_s"}
    select = ", ".join(f'last("last_{field}") AS {quote(name)}' for name, field in fields.items())
    text = f"SELECT {select} FROM {source('kpi_floor')} {where(scope)} {group_by(scope, '1d')}"
    return Query(FLOOR_DAYS, "floor KPIs per day", text)


def offered_hourly(scope: ReportScope) -> Query:
    """Calls offered per hour, all queues together; folded into weekday x hour afterwards."""
    text = (f'SELECT sum("calls") AS "offered" FROM {source("call")} '
            f"{where(scope, equals('event', 'offered'))} "
            f"{group_by(scope, '1h', fill='0')}")
    return Query(OFFERED_HOURLY, "calls offered per hour", text)


def demand_intervals(scope: ReportScope) -> Query:
    """Per interval: calls offered, and handle time of calls completed (for the AHT)."""
    events = f"({equals('event', 'offered')} OR {equals('event', 'completed')})"
    text = (f'SELECT sum("calls") AS "calls", sum("handle_s_sum") AS "handle_s", '
            f'sum("handles") AS "handles" FROM {source("call")} {where(scope, events)} '
            f"{group_by(scope, f'{INTERVAL_MIN}m', 'event')}")
    return Query(DEMAND_INTERVALS, "call demand per interval", text)


def help_alerts(scope: ReportScope) -> Query:
    """Per site day: help alerts raised or escalated, and the highest level reached."""
    text = (f'SELECT sum("alerts") AS "alerts", max("level_max") AS "level_max" '
            f"FROM {source('alert')} {where(scope, equals('kind', ALERT_KIND))} "
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


def team_strain(scope: ReportScope) -> Query:
    """Per hour and team: mean strain score, only from aggregates of ``min_group`` or more."""
    big_enough = f'"agents" >= {scope.min_group}'
    text = (f'SELECT mean("mean_score") AS "score", min("agents") AS "agents" '
            f"FROM {source('team_wellbeing')} {where(scope, big_enough)} "
            f"{group_by(scope, '1h', 'team')}")
    return Query(TEAM_STRAIN, "team wellbeing per hour", text)


def raw_covers(scope: ReportScope, now: float) -> bool:
    """Whether ``raw`` still holds every point of the range, as of ``now``."""
    return scope.period.start.timestamp() >= now - scope.raw_retention_days * 86_400


def report_queries(scope: ReportScope, now: float) -> tuple[Query, ...]:
    """Every query the report runs, in order; the raw one only while raw covers the range."""
    spread = (help_distribution(scope),) if raw_covers(scope, now) else ()
    return (floor_intervals(scope), floor_days(scope), offered_hourly(scope),
            demand_intervals(scope), help_alerts(scope), *spread, team_strain(scope))
