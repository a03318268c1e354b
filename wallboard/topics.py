"""The MQTT topic tree: which topics exist, who publishes them, and how to parse and build them.

Every topic is ``{root}/{site}/`` followed by one of the patterns in ``TOPICS``; ``{name}``
segments are ids. Parsing is pure and raises ``BadMessage`` naming the offending segment.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum

from wallboard.errors import BadMessage

DEFAULT_ROOT = "wallboard"
ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
_ID_RE = re.compile(ID_PATTERN)


class Kind(StrEnum):
    """One value per topic pattern; also the measurement name the recorder uses."""

    CALL = "call"
    AGENT_STATE = "agent_state"
    AGENT_SIGNAL = "agent_signal"
    DESK_STATUS = "desk_status"
    DESK_HELP = "desk_help"
    DESK_LIGHT = "desk_light"
    DESK_CMD = "desk_cmd"
    KPI_QUEUE = "kpi_queue"
    KPI_FLOOR = "kpi_floor"
    ALERT = "alert"
    AGENT_WELLBEING = "agent_wellbeing"
    TEAM_WELLBEING = "team_wellbeing"
    HELP = "help"
    SERVICE_STATUS = "service_status"
    RECORDER_HEALTH = "recorder_health"


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One row of the topic table: the pattern under ``{root}/{site}/`` and how it is used."""

    kind: Kind
    pattern: str
    publisher: str
    qos: int
    retained: bool
    purpose: str

    @property
    def segments(self) -> tuple[str, ...]:
        """The pattern split on ``/``."""
        return tuple(self.pattern.split("/"))


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(Kind.CALL, "queue/{queue}/call", "telephony adapter, simulator", 1, False,
              "One call event: offered, answered, abandoned or completed."),
    TopicSpec(Kind.AGENT_STATE, "agent/{agent}/state", "telephony adapter, simulator", 1, True,
              "The agent's current state and since when."),
    TopicSpec(Kind.AGENT_SIGNAL, "agent/{agent}/signal",
              "caller speech analytics, the agent, the adapter", 1, False,
              "A fact about a caller or a call: abusive, irate, escalated, compliment."),
    TopicSpec(Kind.DESK_STATUS, "desk/{desk}/status", "desk unit (also its last will)", 1, True,
              "Whether the desk unit is connected."),
    TopicSpec(Kind.DESK_HELP, "desk/{desk}/help", "desk unit", 1, True,
              "The desk's help request and its lifecycle state."),
    TopicSpec(Kind.DESK_LIGHT, "desk/{desk}/light", "desk unit", 1, True,
              "What the desk's stack light shows now, so screens can mirror it."),
    TopicSpec(Kind.DESK_CMD, "desk/{desk}/cmd", "controller, supervisor kiosk", 1, False,
              "A command to the desk unit."),
    TopicSpec(Kind.KPI_QUEUE, "kpi/queue/{queue}", "controller", 1, True,
              "The queue's KPI snapshot."),
    TopicSpec(Kind.KPI_FLOOR, "kpi/floor", "controller", 1, True,
              "The whole floor's KPI snapshot."),
    TopicSpec(Kind.ALERT, "alert/{alert}", "controller", 1, True,
              "An active alert; an empty retained message clears it."),
    TopicSpec(Kind.AGENT_WELLBEING, "agent/{agent}/wellbeing", "controller", 1, True,
              "The agent's workload strain indicators (supervisor screens only)."),
    TopicSpec(Kind.TEAM_WELLBEING, "team/{team}/wellbeing", "controller", 1, True,
              "A team's aggregate strain, only for teams of at least min_group agents."),
    TopicSpec(Kind.HELP, "help/{desk}", "controller", 1, True,
              "The desk's latest help request as the controller sees it: state, times, "
              "escalation level."),
    TopicSpec(Kind.SERVICE_STATUS, "service/{service}/status",
              "each service (also its last will)", 1, True,
              "Whether a service (controller, recorder) is running, so screens can say so."),
    # After service/{service}/status, which therefore wins for a recorder named "status":
    # the recorder's config refuses that id.
    TopicSpec(Kind.RECORDER_HEALTH, "service/recorder/{recorder}", "each recorder", 1, True,
              "A recorder's counters every 10 s: received, written, spooled, rejected, lag."),
)

SPECS: dict[Kind, TopicSpec] = {spec.kind: spec for spec in TOPICS}


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic: where it came from and the ids its pattern names."""

    root: str
    site: str
    kind: Kind
    ids: tuple[tuple[str, str], ...]

    def id(self, name: str) -> str:
        """The id bound to ``{name}`` in the pattern."""
        for key, value in self.ids:
            if key == name:
                return value
        raise KeyError(name)

    def __str__(self) -> str:
        return build(self.kind, root=self.root, site=self.site, **dict(self.ids))


def is_id(value: str) -> bool:
    """True when ``value`` is a valid id (letters, digits, ``_ . -``, at most 64 characters)."""
    return _ID_RE.fullmatch(value) is not None


def check_id(topic: str, field: str, value: str) -> str:
    """Return ``value`` if it is a valid id, else raise ``BadMessage`` naming ``field``."""
    if not is_id(value):
        raise BadMessage(topic, field, f"invalid id {value[:80]!r}: must match {ID_PATTERN}")
    return value


def build(kind: Kind, *, root: str = DEFAULT_ROOT, site: str, **ids: str) -> str:
    """Build a topic string, checking every id so no wildcard or separator slips in."""
    spec = SPECS[kind]
    parts = [root, check_id(root, "site", site)]
    for segment in spec.segments:
        if segment.startswith("{"):
            name = segment[1:-1]
            if name not in ids:
                raise BadMessage(spec.pattern, name, "missing id to build the topic")
            parts.append(check_id(spec.pattern, name, ids[name]))
        else:
            parts.append(segment)
    return "/".join(parts)


def subscription(kind: Kind, *, root: str = DEFAULT_ROOT, site: str = "+") -> str:
    """A subscription filter matching every topic of ``kind`` (ids become ``+``)."""
    spec = SPECS[kind]
    tail = ["+" if s.startswith("{") else s for s in spec.segments]
    return "/".join([root, site, *tail])


def parse(topic: str, *, root: str = DEFAULT_ROOT) -> Topic:
    """Parse ``topic`` under ``root``; raise ``BadMessage`` if it is not in the contract."""
    return _parse_cached(topic, root)


@functools.lru_cache(maxsize=65_536)  # a floor reuses a few thousand topics all day
def _parse_cached(topic: str, root: str) -> Topic:
    prefix = root + "/"
    if not topic.startswith(prefix):
        raise BadMessage(topic[:200], "topic", f"not under the topic root {root!r}")
    rest = topic[len(prefix):].split("/")
    if len(rest) < 2:
        raise BadMessage(topic[:200], "topic", "no site and topic after the root")
    site = check_id(topic[:200], "site", rest[0])
    tail = rest[1:]
    for spec in TOPICS:
        ids = _match(spec.segments, tail)
        if ids is not None:
            for name, value in ids:
                check_id(topic[:200], name, value)
            return Topic(root=root, site=site, kind=spec.kind, ids=ids)
    raise BadMessage(topic[:200], "topic", "unknown topic: see docs/protocol.md")


def _match(segments: tuple[str, ...], tail: list[str]) -> tuple[tuple[str, str], ...] | None:
    if len(segments) != len(tail):
        return None
    ids: list[tuple[str, str]] = []
    for pattern, value in zip(segments, tail, strict=True):
        if pattern.startswith("{"):
            ids.append((pattern[1:-1], value))
        elif pattern != value:
            return None
    return tuple(ids)
