"""Table-driven tests of the topic tree: parse, build, subscription and ids."""

from __future__ import annotations

import pytest

from wallboard.errors import BadMessage, one_line
from wallboard.topics import (
    DEFAULT_ROOT,
    SPECS,
    TOPICS,
    Kind,
    Topic,
    build,
    check_id,
    is_id,
    parse,
    subscription,
)

# Ids used to fill every ``{name}`` segment when a test needs a concrete topic.
SAMPLE_IDS = {"queue": "sales", "agent": "a-17", "desk": "d.04", "alert": "sl_breach-sales",
              "team": "Team_1", "service": "controller", "recorder": "r-2"}


def ids_for(kind: Kind) -> dict[str, str]:
    names = [s[1:-1] for s in SPECS[kind].segments if s.startswith("{")]
    return {name: SAMPLE_IDS[name] for name in names}


# --- parse ------------------------------------------------------------------------------------

GOOD = [
    ("wallboard/hq/queue/sales/call", DEFAULT_ROOT, Kind.CALL, "hq", {"queue": "sales"}),
    ("wallboard/hq/agent/a-17/state", DEFAULT_ROOT, Kind.AGENT_STATE, "hq", {"agent": "a-17"}),
    ("wallboard/hq/agent/a-17/signal", DEFAULT_ROOT, Kind.AGENT_SIGNAL, "hq", {"agent": "a-17"}),
    ("wallboard/hq/agent/a-17/wellbeing", DEFAULT_ROOT, Kind.AGENT_WELLBEING, "hq",
     {"agent": "a-17"}),
    ("wallboard/hq/desk/d.04/status", DEFAULT_ROOT, Kind.DESK_STATUS, "hq", {"desk": "d.04"}),
    ("wallboard/hq/desk/d.04/help", DEFAULT_ROOT, Kind.DESK_HELP, "hq", {"desk": "d.04"}),
    ("wallboard/hq/desk/d.04/light", DEFAULT_ROOT, Kind.DESK_LIGHT, "hq", {"desk": "d.04"}),
    ("wallboard/hq/desk/d.04/cmd", DEFAULT_ROOT, Kind.DESK_CMD, "hq", {"desk": "d.04"}),
    ("wallboard/hq/kpi/queue/sales", DEFAULT_ROOT, Kind.KPI_QUEUE, "hq", {"queue": "sales"}),
    ("wallboard/hq/kpi/floor", DEFAULT_ROOT, Kind.KPI_FLOOR, "hq", {}),
    ("wallboard/hq/alert/sl_breach-sales", DEFAULT_ROOT, Kind.ALERT, "hq",
     {"alert": "sl_breach-sales"}),
    ("wallboard/hq/team/Team_1/wellbeing", DEFAULT_ROOT, Kind.TEAM_WELLBEING, "hq",
     {"team": "Team_1"}),
    ("wallboard/hq/service/recorder/r-2", DEFAULT_ROOT, Kind.RECORDER_HEALTH, "hq",
     {"recorder": "r-2"}),
    ("wallboard/hq/service/recorder-r-2/status", DEFAULT_ROOT, Kind.SERVICE_STATUS, "hq",
     {"service": "recorder-r-2"}),
    # the one overlap: a service named "recorder" wins, so no recorder may be named "status"
    ("wallboard/hq/service/recorder/status", DEFAULT_ROOT, Kind.SERVICE_STATUS, "hq",
     {"service": "recorder"}),
    # ids that look like pattern words are still ids
    ("wallboard/hq/queue/call/call", DEFAULT_ROOT, Kind.CALL, "hq", {"queue": "call"}),
    ("wallboard/kpi/kpi/queue/floor", DEFAULT_ROOT, Kind.KPI_QUEUE, "kpi", {"queue": "floor"}),
    # 64 characters is the longest id
    ("wallboard/" + "s" * 64 + "/queue/" + "q" * 64 + "/call", DEFAULT_ROOT, Kind.CALL,
     "s" * 64, {"queue": "q" * 64}),
    # custom roots, including one of two levels
    ("acme/wb/london-1/queue/sales/call", "acme/wb", Kind.CALL, "london-1", {"queue": "sales"}),
    ("acme/wb/london-1/kpi/floor", "acme/wb", Kind.KPI_FLOOR, "london-1", {}),
    ("calls/hq/alert/a1", "calls", Kind.ALERT, "hq", {"alert": "a1"}),
]


@pytest.mark.parametrize(("topic", "root", "kind", "site", "ids"), GOOD,
                         ids=[f"{row[1]}:{row[2].value}:{row[0][:40]}" for row in GOOD])
def test_parse_good(topic, root, kind, site, ids):
    parsed = parse(topic, root=root)
    assert parsed.root == root
    assert parsed.kind is kind
    assert parsed.site == site
    assert dict(parsed.ids) == ids
    for name, value in ids.items():
        assert parsed.id(name) == value
    assert str(parsed) == topic


