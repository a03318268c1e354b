"""Table-driven tests of the recorder's storage schema: how a message becomes one point."""

import json
from typing import Any

import pytest

from tests.test_messages import DROP, NOW, TOPIC_IDS, VALID, topic_of, variant, window
from wallboard.errors import BadMessage
from wallboard.messages import MAX_FUTURE_S, Cleared, Envelope, decode
from wallboard.recorder.schema import (
    MAX_CLAIMED_AGE_S,
    REJECTED,
    TAG_FIELDS,
    TEXT_LIMIT,
    UNKNOWN_KIND,
    Row,
    cleared_row,
    message_row,
    point_time_ns,
    rejected_row,
)
from wallboard.topics import Kind

CALL_TOPIC = topic_of(Kind.CALL)
# Ids that are unbounded (one per call or request) and so must never become tags.
UNBOUNDED_IDS = ("call", "request", "by")


def row_from(kind: Kind, data: dict[str, Any], topic: str | None = None) -> Row:
    payload = json.dumps(data).encode("utf-8")
    envelope = decode(topic or topic_of(kind), payload, now=NOW)
    assert isinstance(envelope, Envelope)
    return message_row(envelope, payload)


def row_of(kind: Kind, changes: dict[str, Any] | None = None) -> Row:
    return row_from(kind, variant(kind, changes))


def typed(fields: dict[str, Any]) -> dict[str, tuple[Any, type]]:
    """Values with their types: 3 == 3.0, but InfluxDB keeps one type per field."""
    return {name: (value, type(value)) for name, value in fields.items()}


# --- message_row: every kind ------------------------------------------------------------------

ROWS = [
    # (kind, exact tags, fields; exact except for the snapshots, whose fields are checked in part)
    (Kind.CALL, {"site": "hq", "queue": "sales", "event": "answered", "agent": "a-17"},
     {"call": "c-1001", "wait_s": 12.5, "n": 1}),
    # One of agent and desk is a tag, the other a field: hot-desking multiplies the pairs.
    (Kind.AGENT_STATE, {"site": "hq", "agent": "a-17", "state": "talking", "queue": "sales",
                        "team": "blue"},
     {"since": NOW - 65, "call": "c-1001", "desk": "d-04", "n": 1}),
    (Kind.AGENT_SIGNAL, {"site": "hq", "agent": "a-17", "kind": "irate_caller"},
     {"call": "c-1001", "source": "analytics", "n": 1}),
    (Kind.DESK_STATUS, {"site": "hq", "desk": "d-04"},
     {"online": True, "firmware": "1.4.2", "n": 1}),
    (Kind.DESK_HELP, {"site": "hq", "desk": "d-04", "state": "requested"},
     {"request": "r-77", "agent": "a-17", "n": 1}),
    (Kind.DESK_LIGHT, {"site": "hq", "desk": "d-04"},
     {"red": "off", "amber": "blink", "green": "on", "buzzer": "off", "n": 1}),
    (Kind.DESK_CMD, {"site": "hq", "desk": "d-04", "cmd": "ack"},
     {"request": "r-77", "by": "sup-2", "n": 1}),
    (Kind.KPI_QUEUE, {"site": "hq", "queue": "sales"},
     {"sl_treatment": "count_against", "waiting": 7, "longest_wait_s": 93.5,
      "short_abandon_s": 5.0, "long_holds_count": 1, "long_holds_max_s": 95.0, "n": 1}),
    (Kind.KPI_FLOOR, {"site": "hq"},
     {"queues_count": 3, "agents_busy": 21, "help_open_count": 1, "n": 1}),
    (Kind.ALERT, {"site": "hq", "alert": "sl-sales", "kind": "sl_breach", "queue": "sales"},
     {"level": 2, "text": "Sales service level 61% (target 80%)", "n": 1}),
    (Kind.AGENT_WELLBEING, {"site": "hq", "agent": "a-17"},
     {"score": 72.5, "components_count": 2, "suggestion": "recovery_break",
      "abusive_calls_points": 30.0, "abusive_calls_value": 3.0, "no_break_points": 25.5,
      "no_break_value": 190.0, "reasons": "3 abusive calls in 2 h; no break for 190 min",
      "n": 1}),
    (Kind.TEAM_WELLBEING, {"site": "hq", "team": "blue"},
     {"agents": 9, "mean_score": 41.2, "agents_over_threshold": 2, "n": 1}),
    (Kind.HELP, {"site": "hq", "desk": "d-04", "state": "acknowledged"},
     {"request": "r-77", "agent": "a-17", "by": "sup-2", "requested_at": NOW - 50,
      "acknowledged_at": NOW - 5, "time_to_acknowledge_s": 45.0, "level": 0, "n": 1}),
    (Kind.SERVICE_STATUS, {"site": "hq", "service": "controller"},
     {"online": True, "version": "0.1.0", "n": 1}),
    (Kind.RECORDER_HEALTH, {"site": "hq", "recorder": "main"},
     {"received": 1200, "written": 1150, "spooled": 40, "rejected": 10, "dropped": 0,
      "lag_s": 1.5, "database_up": True, "disk_full": False, "n": 1}),
]
SNAPSHOTS = {Kind.KPI_QUEUE, Kind.KPI_FLOOR}


