"""Table-driven tests of ``decode``: the MQTT payload contract at the boundary."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from wallboard.errors import BadMessage
from wallboard.messages import (
    MAX_FUTURE_S,
    MAX_PAYLOAD_BYTES,
    MODELS,
    AgentWellbeing,
    CallEvent,
    Cleared,
    Envelope,
    FloorKpi,
    QueueKpi,
    decode,
    encode,
)
from wallboard.topics import DEFAULT_ROOT, Kind, build

NOW = 1_700_000_000.0
SITE = "hq"
DROP = object()  # marks a key to remove in ``variant``

TOPIC_IDS: dict[Kind, dict[str, str]] = {
    Kind.CALL: {"queue": "sales"},
    Kind.AGENT_STATE: {"agent": "a-17"},
    Kind.AGENT_SIGNAL: {"agent": "a-17"},
    Kind.DESK_STATUS: {"desk": "d-04"},
    Kind.DESK_HELP: {"desk": "d-04"},
    Kind.DESK_LIGHT: {"desk": "d-04"},
    Kind.DESK_CMD: {"desk": "d-04"},
    Kind.KPI_QUEUE: {"queue": "sales"},
    Kind.KPI_FLOOR: {},
    Kind.ALERT: {"alert": "sl-sales"},
    Kind.AGENT_WELLBEING: {"agent": "a-17"},
    Kind.TEAM_WELLBEING: {"team": "blue"},
    Kind.HELP: {"desk": "d-04"},
    Kind.SERVICE_STATUS: {"service": "controller"},
    Kind.RECORDER_HEALTH: {"recorder": "main"},
}


def topic_of(kind: Kind, root: str = DEFAULT_ROOT) -> str:
    return build(kind, root=root, site=SITE, **TOPIC_IDS[kind])


def window(name: str, start: float, **changes: Any) -> dict[str, Any]:
    """A realistic, internally consistent KPI window."""
    data: dict[str, Any] = {
        "name": name,
        "start": start,
        "end": NOW - 1,
        "offered": 412,
        "answered": 371,
        "abandoned": 38,
        "short_abandoned": 9,
        "answered_in_sl": 298,
        "abandoned_in_sl": 11,
        "completed": 365,
        "sl_threshold_s": 20,
        "service_level": 0.7284,
        "asa_s": 17.4,
        "abandon_rate": 0.0725,
        "aht_s": 264.8,
        "occupancy": 0.83,
    }
    data.update(changes)
    return data


def snapshot(**changes: Any) -> dict[str, Any]:
    """The fields every KPI snapshot shares."""
    data: dict[str, Any] = {
        "ts": NOW - 1,
        "sl_treatment": "count_against",
        "short_abandon_s": 5,
        "waiting": 7,
        "longest_wait_s": 93.5,
        "agents_available": 3,
        "agents_busy": 21,
        "agents_on_break": 4,
        "agents_logged_in": 28,
        "today": window("today", NOW - 8 * 3600),
        "sliding": window("last 30 min", NOW - 1800, offered=41, answered=37, abandoned=3,
                          short_abandoned=1, answered_in_sl=30, abandoned_in_sl=1,
                          completed=36, service_level=0.7692, abandon_rate=0.0488),
    }
    data.update(changes)
    return data


VALID: dict[Kind, dict[str, Any]] = {
    Kind.CALL: {"ts": NOW - 5, "call": "c-1001", "event": "answered", "wait_s": 12.5,
                "agent": "a-17"},
    Kind.AGENT_STATE: {"ts": NOW - 5, "state": "talking", "since": NOW - 65, "desk": "d-04",
                       "queue": "sales", "call": "c-1001", "team": "blue"},
    Kind.AGENT_SIGNAL: {"ts": NOW - 5, "kind": "irate_caller", "call": "c-1001",
                        "source": "analytics"},
    Kind.DESK_STATUS: {"ts": NOW - 5, "online": True, "firmware": "1.4.2"},
    Kind.DESK_HELP: {"ts": NOW - 5, "request": "r-77", "state": "requested", "agent": "a-17"},
    Kind.DESK_LIGHT: {"ts": NOW - 5, "red": "off", "amber": "blink", "green": "on",
                      "buzzer": "off"},
    Kind.DESK_CMD: {"ts": NOW - 5, "cmd": "ack", "request": "r-77", "by": "sup-2"},
    Kind.KPI_QUEUE: snapshot(queue="sales", long_holds=[
        {"agent": "a-17", "desk": "d-04", "queue": "sales", "hold_s": 95.0}]),
    Kind.KPI_FLOOR: snapshot(
        queues=["sales", "support", "billing"],
        agents_by_state={"available": 3, "talking": 17, "hold": 1, "wrap_up": 3, "break": 4,
                         "offline": 12},
        long_holds=[{"agent": "a-17", "desk": "d-04", "queue": "sales", "hold_s": 95.0}],
        help_open=[{"desk": "d-04", "request": "r-77", "state": "requested", "agent": "a-17",
                    "requested_at": NOW - 75, "age_s": 74.0, "level": 1}],
        help_today={"requests": 12, "ack_p50_s": 41.0, "ack_p90_s": 118.0,
                    "resolve_p50_s": 260.0, "resolve_p90_s": 610.0}),
    Kind.ALERT: {"ts": NOW - 5, "level": 2, "kind": "sl_breach", "text":
                 "Sales service level 61% (target 80%)", "queue": "sales"},
    Kind.AGENT_WELLBEING: {"ts": NOW - 5, "score": 72.5, "components": [
        {"name": "abusive_calls", "value": 3, "points": 30, "reason": "3 abusive calls in 2 h"},
        {"name": "no_break", "value": 190, "points": 25.5, "reason": "no break for 190 min"},
    ], "suggestion": "recovery_break"},
    Kind.TEAM_WELLBEING: {"ts": NOW - 5, "agents": 9, "mean_score": 41.2,
                          "agents_over_threshold": 2},
    Kind.HELP: {"ts": NOW - 5, "request": "r-77", "state": "acknowledged", "agent": "a-17",
                "by": "sup-2", "requested_at": NOW - 50, "acknowledged_at": NOW - 5,
                "time_to_acknowledge_s": 45.0, "level": 0},
    Kind.SERVICE_STATUS: {"ts": NOW - 5, "online": True, "version": "0.1.0"},
    Kind.RECORDER_HEALTH: {"ts": NOW - 5, "received": 1200, "written": 1150, "spooled": 40,
                           "rejected": 10, "dropped": 0, "lag_s": 1.5, "database_up": True},
}


def variant(kind: Kind, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A deep copy of the valid payload of ``kind`` with dotted-path ``changes`` applied."""
    data = copy.deepcopy(VALID[kind])
    for path, value in (changes or {}).items():
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if value is DROP:
            del target[last]
        else:
            target[last] = value
    return data


