"""The broker's role table as ACL text, table-driven: every role's exact lines, who may
write and read each topic of the contract, merging a device into an ACL file, and the
config each device is given. Pure: no broker, no files (tests/test_broker_security.py runs
the same text on a real mosquitto)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wallboard.bootstrap import (
    build_controller,
    build_kiosk_link,
    build_recorder,
    build_telephony_link,
    recorder_subscriptions,
)
from wallboard.config import MqttConfig, parse_config
from wallboard.config_base import fit_id
from wallboard.devservices import MAX_QUEUED_MESSAGES
from wallboard.errors import ProvisionError
from wallboard.kiosk.feed import Feed, kiosk_subscriptions
from wallboard.messages import MAX_PAYLOAD_BYTES
from wallboard.security.acl import (
    NEW_FILE_HEADER,
    Access,
    Device,
    Role,
    block,
    commented_examples,
    may,
    merge,
    rules,
    topic_matches,
)
from wallboard.security.device_config import DEVICE_CA_FILE, broker_for, device_config
from wallboard.services.controller import input_subscriptions
from wallboard.services.watch import watch_subscriptions
from wallboard.topics import TOPICS, Kind, build, subscription
from wallboard_desk.bootstrap import link_settings as desk_link_settings
from wallboard_desk.config import parse_desk_config
from wallboard_desk.unit import Topics as DeskTopics

ROOT_DIR = Path(__file__).resolve().parents[1]
SHIPPED = ROOT_DIR / "kiosk" / "mosquitto"
W = "wallboard/hq"

EXPECTED_LINES = {
    (Role.DESK, "d-017"): [
        f"topic write {W}/desk/d-017/status",
        f"topic readwrite {W}/desk/d-017/help",
        f"topic write {W}/desk/d-017/light",
        f"topic read {W}/desk/d-017/cmd",
    ],
    (Role.FLOOR_KIOSK, "wall-1"): [
        f"topic deny {W}/agent/+/wellbeing",
        f"topic read {W}/#",
    ],
    (Role.SUPERVISOR_KIOSK, "wall-2"): [
        f"topic write {W}/desk/+/cmd",
        f"topic read {W}/#",
    ],
    (Role.CONTROLLER, "hq"): [
        f"topic write {W}/kpi/queue/+",
        f"topic write {W}/kpi/floor",
        f"topic readwrite {W}/alert/+",
        f"topic write {W}/help/+",
        f"topic readwrite {W}/agent/+/wellbeing",
        f"topic readwrite {W}/team/+/wellbeing",
        f"topic write {W}/desk/+/cmd",
        f"topic write {W}/service/controller/status",
        f"topic read {W}/queue/+/call",
        f"topic read {W}/agent/+/state",
        f"topic read {W}/agent/+/signal",
        f"topic read {W}/desk/+/help",
        f"topic read {W}/desk/+/status",
        f"topic read {W}/desk/+/light",
    ],
    (Role.RECORDER, "main"): [
        f"topic write {W}/service/recorder/main",
        f"topic write {W}/service/recorder-main/status",
        "topic read wallboard/#",
    ],
    (Role.TELEPHONY, "pbx"): [
        f"topic write {W}/queue/+/call",
        f"topic write {W}/agent/+/state",
        f"topic write {W}/agent/+/signal",
        f"topic write {W}/service/telephony-pbx/status",
    ],
}


@pytest.mark.parametrize(("role", "device_id"), list(EXPECTED_LINES))
def test_every_role_gets_exactly_its_lines(role, device_id):
    device = Device(role=role, id=device_id, site="hq")
    assert [r.line for r in rules(device)] == EXPECTED_LINES[role, device_id]
    username = {Role.DESK: "desk-d-017", Role.FLOOR_KIOSK: "kiosk-floor-wall-1",
                Role.SUPERVISOR_KIOSK: "kiosk-supervisor-wall-2",
                Role.CONTROLLER: "controller-hq", Role.RECORDER: "recorder-main",
                Role.TELEPHONY: "telephony-pbx"}[role]
    assert block(device).splitlines()[1:-1] == [f"user {username}",
                                                *EXPECTED_LINES[role, device_id]]


def test_every_role_is_in_the_table():
    assert {role for role, _ in EXPECTED_LINES} == set(Role)


# Who may write each kind of topic (sample ids; the desk is d-1, the recorder r-1), following
# the publisher column of wallboard/topics.py. Every kind must be listed here.
D, FK, SK, C, R, T = (Role.DESK, Role.FLOOR_KIOSK, Role.SUPERVISOR_KIOSK, Role.CONTROLLER,
                      Role.RECORDER, Role.TELEPHONY)
WRITERS: dict[Kind, set[Role]] = {
    Kind.CALL: {T}, Kind.AGENT_STATE: {T}, Kind.AGENT_SIGNAL: {T},
    Kind.DESK_STATUS: {D}, Kind.DESK_HELP: {D}, Kind.DESK_LIGHT: {D},
    Kind.DESK_CMD: {C, SK},
    Kind.KPI_QUEUE: {C}, Kind.KPI_FLOOR: {C}, Kind.ALERT: {C},
    Kind.AGENT_WELLBEING: {C}, Kind.TEAM_WELLBEING: {C}, Kind.HELP: {C},
    Kind.SERVICE_STATUS: set(),  # each service only its own: see the status test below
    Kind.RECORDER_HEALTH: {R},
}
ALL_READ = {FK, SK, R}
READERS: dict[Kind, set[Role]] = {
    Kind.CALL: ALL_READ | {C}, Kind.AGENT_STATE: ALL_READ | {C},
    Kind.AGENT_SIGNAL: ALL_READ | {C},
    Kind.DESK_STATUS: ALL_READ | {C}, Kind.DESK_HELP: ALL_READ | {C, D},
    Kind.DESK_LIGHT: ALL_READ | {C}, Kind.DESK_CMD: ALL_READ | {D},
    Kind.KPI_QUEUE: ALL_READ, Kind.KPI_FLOOR: ALL_READ, Kind.ALERT: ALL_READ | {C},
    # Never a floor kiosk; the controller reads its own back after a restart.
    Kind.AGENT_WELLBEING: {SK, R, C},
    Kind.TEAM_WELLBEING: ALL_READ | {C}, Kind.HELP: ALL_READ,
    Kind.SERVICE_STATUS: ALL_READ, Kind.RECORDER_HEALTH: ALL_READ,
}
SAMPLE_IDS = {"queue": "sales", "agent": "a-1", "desk": "d-1", "alert": "help-d-1",
              "team": "t-1", "service": "some-service", "recorder": "r-1"}


def _device(role: Role) -> Device:
    return Device(role=role, id={D: "d-1", R: "r-1"}.get(role, "x-1"), site="hq")


def _sample(kind: Kind, site: str = "hq") -> str:
    names = re.findall(r"{(\w+)}", next(s.pattern for s in TOPICS if s.kind is kind))
    return build(kind, site=site, **{n: SAMPLE_IDS[n] for n in names})


def test_every_kind_of_topic_has_a_decision():
    assert set(WRITERS) == set(READERS) == {spec.kind for spec in TOPICS}


@pytest.mark.parametrize("kind", list(Kind))
def test_who_may_write_and_read_each_kind(kind):
    topic = _sample(kind)
    assert {role for role in Role if may(rules(_device(role)), "write", topic)} == WRITERS[kind]
    assert {role for role in Role if may(rules(_device(role)), "read", topic)} == READERS[kind]


@pytest.mark.parametrize("kind", [Kind.DESK_STATUS, Kind.DESK_HELP, Kind.DESK_LIGHT,
                                  Kind.DESK_CMD])
def test_a_desk_touches_no_other_desk(kind):
    desk = rules(_device(D))
    other = build(kind, site="hq", desk="d-2")
    assert not may(desk, "write", other)
    assert not may(desk, "read", other)


def test_nothing_reaches_across_sites_but_the_recorder():
    for role in Role:
        device_rules = rules(_device(role))
        for kind in Kind:
            topic = _sample(kind, site="other")
            assert not may(device_rules, "write", topic), (role, kind)
            assert may(device_rules, "read", topic) is (role is R), (role, kind)


def test_each_service_writes_only_its_own_status():
    status = {role: build(Kind.SERVICE_STATUS, site="hq", service=name) for role, name in (
        (C, "controller"), (R, fit_id("recorder-r-1")), (T, "telephony-x-1"))}
    for role in Role:
        for owner, topic in status.items():
            assert may(rules(_device(role)), "write", topic) is (role is owner), (role, topic)


def test_a_long_recorder_id_gets_the_status_topic_the_recorder_uses():
    long_id = "r" * 64
    device = Device(role=R, id=long_id, site="hq")
    topic = build(Kind.SERVICE_STATUS, site="hq", service=fit_id(f"recorder-{long_id}"))
    assert may(rules(device), "write", topic)


def _samples(topic_filter: str) -> str:
    """A concrete topic the filter matches: ids for +, one more level for #."""
    return "/".join("x-1" if p == "+" else "kpi/floor" if p == "#" else p
                    for p in topic_filter.split("/"))


