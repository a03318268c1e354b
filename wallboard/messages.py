"""The MQTT payload contract: one frozen pydantic model per topic, and ``decode`` at the boundary.

``decode`` is the only way bytes from the broker become typed messages. Anything that breaks
the contract raises ``BadMessage`` with one line naming the topic, the field and the reason;
no other exception escapes it. After ``decode`` the rest of the code passes typed objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from wallboard.errors import BadMessage
from wallboard.topics import DEFAULT_ROOT, ID_PATTERN, Kind, Topic, parse
from wallboard.validation import FieldProblem, field_and_reason, short

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_LISTED = 100  # list entries in one snapshot: keeps it well inside the payload limit
MAX_FUTURE_S = 86_400.0  # clocks drift, but an event a day ahead is a broken clock

Id = Annotated[str, StringConstraints(pattern=f"^{ID_PATTERN}$")]
Timestamp = Annotated[float, Field(ge=0, description="Unix epoch seconds")]
Duration = Annotated[float, Field(ge=0, description="seconds, never negative")]
Ratio = Annotated[float, Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=0)]
# Free text is shown on screens and in logs: no control characters or line separators.
_TEXT = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
ShortText = Annotated[str, StringConstraints(max_length=200, pattern=_TEXT)]
Label = Annotated[str, StringConstraints(max_length=64, pattern=_TEXT)]

CallEventKind = Literal["offered", "answered", "abandoned", "completed"]
AgentStateName = Literal["available", "talking", "hold", "wrap_up", "break", "offline"]
SignalKind = Literal["abusive_caller", "irate_caller", "escalated", "compliment"]
HelpState = Literal["requested", "acknowledged", "resolved", "cancelled"]
# The states in which a request is still open: the controller, the desk unit and the wall
# screens all read this one set.
OPEN_HELP_STATES: frozenset[HelpState] = frozenset({"requested", "acknowledged"})
# blink: even, once a second; fast: four times a second; flash: a brief flash every 2 s.
# docs/desk-unit.md gives the timings and what each pattern means on the tower.
LampState = Literal["off", "on", "blink", "fast", "flash"]
# (on seconds, off seconds) of each moving pattern: the desk drives its lamps with these, and
# wall screens that mirror a desk's tower blink in the same rhythm.
LAMP_PATTERNS: dict[LampState, tuple[float, float]] = {
    "blink": (0.5, 0.5),
    "fast": (0.125, 0.125),
    "flash": (0.1, 1.9),
}
DeskCommandName = Literal["ack", "resolve", "nudge", "clear_nudge", "test"]
SlTreatment = Literal["ignore", "count_against", "count_in_favour"]
# What a source says for a figure it cannot know (queue_log records no hold): never a made-up 0.
Unknown = Literal["unknown"]
UNKNOWN: Unknown = "unknown"

AGENT_STATES: tuple[AgentStateName, ...] = (
    "available", "talking", "hold", "wrap_up", "break", "offline",
)
BUSY_STATES: frozenset[str] = frozenset({"talking", "hold", "wrap_up"})


class Message(BaseModel):
    """Base of every payload: strict JSON object, no unknown keys, immutable, finite numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    ts: Timestamp = Field(description="Event time, Unix epoch seconds")

    @field_validator("ts")
    @classmethod
    def _not_far_future(cls, ts: float, info: ValidationInfo) -> float:
        now = info.context.get("now") if isinstance(info.context, dict) else None
        if now is not None and ts > now + MAX_FUTURE_S:
            raise ValueError("more than a day in the future")
        return ts


class CallEvent(Message):
    """``queue/{queue}/call``: one step in a call's life in the queue."""

    call: Id = Field(description="Call id, unique per call")
    event: CallEventKind
    wait_s: Duration | None = Field(
        None, description="Queue wait; required on answered and abandoned")
    agent: Id | None = Field(None, description="Agent; required on answered and completed")
    handle_s: Duration | None = Field(
        None, description="Talk + hold + wrap-up; required on completed")
    hold_s: Duration | Unknown | None = Field(
        None, description='Time on hold, or "unknown" when the source cannot know it '
        "(Asterisk's queue_log); required on completed")

    @model_validator(mode="after")
    def _fields_for_event(self) -> Self:
        needed = {
            "offered": (),
            "answered": ("wait_s", "agent"),
            "abandoned": ("wait_s",),
            "completed": ("agent", "handle_s", "hold_s"),
        }[self.event]
        for name in needed:
            if getattr(self, name) is None:
                raise FieldProblem(name, f"required when event is {self.event!r}")
        hold = self.hold_s  # "unknown" bounds nothing
        if isinstance(hold, float) and self.handle_s is not None and hold > self.handle_s:
            raise FieldProblem("hold_s", "cannot exceed handle_s")
        return self

    @field_validator("hold_s", mode="before")
    @classmethod
    def _seconds_or_unknown(cls, value: object) -> object:
        # Checked here so a bad value gets one plain reason, not one per member of the union.
        if value is None or value == UNKNOWN:
            return value
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ValueError(f'must be a number of seconds or "{UNKNOWN}"')
        if not math.isfinite(value):
            raise ValueError("Input should be a finite number")
        if value < 0:
            raise ValueError("Input should be greater than or equal to 0")
        return value