def raw(kind: Kind, changes: dict[str, Any] | None = None) -> bytes:
    return json.dumps(variant(kind, changes)).encode("utf-8")


def assert_bad(topic: str, payload: bytes, field: str, reason: str, *, root: str = DEFAULT_ROOT,
               now: float = NOW) -> BadMessage:
    with pytest.raises(BadMessage) as info:
        decode(topic, payload, now=now, root=root)
    err = info.value
    text = str(err)
    assert err.field == field, text
    assert reason in err.reason, text
    assert len(text.splitlines()) == 1 and "\n" not in text and "\r" not in text, text
    assert text == f"{err.topic}: {field}: {err.reason}"
    assert text.startswith(f"{topic}: ")
    return err


# --- good messages ----------------------------------------------------------------------------

def _good(kind: Kind, changes: dict[str, Any] | None, expected: dict[str, Any], id: str) -> Any:
    return pytest.param(kind, variant(kind, changes), expected, id=id)


GOOD = [
    _good(Kind.CALL, {"event": "offered", "wait_s": DROP, "agent": DROP},
          {"call": "c-1001", "event": "offered", "wait_s": None, "agent": None}, "call-offered"),
    _good(Kind.CALL, None, {"event": "answered", "wait_s": 12.5, "agent": "a-17"},
          "call-answered"),
    _good(Kind.CALL, {"event": "abandoned", "agent": DROP, "wait_s": 31},
          {"event": "abandoned", "wait_s": 31.0, "agent": None}, "call-abandoned"),
    _good(Kind.CALL, {"event": "completed", "wait_s": DROP, "handle_s": 312.0, "hold_s": 40},
          {"event": "completed", "agent": "a-17", "handle_s": 312.0, "hold_s": 40.0},
          "call-completed"),
    _good(Kind.CALL, {"event": "completed", "handle_s": 60, "hold_s": 60},
          {"handle_s": 60.0, "hold_s": 60.0}, "call-completed-all-hold"),
    # a source that cannot know hold (Asterisk's queue_log) says so rather than sending 0
    _good(Kind.CALL, {"event": "completed", "handle_s": 312.0, "hold_s": "unknown"},
          {"handle_s": 312.0, "hold_s": "unknown"}, "call-completed-hold-unknown"),
    _good(Kind.CALL, {"event": "completed", "handle_s": 0, "hold_s": "unknown"},
          {"handle_s": 0.0, "hold_s": "unknown"}, "call-completed-zero-handle-hold-unknown"),
    _good(Kind.CALL, {"event": "answered", "wait_s": 0, "ts": 0},
          {"wait_s": 0.0, "ts": 0.0}, "call-zero-wait-and-epoch-ts"),
    _good(Kind.CALL, {"event": "offered", "wait_s": None, "agent": None, "hold_s": None},
          {"wait_s": None, "agent": None, "hold_s": None}, "call-explicit-nulls"),
    _good(Kind.CALL, {"ts": NOW + MAX_FUTURE_S}, {"ts": NOW + MAX_FUTURE_S},
          "call-ts-exactly-a-day-ahead"),
    _good(Kind.CALL, {"ts": NOW + 3600.5}, {"ts": NOW + 3600.5}, "call-ts-an-hour-ahead"),
    _good(Kind.CALL, {"call": "c" * 64, "agent": "A.b_c-9"}, {"call": "c" * 64,
          "agent": "A.b_c-9"}, "call-64-char-id"),
    _good(Kind.AGENT_STATE, None, {"state": "talking", "since": NOW - 65, "desk": "d-04",
          "queue": "sales", "call": "c-1001", "team": "blue", "reason": None},
          "agent-state-talking"),
    _good(Kind.AGENT_STATE, {"state": "break", "since": NOW - 5, "reason": "Lunch (paid)",
          "call": DROP, "queue": DROP}, {"state": "break", "since": NOW - 5,
          "reason": "Lunch (paid)", "call": None}, "agent-state-break-since-equals-ts"),
    _good(Kind.AGENT_STATE, {"state": "offline", "desk": DROP, "queue": DROP, "call": DROP,
          "team": DROP}, {"state": "offline", "desk": None, "team": None},
          "agent-state-offline-minimal"),
    _good(Kind.AGENT_SIGNAL, None, {"kind": "irate_caller", "call": "c-1001",
          "source": "analytics"}, "agent-signal-irate"),
    _good(Kind.AGENT_SIGNAL, {"kind": "compliment", "call": DROP, "source": DROP},
          {"kind": "compliment", "call": None, "source": None}, "agent-signal-compliment"),
    _good(Kind.DESK_STATUS, None, {"online": True, "firmware": "1.4.2"}, "desk-status-online"),
    _good(Kind.DESK_STATUS, {"online": False, "firmware": DROP},
          {"online": False, "firmware": None}, "desk-status-last-will"),
    _good(Kind.DESK_HELP, None, {"request": "r-77", "state": "requested", "agent": "a-17",
          "by": None}, "desk-help-requested"),
    _good(Kind.DESK_HELP, {"state": "acknowledged", "by": "sup-2"},
          {"state": "acknowledged", "by": "sup-2"}, "desk-help-acknowledged"),
    _good(Kind.DESK_LIGHT, None, {"red": "off", "amber": "blink", "green": "on",
          "buzzer": "off"}, "desk-light"),
    _good(Kind.DESK_LIGHT, {"red": "fast", "amber": "off", "green": "off", "buzzer": "on"},
          {"red": "fast", "buzzer": "on"}, "desk-light-alarm"),
    _good(Kind.DESK_CMD, None, {"cmd": "ack", "request": "r-77", "by": "sup-2"}, "desk-cmd-ack"),
    _good(Kind.DESK_CMD, {"cmd": "resolve"}, {"cmd": "resolve", "request": "r-77"},
          "desk-cmd-resolve"),
    _good(Kind.DESK_CMD, {"cmd": "nudge", "request": DROP, "pattern": "slow-amber"},
          {"cmd": "nudge", "request": None, "pattern": "slow-amber"}, "desk-cmd-nudge"),
    _good(Kind.DESK_CMD, {"cmd": "test", "request": DROP, "by": DROP},
          {"cmd": "test", "request": None}, "desk-cmd-test"),
    _good(Kind.KPI_QUEUE, None, {"queue": "sales", "sl_treatment": "count_against",
          "short_abandon_s": 5.0, "waiting": 7, "longest_wait_s": 93.5, "agents_logged_in": 28},
          "kpi-queue"),
    _good(Kind.KPI_QUEUE, {"sl_treatment": "ignore", "sliding": window(
          "last 30 min", NOW - 1800, offered=0, answered=0, abandoned=0, short_abandoned=0,
          answered_in_sl=0, abandoned_in_sl=0, completed=0, service_level=None, asa_s=None,
          abandon_rate=None, aht_s=None, occupancy=None)},
          {"sl_treatment": "ignore"}, "kpi-queue-empty-sliding-window"),
    _good(Kind.KPI_FLOOR, None, {"queues": ["sales", "support", "billing"],
          "sl_treatment": "count_against", "agents_busy": 21}, "kpi-floor"),
    _good(Kind.KPI_FLOOR, {"sl_treatment": "count_in_favour", "queues": [],
          "agents_by_state": {}}, {"queues": [], "agents_by_state": {}},
          "kpi-floor-empty-floor"),
    _good(Kind.KPI_FLOOR, {"waiting": 0, "longest_wait_s": 0, "today": window(
          "today", NOW - 60, offered=0, answered=0, abandoned=0, short_abandoned=0,
          answered_in_sl=0, abandoned_in_sl=0, completed=0, service_level=None, asa_s=None,
          abandon_rate=None, aht_s=None, occupancy=None)},
          {"waiting": 0, "longest_wait_s": 0.0}, "kpi-floor-start-of-day"),
    _good(Kind.ALERT, None, {"level": 2, "kind": "sl_breach", "queue": "sales",
          "text": "Sales service level 61% (target 80%)"}, "alert"),
    _good(Kind.ALERT, {"level": 3, "kind": "help_waiting", "text": "Desk 4 wartet seit 3 min ⚠",
          "queue": DROP, "desk": "d-04", "request": "r-77"},
          {"level": 3, "text": "Desk 4 wartet seit 3 min ⚠", "desk": "d-04"}, "alert-unicode"),
    _good(Kind.ALERT, {"level": 1, "text": "x" * 200}, {"level": 1, "text": "x" * 200},
          "alert-text-200-chars"),
    _good(Kind.AGENT_WELLBEING, None, {"score": 72.5, "suggestion": "recovery_break"},
          "agent-wellbeing"),
    _good(Kind.AGENT_WELLBEING, {"score": 0, "components": [], "suggestion": DROP},
          {"score": 0.0, "components": [], "suggestion": None}, "agent-wellbeing-calm"),
    _good(Kind.TEAM_WELLBEING, None, {"agents": 9, "mean_score": 41.2,
          "agents_over_threshold": 2}, "team-wellbeing"),
    _good(Kind.TEAM_WELLBEING, {"agents": 3}, {"agents": 3}, "team-wellbeing-minimum-group"),
    _good(Kind.HELP, None, {"state": "acknowledged", "time_to_acknowledge_s": 45.0,
          "closed_at": None, "level": 0}, "help-state"),
    _good(Kind.HELP, {"state": "resolved", "closed_at": NOW - 2, "time_to_resolve_s": 48.0},
          {"state": "resolved", "time_to_resolve_s": 48.0}, "help-state-resolved"),
    # The base help payload has no max_level: as an older controller retained it, it decodes.
    _good(Kind.HELP, None, {"max_level": None, "max_level_at": None},
          "help-state-before-max-level"),
    _good(Kind.HELP, {"max_level": 2, "max_level_at": NOW - 30},
          {"level": 0, "max_level": 2, "max_level_at": NOW - 30}, "help-acknowledged-escalated"),
    _good(Kind.HELP, {"max_level": 0}, {"max_level": 0, "max_level_at": None},
          "help-never-escalated"),
    _good(Kind.KPI_FLOOR, {"help_open": DROP, "help_today": DROP, "long_holds": DROP},
          {"help_open": [], "long_holds": []}, "kpi-floor-without-help"),
    _good(Kind.SERVICE_STATUS, None, {"online": True, "version": "0.1.0"}, "service-status"),
    _good(Kind.SERVICE_STATUS, {"online": False, "version": DROP}, {"online": False},
          "service-status-last-will"),
    _good(Kind.RECORDER_HEALTH, {"dropped": DROP}, {"spooled": 40, "dropped": 0},
          "recorder-health"),
]


