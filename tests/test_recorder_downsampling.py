"""Table-driven tests of retention and downsampling: the plan, the continuous queries, and the
helpers that read what InfluxDB shows."""

import hashlib
import json
import re

import pytest

from tests.test_messages import VALID, topic_of
from wallboard.messages import MODELS, Envelope, decode
from wallboard.recorder.downsampling import (
    AGGREGATES,
    CQ_PREFIX,
    INTERVALS,
    POLICY_OF_MEASUREMENT,
    Policy,
    Retention,
    continuous_queries,
    hours_of,
    plan,
    policies,
    quote,
)
from wallboard.recorder.schema import REJECTED, message_row
from wallboard.topics import Kind

DB = "wallboard"
QUERIES = continuous_queries(DB)
NAMES = [q.name for q in QUERIES]
IN_PLACE = {"raw": Policy("raw", 720, default=True), "agg_1m": Policy("agg_1m", 17520),
            "agg_15m": Policy("agg_15m", 17520), "wellbeing": Policy("wellbeing", 720)}
CALL_1M = next(q for q in QUERIES if q.name.startswith("wb_call_1m_"))

# --- plan -------------------------------------------------------------------------------------

PLANS = [
    # (id, retention, database exists, policies found, queries found, expected statements)
    ("empty-server", Retention(), False, {}, [], [
        'CREATE DATABASE "wallboard"',
        'CREATE RETENTION POLICY "raw" ON "wallboard" DURATION 720h REPLICATION 1 DEFAULT',
        'CREATE RETENTION POLICY "agg_1m" ON "wallboard" DURATION 17520h REPLICATION 1',
        'CREATE RETENTION POLICY "agg_15m" ON "wallboard" DURATION 17520h REPLICATION 1',
        'CREATE RETENTION POLICY "wellbeing" ON "wallboard" DURATION 720h REPLICATION 1',
        *(q.text for q in QUERIES)]),
    ("database-without-policies", Retention(), True, {}, NAMES, [
        'CREATE RETENTION POLICY "raw" ON "wallboard" DURATION 720h REPLICATION 1 DEFAULT',
        'CREATE RETENTION POLICY "agg_1m" ON "wallboard" DURATION 17520h REPLICATION 1',
        'CREATE RETENTION POLICY "agg_15m" ON "wallboard" DURATION 17520h REPLICATION 1',
        'CREATE RETENTION POLICY "wellbeing" ON "wallboard" DURATION 720h REPLICATION 1']),
    ("wellbeing-policy-added-to-an-older-database", Retention(), True,
     {k: v for k, v in IN_PLACE.items() if k != "wellbeing"}, NAMES,
     ['CREATE RETENTION POLICY "wellbeing" ON "wallboard" DURATION 720h REPLICATION 1']),
    ("wellbeing-kept-shorter", Retention(wellbeing_days=7), True, IN_PLACE, NAMES,
     ['ALTER RETENTION POLICY "wellbeing" ON "wallboard" DURATION 168h']),
    ("everything-in-place", Retention(), True, IN_PLACE, NAMES, []),
    ("raw-too-short", Retention(), True, {**IN_PLACE, "raw": Policy("raw", 360, True)}, NAMES,
     ['ALTER RETENTION POLICY "raw" ON "wallboard" DURATION 720h DEFAULT']),
    ("raw-kept-forever", Retention(), True, {**IN_PLACE, "raw": Policy("raw", 0, True)}, NAMES,
     ['ALTER RETENTION POLICY "raw" ON "wallboard" DURATION 720h DEFAULT']),
    ("raw-not-default", Retention(), True, {**IN_PLACE, "raw": Policy("raw", 720)}, NAMES,
     ['ALTER RETENTION POLICY "raw" ON "wallboard" DURATION 720h DEFAULT']),
    ("aggregate-wrong", Retention(), True, {**IN_PLACE, "agg_15m": Policy("agg_15m", 8760)},
     NAMES, ['ALTER RETENTION POLICY "agg_15m" ON "wallboard" DURATION 17520h']),
    ("custom-retention", Retention(7, 365), True, IN_PLACE, NAMES, [
        'ALTER RETENTION POLICY "raw" ON "wallboard" DURATION 168h DEFAULT',
        'ALTER RETENTION POLICY "agg_1m" ON "wallboard" DURATION 8760h',
        'ALTER RETENTION POLICY "agg_15m" ON "wallboard" DURATION 8760h']),
    ("foreign-policy-left-alone", Retention(), True,
     {**IN_PLACE, "autogen": Policy("autogen", 0)}, NAMES, []),
    ("stale-query-of-ours-dropped", Retention(), True, IN_PLACE, [*NAMES, "wb_call_1m_deadbeef"],
     ['DROP CONTINUOUS QUERY "wb_call_1m_deadbeef" ON "wallboard"']),
    ("foreign-query-left-alone", Retention(), True, IN_PLACE, [*NAMES, "my_hourly_rollup"], []),
    ("missing-query-created", Retention(), True, IN_PLACE, NAMES[1:], [QUERIES[0].text]),
    # an edited query: the old one goes before the new one comes
    ("changed-query-replaced", Retention(), True, IN_PLACE,
     [n for n in NAMES if n != CALL_1M.name] + ["wb_call_1m_00000000"],
     ['DROP CONTINUOUS QUERY "wb_call_1m_00000000" ON "wallboard"', CALL_1M.text]),
]


@pytest.mark.parametrize(("retention", "exists", "found_policies", "found_queries", "expected"),
                         [pytest.param(*row[1:], id=row[0]) for row in PLANS])