class AgentState(Message):
    """``agent/{agent}/state``: the agent's state now, and since when."""

    state: AgentStateName
    since: Timestamp = Field(description="When the agent entered this state")
    desk: Id | None = None
    queue: Id | None = None
    call: Id | None = None
    reason: Label | None = Field(None, description="Break or offline reason code")
    team: Id | None = None

    @model_validator(mode="after")
    def _since_not_after_ts(self) -> Self:
        if self.since > self.ts:
            raise FieldProblem("since", "cannot be later than ts")
        return self


class AgentSignal(Message):
    """``agent/{agent}/signal``: a fact about a caller or a call, never the agent's emotions."""

    kind: SignalKind
    call: Id | None = None
    source: Id | None = Field(None, description="Who raised it: analytics, agent, adapter")


class DeskStatus(Message):
    """``desk/{desk}/status``: desk unit connectivity; also the unit's retained last will."""

    online: bool
    firmware: Label | None = None


class DeskHelp(Message):
    """``desk/{desk}/help``: the desk's help request and where it is in its lifecycle."""

    request: Id = Field(description="Request id; makes redelivery harmless")
    state: HelpState
    agent: Id | None = None
    by: Id | None = Field(None, description="Who acknowledged or resolved it")


class DeskLight(Message):
    """``desk/{desk}/light``: what each lamp of the tower and the buzzer does now."""

    red: LampState
    amber: LampState
    green: LampState
    buzzer: LampState


class DeskCommand(Message):
    """``desk/{desk}/cmd``: a command to the desk unit."""

    cmd: DeskCommandName
    request: Id | None = Field(None, description="Required for ack and resolve")
    by: Id | None = None
    pattern: Id | None = Field(None, description="Optional named light pattern for nudge")

    @model_validator(mode="after")
    def _request_for_lifecycle(self) -> Self:
        if self.cmd in ("ack", "resolve") and self.request is None:
            raise FieldProblem("request", f"required when cmd is {self.cmd!r}")
        return self


class Part(BaseModel):
    """Base of objects nested in a payload: the same strictness as ``Message``, no ``ts``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class WindowKpi(Part):
    """KPIs over one named window; rates are null when there is nothing to measure."""

    name: Label = Field(description="'today' or the sliding window, e.g. 'last 30 min'")
    start: Timestamp
    end: Timestamp
    offered: Count
    answered: Count
    abandoned: Count = Field(description="All abandons, short ones included")
    short_abandoned: Count
    answered_in_sl: Count
    abandoned_in_sl: Count = Field(description="Abandoned within the SL threshold, not short")
    completed: Count
    sl_threshold_s: Duration
    service_level: Ratio | None
    asa_s: Duration | None
    abandon_rate: Ratio | None
    aht_s: Duration | None
    occupancy: Ratio | None


class LongHold(Part):
    """An agent who has kept a caller on hold past the reminder time."""

    agent: Id
    desk: Id | None = None
    queue: Id | None = None
    hold_s: Duration


class OpenHelp(Part):
    """A help request not yet resolved or cancelled, as the floor snapshot lists it."""

    desk: Id
    request: Id
    state: HelpState
    agent: Id | None = None
    requested_at: Timestamp
    age_s: Duration
    level: int = Field(ge=0, le=2, description="Escalation: 0 none, 1 raised, 2 escalated")


class HelpTimes(Part):
    """Today's help response times; nearest-rank percentiles, null until something happened."""

    requests: Count = Field(0, description="Requests made today")
    ack_p50_s: Duration | None = Field(None, description="Median press-to-acknowledge time")
    ack_p90_s: Duration | None = None
    resolve_p50_s: Duration | None = Field(None, description="Median press-to-resolve time")
    resolve_p90_s: Duration | None = None