def test_good_table_covers_every_kind():
    assert {param.values[0] for param in GOOD} == set(Kind)


@pytest.mark.parametrize(("kind", "payload", "expected"), GOOD)
def test_decode_good(kind, payload, expected):
    topic = topic_of(kind)
    result = decode(topic, json.dumps(payload).encode("utf-8"), now=NOW)
    assert isinstance(result, Envelope)
    assert result.topic.kind is kind
    assert result.topic.site == SITE
    assert result.topic.root == DEFAULT_ROOT
    assert dict(result.topic.ids) == TOPIC_IDS[kind]
    assert str(result.topic) == topic
    message = result.message
    assert type(message) is MODELS[kind]
    for name, value in expected.items():
        assert getattr(message, name) == value, name
    # every field the payload had is what the message holds (JSON numbers compare by value)
    dumped = message.model_dump(mode="json")
    for name, value in payload.items():
        assert dumped[name] == value, name


@pytest.mark.parametrize(("kind", "payload", "expected"), GOOD)
def test_encode_round_trip(kind, payload, expected):
    topic = topic_of(kind)
    result = decode(topic, json.dumps(payload).encode("utf-8"), now=NOW)
    assert isinstance(result, Envelope)
    message = result.message
    wire = encode(message)
    on_wire = json.loads(wire)
    # optional fields that are null stay off the wire; everything set is there
    set_fields = {k for k, v in message.model_dump().items() if v is not None}
    assert set(on_wire) == set_fields
    again = decode(topic, wire, now=NOW)
    assert isinstance(again, Envelope)
    assert again.message == message
    assert encode(again.message) == wire