def test_rows_table_covers_every_kind():
    assert [kind for kind, _, _ in ROWS] == list(Kind)


@pytest.mark.parametrize(("kind", "tags", "fields"), ROWS, ids=[k.value for k, _, _ in ROWS])
def test_message_row(kind, tags, fields):
    row = row_of(kind)
    assert row.measurement == kind.value
    assert row.tags == tags
    assert typed({name: row.fields.get(name) for name in fields}) == typed(fields)
    if kind not in SNAPSHOTS:
        assert set(row.fields) == set(fields)


@pytest.mark.parametrize("kind", list(Kind), ids=[k.value for k in Kind])
def test_tags_and_fields_follow_the_rules(kind):
    data = VALID[kind]
    row = row_of(kind)
    assert row.tags["site"] == "hq"
    assert TOPIC_IDS[kind].items() <= row.tags.items()
    for name in TAG_FIELDS.get(kind, ()):
        if data.get(name) is not None:
            assert row.tags[name] == data[name]
    # InfluxQL cannot tell a tag from a field of the same name apart.
    assert not set(row.tags) & set(row.fields)
    for name in UNBOUNDED_IDS:
        assert name not in row.tags
        if name in data:
            assert row.fields[name] == data[name]
    assert all(isinstance(v, str) and v for v in row.tags.values())
    assert all(type(v) in (bool, int, float, str) for v in row.fields.values())
    assert "ts" not in row.fields
    assert typed({"n": row.fields["n"]}) == typed({"n": 1})