def test_what_each_program_subscribes_to_is_readable_by_its_role():
    """If a service starts to follow a new topic, its role must be allowed to read it."""
    followed = {
        C: [f for f, _ in input_subscriptions("wallboard", "hq")],
        FK: [f for f, _ in kiosk_subscriptions("wallboard", "hq", "floor")],
        SK: [f for f, _ in kiosk_subscriptions("wallboard", "hq", "supervisor")]
            + [f for f, _ in watch_subscriptions("wallboard", "hq")],
        R: [f.split("/", 2)[2] for f, _ in recorder_subscriptions("wallboard", "g")]
           + [f for f, _ in recorder_subscriptions("wallboard", None)],
        D: [DeskTopics.of("wallboard", "hq", "d-1").cmd,
            DeskTopics.of("wallboard", "hq", "d-1").help],
    }
    for role, filters in followed.items():
        for topic_filter in filters:
            topic = _samples(topic_filter)
            assert topic_matches(topic_filter, topic)
            assert may(rules(_device(role)), "read", topic), (role, topic_filter)


def test_a_floor_kiosk_subscribes_to_no_individual_wellbeing():
    floor = [f for f, _ in kiosk_subscriptions("wallboard", "hq", "floor")]
    assert not any(f.endswith("/agent/+/wellbeing") for f in floor)