def test_kpi_snapshot_nested_windows():
    result = decode(topic_of(Kind.KPI_QUEUE), raw(Kind.KPI_QUEUE), now=NOW)
    assert isinstance(result, Envelope)
    kpi = result.message
    assert isinstance(kpi, QueueKpi)
    assert kpi.today.name == "today"
    assert kpi.today.offered == 412
    assert kpi.today.service_level == pytest.approx(0.7284)
    assert kpi.sliding.name == "last 30 min"
    assert kpi.sliding.answered_in_sl == 30
    assert kpi.sliding.sl_threshold_s == 20.0


def test_kpi_floor_agents_by_state():
    result = decode(topic_of(Kind.KPI_FLOOR), raw(Kind.KPI_FLOOR), now=NOW)
    assert isinstance(result, Envelope)
    floor = result.message
    assert isinstance(floor, FloorKpi)
    assert floor.agents_by_state["talking"] == 17
    assert sum(floor.agents_by_state.values()) == 40


def test_wellbeing_components():
    result = decode(topic_of(Kind.AGENT_WELLBEING), raw(Kind.AGENT_WELLBEING), now=NOW)
    assert isinstance(result, Envelope)
    assert isinstance(result.message, AgentWellbeing)
    first, second = result.message.components
    assert (first.name, first.value, first.points) == ("abusive_calls", 3.0, 30.0)
    assert second.reason == "no break for 190 min"


def test_custom_root_with_two_levels():
    topic = topic_of(Kind.CALL, root="acme/wb")
    assert topic == "acme/wb/hq/queue/sales/call"
    result = decode(topic, raw(Kind.CALL), now=NOW, root="acme/wb")
    assert isinstance(result, Envelope)
    assert result.topic.root == "acme/wb"
    assert result.topic.id("queue") == "sales"


@pytest.mark.parametrize("payload", [
    pytest.param(b" " * 8 + raw(Kind.CALL) + b"\n", id="surrounding-whitespace"),
    pytest.param(raw(Kind.CALL) + b"\r\n", id="trailing-crlf"),
    pytest.param(json.dumps(VALID[Kind.CALL], indent=4).encode(), id="pretty-printed"),
    pytest.param(json.dumps(VALID[Kind.CALL], ensure_ascii=False).encode(), id="no-ascii-escape"),
])
def test_json_formatting_does_not_matter(payload):
    result = decode(topic_of(Kind.CALL), payload, now=NOW)
    assert isinstance(result, Envelope)
    assert isinstance(result.message, CallEvent)
    assert result.message.call == "c-1001"


def test_payload_exactly_64_kib_is_accepted():
    body = raw(Kind.CALL)
    payload = body + b" " * (MAX_PAYLOAD_BYTES - len(body))
    assert len(payload) == MAX_PAYLOAD_BYTES == 65536
    result = decode(topic_of(Kind.CALL), payload, now=NOW)
    assert isinstance(result, Envelope)


def test_payload_one_byte_over_64_kib_is_rejected():
    body = raw(Kind.CALL)
    payload = body + b" " * (MAX_PAYLOAD_BYTES + 1 - len(body))
    err = assert_bad(topic_of(Kind.CALL), payload, "payload", "65537 bytes, over the 64 KiB limit")
    assert err.topic == topic_of(Kind.CALL)


@pytest.mark.parametrize("alert", ["sl-sales", "a" * 64, "0"])
def test_empty_payload_clears_an_alert(alert):
    topic = build(Kind.ALERT, site=SITE, alert=alert)
    result = decode(topic, b"", now=NOW)
    assert isinstance(result, Cleared)
    assert result.topic.kind is Kind.ALERT
    assert result.topic.id("alert") == alert
    assert result.topic.site == SITE


def test_cleared_still_checks_the_topic():
    assert_bad("wallboard/hq/alert/a+b", b"", "alert", "invalid id")


# --- bad messages -----------------------------------------------------------------------------

def bad(id: str, kind: Kind, payload: bytes | dict[str, Any], field: str, reason: str) -> Any:
    body = json.dumps(payload).encode() if isinstance(payload, dict) else payload
    return pytest.param(topic_of(kind), body, field, reason, id=id)


def bad_change(id: str, kind: Kind, changes: dict[str, Any], field: str, reason: str) -> Any:
    return bad(id, kind, variant(kind, changes), field, reason)


def text_payload(kind: Kind, replace: str, by: str) -> bytes:
    """The valid payload's JSON text with one literal replaced (for NaN and friends)."""
    text = json.dumps(variant(kind))
    assert replace in text
    return text.replace(replace, by, 1).encode()


CALL_TS = json.dumps(NOW - 5)

