"""The simulated week the manager-facing tests read: a real controller's outputs as well as
the simulator's inputs, stored as the recorder stores them, with the aggregates filled."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.history import SimulatedWeek
from wallboard.recorder.downsampling import backfill_statements, continuous_queries
from wallboard.services.history import DAY


def one(week: SimulatedWeek, query: str) -> list[list[Any]]:
    result = week.influxd.query(query, db=week.db)["results"][0]
    return [row for series in result.get("series", []) for row in series["values"]]


def test_the_week_holds_inputs_and_the_controller_s_outputs(simulated_week):
    measurements = {row[0] for row in one(simulated_week, "SHOW MEASUREMENTS")}
    assert {"call", "agent_state", "agent_signal", "desk_help", "kpi_queue", "kpi_floor",
            "help", "alert", "team_wellbeing", "agent_wellbeing"} <= measurements


def test_a_floor_snapshot_a_minute_all_week(simulated_week):
    (row,) = one(simulated_week, 'SELECT count("n") FROM "raw"."kpi_floor"')
    assert row[1] == 7 * DAY / 60


def test_the_aggregates_agree_with_the_raw_points(simulated_week):
    where = f"WHERE \"event\" = 'offered' AND time >= {int(simulated_week.start)}s"
    (raw,) = one(simulated_week, f'SELECT count("n") FROM "raw"."call" {where}')
    for policy in ("agg_1m", "agg_15m"):
        (agg,) = one(simulated_week, f'SELECT sum("calls") FROM "{policy}"."call" {where}')
        assert agg[1] == raw[1] > 1_000, policy
    # Mondays are the busiest days, and the Monday morning peak shows in the aggregates.
    hours = one(simulated_week, f'SELECT sum("calls") FROM "agg_15m"."call" {where} AND '
                                f'time < {int(simulated_week.end)}s GROUP BY time(1h) fill(0)')
    busiest = max(hours, key=lambda row: row[1])
    when = dt.datetime.fromisoformat(busiest[0].replace("Z", "+00:00"))
    assert when.weekday() == 0 and 8 <= when.hour < 13, when  # a Monday morning


def test_team_aggregates_only_for_groups_of_at_least_five(simulated_week):
    rows = one(simulated_week, 'SELECT "agents" FROM "raw"."team_wellbeing" '
                               'WHERE "agents" > 0')
    assert rows and min(row[1] for row in rows) >= 5


def test_individual_wellbeing_stays_in_its_own_policy(simulated_week):
    assert one(simulated_week, 'SELECT count("n") FROM "raw"."agent_wellbeing"') == []
    (row,) = one(simulated_week, 'SELECT count("n") FROM "wellbeing"."agent_wellbeing"')
    assert row[1] > 0


def test_backfill_is_the_continuous_queries_over_a_range():
    statements = backfill_statements("wallboard", 100, 200)
    assert len(statements) == len(continuous_queries("wallboard"))
    for statement, query in zip(statements, continuous_queries("wallboard"), strict=True):
        body = query.text.split(" BEGIN ", 1)[1].removesuffix(" END")
        head, tail = body.split(" GROUP BY ", 1)
        assert statement == f"{head} WHERE time >= 100s AND time < 200s GROUP BY {tail}"