def test_what_each_program_publishes_is_writable_by_its_role():
    topics = DeskTopics.of("wallboard", "hq", "d-1")
    for topic in (topics.help, topics.light, topics.status):
        assert may(rules(_device(D)), "write", topic)
    assert may(rules(_device(SK)), "write", topics.cmd)


def _status_topic_of(role: Role, device_id: str, tmp_path: Path) -> str | None:
    """The retained status topic of the link bootstrap builds for that role's program."""
    config = parse_config(f'[site]\nid = "hq"\n[recorder]\nid = "{device_id}"\n'
                          f'[kiosk]\nid = "{device_id}"\n')
    match role:
        case Role.CONTROLLER:
            link = build_controller(config, state_dir=tmp_path).link
        case Role.RECORDER:
            recorder = build_recorder(config)
            recorder.database.close()
            link = recorder.link
        case Role.TELEPHONY:
            link = build_telephony_link(config, device_id)
        case Role.FLOOR_KIOSK | Role.SUPERVISOR_KIOSK:
            link, _ = build_kiosk_link(config, Feed("wallboard", "hq", "floor"))
        case Role.DESK:
            desk = parse_desk_config(f'[desk]\nid = "{device_id}"\nsite = "hq"\n')
            topics = DeskTopics.of("wallboard", "hq", device_id)
            return desk_link_settings(desk, topics, lambda: 0.0).status_topic
    return link.settings.status_topic