BAD = [
    # malformed JSON
    bad("json-truncated", Kind.CALL, b'{"ts": 1', "payload", "malformed JSON"),
    bad("json-unquoted-key", Kind.CALL, b"{ts: 1}", "payload", "malformed JSON"),
    bad("json-single-quotes", Kind.CALL, b"{'ts': 1}", "payload", "malformed JSON"),
    bad("json-trailing-comma", Kind.CALL, raw(Kind.CALL)[:-1] + b",}", "payload",
        "malformed JSON"),
    bad("json-trailing-garbage", Kind.CALL, raw(Kind.CALL) + b" x", "payload", "malformed JSON"),
    bad("json-two-objects", Kind.CALL, raw(Kind.CALL) * 2, "payload", "malformed JSON"),
    bad("json-plain-text", Kind.DESK_STATUS, b"online", "payload", "malformed JSON"),
    bad("json-bom", Kind.CALL, b"\xef\xbb\xbf" + raw(Kind.CALL), "payload", "malformed JSON"),
    bad("json-whitespace-only", Kind.CALL, b"   ", "payload", "malformed JSON"),
    bad("json-newline-only", Kind.ALERT, b"\n", "payload", "malformed JSON"),
    # not an object
    bad("array", Kind.CALL, b"[]", "payload", "must be a JSON object"),
    bad("array-of-object", Kind.CALL, b"[" + raw(Kind.CALL) + b"]", "payload",
        "must be a JSON object"),
    bad("string", Kind.CALL, b'"offered"', "payload", "must be a JSON object"),
    bad("number", Kind.CALL, b"42", "payload", "must be a JSON object"),
    bad("null", Kind.ALERT, b"null", "payload", "must be a JSON object"),
    bad("true", Kind.DESK_STATUS, b"true", "payload", "must be a JSON object"),
    # missing fields
    bad_change("missing-ts", Kind.CALL, {"ts": DROP}, "ts", "required field is missing"),
    bad_change("missing-call", Kind.CALL, {"call": DROP}, "call", "required field is missing"),
    bad_change("missing-event", Kind.CALL, {"event": DROP}, "event", "required field is missing"),
    bad("missing-everything", Kind.CALL, b"{}", "ts", "required field is missing (+2 more)"),
    bad_change("missing-state", Kind.AGENT_STATE, {"state": DROP}, "state", "missing"),
    bad_change("missing-since", Kind.AGENT_STATE, {"since": DROP}, "since", "missing"),
    bad_change("missing-online", Kind.DESK_STATUS, {"online": DROP}, "online", "missing"),
    bad_change("missing-request-help", Kind.DESK_HELP, {"request": DROP}, "request", "missing"),
    bad_change("missing-lamp", Kind.DESK_LIGHT, {"buzzer": DROP}, "buzzer", "missing"),
    bad_change("missing-kpi-today", Kind.KPI_QUEUE, {"today": DROP}, "today", "missing"),
    bad_change("missing-kpi-queue", Kind.KPI_QUEUE, {"queue": DROP}, "queue", "missing"),
    bad_change("missing-window-field", Kind.KPI_QUEUE, {"today.occupancy": DROP},
               "today.occupancy", "required field is missing"),
    bad_change("missing-floor-queues", Kind.KPI_FLOOR, {"queues": DROP}, "queues", "missing"),
    bad_change("missing-alert-text", Kind.ALERT, {"text": DROP}, "text", "missing"),
    bad_change("missing-component-reason", Kind.AGENT_WELLBEING,
               {"components.1.reason": DROP}, "components.1.reason", "missing"),
    bad_change("missing-team-agents", Kind.TEAM_WELLBEING, {"agents": DROP}, "agents", "missing"),
    bad_change("missing-help-requested-at", Kind.HELP, {"requested_at": DROP}, "requested_at",
               "missing"),
    bad_change("help-level-too-high", Kind.HELP, {"level": 3}, "level", "less than or equal"),
    bad_change("help-max-level-below-level", Kind.HELP,
               {"state": "requested", "level": 2, "max_level": 1, "max_level_at": NOW - 20},
               "max_level", "cannot be below level"),
    bad_change("help-max-level-without-time", Kind.HELP, {"max_level": 2}, "max_level_at",
               "required exactly when max_level is above 0"),
    bad_change("help-max-level-time-for-level-0", Kind.HELP,
               {"max_level": 0, "max_level_at": NOW - 20}, "max_level_at",
               "required exactly when max_level is above 0"),
    bad_change("help-max-level-time-alone", Kind.HELP, {"max_level_at": NOW - 20},
               "max_level_at", "given without max_level"),
    bad_change("negative-hold", Kind.KPI_FLOOR, {"long_holds.0.hold_s": -1},
               "long_holds.0.hold_s", "greater than or equal"),
    bad_change("missing-service-online", Kind.SERVICE_STATUS, {"online": DROP}, "online",
               "missing"),
    bad_change("negative-recorder-lag", Kind.RECORDER_HEALTH, {"lag_s": -1}, "lag_s",
               "greater than or equal"),
    # extra fields
    bad_change("extra-field", Kind.CALL, {"colour": "red"}, "colour", "unknown field"),
    bad_change("extra-misspelt", Kind.CALL, {"wait": 3}, "wait", "unknown field"),
    bad_change("extra-case", Kind.DESK_STATUS, {"Online": True}, "Online", "unknown field"),
    bad_change("extra-nested-window", Kind.KPI_FLOOR, {"sliding.sla": 0.8}, "sliding.sla",
               "unknown field"),
    bad_change("extra-nested-component", Kind.AGENT_WELLBEING, {"components.0.why": "x"},
               "components.0.why", "unknown field"),
    bad_change("extra-floor-field-on-queue", Kind.KPI_QUEUE, {"queues": ["sales"]}, "queues",
               "unknown field"),
    # wrong types
    bad_change("ts-string", Kind.CALL, {"ts": str(NOW)}, "ts", "valid number"),
    bad_change("ts-bool", Kind.CALL, {"ts": True}, "ts", "valid number"),
    bad_change("ts-null", Kind.CALL, {"ts": None}, "ts", "valid number"),
    bad_change("ts-list", Kind.CALL, {"ts": [NOW]}, "ts", "valid number"),
    bad_change("ts-object", Kind.CALL, {"ts": {"s": NOW}}, "ts", "valid number"),
    bad_change("int-for-bool", Kind.DESK_STATUS, {"online": 1}, "online", "valid boolean"),
    bad_change("string-for-bool", Kind.DESK_STATUS, {"online": "true"}, "online",
               "valid boolean"),
    bad_change("float-for-int", Kind.ALERT, {"level": 2.0}, "level", "valid integer"),
    bad_change("bool-for-int", Kind.ALERT, {"level": True}, "level", "valid integer"),
    bad_change("string-for-int", Kind.KPI_QUEUE, {"waiting": "7"}, "waiting", "valid integer"),
    bad_change("float-for-count", Kind.KPI_FLOOR, {"today.offered": 412.5}, "today.offered",
               "valid integer"),
    bad_change("string-for-duration", Kind.CALL, {"wait_s": "12.5"}, "wait_s", "valid number"),
    bad_change("number-for-id", Kind.CALL, {"call": 1001}, "call", "valid string"),
    bad_change("object-for-id", Kind.CALL, {"agent": {"id": "a-17"}}, "agent", "valid string"),
    bad_change("string-for-list", Kind.KPI_FLOOR, {"queues": "sales"}, "queues", "valid array"),
    bad_change("list-for-window", Kind.KPI_QUEUE, {"today": []}, "today", "must be a JSON object"),
    bad_change("null-for-required-window", Kind.KPI_QUEUE, {"sliding": None}, "sliding",
               "must be a JSON object"),
    bad_change("unknown-event", Kind.CALL, {"event": "transferred"}, "event",
               "Input should be 'offered', 'answered', 'abandoned' or 'completed'"),
    bad_change("event-wrong-case", Kind.CALL, {"event": "Answered"}, "event", "Input should be"),
    bad_change("unknown-state", Kind.AGENT_STATE, {"state": "lunch"}, "state", "Input should be"),
    bad_change("unknown-lamp", Kind.DESK_LIGHT, {"red": "strobe"}, "red", "Input should be"),
    bad_change("unknown-cmd", Kind.DESK_CMD, {"cmd": "reboot"}, "cmd", "Input should be"),
    bad_change("unknown-treatment", Kind.KPI_QUEUE, {"sl_treatment": "count_for"},
               "sl_treatment", "Input should be"),
    bad_change("unknown-state-key", Kind.KPI_FLOOR, {"agents_by_state.lunch": 1},
               "agents_by_state.lunch.[key]", "Input should be"),
    # not finite
    bad("ts-nan", Kind.CALL, text_payload(Kind.CALL, CALL_TS, "NaN"), "ts", "finite number"),
    bad("ts-infinity", Kind.CALL, text_payload(Kind.CALL, CALL_TS, "Infinity"), "ts",
        "finite number"),
    bad("ts-minus-infinity", Kind.CALL, text_payload(Kind.CALL, CALL_TS, "-Infinity"), "ts",
        "finite number"),
    bad("ts-1e400", Kind.CALL, text_payload(Kind.CALL, CALL_TS, "1e400"), "ts", "finite number"),
    bad("wait-nan", Kind.CALL, text_payload(Kind.CALL, "12.5", "NaN"), "wait_s", "finite number"),
    bad("hold-nan", Kind.CALL, (f'{{"ts": {CALL_TS}, "call": "c-1", "event": "completed", '
        '"agent": "a-1", "handle_s": 10, "hold_s": NaN}').encode(), "hold_s", "finite number"),
    bad("score-infinity", Kind.AGENT_WELLBEING, text_payload(Kind.AGENT_WELLBEING, "72.5",
        "Infinity"), "score", "finite number"),
    bad("component-value-nan", Kind.AGENT_WELLBEING, text_payload(Kind.AGENT_WELLBEING,
        '"value": 190', '"value": NaN'), "components.1.value", "finite number"),
    bad("window-rate-nan", Kind.KPI_QUEUE, text_payload(Kind.KPI_QUEUE, "0.7284", "NaN"),
        "today.service_level", "finite number"),
    bad("longest-wait-1e400", Kind.KPI_FLOOR, text_payload(Kind.KPI_FLOOR, "93.5", "-1e400"),
        "longest_wait_s", "finite number"),
    # out of range
    bad_change("negative-wait", Kind.CALL, {"wait_s": -0.5}, "wait_s",
               "greater than or equal to 0"),
    bad_change("negative-handle", Kind.CALL, {"event": "completed", "handle_s": -1, "hold_s": 0},
               "handle_s", "greater than or equal to 0"),
    bad_change("negative-hold", Kind.CALL, {"event": "completed", "handle_s": 10, "hold_s": -1},
               "hold_s", "greater than or equal to 0"),
    bad_change("negative-ts", Kind.CALL, {"ts": -1}, "ts", "greater than or equal to 0"),
    bad_change("negative-since", Kind.AGENT_STATE, {"since": -1}, "since",
               "greater than or equal to 0"),
    bad_change("negative-count", Kind.KPI_QUEUE, {"waiting": -1}, "waiting",
               "greater than or equal to 0"),
    bad_change("negative-longest-wait", Kind.KPI_QUEUE, {"longest_wait_s": -3}, "longest_wait_s",
               "greater than or equal to 0"),
    bad_change("negative-short-abandon", Kind.KPI_QUEUE, {"short_abandon_s": -5},
               "short_abandon_s", "greater than or equal to 0"),
    bad_change("rate-over-one", Kind.KPI_QUEUE, {"sliding.abandon_rate": 1.2},
               "sliding.abandon_rate", "less than or equal to 1"),
    bad_change("negative-window-aht", Kind.KPI_FLOOR, {"today.aht_s": -1}, "today.aht_s",
               "greater than or equal to 0"),
    bad_change("alert-level-0", Kind.ALERT, {"level": 0}, "level", "greater than or equal to 1"),
    bad_change("alert-level-4", Kind.ALERT, {"level": 4}, "level", "less than or equal to 3"),
    bad_change("alert-text-201", Kind.ALERT, {"text": "x" * 201}, "text", "at most 200"),
    bad_change("alert-text-newline", Kind.ALERT, {"text": "line 1\nline 2"}, "text",
               "should match pattern"),
    bad_change("reason-control-char", Kind.AGENT_STATE, {"reason": "lunch\x07"}, "reason",
               "should match pattern"),
    bad_change("score-over-100", Kind.AGENT_WELLBEING, {"score": 100.5}, "score",
               "less than or equal to 100"),
    bad_change("too-many-components", Kind.AGENT_WELLBEING, {"components": [
        {"name": f"c{i}", "value": 1, "points": 1, "reason": "r"} for i in range(33)]},
        "components", "at most 32"),
    bad_change("team-below-privacy-minimum", Kind.TEAM_WELLBEING, {"agents": 2}, "agents",
               "greater than or equal to 3"),
    # the future
    bad_change("ts-a-day-and-a-bit-ahead", Kind.CALL, {"ts": NOW + MAX_FUTURE_S + 0.001}, "ts",
               "more than a day in the future"),
    bad_change("ts-a-year-ahead", Kind.DESK_STATUS, {"ts": NOW + 365 * 86400}, "ts",
               "more than a day in the future"),
    bad_change("ts-future-on-kpi", Kind.KPI_FLOOR, {"ts": NOW + 2 * 86400}, "ts",
               "more than a day in the future"),
    # ids in the payload
    bad_change("id-plus", Kind.CALL, {"call": "c+1"}, "call", "should match pattern"),
    bad_change("id-hash", Kind.CALL, {"agent": "a#1"}, "agent", "should match pattern"),
    bad_change("id-slash", Kind.DESK_HELP, {"request": "r/1"}, "request", "should match pattern"),
    bad_change("id-space", Kind.AGENT_STATE, {"desk": "desk 4"}, "desk", "should match pattern"),
    bad_change("id-trailing-newline", Kind.DESK_CMD, {"request": "r-77\n"}, "request",
               "should match pattern"),
    bad_change("id-65-chars", Kind.CALL, {"call": "c" * 65}, "call", "should match pattern"),
    bad_change("id-empty", Kind.ALERT, {"kind": ""}, "kind", "should match pattern"),
    bad_change("id-leading-dot", Kind.AGENT_SIGNAL, {"source": ".hidden"}, "source",
               "should match pattern"),
    bad_change("id-in-list", Kind.KPI_FLOOR, {"queues": ["sales", "tech support"]}, "queues.1",
               "should match pattern"),
    bad_change("id-component-name", Kind.AGENT_WELLBEING, {"components.0.name": "a/b"},
               "components.0.name", "should match pattern"),
    # encoding and size
    bad("not-utf8", Kind.CALL, b"\xff\xfe{}", "payload", "not UTF-8 (byte 0)"),
    bad("not-utf8-inside-string", Kind.ALERT,
        b'{"ts": 1, "level": 1, "kind": "k", "text": "\xc3\x28"}', "payload",
        "not UTF-8 (byte 44)"),
    bad("utf8-encoded-surrogate", Kind.CALL, b'{"ts": 1, "call": "\xed\xa0\x80"}', "payload",
        "not UTF-8 (byte 19)"),
    bad("latin1-text", Kind.ALERT, b'{"ts": 1, "level": 1, "kind": "k", "text": "caf\xe9"}',
        "payload", "not UTF-8"),
    bad("empty-on-call", Kind.CALL, b"", "payload", "empty"),
    bad("empty-on-kpi", Kind.KPI_FLOOR, b"", "payload", "empty"),
    bad("empty-on-retained-agent-state", Kind.AGENT_STATE, b"", "payload", "empty"),
    bad("empty-on-desk-status", Kind.DESK_STATUS, b"", "payload", "empty"),
    # rules across fields
    bad_change("answered-without-wait", Kind.CALL, {"wait_s": DROP}, "wait_s",
               "required when event is 'answered'"),
    bad_change("answered-with-null-wait", Kind.CALL, {"wait_s": None}, "wait_s",
               "required when event is 'answered'"),
    bad_change("answered-without-agent", Kind.CALL, {"agent": DROP}, "agent",
               "required when event is 'answered'"),
    bad_change("abandoned-without-wait", Kind.CALL, {"event": "abandoned", "wait_s": DROP},
               "wait_s", "required when event is 'abandoned'"),
    bad_change("completed-without-agent", Kind.CALL, {"event": "completed", "agent": DROP,
               "handle_s": 100, "hold_s": 0}, "agent", "required when event is 'completed'"),
    bad_change("completed-without-handle", Kind.CALL, {"event": "completed", "hold_s": 0},
               "handle_s", "required when event is 'completed'"),
    bad_change("completed-without-hold", Kind.CALL, {"event": "completed", "handle_s": 100},
               "hold_s", "required when event is 'completed'"),
    bad_change("hold-exceeds-handle", Kind.CALL, {"event": "completed", "handle_s": 100,
               "hold_s": 100.5}, "hold_s", "cannot exceed handle_s"),
    bad_change("hold-unknown-capitalised", Kind.CALL, {"event": "completed", "handle_s": 100,
               "hold_s": "Unknown"}, "hold_s", 'must be a number of seconds or "unknown"'),
    bad_change("hold-empty-string", Kind.CALL, {"event": "completed", "handle_s": 100,
               "hold_s": ""}, "hold_s", 'must be a number of seconds or "unknown"'),
    bad_change("hold-number-as-string", Kind.CALL, {"event": "completed", "handle_s": 100,
               "hold_s": "40"}, "hold_s", 'must be a number of seconds or "unknown"'),
    bad_change("hold-true", Kind.CALL, {"event": "completed", "handle_s": 100,
               "hold_s": True}, "hold_s", 'must be a number of seconds or "unknown"'),
    bad_change("since-after-ts", Kind.AGENT_STATE, {"since": NOW - 4}, "since",
               "cannot be later than ts"),
    bad_change("ack-without-request", Kind.DESK_CMD, {"request": DROP}, "request",
               "required when cmd is 'ack'"),
    bad_change("resolve-without-request", Kind.DESK_CMD, {"cmd": "resolve", "request": None},
               "request", "required when cmd is 'resolve'"),
]

