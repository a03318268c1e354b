"""A mixed stream of contract messages, some of them bad, and how to find each in InfluxDB.

Every valid message carries a unique id (call, request) or a unique time, so a test can
count each one in InfluxDB and see that it is there exactly once. Every bad message carries
a marker that the ``rejected`` measurement keeps in its cut-short copy of payload or topic.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.test_messages import VALID
from wallboard.devservices import Influxd
from wallboard.messages import Envelope, decode
from wallboard.recorder.downsampling import POLICY_OF_MEASUREMENT, RAW, WELLBEING
from wallboard.topics import SPECS, Kind, build

SITE = "hq"
QUEUES = ("sales", "support", "billing")
# Identity of a stored message, by measurement: the fields that make it unique.
ID_FIELDS: dict[str, tuple[str, ...]] = {
    "call": ("call", "event"),
    "agent_signal": ("call",),
    "desk_help": ("request",),
    "desk_cmd": ("request",),
    "help": ("request",),
}
# How often each kind appears, roughly as on a floor: mostly calls and agent states.
MIX: tuple[Kind, ...] = (
    *[Kind.CALL] * 8, *[Kind.AGENT_STATE] * 4, Kind.AGENT_SIGNAL, Kind.DESK_HELP,
    Kind.DESK_STATUS, Kind.DESK_LIGHT, Kind.DESK_CMD, Kind.HELP, Kind.KPI_QUEUE, Kind.KPI_FLOOR,
    Kind.ALERT, Kind.AGENT_WELLBEING, Kind.TEAM_WELLBEING,
)
CALL_EVENTS: tuple[dict[str, Any], ...] = (
    {"event": "offered"},
    {"event": "answered", "wait_s": 12.5, "agent": "a-1"},
    {"event": "abandoned", "wait_s": 31},
    {"event": "completed", "agent": "a-1", "handle_s": 240.0, "hold_s": 30.5},
)


@dataclass(frozen=True, slots=True)
class Sent:
    """One published message and where it should end up."""

    topic: str
    payload: bytes
    retain: bool
    measurement: str  # the kind's measurement, or "rejected"
    key: tuple[str, ...] | None = None  # id fields' values, where the measurement has some
    marker: str | None = None  # for a bad message: text its rejected copy contains
    has_ts: bool = True  # a bad message with a usable ts is stored exactly once


def mixed_stream(count: int, *, start: float, bad_every: int = 20) -> list[Sent]:
    """``count`` messages, one in ``bad_every`` bad, times 1 ms apart from ``start``."""
    sent = []
    bad = itertools.cycle(_BAD)
    for i in range(count):
        ts = round(start + i * 0.001, 3)
        if i % bad_every == bad_every - 1:
            sent.append(next(bad)(i, ts))
        else:
            sent.append(_valid(MIX[i % len(MIX)], i, ts))
    return sent


def _valid(kind: Kind, i: int, ts: float) -> Sent:
    data = copy.deepcopy(VALID[kind])
    data["ts"] = ts
    ids = {"queue": QUEUES[i % 3], "agent": f"a-{i % 50}", "desk": f"d-{i % 40}",
           "alert": f"alert-{i % 7}", "team": f"team-{i % 4}"}
    if kind is Kind.CALL:
        data = {"ts": ts, "call": f"c-{i}", **CALL_EVENTS[i % len(CALL_EVENTS)]}
    elif kind in (Kind.DESK_HELP, Kind.DESK_CMD, Kind.HELP):
        data["request"] = f"r-{i}"
    elif kind is Kind.AGENT_SIGNAL:
        data["call"] = f"c-{i}"
    elif kind is Kind.AGENT_STATE:
        data.update(since=ts - 10, call=f"c-{i}")
    names = [s[1:-1] for s in SPECS[kind].segments if s.startswith("{")]
    topic = build(kind, site=SITE, **{name: ids[name] for name in names})
    payload = json.dumps(data).encode()
    result = decode(topic, payload, now=ts + 1)  # the stream itself must be right
    assert isinstance(result, Envelope), result
    fields = ID_FIELDS.get(kind.value)
    key = tuple(str(data[f]) for f in fields) if fields else None
    return Sent(topic, payload, SPECS[kind].retained, kind.value, key)


def _unknown_field(i: int, ts: float) -> Sent:
    marker = f"bad-{i}"
    payload = json.dumps({"ts": ts, "call": f"c-{i}", "event": "offered", "note": marker})
    return Sent(build(Kind.CALL, site=SITE, queue="sales"), payload.encode(), False,
                "rejected", marker=marker)


def _not_json(i: int, ts: float) -> Sent:
    marker = f"bad-{i}"
    return Sent(build(Kind.AGENT_STATE, site=SITE, agent="a-1"),
                f'{{"ts": {ts}, "state": "talking" {marker}'.encode(), False, "rejected",
                marker=marker, has_ts=False)


def _unknown_topic(i: int, ts: float) -> Sent:
    marker = f"bad-{i}"
    return Sent(f"wallboard/{SITE}/nonsense/{marker}", json.dumps({"ts": ts}).encode(), False,
                "rejected", marker=marker)


def _wrong_value(i: int, ts: float) -> Sent:
    marker = f"bad-{i}"
    payload = json.dumps({"ts": ts, "request": marker, "state": "exploded"})
    return Sent(build(Kind.DESK_HELP, site=SITE, desk="d-1"), payload.encode(), False,
                "rejected", marker=marker)


def _not_utf8(i: int, ts: float) -> Sent:
    marker = f"bad-{i}"
    return Sent(build(Kind.CALL, site=SITE, queue="support"),
                b"\xff\xfe" + marker.encode(), False, "rejected", marker=marker, has_ts=False)


_BAD = (_unknown_field, _not_json, _unknown_topic, _wrong_value, _not_utf8)


# -- reading back -------------------------------------------------------------------------------

def rows(influxd: Influxd, db: str, query: str) -> Iterator[dict[str, Any]]:
    """Every row a query returns, as column -> value."""
    for result in influxd.query(query, db=db)["results"]:
        for series in result.get("series", []):
            for values in series["values"]:
                yield dict(zip(series["columns"], values, strict=True))


def stored_counts(influxd: Influxd, db: str) -> Counter[str]:
    """Points per measurement (in the raw and wellbeing policies), by the ``n`` every point
    has."""
    counts: Counter[str] = Counter()
    for policy in (RAW, WELLBEING):
        query = f'SELECT count("n") FROM "{policy}"./.*/'
        for result in influxd.query(query, db=db)["results"]:
            for series in result.get("series", []):
                counts[series["name"]] += series["values"][0][1]
    return counts


def expected_counts(stream: list[Sent]) -> Counter[str]:
    """Points per measurement a stream should leave (at least, for ``rejected``: a bad
    message with no usable time is stored again if it is delivered again)."""
    return Counter(s.measurement for s in stream)


def stored_keys(influxd: Influxd, db: str, measurement: str) -> Counter[tuple[str, ...]]:
    """How often each id appears in ``measurement``."""
    fields = ID_FIELDS[measurement]
    policy = POLICY_OF_MEASUREMENT.get(measurement, RAW)
    select = ", ".join(f'"{f}"' for f in fields)
    return Counter(tuple(str(row[f]) for f in fields)
                   for row in rows(influxd, db, f'SELECT {select} FROM "{policy}"."{measurement}"'))


def rejected_markers(influxd: Influxd, db: str) -> Counter[str]:
    """How often each ``bad-N`` marker appears in ``rejected`` (payload or topic)."""
    found: Counter[str] = Counter()
    for row in rows(influxd, db, 'SELECT "payload", "topic" FROM "raw"."rejected"'):
        found.update(set(re.findall(r"bad-\d+", f'{row["payload"]} {row["topic"]}')))
    return found
