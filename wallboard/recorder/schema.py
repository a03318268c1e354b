"""How a contract message becomes one InfluxDB point: measurement, tags, fields and time.

Pure: no I/O, no clock. ``docs/storage.md`` describes the resulting schema.

- One measurement per message kind, named by ``Kind``.
- Tags hold bounded values only: the site, the ids in the topic (queue, agent, desk, team,
  alert, service), and the state or event kind; never both agent and desk in one
  measurement. Call and request ids are fields.
- Nested parts are flattened (``today.service_level`` becomes ``today_service_level``),
  lists become counts, absent values are left out, and every point has ``n=1i`` so
  ``COUNT("n")`` counts messages in any measurement.
- The time is the message's ``ts`` to the millisecond. The sub-millisecond digits are a
  hash of topic and payload: a redelivered message lands on the same point, so replays
  never duplicate, while two different messages in one series and millisecond both stay.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from influxdb_client.client.write.point import Point
from pydantic import BaseModel

from wallboard.errors import BadMessage, one_line
from wallboard.messages import (
    MAX_FUTURE_S,
    UNKNOWN,
    AgentWellbeing,
    Cleared,
    Envelope,
    FloorKpi,
    KpiSnapshot,
)
from wallboard.topics import DEFAULT_ROOT, Kind, Topic, parse

REJECTED = "rejected"  # measurement of messages that broke the contract
UNKNOWN_KIND = "unknown"  # the kind tag of a rejected message whose topic is not in the contract
RECORDER_ERROR = "recorder_error"  # the kind tag of a message the recorder itself failed on
TEXT_LIMIT = 200  # characters of a rejected topic or payload kept, as in the logs
MAX_CLAIMED_AGE_S = 7 * 86_400  # a rejected message's own ts is used up to this old
_NS_PER_MS = 1_000_000

FieldValue = bool | int | float | str


@dataclass(slots=True)  # not frozen: one per message, and a frozen __init__ costs 3x
class Row:
    """One point, before it becomes line protocol: easy to compare in tests."""

    measurement: str
    tags: dict[str, str]
    fields: dict[str, FieldValue]
    time_ns: int

    def line(self) -> bytes:
        """The point as one line of line protocol, built by influxdb-client's ``Point``.

        The time, always integer nanoseconds here, is appended as it is: ``Point`` would
        check it against five types first, a sixth of what building the line costs.
        """
        point = Point(self.measurement)
        for name, tag in self.tags.items():
            point.tag(name, tag)
        for name, value in self.fields.items():
            point.field(name, value)
        return f"{point.to_line_protocol()} {self.time_ns}".encode()

# Message fields stored as tags, per kind; topic ids and the site always are. Each
# measurement has at most one of agent and desk as a tag: with hot-desking, agent x desk
# would multiply the series, so the other one is a field.
TAG_FIELDS: dict[Kind, tuple[str, ...]] = {
    Kind.CALL: ("event", "agent"),
    Kind.AGENT_STATE: ("state", "queue", "team"),
    Kind.AGENT_SIGNAL: ("kind",),
    Kind.DESK_HELP: ("state",),
    Kind.DESK_CMD: ("cmd",),
    Kind.ALERT: ("kind", "queue"),
    Kind.HELP: ("state",),
}
# Lists whose entries are summarised beyond a count: (list, entry field, summary field).
_MAXIMA: dict[str, tuple[str, str]] = {
    "long_holds": ("hold_s", "long_holds_max_s"),
    "help_open": ("age_s", "help_open_oldest_s"),
}


def point_time_ns(ts: float, topic: str, payload: bytes) -> int:
    """``ts`` to the millisecond, plus a sub-millisecond hash of what was received."""
    digest = hashlib.blake2b(topic.encode("utf-8", "surrogateescape") + b"\0" + payload,
                             digest_size=8).digest()
    return round(ts * 1000) * _NS_PER_MS + int.from_bytes(digest, "big") % _NS_PER_MS


def message_row(envelope: Envelope, payload: bytes, topic_text: str | None = None) -> Row:
    """The point for a valid message; ``payload`` (and ``topic_text``) as they arrived."""
    topic, message = envelope.topic, envelope.message
    tags = {"site": topic.site, **dict(topic.ids)}
    tag_fields = TAG_FIELDS.get(topic.kind, ())
    for name in tag_fields:
        value = getattr(message, name)
        if value is not None:
            tags[name] = str(value)
    # A field that repeats a topic id (a queue snapshot's queue) is already a tag.
    fields: dict[str, FieldValue] = {}
    # A duration the source could not know ("unknown") is left out, as an absent one is: a
    # string in a numeric field would make InfluxDB refuse the whole point.
    unknown = {k for k, v in message.__dict__.items() if k.endswith("_s") and v == UNKNOWN}
    _add_fields(fields, "", message.__dict__,
                {"ts", *tag_fields, *(k for k, _ in topic.ids), *unknown})
    _add_summaries(fields, message)
    fields["n"] = 1
    return Row(topic.kind.value, tags, fields,
               point_time_ns(message.ts, topic_text or str(topic), payload))


def cleared_row(cleared: Cleared, now: float) -> Row:
    """An alert cleared by an empty retained payload: it carries no time, so ``now``."""
    topic = cleared.topic
    return Row(topic.kind.value, {"site": topic.site, **dict(topic.ids)},
               {"cleared": True, "n": 1}, point_time_ns(now, str(topic), b""))


def rejected_row(topic: str, payload: bytes, error: BadMessage, now: float, *,
                 root: str = DEFAULT_ROOT) -> Row:
    """A message that broke the contract: its topic kind, the reason and a cut-short copy.

    Its time is its own ``ts`` when it has a usable one, so a redelivered copy overwrites
    the first; otherwise the time it arrived.
    """
    try:
        parsed: Topic | None = parse(topic, root=root)
    except BadMessage:
        parsed = None
    tags = {"kind": parsed.kind.value, "site": parsed.site} if parsed else {
        "kind": UNKNOWN_KIND}
    text = payload[:TEXT_LIMIT * 4].decode("utf-8", "replace")
    fields: dict[str, FieldValue] = {  # escaped first, so the cut holds for what is stored
        "topic": one_line(topic[:TEXT_LIMIT])[:TEXT_LIMIT],
        "field": error.field[:TEXT_LIMIT],
        "reason": error.reason[:TEXT_LIMIT * 2],
        "bytes": len(payload),
        "payload": one_line(text[:TEXT_LIMIT])[:TEXT_LIMIT],
        "n": 1,
    }
    ts = _claimed_ts(payload, now)
    return Row(REJECTED, tags, fields,
               point_time_ns(now if ts is None else ts, topic, payload))


def internal_error_row(topic: str, payload: bytes, error: Exception, now: float) -> Row:
    """A message the recorder failed on (a bug): kept in ``rejected`` at its arrival time,
    reading nothing from it that could fail again."""
    text = payload[:TEXT_LIMIT * 4].decode("utf-8", "replace")
    return Row(REJECTED, {"kind": RECORDER_ERROR}, {
        "topic": one_line(topic[:TEXT_LIMIT])[:TEXT_LIMIT],
        "field": "",
        "reason": f"recorder error: {type(error).__name__}",
        "bytes": len(payload),
        "payload": one_line(text[:TEXT_LIMIT])[:TEXT_LIMIT],
        "n": 1,
    }, point_time_ns(now, topic, payload))


def _claimed_ts(payload: bytes, now: float) -> float | None:
    """The ``ts`` a rejected payload carries, if it is a plausible time for it: within a
    week before ``now`` (older points would soon fall out of retention) and a day after."""
    if not payload.lstrip().startswith(b"{"):
        return None
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    ts = data.get("ts") if isinstance(data, dict) else None
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        return None
    # Compared before any conversion: a huge JSON integer does not fit in a float.
    if now - MAX_CLAIMED_AGE_S <= ts <= now + MAX_FUTURE_S:
        return float(ts)
    return None


def _add_fields(fields: dict[str, FieldValue], prefix: str, values: dict[str, Any],
                skip: Collection[str] = ()) -> None:
    """Add every value, flattened: parts by name, lists as counts, absent ones left out."""
    for name, value in values.items():
        if value is None or name in skip:
            continue
        kind = type(value)
        if kind is float or kind is int or kind is str or kind is bool:
            fields[prefix + name] = value
        elif isinstance(value, BaseModel):
            # A window's name is a label, not data.
            _add_fields(fields, f"{prefix}{name}_", value.__dict__, ("name",))
        elif kind is list:
            fields[f"{prefix}{name}_count"] = len(value)
        elif kind is dict:
            _add_fields(fields, f"{prefix}{name}_", value)
        else:
            raise TypeError(f"{prefix}{name}: cannot store a {kind.__name__}")


def _add_summaries(fields: dict[str, FieldValue], message: BaseModel) -> None:
    """What a count of a list leaves out: the longest hold, the oldest request, components."""
    if isinstance(message, KpiSnapshot):
        for name, (entry, summary) in _MAXIMA.items():
            entries = getattr(message, name, None)
            if entries:
                fields[summary] = max(float(getattr(e, entry)) for e in entries)
    if isinstance(message, FloorKpi) and message.help_open:
        fields["help_open_max_level"] = max(h.level for h in message.help_open)
    if isinstance(message, AgentWellbeing):
        for component in message.components:
            fields[f"{component.name}_points"] = float(component.points)
            fields[f"{component.name}_value"] = float(component.value)
        if message.components:
            fields["reasons"] = "; ".join(c.reason for c in message.components)