TOPIC_BAD = [
    # (id, topic, root, field, reason)
    ("wrong-root", "wb/hq/queue/sales/call", DEFAULT_ROOT, "topic", "not under the topic root"),
    ("default-root-when-custom", "wallboard/hq/queue/sales/call", "acme/wb", "topic",
     "not under the topic root 'acme/wb'"),
    ("custom-root-when-default", "acme/wb/hq/queue/sales/call", DEFAULT_ROOT, "topic",
     "not under the topic root 'wallboard'"),
    ("unknown-topic", "wallboard/hq/queue/sales/calls", DEFAULT_ROOT, "topic", "unknown topic"),
    ("unknown-leaf", "wallboard/hq/desk/d-04/reboot", DEFAULT_ROOT, "topic", "unknown topic"),
    ("too-many-levels", "wallboard/hq/kpi/floor/today", DEFAULT_ROOT, "topic", "unknown topic"),
    ("too-few-levels", "wallboard/hq/queue/sales", DEFAULT_ROOT, "topic", "unknown topic"),
    ("root-and-site-only", "wallboard/hq", DEFAULT_ROOT, "topic", "no site and topic"),
    ("root-only", "wallboard", DEFAULT_ROOT, "topic", "not under the topic root"),
    ("topic-id-plus", "wallboard/hq/queue/+/call", DEFAULT_ROOT, "queue", "invalid id '+'"),
    ("topic-id-hash", "wallboard/hq/agent/#/state", DEFAULT_ROOT, "agent", "invalid id '#'"),
    ("topic-id-empty", "wallboard/hq/desk//help", DEFAULT_ROOT, "desk", "invalid id ''"),
    ("topic-id-space", "wallboard/hq/kpi/queue/tech support", DEFAULT_ROOT, "queue",
     "invalid id 'tech support'"),
    ("topic-id-65", "wallboard/hq/team/" + "t" * 65 + "/wellbeing", DEFAULT_ROOT, "team",
     "invalid id"),
    ("topic-site-plus", "wallboard/+/kpi/floor", DEFAULT_ROOT, "site", "invalid id '+'"),
    ("topic-site-space", "wallboard/h q/kpi/floor", DEFAULT_ROOT, "site", "invalid id 'h q'"),
]