def whole_floats_as_ints(value: Any) -> Any:
    """The payload as a publisher that writes ``3`` for ``3.0`` would send it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: whole_floats_as_ints(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [whole_floats_as_ints(inner) for inner in value]
    return value


@pytest.mark.parametrize("kind", list(Kind), ids=[k.value for k in Kind])
def test_field_types_do_not_depend_on_how_json_wrote_a_number(kind):
    # InfluxDB refuses a point whose field changes type, so 3 and 3.0 must store alike.
    as_ints = whole_floats_as_ints(VALID[kind])
    assert json.dumps(as_ints) != json.dumps(VALID[kind])
    assert typed(row_from(kind, as_ints).fields) == typed(row_of(kind).fields)


FIELDS: list[tuple[str, Kind, dict[str, Any] | None, dict[str, Any], tuple[str, ...]]] = [
    # (id, kind, changes, expected fields, fields that must be absent)
    ("kpi-windows-flattened", Kind.KPI_QUEUE, None,
     {"today_service_level": 0.7284, "today_offered": 412, "today_start": NOW - 8 * 3600,
      "today_sl_threshold_s": 20.0, "sliding_service_level": 0.7692, "sliding_offered": 41},
     ("today", "sliding", "today_name", "sliding_name", "queue")),
    ("kpi-null-rate-left-out", Kind.KPI_QUEUE,
     {"sliding": window("last 30 min", NOW - 1800, service_level=None, asa_s=None)},
     {"sliding_abandon_rate": 0.0725, "today_service_level": 0.7284},
     ("sliding_service_level", "sliding_asa_s")),
    ("long-holds-count-and-longest", Kind.KPI_QUEUE, {"long_holds": [
        {"agent": "a-17", "hold_s": 95.0}, {"agent": "a-3", "hold_s": 130.5}]},
     {"long_holds_count": 2, "long_holds_max_s": 130.5}, ("long_holds",)),
    ("long-hold-int-seconds-stay-float", Kind.KPI_QUEUE, {"long_holds": [
        {"agent": "a-17", "hold_s": 95}]}, {"long_holds_max_s": 95.0}, ()),
    ("no-long-holds", Kind.KPI_QUEUE, {"long_holds": []}, {"long_holds_count": 0},
     ("long_holds_max_s",)),
    ("floor-agents-by-state", Kind.KPI_FLOOR, None,
     {"agents_by_state_available": 3, "agents_by_state_talking": 17,
      "agents_by_state_wrap_up": 3, "agents_by_state_offline": 12}, ("agents_by_state",)),
    ("floor-help-open-summarised", Kind.KPI_FLOOR, None,
     {"help_open_count": 1, "help_open_oldest_s": 74.0, "help_open_max_level": 1},
     ("help_open",)),
    ("floor-help-open-oldest-of-several", Kind.KPI_FLOOR, {"help_open": [
        {"desk": "d-04", "request": "r-77", "state": "requested", "requested_at": NOW - 75,
         "age_s": 74, "level": 0},
        {"desk": "d-09", "request": "r-80", "state": "acknowledged", "requested_at": NOW - 200,
         "age_s": 199.5, "level": 2}]},
     {"help_open_count": 2, "help_open_oldest_s": 199.5, "help_open_max_level": 2}, ()),
    ("floor-no-help-open", Kind.KPI_FLOOR, {"help_open": []}, {"help_open_count": 0},
     ("help_open_oldest_s", "help_open_max_level")),
    ("floor-help-today", Kind.KPI_FLOOR, None,
     {"help_today_requests": 12, "help_today_ack_p50_s": 41.0,
      "help_today_resolve_p90_s": 610.0}, ("help_today",)),
    ("floor-help-today-nulls-left-out", Kind.KPI_FLOOR, {"help_today": {"requests": 0}},
     {"help_today_requests": 0}, ("help_today_ack_p50_s", "help_today_resolve_p90_s")),
    ("floor-queue-list-counted", Kind.KPI_FLOOR, {"queues": []}, {"queues_count": 0},
     ("queues",)),
    ("wellbeing-without-components", Kind.AGENT_WELLBEING,
     {"components": [], "suggestion": DROP}, {"score": 72.5, "components_count": 0},
     ("reasons", "suggestion", "components")),
    ("wellbeing-int-score-stays-float", Kind.AGENT_WELLBEING, {"score": 72},
     {"score": 72.0}, ()),
    ("call-int-wait-stays-float", Kind.CALL, {"wait_s": 3}, {"wait_s": 3.0}, ()),
    ("call-absent-values-left-out", Kind.CALL, {"event": "offered", "wait_s": DROP,
     "agent": DROP}, {"call": "c-1001", "n": 1}, ("wait_s", "agent", "handle_s", "hold_s")),
    ("call-completed", Kind.CALL, {"event": "completed", "handle_s": 300, "hold_s": 40.5},
     {"wait_s": 12.5, "handle_s": 300.0, "hold_s": 40.5}, ("event", "agent")),
    # queue_log cannot know hold: "unknown" is left out as absent, never a string in a
    # numeric field (InfluxDB would refuse the point) and never 0.
    ("call-completed-hold-unknown-left-out", Kind.CALL,
     {"event": "completed", "handle_s": 300, "hold_s": "unknown"}, {"handle_s": 300.0},
     ("hold_s",)),
    ("team-int-mean-stays-float", Kind.TEAM_WELLBEING, {"mean_score": 41},
     {"mean_score": 41.0, "agents": 9}, ()),
    ("desk-offline-is-false-not-0", Kind.DESK_STATUS, {"online": False}, {"online": False}, ()),
    ("alert-request-is-a-field", Kind.ALERT, {"request": "r-77"}, {"request": "r-77"}, ()),
    ("help-times-stay-float", Kind.HELP, {"time_to_acknowledge_s": 45, "level": 1},
     {"time_to_acknowledge_s": 45.0, "level": 1}, ("closed_at", "time_to_resolve_s")),
    # An acknowledged request keeps the level it reached: level is the alert now, gone.
    ("help-highest-level-kept", Kind.HELP, {"max_level": 2, "max_level_at": int(NOW) - 30},
     {"level": 0, "max_level": 2, "max_level_at": NOW - 30}, ()),
    ("help-never-escalated", Kind.HELP, {"max_level": 0}, {"level": 0, "max_level": 0},
     ("max_level_at",)),
    # From a controller older than max_level: unknown, so not stored as 0.
    ("help-highest-level-unknown-left-out", Kind.HELP, None, {"level": 0},
     ("max_level", "max_level_at")),
]


@pytest.mark.parametrize(("kind", "changes", "expected", "absent"),
                         [pytest.param(*row[1:], id=row[0]) for row in FIELDS])
def test_message_fields(kind, changes, expected, absent):
    fields = row_of(kind, changes).fields
    assert typed({name: fields.get(name) for name in expected}) == typed(expected)
    assert not set(absent) & set(fields)


def test_absent_tag_field_is_no_tag():
    row = row_of(Kind.CALL, {"event": "offered", "wait_s": DROP, "agent": DROP})
    assert row.tags == {"site": "hq", "queue": "sales", "event": "offered"}


# --- point time -------------------------------------------------------------------------------

@pytest.mark.parametrize(("ts", "ms"), [
    (NOW, 1_700_000_000_000),
    (NOW - 5.25, 1_699_999_994_750),
    (NOW + 0.0004, 1_700_000_000_000),  # under half a millisecond rounds down
    (NOW + 0.0006, 1_700_000_000_001),  # over half rounds up
    (0.0, 0),
    (NOW + MAX_FUTURE_S, 1_700_086_400_000),
])
def test_point_time_is_ts_to_the_millisecond_plus_a_hash(ts, ms):
    time_ns = point_time_ns(ts, CALL_TOPIC, b"{}")
    assert ms * 1_000_000 <= time_ns < (ms + 1) * 1_000_000
    assert time_ns == point_time_ns(ts, CALL_TOPIC, b"{}")


def test_redelivered_message_lands_on_the_same_point():
    assert row_of(Kind.CALL) == row_of(Kind.CALL)


def test_different_messages_in_one_millisecond_get_different_times():
    rows = [row_of(Kind.CALL, {"call": f"c-{i}"}) for i in range(20)]
    rows.append(row_from(Kind.CALL, VALID[Kind.CALL],
                         topic=CALL_TOPIC.replace("sales", "support")))
    times = [row.time_ns for row in rows]
    assert len(set(times)) == len(times)
    assert {t // 1_000_000 for t in times} == {round((NOW - 5) * 1000)}


# --- cleared alerts ---------------------------------------------------------------------------

def test_cleared_alert_row():
    topic = topic_of(Kind.ALERT)
    cleared = decode(topic, b"", now=NOW)
    assert isinstance(cleared, Cleared)
    row = cleared_row(cleared, NOW)
    assert row == Row("alert", {"site": "hq", "alert": "sl-sales"}, {"cleared": True, "n": 1},
                      point_time_ns(NOW, topic, b""))
    assert row.line() == f"alert,alert=sl-sales,site=hq cleared=true,n=1i {row.time_ns}".encode()


# --- rejected messages ------------------------------------------------------------------------

def bad(topic: str, payload: bytes, root: str = "wallboard") -> BadMessage:
    with pytest.raises(BadMessage) as info:
        decode(topic, payload, now=NOW, root=root)
    return info.value


TAGS = [
    # (id, topic, root, tags)
    ("known-topic", CALL_TOPIC, "wallboard", {"kind": "call", "site": "hq"}),
    ("alert", topic_of(Kind.ALERT), "wallboard", {"kind": "alert", "site": "hq"}),
    ("custom-root", "acme/wb/london-1/kpi/floor", "acme/wb",
     {"kind": "kpi_floor", "site": "london-1"}),
    ("unknown-topic", "wallboard/hq/queue/sales/calls", "wallboard", {"kind": UNKNOWN_KIND}),
    ("other-root", "other/hq/queue/sales/call", "wallboard", {"kind": UNKNOWN_KIND}),
    ("bad-site-id", "wallboard/h q/queue/sales/call", "wallboard", {"kind": UNKNOWN_KIND}),
    ("bad-queue-id", "wallboard/hq/queue/sa+les/call", "wallboard", {"kind": UNKNOWN_KIND}),
]


@pytest.mark.parametrize(("topic", "root", "tags"), [pytest.param(*r[1:], id=r[0]) for r in TAGS])
def test_rejected_tags(topic, root, tags):
    payload = b'{"ts": 1699999995, "event": "sideways"}'
    row = rejected_row(topic, payload, bad(topic, payload, root), NOW, root=root)
    assert row.measurement == REJECTED
    assert row.tags == tags


def test_rejected_fields():
    payload = b'{"ts": 1699999995, "call": "c-1", "event": "sideways"}'
    err = bad(CALL_TOPIC, payload)
    row = rejected_row(CALL_TOPIC, payload, err, NOW)
    assert err.field == "event"
    assert typed(row.fields) == typed({"topic": CALL_TOPIC, "field": "event",
                                       "reason": err.reason, "bytes": len(payload),
                                       "payload": payload.decode(), "n": 1})


CUT = [
    # (id, topic, payload, field, expected value)
    ("long-payload", CALL_TOPIC, b'{"ts": 1, "text": "' + b"x" * 1000 + b'"}', "payload",
     '{"ts": 1, "text": "' + "x" * (TEXT_LIMIT - 19)),
    ("multibyte-payload", CALL_TOPIC, "é".encode() * 500, "payload", "é" * TEXT_LIMIT),
    ("long-topic", "wallboard/hq/" + "q" * 500, b"{}", "topic",
     ("wallboard/hq/" + "q" * 500)[:TEXT_LIMIT]),
    ("newline-in-payload", CALL_TOPIC, b'{"ts": 1,\r\n"x": 1}', "payload",
     '{"ts": 1,\\r\\n"x": 1}'),
    ("line-separator-in-payload", CALL_TOPIC, '{"x": "a\u2028b"}'.encode(), "payload",
     '{"x": "a\\u2028b"}'),
    ("nul-in-payload", CALL_TOPIC, b'{"x": "\x00"}', "payload", '{"x": "\\x00"}'),
    ("newline-in-topic", "wallboard/hq/queue/sa\nles/call", b"{}", "topic",
     "wallboard/hq/queue/sa\\nles/call"),
    ("not-utf8", CALL_TOPIC, b'{"x": "\xff"}', "payload", '{"x": "\ufffd"}'),
]


@pytest.mark.parametrize(("topic", "payload", "field", "expected"),
                         [pytest.param(*r[1:], id=r[0]) for r in CUT])
def test_rejected_copies_are_cut_short_and_one_line(topic, payload, field, expected):
    row = rejected_row(topic, payload, bad(topic, payload), NOW)
    assert row.fields[field] == expected
    assert row.fields["bytes"] == len(payload)
    assert b"\n" not in row.line() and b"\r" not in row.line()


def test_rejected_reason_and_field_are_cut_short():
    err = BadMessage(CALL_TOPIC, "f" * 1000, "r" * 1000)
    fields = rejected_row(CALL_TOPIC, b"{}", err, NOW).fields
    assert (fields["field"], fields["reason"]) == ("f" * TEXT_LIMIT, "r" * 2 * TEXT_LIMIT)


HUGE_INT = "1" + "0" * 400  # a valid JSON number that no float can hold

CLAIMED_TS = [
    # (id, payload, the time the point is filed under: a number, or None for "when received")
    ("plausible-ts", b'{"ts": 1699999995.5, "call": "c-1"}', NOW - 4.5),
    ("int-ts", b'{"ts": 1699999990}', NOW - 10),
    # Older than a week: filed when received, or retention would soon drop the record.
    ("epoch-ts", b'{"ts": 0, "event": "x"}', None),
    ("ts-a-week-old", f'{{"ts": {NOW - MAX_CLAIMED_AGE_S + 1}}}'.encode(),
     NOW - MAX_CLAIMED_AGE_S + 1),
    ("ts-over-a-week-old", f'{{"ts": {NOW - MAX_CLAIMED_AGE_S - 1}}}'.encode(), None),
    ("leading-space", b' {"ts": 1699999990}', NOW - 10),
    ("ts-a-day-ahead", f'{{"ts": {NOW + MAX_FUTURE_S}, "event": "x"}}'.encode(),
     NOW + MAX_FUTURE_S),
    ("ts-past-a-day-ahead", f'{{"ts": {NOW + MAX_FUTURE_S + 1}}}'.encode(), None),
    ("ts-far-future", b'{"ts": 1e300}', None),
    ("ts-infinite", b'{"ts": 1e400}', None),
    ("ts-negative", b'{"ts": -1}', None),
    ("ts-string", b'{"ts": "1699999995"}', None),
    ("ts-bool", b'{"ts": true}', None),
    ("ts-null", b'{"ts": null}', None),
    ("ts-object", b'{"ts": {"s": 1699999995}}', None),
    ("no-ts", b'{"call": "c-1"}', None),
    ("not-json", b"hello", None),
    ("malformed-json", b'{"ts": 1699999995,', None),
    ("json-array", b'[{"ts": 1699999995}]', None),
    ("not-utf8", b'{"ts": 1699999995, "x": "\xff"}', None),
    ("too-deep", b'{"ts": 1699999995, "x": ' + b"[" * 30_000 + b"]" * 30_000 + b"}", None),
]


@pytest.mark.parametrize(("payload", "when"), [pytest.param(*r[1:], id=r[0]) for r in CLAIMED_TS])
def test_rejected_time_is_its_plausible_ts_or_receipt(payload, when):
    err = bad(CALL_TOPIC, payload)
    first = rejected_row(CALL_TOPIC, payload, err, NOW)
    later = rejected_row(CALL_TOPIC, payload, err, NOW + 0.5)  # redelivered
    if when is None:
        # Nothing usable to file it under: the time it arrived, so copies stay apart.
        assert first.time_ns == point_time_ns(NOW, CALL_TOPIC, payload)
        assert later.time_ns == point_time_ns(NOW + 0.5, CALL_TOPIC, payload)
    else:
        assert first.time_ns == point_time_ns(when, CALL_TOPIC, payload)
        assert later.time_ns == first.time_ns  # a redelivered copy overwrites the first


def test_rejected_row_survives_a_ts_too_big_for_a_float():
    # BUG (schema.py, _claimed_ts): math.isfinite() of a JSON int past float range raises
    # OverflowError, so the bad message is not stored and the recorder's fallback, which
    # calls rejected_row again with the same payload, raises too.
    payload = f'{{"ts": {HUGE_INT}}}'.encode()
    err = bad(CALL_TOPIC, payload)
    try:
        row: Row | None = rejected_row(CALL_TOPIC, payload, err, NOW)
        raised = None
    except OverflowError as exc:
        row, raised = None, exc
    assert raised is None, f"rejected_row raised {raised!r} for a 401-digit ts"
    assert row is not None and row.time_ns == point_time_ns(NOW, CALL_TOPIC, payload)


# --- line protocol ----------------------------------------------------------------------------

LINES = [
    ("minimal", Row("call", {"site": "hq"}, {"n": 1}, 5), b"call,site=hq n=1i 5"),
    ("tags-and-fields-sorted", Row("m", {"z": "1", "a": "2"}, {"y": 1, "b": 2}, 7),
     b"m,a=2,z=1 b=2i,y=1i 7"),
    ("tag-value-escaped", Row("m", {"site": "a b,c=d"}, {"n": 1}, 7),
     b"m,site=a\\ b\\,c\\=d n=1i 7"),
    ("string-field-escaped", Row("m", {}, {"text": 'say "hi" \\ ok'}, 7),
     b'm text="say \\"hi\\" \\\\ ok" 7'),
    ("measurement-escaped", Row("a b,c", {}, {"n": 1}, 7), b"a\\ b\\,c n=1i 7"),
    ("field-key-escaped", Row("m", {}, {"my field": 1}, 7), b"m my\\ field=1i 7"),
    ("booleans", Row("m", {}, {"ok": True, "off": False}, 7), b"m off=false,ok=true 7"),
    # no "i" suffix: a whole float is still a float to InfluxDB
    ("floats", Row("m", {}, {"x": 3.0, "y": 12.5, "z": 1699999995.125}, 7),
     b"m x=3,y=12.5,z=1699999995.125 7"),
    ("nanosecond-time-exact", Row("m", {}, {"n": 1}, 1_699_999_995_000_916_383),
     b"m n=1i 1699999995000916383"),
]


@pytest.mark.parametrize(("row", "line"), [pytest.param(*r[1:], id=r[0]) for r in LINES])
def test_line_protocol(row, line):
    assert row.line() == line


def test_message_line():
    row = row_of(Kind.CALL, {"wait_s": 3})
    assert row.line() == (b'call,agent=a-17,event=answered,queue=sales,site=hq '
                          b'call="c-1001",n=1i,wait_s=3 ' + str(row.time_ns).encode())


@pytest.mark.parametrize("kind", list(Kind), ids=[k.value for k in Kind])
def test_every_kind_makes_one_line_ending_in_its_time(kind):
    row = row_of(kind)
    line = row.line().decode()
    assert "\n" not in line
    assert line.startswith(f"{kind.value},")
    assert line.endswith(f" {row.time_ns}")
    assert ",n=1i" in line or " n=1i" in line
