"""Property tests: whatever arrives from the broker, ``decode`` returns or raises BadMessage."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_messages import NOW, TOPIC_IDS, VALID
from wallboard.errors import BadMessage
from wallboard.errors import one_line as one_line_of
from wallboard.messages import CLEARABLE, MODELS, Cleared, Envelope, decode, encode
from wallboard.topics import DEFAULT_ROOT, ID_PATTERN, SPECS, TOPICS, Kind, build

PROFILE = settings(max_examples=400, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])



def one_line(text: str) -> bool:
    return text.splitlines() == [text]


# --- strategies -------------------------------------------------------------------------------

valid_ids = st.from_regex(f"^{ID_PATTERN}$", fullmatch=True).filter(lambda s: "\n" not in s)
garbage_ids = st.one_of(
    st.text(max_size=70),
    st.sampled_from(["", "+", "#", " ", "a b", "a/b", "a\n", "\n", "x" * 65, "-a", "é", "a+",
                     "sales/call", "$SYS"]),
)
any_ids = st.one_of(valid_ids, garbage_ids)
roots = st.sampled_from([DEFAULT_ROOT, "acme/wb", "x"])


@st.composite
def structured_topics(draw: st.DrawFn, ids: st.SearchStrategy[str] = any_ids) -> tuple[str, str]:
    """(topic, root): a real pattern, with ids (and site) drawn from ``ids``."""
    spec = draw(st.sampled_from(TOPICS))
    root = draw(roots)
    segments = [draw(ids) if seg.startswith("{") else seg for seg in spec.segments]
    return "/".join([root, draw(ids), *segments]), root


random_topics = st.tuples(
    st.one_of(st.text(max_size=200), st.text(alphabet="wallbord/+#qucekpifs \n", max_size=60)),
    st.just(DEFAULT_ROOT),
)
topics = st.one_of(structured_topics(), structured_topics(valid_ids), random_topics)

json_keys = st.text(max_size=12)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(), st.text(max_size=30),
    st.sampled_from(["", "a-17", "sales", "offered", "completed", "ack", "on", "today"]),
)


def json_values(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        json_scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=12,
    )


def to_bytes(value: Any) -> bytes:
    # allow_nan (the default) writes NaN / Infinity / -Infinity tokens: exactly what we want
    return json.dumps(value).encode("utf-8")


payload_bytes = st.one_of(
    st.binary(max_size=600),
    st.just(b""),
    json_values(json_keys).map(to_bytes),
    st.sampled_from([json.dumps(VALID[kind]).encode() for kind in Kind]),
    st.sampled_from([json.dumps(VALID[kind]).encode() for kind in Kind]).flatmap(
        lambda raw: st.integers(0, len(raw)).map(lambda n: raw[:n])),
)


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path into a payload, inner nodes included."""
    found: list[tuple[str | int, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _similar(value: Any) -> st.SearchStrategy[Any]:
    """A value of the same JSON type, so many results pass and ranges are probed."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.integers(min_value=-2, max_value=500)
    if isinstance(value, float):
        return st.floats(min_value=-1, max_value=NOW + 2 * 86_400) | st.floats(0, 1.5)
    if isinstance(value, str):
        return valid_ids | st.text(max_size=70) | st.sampled_from(
            ["offered", "answered", "abandoned", "completed", "available", "break", "ack",
             "nudge", "blink", "fast", "ignore", "count_in_favour", "check_in"])
    return st.none()


@st.composite
def near_valid(draw: st.DrawFn, keys: st.SearchStrategy[str]) -> tuple[Kind, dict[str, Any]]:
    """A valid payload with one node replaced, removed, or one key added."""
    kind = draw(st.sampled_from(list(Kind)))
    data = copy.deepcopy(VALID[kind])
    path = draw(st.sampled_from(_paths(data)))
    parent: Any = data
    for part in path[:-1]:
        parent = parent[part]
    action = draw(st.sampled_from(["replace", "similar", "similar", "remove", "add"]))
    if action == "replace":
        parent[path[-1]] = draw(json_values(keys))
    elif action == "similar":
        parent[path[-1]] = draw(_similar(parent[path[-1]]))
    elif action == "remove":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[draw(keys)] = draw(json_values(keys))
    return kind, data


# --- checks -----------------------------------------------------------------------------------

def check_error(err: BadMessage, topic: str) -> None:
    assert isinstance(err, BadMessage)
    assert type(err) is BadMessage
    assert str(err) == f"{err.topic}: {err.field}: {err.reason}"
    assert one_line_of(topic).startswith(err.topic)  # the topic, escaped to stay on one line
    assert err.field and err.reason
    assert one_line(err.reason), err.reason
    assert len(err.reason) < 400
    # the blanket "unreadable" fallback is for the unforeseen; validation errors are described
    assert not err.reason.startswith("unreadable"), str(err)


def check_result(result: Any, topic: str, payload: bytes) -> None:
    assert isinstance(result, Envelope | Cleared)
    assert str(result.topic) == topic
    if isinstance(result, Cleared):
        assert payload == b""
        assert result.topic.kind in CLEARABLE
    else:
        assert type(result.message) is MODELS[result.topic.kind]


# --- properties -------------------------------------------------------------------------------

@PROFILE
@given(topic_root=topics, payload=payload_bytes)
def test_random_bytes_on_random_topics(topic_root, payload):
    topic, root = topic_root
    try:
        result = decode(topic, payload, now=NOW, root=root)
    except BadMessage as err:
        check_error(err, topic)
        if one_line(topic):
            assert one_line(str(err)), str(err)
    else:
        check_result(result, topic, payload)


@PROFILE
@given(topic_root=structured_topics(valid_ids), value=json_values(json_keys))
def test_random_json_on_valid_topics(topic_root, value):
    topic, root = topic_root
    payload = to_bytes(value)
    try:
        result = decode(topic, payload, now=NOW, root=root)
    except BadMessage as err:
        check_error(err, topic)
        assert one_line(str(err)), str(err)
    else:
        check_result(result, topic, payload)


@PROFILE
@given(case=near_valid(json_keys))
def test_near_valid_messages(case):
    kind, data = case
    topic = build(kind, site="hq", **TOPIC_IDS[kind])
    payload = to_bytes(data)
    try:
        result = decode(topic, payload, now=NOW)
    except BadMessage as err:
        check_error(err, topic)
        assert one_line(str(err)), str(err)
        assert str(err).startswith(f"{topic}: ")
    else:
        check_result(result, topic, payload)
        assert isinstance(result, Envelope)
        again = decode(topic, encode(result.message), now=NOW)
        assert isinstance(again, Envelope)
        assert again.message == result.message


@PROFILE
@given(case=near_valid(json_keys))
def test_near_valid_messages_with_any_keys_only_raise_bad_message(case):
    kind, data = case
    topic = build(kind, site="hq", **TOPIC_IDS[kind])
    try:
        result = decode(topic, to_bytes(data), now=NOW)
    except BadMessage as err:
        check_error(err, topic)
    else:
        assert isinstance(result, Envelope)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(list(Kind)), root=roots, site=valid_ids, data=st.data())
def test_any_valid_ids_in_the_topic_are_accepted(kind, root, site, data):
    # service/recorder/status is the status of a service named "recorder" (test_topics.py).
    ids = {name: data.draw(valid_ids.filter(lambda v: v != "status"), label=name)
           for name in TOPIC_IDS[kind]}
    topic = build(kind, root=root, site=site, **ids)
    assert topic.count("/") == root.count("/") + 1 + SPECS[kind].pattern.count("/") + 1
    result = decode(topic, to_bytes(VALID[kind]), now=NOW, root=root)
    assert isinstance(result, Envelope)
    assert result.topic.site == site
    assert dict(result.topic.ids) == ids