@pytest.mark.parametrize("device_id", ["x-1", "p" * 64])
@pytest.mark.parametrize("role", list(Role))
def test_each_login_may_write_exactly_the_status_its_program_publishes(role, device_id,
                                                                       tmp_path):
    """bootstrap and the ACL take service names from one function: provision a device of
    each role, and its ACL grants the status topic that role's link publishes, and no other
    service's status (a long id is cut the same way on both sides)."""
    published = _status_topic_of(role, device_id, tmp_path)
    device = Device(role=role, id=device_id, site="hq")
    any_status = subscription(Kind.SERVICE_STATUS, root="wallboard", site="hq")
    granted = [r.topic for r in rules(device) if r.access in (Access.WRITE, Access.READWRITE)
               and topic_matches(any_status, r.topic)]
    if role is Role.DESK:  # the unit's will is its own desk status, not a service's
        assert granted == []
        assert published is not None and may(rules(device), "write", published)
        return
    assert granted == ([] if published is None else [published])
    assert device.service == (None if published is None else published.split("/")[-2])


@pytest.mark.parametrize(("topic_filter", "topic", "expected"), [
    ("a/b", "a/b", True),
    ("a/+", "a/b", True),
    ("a/+", "a/b/c", False),
    ("a/#", "a", True),
    ("a/#", "a/b/c", True),
    ("#", "a/b", True),
    ("+/b", "a/b", True),
    ("a/+/c", "a/b/d", False),
    ("a/b", "a", False),
    ("#", "$SYS/broker/uptime", False),
    ("+/broker/uptime", "$SYS/broker/uptime", False),
    ("$SYS/#", "$SYS/broker/uptime", True),
])
def test_topic_matches_as_mqtt_does(topic_filter, topic, expected):
    assert topic_matches(topic_filter, topic) is expected


def test_a_deny_beats_a_grant_whatever_the_order():
    floor = rules(_device(FK))
    assert may(floor, "read", f"{W}/agent/a-1/state")
    assert not may(floor, "read", f"{W}/agent/a-1/wellbeing")
    assert not may(tuple(reversed(floor)), "read", f"{W}/agent/a-1/wellbeing")


# -- merging a device into an ACL file -----------------------------------------------------

DESK = Device(role=D, id="d-1", site="hq")
KIOSK = Device(role=FK, id="wall-1", site="hq")


def test_merge_appends_a_new_device_and_is_idempotent():
    once = merge(NEW_FILE_HEADER, DESK)
    assert once == NEW_FILE_HEADER + "\n" + block(DESK) + "\n"
    assert merge(once, DESK) == once
    both = merge(once, KIOSK)
    assert merge(merge(both, DESK), KIOSK) == both
    assert both.count("user desk-d-1\n") == 1 and both.count("user kiosk-floor-wall-1\n") == 1


def test_merge_replaces_a_block_in_place():
    text = merge(merge(merge(NEW_FILE_HEADER, DESK), KIOSK), Device(role=D, id="d-2", site="hq"))
    stale = text.replace(f"topic write {W}/desk/d-1/light\n", f"topic write {W}/desk/d-1/x\n")
    assert merge(stale, DESK) == text


def test_merge_of_an_empty_file():
    assert merge("", DESK) == block(DESK) + "\n"


@pytest.mark.parametrize(("text", "reason"), [
    (merge("", Device(role=D, id="d-1", site="paris")), "already provisioned for wallboard/paris"),
    ("user desk-d-1\ntopic read #\n", "hand-written 'user desk-d-1' line"),
    (merge("", DESK) + merge("", DESK), "2 blocks for desk-d-1"),
    (merge("", DESK) + "topic readwrite #\n", "topic lines after the block of desk-d-1"),
    (merge("", DESK).replace("# end of wallboard device desk-d-1\n", ""), "no end marker"),
])
def test_merge_refuses_what_it_cannot_replace_safely(text, reason):
    with pytest.raises(ProvisionError, match=re.escape(reason)):
        merge(text, DESK)