@pytest.mark.parametrize(("topic", "payload", "field", "reason"), BAD)
def test_decode_bad(topic, payload, field, reason):
    err = assert_bad(topic, payload, field, reason)
    assert err.topic == topic


@pytest.mark.parametrize(("topic", "root", "field", "reason"),
                         [pytest.param(*row[1:], id=row[0]) for row in TOPIC_BAD])
def test_decode_bad_topic(topic, root, field, reason):
    # a valid payload does not rescue a bad topic
    assert_bad(topic, raw(Kind.CALL), field, reason, root=root)


def test_topic_64_char_ids_are_fine():
    topic = build(Kind.CALL, site="s" * 64, queue="q" * 64)
    result = decode(topic, raw(Kind.CALL), now=NOW)
    assert isinstance(result, Envelope)
    assert result.topic.site == "s" * 64


def test_future_check_uses_now_not_the_clock():
    payload = raw(Kind.CALL, {"ts": 5_000_000_000.0})  # year 2128
    assert_bad(topic_of(Kind.CALL), payload, "ts", "more than a day in the future")
    result = decode(topic_of(Kind.CALL), payload, now=5_000_000_000.0 - 86_000)
    assert isinstance(result, Envelope)


def test_error_reason_truncates_a_huge_value():
    err = assert_bad(topic_of(Kind.ALERT), raw(Kind.ALERT, {"text": "x" * 50_000}), "text",
                     "at most 200")
    assert len(str(err)) < 300
    assert "..." in err.reason