def test_plan(retention, exists, found_policies, found_queries, expected):
    assert plan(DB, retention, database_exists=exists, existing_policies=found_policies,
                existing_queries=found_queries) == expected


def test_plan_quotes_the_database():
    statements = plan('odd "db"', Retention(), database_exists=False, existing_policies={},
                      existing_queries=())
    assert statements[0] == 'CREATE DATABASE "odd \\"db\\""'
    assert all(' ON "odd \\"db\\""' in s for s in statements[1:])


def test_policies():
    assert policies(Retention()) == tuple(IN_PLACE.values())
    assert policies(Retention(1, 2, 3)) == (Policy("raw", 24, True), Policy("agg_1m", 48),
                                            Policy("agg_15m", 48), Policy("wellbeing", 72))


# --- continuous queries -----------------------------------------------------------------------

def test_one_query_per_aggregate_and_interval_with_unique_names():
    assert len(QUERIES) == len(AGGREGATES) * len(INTERVALS) == len(set(NAMES))


@pytest.mark.parametrize("query", QUERIES, ids=NAMES)
def test_query_name_ends_in_a_hash_of_its_text(query):
    match = re.fullmatch(
        r'CREATE CONTINUOUS QUERY "(?P<name>\w+)" ON "wallboard" (?P<head>RESAMPLE EVERY 1m '
        r'FOR (?P<window>\d+m)) BEGIN (?P<body>SELECT .* INTO "wallboard"\."(?P<policy>\w+)"\.'
        r'"(?P<into>\w+)" FROM "wallboard"\."raw"\."(?P<source>\w+)" GROUP BY '
        r'time\((?P<group>\d+m)\), .*) END', query.text)
    assert match, query.text
    digest = hashlib.sha256(f"{match['head']} {match['body']}".encode()).hexdigest()[:8]
    assert query.name == match["name"] == (
        f"{CQ_PREFIX}{match['into']}_{match['group']}_{digest}")
    assert match["into"] == match["source"]
    assert (match["policy"], match["group"], match["window"]) in {
        (i.policy, i.group_by, i.window) for i in INTERVALS}


def test_query_names_change_with_the_text_but_not_the_retention():
    other = continuous_queries("floor_2")
    assert not set(NAMES) & {q.name for q in other}
    # a retention change alters policies only: the queries stay, and are not re-created
    assert continuous_queries(DB) == QUERIES
    assert plan(DB, Retention(7, 365), database_exists=True, existing_policies=IN_PLACE,
                existing_queries=NAMES)[-1].startswith("ALTER RETENTION POLICY")


def test_nothing_aggregates_a_measurement_kept_in_a_policy_of_its_own():
    # An aggregate would outlive the policy: individual wellbeing must go when it goes.
    assert POLICY_OF_MEASUREMENT == {"agent_wellbeing": "wellbeing"}
    assert not {a.measurement for a in AGGREGATES} & set(POLICY_OF_MEASUREMENT)
    assert not [q.name for q in QUERIES if "agent_wellbeing" in q.text]


def test_no_aggregate_is_kept_per_person():
    # What outlives raw (two years, for reports and Grafana) describes queues, teams and the
    # floor, never one agent or one desk.
    assert all(not {"agent", "desk"} & set(a.tags) for a in AGGREGATES)
    assert all('"agent"' not in q.text and '"desk"' not in q.text for q in QUERIES)


@pytest.mark.parametrize("aggregate", AGGREGATES, ids=[a.measurement for a in AGGREGATES])
def test_aggregates_match_the_storage_schema(aggregate):
    # GROUP BY on a field is an InfluxQL error, and a misspelt field aggregates to nothing.
    if aggregate.measurement == REJECTED:
        tags, fields = {"site", "kind"}, {"n"}
    else:
        kind = Kind(aggregate.measurement)
        payload = json.dumps(VALID[kind]).encode()
        envelope = decode(topic_of(kind), payload, now=VALID[kind]["ts"])
        assert isinstance(envelope, Envelope)
        tags = set(message_row(envelope, payload).tags)
        fields = {*MODELS[kind].model_fields, "n"}
    assert set(aggregate.tags) <= tags
    assert set(re.findall(r'\w+\("(\w+)"', aggregate.select)) <= fields


# --- reading what InfluxDB shows --------------------------------------------------------------

@pytest.mark.parametrize(("duration", "hours"), [
    ("720h0m0s", 720),
    ("17520h0m0s", 17520),
    ("0s", 0),  # InfluxDB shows "keep forever" so
    ("1h30m0s", 1.5),  # not rounded: a policy 30 min off is not the one asked for
    ("1h59m59s", 1 + 3599 / 3600),
    ("24h", 24),
    ("90m", 1.5),
    ("3600s", 1),
])
def test_hours_of(duration, hours):
    assert hours_of(duration) == hours


@pytest.mark.parametrize("duration", ["", "INF", "720", "30d", "1h 0m", "-1h0m0s", "h0m0s",
                                      "0m1h", "720h0m0s\n"])
def test_hours_of_refuses_what_it_cannot_read(duration):
    with pytest.raises(ValueError, match="unexpected retention duration"):
        hours_of(duration)


@pytest.mark.parametrize(("identifier", "quoted"), [
    ("wallboard", '"wallboard"'),
    ("agg_1m", '"agg_1m"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("", '""'),
])
def test_quote(identifier, quoted):
    assert quote(identifier) == quoted