def test_merge_leaves_other_users_and_comments_alone():
    text = "# mine\nuser ops\ntopic read wallboard/#\n\n" + block(DESK) + "\n# tail\n"
    assert merge(text, DESK) == text
    assert merge(text, KIOSK).startswith(text.rstrip("\n") + "\n\n")


@pytest.mark.parametrize(("fields", "message"), [
    ({"role": "desk", "id": "d/1"}, "String should match pattern"),
    ({"role": "desk", "id": "d-1", "site": "+"}, "String should match pattern"),
    ({"role": "desk", "id": "d-1", "root": "a/#"}, "every level must be an id"),
    ({"role": "recorder", "id": "status"}, "'status' cannot be a recorder id"),
    ({"role": "janitor", "id": "j-1"}, "Input should be"),
])
def test_device_refuses_bad_input(fields, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Device.model_validate(fields)


# -- the config a device is given ----------------------------------------------------------

@pytest.mark.parametrize(("role", "host", "port", "expected"), [
    (D, None, None, ("hub.example", 8883, True)),
    (FK, "10.0.0.5", None, ("10.0.0.5", 8883, True)),
    (T, "localhost", None, ("localhost", 8883, True)),  # remote roles always use TLS
    (C, None, None, ("127.0.0.1", 1883, False)),
    (R, "localhost", 11883, ("localhost", 11883, False)),
    (R, "hub.example", None, ("hub.example", 8883, True)),  # off the hub: TLS
])
def test_broker_address_by_role(role, host, port, expected):
    b = broker_for(role, host, port, "hub.example")
    assert (b.host, b.port, b.tls) == expected


@pytest.mark.parametrize("role", list(Role))
def test_each_printed_config_is_a_valid_config_with_no_password(role):
    device = _device(role)
    broker = broker_for(role, None, None, "hub.example")
    text = device_config(device, broker)
    mqtt: MqttConfig
    if role is D:
        config = parse_desk_config(text)
        assert (config.desk.id, config.desk.site) == ("d-1", "hq")
        mqtt = config.mqtt
    else:
        parsed = parse_config(text)
        assert parsed.site.id == "hq"
        if role in (FK, SK):
            assert parsed.kiosk.id == "x-1"
            assert parsed.kiosk.audience == ("floor" if role is FK else "supervisor")
        if role is R:
            assert parsed.recorder.id == "r-1"
        mqtt = parsed.mqtt
    assert mqtt.username == device.username
    assert (mqtt.host, mqtt.port, mqtt.tls) == (broker.host, broker.port, broker.tls)
    assert mqtt.password_env == "WALLBOARD_MQTT_PASSWORD"
    assert (str(mqtt.ca_file) if mqtt.ca_file else None) == (
        DEVICE_CA_FILE if broker.tls else None)
    assert "password =" not in text


# -- the shipped files -----------------------------------------------------------------------

def _settings() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (SHIPPED / "wallboard.conf").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            found.setdefault(key, []).append(value)
    return found


def test_the_shipped_acl_shows_what_the_tool_writes():
    text = (SHIPPED / "wallboard.acl").read_text()
    assert text.endswith(commented_examples() + "\n")
    assert all(line.startswith("#") for line in text.splitlines())  # no rule until provisioned


def test_the_shipped_config_keeps_the_limits_the_code_relies_on():
    s = _settings()
    assert s["max_queued_messages"] == [str(MAX_QUEUED_MESSAGES)]
    # Room for the contract's largest payload plus a long topic and headers, and no more.
    assert MAX_PAYLOAD_BYTES + 1024 <= int(s["max_packet_size"][0]) <= MAX_PAYLOAD_BYTES * 2
    assert s["listener"] == ["8883", "1883 127.0.0.1"]
    assert s["allow_anonymous"] == ["false"] and s["per_listener_settings"] == ["false"]
    assert s["tls_version"] == ["tlsv1.2"]
    assert s["use_username_as_clientid"] == ["true", "true"]  # a per-listener setting
    assert "persistence_location" not in s  # Debian's main config sets it; twice is an error