class KpiSnapshot(Message):
    """Fields shared by the queue and floor snapshots: live values plus two windows."""

    sl_treatment: SlTreatment
    short_abandon_s: Duration
    waiting: Count
    longest_wait_s: Duration
    agents_available: Count
    agents_busy: Count
    agents_on_break: Count
    agents_logged_in: Count
    today: WindowKpi
    sliding: WindowKpi
    long_holds: list[LongHold] = Field(
        default_factory=list, max_length=MAX_LISTED,
        description="Agents holding a caller past the reminder time, longest first")


class QueueKpi(KpiSnapshot):
    """``kpi/queue/{queue}``: one queue's retained snapshot."""

    queue: Id


class Kudos(Part):
    """A caller's compliment, shown on the floor screens: recognition is part of wellbeing."""

    agent: Id
    at: Timestamp


class FloorKpi(KpiSnapshot):
    """``kpi/floor``: the whole floor's retained snapshot."""

    queues: list[Id]
    agents_by_state: dict[AgentStateName, Count]
    help_open: list[OpenHelp] = Field(
        default_factory=list, max_length=MAX_LISTED, description="Open help requests, oldest first")
    help_today: HelpTimes = Field(
        default_factory=lambda: HelpTimes(), description="Today's help response times")
    kudos: list[Kudos] = Field(default_factory=list, max_length=MAX_LISTED,
                               description="Recent caller compliments, newest first")


class Alert(Message):
    """``alert/{alert}``: an active alert. An empty retained payload clears it."""

    level: int = Field(ge=1, le=3, description="1 raised, 2 escalated, 3 critical")
    kind: Id
    text: ShortText
    queue: Id | None = None
    desk: Id | None = None
    agent: Id | None = None
    request: Id | None = None
    since: Timestamp | None = Field(
        None, description="When what it is about began (a help request's press); screens "
                          "show the age in the text as of their own clock")


class StrainComponent(Part):
    """One capped part of a strain score, with the reason it shows."""

    name: Id
    value: float
    points: float = Field(ge=0, le=100)
    reason: ShortText


Suggestion = Literal["recovery_break", "break_due", "check_in"]


class AgentWellbeing(Message):
    """``agent/{agent}/wellbeing``: workload strain from facts about the work, never about
    the agent's emotions; supervisor screens only. An empty retained payload clears it."""

    score: float = Field(ge=0, le=100, description="Sum of the components' points, at most 100")
    components: list[StrainComponent] = Field(max_length=32)
    suggestion: Suggestion | None = None
    suggestion_text: ShortText | None = Field(None, description="The suggestion, as shown")
    team: Id | None = None


class TeamWellbeing(Message):
    """``team/{team}/wellbeing``: team aggregate strain, only for groups of at least min_group.

    An empty retained payload withdraws it, when the team falls below that size."""

    agents: int = Field(ge=3, description="Agents logged in; never below the privacy minimum")
    mean_score: float = Field(ge=0, le=100)
    agents_over_threshold: Count


class HelpStatus(Message):
    """``help/{desk}``: the controller's record of the desk's latest request, with its times."""

    request: Id
    state: HelpState
    agent: Id | None = None
    by: Id | None = Field(None, description="Who acknowledged or resolved it")
    requested_at: Timestamp
    acknowledged_at: Timestamp | None = None
    closed_at: Timestamp | None = Field(None, description="When it was resolved or cancelled")
    time_to_acknowledge_s: Duration | None = None
    time_to_resolve_s: Duration | None = None
    level: int = Field(0, ge=0, le=2, description=(
        "The escalation alert up now: 0 none, 1 raised, 2 escalated; back to 0 once the "
        "request is acknowledged, resolved or cancelled, which clears the alert"))
    # Optional so that a help/{desk} message retained by an older controller still decodes:
    # a desk's last request stays retained until its next press, however long that takes.
    max_level: int | None = Field(None, ge=0, le=2, description=(
        "The highest escalation level the request reached, kept after it is handled; "
        "null only from a controller older than this field"))
    max_level_at: Timestamp | None = Field(None, description=(
        "When the request became due for max_level: the press plus max_level times "
        "help.escalate_after_s; null while max_level is 0 or null"))

    @model_validator(mode="after")
    def _highest_level(self) -> Self:
        if self.max_level is None:
            if self.max_level_at is not None:
                raise FieldProblem("max_level_at", "given without max_level")
            return self
        if self.max_level < self.level:
            raise FieldProblem("max_level", "cannot be below level")
        if (self.max_level_at is None) != (self.max_level == 0):
            raise FieldProblem("max_level_at", "required exactly when max_level is above 0")
        return self


