"""Table-driven tests of the report's pure front: dates into a period, and the InfluxQL it
runs for a site and a range."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from wallboard.report import queries as q
from wallboard.report.period import BadPeriod, Period, parse_when, period_of
from wallboard.report.scope import ReportScope

UTC = ZoneInfo("UTC")
LONDON = ZoneInfo("Europe/London")
WEEK = Period(dt.datetime(2026, 11, 16, tzinfo=UTC), dt.datetime(2026, 11, 23, tzinfo=UTC))
SCOPE = ReportScope("hq", "UTC", WEEK)
RANGE = "time >= '2026-11-16T00:00:00Z' AND time < '2026-11-23T00:00:00Z'"

# --- dates ------------------------------------------------------------------------------------

PERIODS = [
    # (id, --from, --to, zone, start, end)
    ("whole-days-inclusive", "2026-11-16", "2026-11-22", UTC,
     dt.datetime(2026, 11, 16, tzinfo=UTC), dt.datetime(2026, 11, 23, tzinfo=UTC)),
    ("one-day", "2026-11-16", "2026-11-16", UTC,
     dt.datetime(2026, 11, 16, tzinfo=UTC), dt.datetime(2026, 11, 17, tzinfo=UTC)),
    ("times-are-exact", "2026-11-16T08:00", "2026-11-16T12:30", UTC,
     dt.datetime(2026, 11, 16, 8, tzinfo=UTC), dt.datetime(2026, 11, 16, 12, 30, tzinfo=UTC)),
    ("site-time-not-utc", "2026-07-06", "2026-07-06", LONDON,
     dt.datetime(2026, 7, 6, tzinfo=LONDON), dt.datetime(2026, 7, 7, tzinfo=LONDON)),
    ("offset-given-is-kept", "2026-11-16T08:00+01:00", "2026-11-17", UTC,
     dt.datetime(2026, 11, 16, 7, tzinfo=UTC), dt.datetime(2026, 11, 18, tzinfo=UTC)),
]


@pytest.mark.parametrize(("first", "last", "tz", "start", "end"),
                         [p[1:] for p in PERIODS], ids=[p[0] for p in PERIODS])
def test_dates_become_a_half_open_period_in_site_time(first, last, tz, start, end):
    period = period_of(parse_when(first), parse_when(last), tz)
    assert (period.start, period.end) == (start, end)
    assert period.start.utcoffset() == start.utcoffset()


def test_a_week_across_a_clock_change_is_seven_days_of_168_hours_less_one():
    period = period_of(parse_when("2026-03-23"), parse_when("2026-03-29"), LONDON)
    assert period.seconds == 7 * 86_400 - 3_600  # the spring-forward Sunday has 23 hours


BAD_RANGES = [
    ("from-after-to", "2026-11-22", "2026-11-16", "--from 2026-11-22 is not before --to"),
    ("same-instant", "2026-11-16T08:00", "2026-11-16T08:00", "is not before"),
]


@pytest.mark.parametrize(("first", "last", "message"), [b[1:] for b in BAD_RANGES],
                         ids=[b[0] for b in BAD_RANGES])
def test_an_empty_range_is_refused_in_one_line(first, last, message):
    with pytest.raises(BadPeriod, match=message) as caught:
        period_of(parse_when(first), parse_when(last), UTC)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("text", ["16/11/2026", "last week", "2026-13-01", ""])
def test_text_that_is_no_date_is_refused(text):
    with pytest.raises(ValueError, match="not a date"):
        parse_when(text)


# --- queries ----------------------------------------------------------------------------------

EXACT = [
    ("offered-per-hour", q.offered_hourly, SCOPE,
     'SELECT sum("calls") AS "offered" FROM "agg_15m"."call" WHERE "site" = \'hq\' AND '
     f"\"event\" = 'offered' AND {RANGE} GROUP BY time(1h) fill(0) tz('UTC')"),
    ("demand-per-interval", q.demand_intervals, SCOPE,
     'SELECT sum("calls") AS "calls", sum("handle_s_sum") AS "handle_s", sum("handles") AS '
     '"handles" FROM "agg_15m"."call" WHERE "site" = \'hq\' AND ("event" = \'offered\' OR '
     f"\"event\" = 'completed') AND {RANGE} GROUP BY time(30m), \"event\" fill(none) "
     "tz('UTC')"),
    ("help-alerts-per-day", q.help_alerts, SCOPE,
     'SELECT sum("alerts") AS "alerts", max("level_max") AS "level_max" FROM "agg_15m"."alert" '
     f"WHERE \"site\" = 'hq' AND \"kind\" = 'help_unacknowledged' AND {RANGE} "
     "GROUP BY time(1d) fill(none) tz('UTC')"),
    ("teams-of-five-or-more", q.team_strain, SCOPE,
     'SELECT mean("mean_score") AS "score", min("agents") AS "agents" FROM '
     f'"agg_15m"."team_wellbeing" WHERE "site" = \'hq\' AND "agents" >= 5 AND {RANGE} '
     "GROUP BY time(1h), \"team\" fill(none) tz('UTC')"),
]


@pytest.mark.parametrize(("build", "scope", "text"), [e[1:] for e in EXACT],
                         ids=[e[0] for e in EXACT])
def test_query_text(build, scope, text):
    assert build(scope).text == text


CONTAINS = [
    # (id, builder, scope, fragments that must appear, fragments that must not)
    ("sl-from-the-controller-s-sliding-window", q.floor_intervals, SCOPE,
     ['last("last_sliding_service_level") AS "service_level"', 'FROM "agg_15m"."kpi_floor"',
      'mean("mean_agents_available") + mean("mean_agents_busy") AS "staffed"',
      "GROUP BY time(30m) fill(none)"], ['"raw"']),
    ("days-end-at-the-site-s-day-start", q.floor_days,
     ReportScope("hq", "Europe/London", WEEK, day_start=dt.time(6, 30)),
     ['last("last_help_today_ack_p90_s") AS "ack_p90_s"',
      "GROUP BY time(1d, 390m) fill(none) tz('Europe/London')"], []),
    ("midnight-days-need-no-offset", q.floor_days, SCOPE, ["GROUP BY time(1d) fill(none)"],
     ["1d,"]),
    ("help-spread-per-state-from-raw", q.help_distribution, SCOPE,
     ['FROM "raw"."help" WHERE "site" = \'hq\' AND "state" = \'acknowledged\'',
      'percentile("time_to_acknowledge_s", 90) AS "p90"',
      '"state" = \'resolved\'', 'max("time_to_resolve_s") AS "p100"', "; SELECT"],
     ["GROUP BY"]),
    ("another-site-quoted", q.offered_hourly, ReportScope("it's", "UTC", WEEK),
     ["\"site\" = 'it\\'s'"], []),
    ("privacy-minimum-from-scope", q.team_strain,
     ReportScope("hq", "UTC", WEEK, min_group=8), ['"agents" >= 8'], ['"agents" >= 5']),
]


@pytest.mark.parametrize(("build", "scope", "present", "absent"), [c[1:] for c in CONTAINS],
                         ids=[c[0] for c in CONTAINS])
def test_query_fragments(build, scope, present, absent):
    text = build(scope).text
    for fragment in present:
        assert fragment in text
    for fragment in absent:
        assert fragment not in text


def test_every_aggregate_query_names_its_policy_and_never_reads_individual_wellbeing():
    for query in q.report_queries(SCOPE, now=WEEK.end.timestamp()):
        for statement in query.text.split("; "):
            assert ' FROM "agg_15m".' in statement or ' FROM "raw"."help"' in statement
        assert "agent_wellbeing" not in query.text
        assert '"wellbeing".' not in query.text


COVERAGE = [
    # (id, days between the range's start and now, raw retention days, distribution queried)
    ("last-week", 14, 30, True),
    ("on-the-edge", 30, 30, True),
    ("older-than-raw", 31, 30, False),
    ("raw-kept-longer", 60, 90, True),
]


@pytest.mark.parametrize(("age_days", "raw_days", "queried"), [c[1:] for c in COVERAGE],
                         ids=[c[0] for c in COVERAGE])
def test_the_help_spread_is_read_from_raw_only_while_raw_holds_the_range(
        age_days, raw_days, queried):
    scope = ReportScope("hq", "UTC", WEEK, raw_retention_days=raw_days)
    now = WEEK.start.timestamp() + age_days * 86_400
    names = [query.name for query in q.report_queries(scope, now)]
    assert (q.HELP_DISTRIBUTION in names) is queried
    assert len(names) == 6 + queried