BAD = [
    # (topic, root, field, reason fragment)
    ("wallboard", DEFAULT_ROOT, "topic", "not under the topic root"),
    ("wallboard/", DEFAULT_ROOT, "topic", "no site and topic after the root"),
    ("wallboard/hq", DEFAULT_ROOT, "topic", "no site and topic after the root"),
    ("wallboard/hq/", DEFAULT_ROOT, "topic", "unknown topic"),
    ("wallboard/hq/kpi", DEFAULT_ROOT, "topic", "unknown topic"),
    ("wallboard/hq/queue/sales", DEFAULT_ROOT, "topic", "unknown topic"),
    ("wallboard/hq/queue/sales/calls", DEFAULT_ROOT, "topic", "unknown topic"),
    ("wallboard/hq/queue/sales/call/extra", DEFAULT_ROOT, "topic", "unknown topic"),
    ("wallboard/hq/queue/sales/call/", DEFAULT_ROOT, "topic", "unknown topic"),
    ("wallboard/hq/Queue/sales/call", DEFAULT_ROOT, "topic", "unknown topic"),
    ("wallboard/hq/kpi/floor/x", DEFAULT_ROOT, "topic", "unknown topic"),
    ("/wallboard/hq/kpi/floor", DEFAULT_ROOT, "topic", "not under the topic root"),
    ("Wallboard/hq/kpi/floor", DEFAULT_ROOT, "topic", "not under the topic root"),
    ("wallboardx/hq/kpi/floor", DEFAULT_ROOT, "topic", "not under the topic root"),
    ("", DEFAULT_ROOT, "topic", "not under the topic root"),
    # root mismatch, both ways, with a two-level root
    ("wallboard/hq/kpi/floor", "acme/wb", "topic", "not under the topic root 'acme/wb'"),
    ("acme/wb/hq/kpi/floor", DEFAULT_ROOT, "topic", "not under the topic root 'wallboard'"),
    ("acme/hq/kpi/floor", "acme/wb", "topic", "not under the topic root"),
    ("acme/wbx/hq/kpi/floor", "acme/wb", "topic", "not under the topic root"),
    # bad ids in the topic
    ("wallboard/+/kpi/floor", DEFAULT_ROOT, "site", "invalid id '+'"),
    ("wallboard/#", DEFAULT_ROOT, "topic", "no site and topic after the root"),
    ("wallboard/h q/kpi/floor", DEFAULT_ROOT, "site", "invalid id"),
    ("wallboard//kpi/floor", DEFAULT_ROOT, "site", "invalid id ''"),
    ("wallboard/hq/queue/+/call", DEFAULT_ROOT, "queue", "invalid id '+'"),
    ("wallboard/hq/queue/#/call", DEFAULT_ROOT, "queue", "invalid id '#'"),
    ("wallboard/hq/queue//call", DEFAULT_ROOT, "queue", "invalid id ''"),
    ("wallboard/hq/queue/sa les/call", DEFAULT_ROOT, "queue", "invalid id 'sa les'"),
    ("wallboard/hq/queue/-sales/call", DEFAULT_ROOT, "queue", "invalid id '-sales'"),
    ("wallboard/hq/queue/" + "q" * 65 + "/call", DEFAULT_ROOT, "queue", "invalid id"),
    ("wallboard/hq/agent/a\u00e9/state", DEFAULT_ROOT, "agent", "invalid id"),
    ("wallboard/hq/alert/a\x00", DEFAULT_ROOT, "alert", "invalid id"),
]


@pytest.mark.parametrize(("topic", "root", "field", "reason"), BAD,
                         ids=[f"{row[1]}:{row[0][:40]!r}" for row in BAD])
def test_parse_bad(topic, root, field, reason):
    with pytest.raises(BadMessage) as info:
        parse(topic, root=root)
    assert info.value.field == field
    assert reason in info.value.reason
    assert str(info.value) == f"{info.value.topic}: {field}: {info.value.reason}"
    assert one_line(topic).startswith(info.value.topic)


def test_parse_error_truncates_a_huge_topic():
    topic = "wallboard/hq/" + "x" * 10_000
    with pytest.raises(BadMessage) as info:
        parse(topic)
    assert len(str(info.value)) < 400


# --- build ------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", TOPICS, ids=[spec.kind.value for spec in TOPICS])
@pytest.mark.parametrize("root", [DEFAULT_ROOT, "acme/wb"])
def test_build_then_parse_round_trip(spec, root):
    ids = ids_for(spec.kind)
    topic = build(spec.kind, root=root, site="hq", **ids)
    assert topic == "/".join([root, "hq", spec.pattern.format(**ids)])
    parsed = parse(topic, root=root)
    assert parsed == Topic(root=root, site="hq", kind=spec.kind, ids=tuple(ids.items()))


BUILD_BAD = [
    # (kind, site, ids, field)
    (Kind.CALL, "hq", {}, "queue"),
    (Kind.CALL, "hq", {"queue": "sa/les"}, "queue"),
    (Kind.CALL, "hq", {"queue": "+"}, "queue"),
    (Kind.CALL, "hq", {"queue": "#"}, "queue"),
    (Kind.CALL, "hq", {"queue": "a b"}, "queue"),
    (Kind.CALL, "hq", {"queue": ""}, "queue"),
    (Kind.CALL, "hq", {"queue": "q\n"}, "queue"),
    (Kind.CALL, "hq", {"queue": "q" * 65}, "queue"),
    (Kind.DESK_CMD, "hq", {"agent": "a1"}, "desk"),
    (Kind.KPI_FLOOR, "+", {}, "site"),
    (Kind.KPI_FLOOR, "h/q", {}, "site"),
    (Kind.ALERT, "", {"alert": "a1"}, "site"),
]