class ServiceStatus(Message):
    """``service/{service}/status``: a service's retained online flag; its last will says false."""

    online: bool
    version: Label | None = None


class RecorderHealth(Message):
    """``service/recorder/{recorder}``: a recorder's counters since it started."""

    received: Count = Field(description="Messages received from the broker")
    written: Count = Field(description="Points InfluxDB accepted")
    spooled: Count = Field(description="Messages waiting in the on-disk spool now")
    rejected: Count = Field(description="Messages that broke the contract (kept in 'rejected')")
    dropped: Count = Field(0, description="Points InfluxDB refused, e.g. beyond retention")
    lag_s: Duration = Field(description="Age of the oldest message not yet in InfluxDB")
    database_up: bool = Field(description="Whether the last write to InfluxDB succeeded")
    disk_full: bool = Field(False, description=(
        "Whether the spool's disk is full: messages InfluxDB cannot take now wait "
        "unacknowledged, in the recorder's memory or at the broker"))
    spool_error: ShortText | None = Field(
        None, description="Why the spool cannot take batches, while it cannot")


MODELS: dict[Kind, type[Message]] = {
    Kind.CALL: CallEvent,
    Kind.AGENT_STATE: AgentState,
    Kind.AGENT_SIGNAL: AgentSignal,
    Kind.DESK_STATUS: DeskStatus,
    Kind.DESK_HELP: DeskHelp,
    Kind.DESK_LIGHT: DeskLight,
    Kind.DESK_CMD: DeskCommand,
    Kind.KPI_QUEUE: QueueKpi,
    Kind.KPI_FLOOR: FloorKpi,
    Kind.ALERT: Alert,
    Kind.AGENT_WELLBEING: AgentWellbeing,
    Kind.TEAM_WELLBEING: TeamWellbeing,
    Kind.HELP: HelpStatus,
    Kind.SERVICE_STATUS: ServiceStatus,
    Kind.RECORDER_HEALTH: RecorderHealth,
}


@dataclass(frozen=True, slots=True)
class Envelope:
    """A validated message with the topic it came on."""

    topic: Topic
    message: Message


# Where an empty retained payload means "gone": an alert over, an agent logged off, a team
# below the privacy minimum.
CLEARABLE = frozenset({Kind.ALERT, Kind.AGENT_WELLBEING, Kind.TEAM_WELLBEING})


@dataclass(frozen=True, slots=True)
class Cleared:
    """An empty retained payload on a topic where that means "gone" (see ``CLEARABLE``)."""

    topic: Topic


def decode(
    topic: str, payload: bytes, *, now: float, root: str = DEFAULT_ROOT
) -> Envelope | Cleared:
    """Validate one MQTT message; raise ``BadMessage``, and nothing else, if it is bad."""
    try:
        parsed = parse(topic, root=root)
        return _decode_payload(parsed, topic, payload, now)
    except BadMessage:
        raise
    except Exception as exc:  # the contract promises BadMessage only, whatever pydantic does
        raise BadMessage(topic[:200], "payload", f"unreadable: {type(exc).__name__}") from exc


def _decode_payload(parsed: Topic, topic: str, payload: bytes, now: float) -> Envelope | Cleared:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise BadMessage(topic, "payload", f"{len(payload)} bytes, over the 64 KiB limit")
    if not payload:
        if parsed.kind in CLEARABLE:
            return Cleared(parsed)
        raise BadMessage(topic, "payload", "empty")
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadMessage(topic, "payload", f"not UTF-8 (byte {exc.start})") from None
    model = MODELS[parsed.kind]
    try:
        message = model.model_validate_json(payload, context={"now": now})
    except ValidationError as exc:
        raise BadMessage(topic, *field_and_reason(
            exc, whole="payload", reasons=PAYLOAD_REASONS, show_input=short, count_more=True)
        ) from None
    return Envelope(parsed, message)


# Plainer words than pydantic's for what a sender most often gets wrong.
PAYLOAD_REASONS = {
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "extra_forbidden": "unknown field",
    "missing": "required field is missing",
}


def encode(message: Message) -> bytes:
    """Serialise a message for publishing: unset optional fields are left out at the top level.

    Nested nulls stay, because some are required (a KPI rate with nothing to measure is null).
    """
    empty = {name for name, value in message.__dict__.items() if value is None}
    return message.model_dump_json(exclude=empty).encode("utf-8")
