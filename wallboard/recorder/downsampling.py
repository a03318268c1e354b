"""Retention policies and continuous queries, as InfluxQL, and the plan that brings a database
to them without touching what is already right.

Pure: the shell reads ``SHOW DATABASES``, ``SHOW RETENTION POLICIES`` and ``SHOW CONTINUOUS
QUERIES``, passes what it found to ``plan``, and runs the statements it returns. A second run
finds everything in place and returns nothing.

Raw points go to ``raw`` (the default policy). Continuous queries aggregate them into
``agg_1m`` and ``agg_15m``, kept longer, with the same measurement names. Each query runs
every minute over a window behind it (``RESAMPLE ... FOR``), so late points (a spool drained
after an outage, a recorder that restarts) are still counted, and a 15-minute aggregate is
there, partly filled, within a minute.

Individual wellbeing points go to ``wellbeing``, a policy of their own, so a site can keep
them for less time than the rest. Nothing aggregates them: only team aggregates outlive them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from wallboard.topics import Kind

RAW = "raw"
WELLBEING = "wellbeing"
# Measurements kept under a policy other than ``raw``.
POLICY_OF_MEASUREMENT = {Kind.AGENT_WELLBEING.value: WELLBEING}
CQ_PREFIX = "wb_"  # only queries named so are ours to replace or drop


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each kind of data is kept, in days."""

    raw_days: int = 30
    aggregate_days: int = 730
    wellbeing_days: int = 30  # individual strain: privacy, not disk space, sets this


@dataclass(frozen=True, slots=True)
class Policy:
    """A retention policy: its name, how long it keeps points, and whether it is the default."""

    name: str
    hours: float
    default: bool = False


@dataclass(frozen=True, slots=True)
class Interval:
    """One downsampling step: its ``GROUP BY time`` and the window re-run every minute."""

    policy: str
    group_by: str
    window: str


INTERVALS = (Interval("agg_1m", "1m", "10m"), Interval("agg_15m", "15m", "30m"))


@dataclass(frozen=True, slots=True)
class Aggregate:
    """What one measurement is downsampled to, and by which tags."""

    measurement: str
    select: str
    tags: tuple[str, ...]


_SUMS = ('count("n") AS "calls", mean("wait_s") AS "wait_s_mean", max("wait_s") AS '
         '"wait_s_max", sum("wait_s") AS "wait_s_sum", count("wait_s") AS "waits", '
         'mean("handle_s") AS "handle_s_mean", sum("handle_s") AS "handle_s_sum", '
         'count("handle_s") AS "handles", sum("hold_s") AS "hold_s_sum", '
         'count("hold_s") AS "holds"')
_HELP = ('count("n") AS "updates", count("time_to_acknowledge_s") AS "acks", '
         'count("time_to_resolve_s") AS "resolves", '
         'mean("time_to_acknowledge_s") AS "ack_mean_s", '
         'percentile("time_to_acknowledge_s", 50) AS "ack_p50_s", '
         'percentile("time_to_acknowledge_s", 90) AS "ack_p90_s", '
         'max("time_to_acknowledge_s") AS "ack_max_s", '
         'mean("time_to_resolve_s") AS "resolve_mean_s", '
         'percentile("time_to_resolve_s", 50) AS "resolve_p50_s", '
         'percentile("time_to_resolve_s", 90) AS "resolve_p90_s", '
         'max("level") AS "level_max"')
# Snapshots are gauges and running totals: the mean, the peak and the value at the end.
_SNAPSHOT = "mean(*), max(*), last(*)"

AGGREGATES: tuple[Aggregate, ...] = (
    Aggregate("call", _SUMS, ("site", "queue", "event")),
    Aggregate("agent_state", 'count("n") AS "changes"', ("site", "state", "team")),
    Aggregate("agent_signal", 'count("n") AS "signals"', ("site", "kind")),
    Aggregate("kpi_queue", _SNAPSHOT, ("site", "queue")),
    Aggregate("kpi_floor", _SNAPSHOT, ("site",)),
    Aggregate("help", _HELP, ("site", "state")),
    Aggregate("alert", 'count("n") AS "alerts", max("level") AS "level_max"', ("site", "kind")),
    Aggregate("team_wellbeing",
              'mean("mean_score") AS "mean_score", max("mean_score") AS "mean_score_max", '
              'mean("agents_over_threshold") AS "agents_over_threshold", '
              'mean("agents") AS "agents"', ("site", "team")),
    Aggregate("rejected", 'count("n") AS "rejected"', ("site", "kind")),
)