@pytest.mark.parametrize(("kind", "site", "ids", "field"), BUILD_BAD,
                         ids=[f"{row[0].value}-{row[1]!r}-{row[2]!r}" for row in BUILD_BAD])
def test_build_refuses_bad_ids(kind, site, ids, field):
    with pytest.raises(BadMessage) as info:
        build(kind, site=site, **ids)
    assert info.value.field == field


def test_build_ignores_ids_the_pattern_does_not_name():
    assert build(Kind.KPI_FLOOR, site="hq", queue="sales") == "wallboard/hq/kpi/floor"


# --- subscription -----------------------------------------------------------------------------

SUBSCRIPTIONS = [
    (Kind.CALL, DEFAULT_ROOT, "+", "wallboard/+/queue/+/call"),
    (Kind.AGENT_STATE, DEFAULT_ROOT, "+", "wallboard/+/agent/+/state"),
    (Kind.AGENT_SIGNAL, DEFAULT_ROOT, "hq", "wallboard/hq/agent/+/signal"),
    (Kind.DESK_STATUS, DEFAULT_ROOT, "+", "wallboard/+/desk/+/status"),
    (Kind.DESK_HELP, DEFAULT_ROOT, "+", "wallboard/+/desk/+/help"),
    (Kind.DESK_LIGHT, DEFAULT_ROOT, "+", "wallboard/+/desk/+/light"),
    (Kind.DESK_CMD, DEFAULT_ROOT, "hq", "wallboard/hq/desk/+/cmd"),
    (Kind.KPI_QUEUE, DEFAULT_ROOT, "+", "wallboard/+/kpi/queue/+"),
    (Kind.KPI_FLOOR, DEFAULT_ROOT, "hq", "wallboard/hq/kpi/floor"),
    (Kind.ALERT, DEFAULT_ROOT, "+", "wallboard/+/alert/+"),
    (Kind.AGENT_WELLBEING, DEFAULT_ROOT, "+", "wallboard/+/agent/+/wellbeing"),
    (Kind.TEAM_WELLBEING, DEFAULT_ROOT, "+", "wallboard/+/team/+/wellbeing"),
    (Kind.CALL, "acme/wb", "+", "acme/wb/+/queue/+/call"),
    (Kind.KPI_FLOOR, "acme/wb", "london-1", "acme/wb/london-1/kpi/floor"),
]


@pytest.mark.parametrize(("kind", "root", "site", "expected"), SUBSCRIPTIONS,
                         ids=[f"{row[1]}:{row[2]}:{row[0].value}" for row in SUBSCRIPTIONS])
def test_subscription(kind, root, site, expected):
    assert subscription(kind, root=root, site=site) == expected


def test_every_kind_has_one_spec_and_a_distinct_pattern():
    assert [spec.kind for spec in TOPICS] == list(Kind)
    assert len({spec.pattern for spec in TOPICS}) == len(TOPICS)
    assert all(spec.qos in (0, 1, 2) for spec in TOPICS)


def _matches(filter_: str, topic: str) -> bool:
    """MQTT filter matching with ``+`` only (what ``subscription`` produces)."""
    f_parts, t_parts = filter_.split("/"), topic.split("/")
    return len(f_parts) == len(t_parts) and all(
        f == "+" or f == t for f, t in zip(f_parts, t_parts, strict=True))


@pytest.mark.parametrize("kind", list(Kind), ids=[k.value for k in Kind])
def test_subscription_matches_exactly_its_own_kind(kind):
    filter_ = subscription(kind)
    for spec in TOPICS:
        topic = build(spec.kind, site="hq", **ids_for(spec.kind))
        # a topic of another kind may share the shape only if its kind is the same
        assert _matches(filter_, topic) == (spec.kind is kind), (filter_, topic)


# --- ids --------------------------------------------------------------------------------------

IDS = [
    ("a", True), ("0", True), ("A_b.c-9", True), ("a" * 64, True),
    ("a" * 65, False), ("", False), ("_a", False), (".a", False), ("-a", False),
    ("a+b", False), ("a#b", False), ("a/b", False), ("a b", False), ("a\n", False),
    ("a\t", False), ("\u00e9", False), ("a\u200b", False), ("+", False), ("#", False),
]


@pytest.mark.parametrize(("value", "ok"), IDS, ids=[repr(v)[:30] for v, _ in IDS])
def test_is_id(value, ok):
    assert is_id(value) is ok
    if ok:
        assert check_id("t", "f", value) == value
    else:
        with pytest.raises(BadMessage) as info:
            check_id("t", "f", value)
        assert (info.value.topic, info.value.field) == ("t", "f")
        assert "\n" not in str(info.value)