def test_error_counts_further_problems():
    payload = raw(Kind.CALL, {"ts": "now", "call": "c 1", "event": "x"})
    err = assert_bad(topic_of(Kind.CALL), payload, "ts", "valid number")
    assert err.reason.endswith("(+2 more)")


def test_bad_message_is_a_value_error():
    with pytest.raises(ValueError, match=r"^wallboard/hq/queue/sales/call: payload: empty$"):
        decode(topic_of(Kind.CALL), b"", now=NOW)


# --- known gaps, reported upstream; strict so a fix turns them into failures to clean up ------

def test_unknown_key_with_newline_keeps_the_error_on_one_line():
    payload = raw(Kind.CALL, {"x\ny": 1})
    with pytest.raises(BadMessage) as info:
        decode(topic_of(Kind.CALL), payload, now=NOW)
    assert len(str(info.value).splitlines()) == 1


def test_topic_with_newline_keeps_the_error_on_one_line():
    with pytest.raises(BadMessage) as info:
        decode("wallboard/hq/queue/sales\n/call", raw(Kind.CALL), now=NOW)
    assert len(str(info.value).splitlines()) == 1


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x1b"])
def test_free_text_cannot_carry_line_separators_or_control_characters(separator):
    payload = {"ts": NOW, "level": 1, "kind": "help_waiting", "text": f"desk 4{separator}waiting"}
    with pytest.raises(BadMessage) as info:
        decode("wallboard/hq/alert/a1", json.dumps(payload).encode(), now=NOW)
    assert info.value.field == "text"
    assert len(str(info.value).splitlines()) == 1