@dataclass(frozen=True, slots=True)
class ContinuousQuery:
    """A named continuous query; the name ends in a hash of its text, so a change shows."""

    name: str
    text: str


def quote(identifier: str) -> str:
    """An InfluxQL identifier in double quotes."""
    return '"' + identifier.replace("\\", "\\\\").replace('"', '\\"') + '"'


def policies(retention: Retention) -> tuple[Policy, ...]:
    """The retention policies a Wallboard database has."""
    return (Policy(RAW, retention.raw_days * 24, default=True),
            *(Policy(i.policy, retention.aggregate_days * 24) for i in INTERVALS),
            Policy(WELLBEING, retention.wellbeing_days * 24))


def _select_into(database: str, aggregate: Aggregate, interval: Interval, where: str = ""
                 ) -> str:
    """The ``SELECT ... INTO`` that fills one aggregate at one interval."""
    db = quote(database)
    return (f"SELECT {aggregate.select} INTO {db}.{quote(interval.policy)}."
            f"{quote(aggregate.measurement)} FROM {db}.{quote(RAW)}."
            f"{quote(aggregate.measurement)}{where} GROUP BY time({interval.group_by}), "
            + ", ".join(quote(t) for t in aggregate.tags))


def backfill_statements(database: str, start: float, end: float) -> list[str]:
    """What the continuous queries would have written from ``start`` to ``end`` (epoch
    seconds), had they been running: for points stored after the fact, such as an imported
    or simulated history. Running them again rewrites the same points."""
    where = f" WHERE time >= {int(start)}s AND time < {int(end)}s"
    return [_select_into(database, aggregate, interval, where)
            for aggregate in AGGREGATES for interval in INTERVALS]


def continuous_queries(database: str) -> tuple[ContinuousQuery, ...]:
    """Every continuous query, for every aggregate and interval."""
    found = []
    db = quote(database)
    for aggregate in AGGREGATES:
        for interval in INTERVALS:
            body = _select_into(database, aggregate, interval)
            head = f"RESAMPLE EVERY 1m FOR {interval.window}"
            digest = hashlib.sha256(f"{head} {body}".encode()).hexdigest()[:8]
            name = f"{CQ_PREFIX}{aggregate.measurement}_{interval.group_by}_{digest}"
            found.append(ContinuousQuery(
                name, f"CREATE CONTINUOUS QUERY {quote(name)} ON {db} {head} BEGIN {body} END"))
    return tuple(found)


def plan(database: str, retention: Retention, *, database_exists: bool,
         existing_policies: Mapping[str, Policy], existing_queries: Collection[str]
         ) -> list[str]:
    """The statements that bring the database to ``retention`` and the queries; [] if there."""
    db = quote(database)
    statements = [] if database_exists else [f"CREATE DATABASE {db}"]
    for want in policies(retention):
        have = existing_policies.get(want.name)
        default = " DEFAULT" if want.default else ""
        if have is None:
            statements.append(f"CREATE RETENTION POLICY {quote(want.name)} ON {db} "
                              f"DURATION {want.hours}h REPLICATION 1{default}")
        elif have.hours != want.hours or (want.default and not have.default):
            statements.append(f"ALTER RETENTION POLICY {quote(want.name)} ON {db} "
                              f"DURATION {want.hours}h{default}")
    wanted = continuous_queries(database)
    names = {q.name for q in wanted}
    statements += [f"DROP CONTINUOUS QUERY {quote(name)} ON {db}"
                   for name in sorted(existing_queries)
                   if name.startswith(CQ_PREFIX) and name not in names]
    statements += [q.text for q in wanted if q.name not in existing_queries]
    return statements


_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def hours_of(duration: str) -> float:
    """Hours in a duration as InfluxDB shows it (``720h0m0s``); 0 means forever."""
    match = _DURATION.fullmatch(duration)
    if match is None or not duration:
        raise ValueError(f"unexpected retention duration {duration!r}")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours + minutes / 60 + seconds / 3600
