"""Who may publish and read what on the site broker, as mosquitto ACL text.

One table says, per role, which topics of ``wallboard/topics.py`` a device may write and
read; ``rules`` turns it into the lines for one device, and ``merge`` puts that device's
block into an ACL file's text, replacing an older block of the same user. Pure: the shell
that reads and writes the files is ``wallboard/security/provision.py``.

Each device gets its own ``user`` block, not ``pattern`` lines with ``%u``/``%c``: mosquitto
substitutes those only as a whole topic level, so a desk's user name would have to be its
bare id; pattern lines apply to every user, so a kiosk's name would become a desk id it may
publish for; and a pattern cannot pin the site. Explicit blocks can be audited line by line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from wallboard.errors import ProvisionError
from wallboard.messages import Id
from wallboard.service_names import SERVICE_NAMES, service_name
from wallboard.service_names import Role as Role  # re-exported: the role table is keyed by it
from wallboard.topics import DEFAULT_ROOT, Kind, build, is_id, subscription

# No prefix starts another, so two devices of different roles never share a user name.
USERNAME_PREFIX: dict[Role, str] = {
    Role.DESK: "desk-",
    Role.FLOOR_KIOSK: "kiosk-floor-",
    Role.SUPERVISOR_KIOSK: "kiosk-supervisor-",
    Role.CONTROLLER: "controller-",
    Role.RECORDER: "recorder-",
    Role.TELEPHONY: "telephony-",
}

# The role table, as topic kinds under {root}/{site}/ (docs/security.md shows it as a table).
DESK_WRITES = (Kind.DESK_STATUS, Kind.DESK_HELP, Kind.DESK_LIGHT)  # its own desk id only
# Its commands, and its own retained help request, which it reconciles with on connect.
DESK_READS = (Kind.DESK_CMD, Kind.DESK_HELP)
FLOOR_DENIED = (Kind.AGENT_WELLBEING,)  # individual strain: supervisor screens only
SUPERVISOR_WRITES = (Kind.DESK_CMD,)  # acknowledge and resolve from the wall screen
CONTROLLER_WRITES = (Kind.KPI_QUEUE, Kind.KPI_FLOOR, Kind.ALERT, Kind.HELP,
                     Kind.AGENT_WELLBEING, Kind.TEAM_WELLBEING, Kind.DESK_CMD)
# Its inputs, and its own retained alerts, which it takes back after a restart.
CONTROLLER_READS = (Kind.CALL, Kind.AGENT_STATE, Kind.AGENT_SIGNAL, Kind.DESK_HELP,
                    Kind.DESK_STATUS, Kind.DESK_LIGHT, Kind.ALERT, Kind.AGENT_WELLBEING,
                    Kind.TEAM_WELLBEING)
TELEPHONY_WRITES = (Kind.CALL, Kind.AGENT_STATE, Kind.AGENT_SIGNAL)

_BEGIN = re.compile(r"# wallboard device (?P<user>\S+): role=(?P<role>\S+) id=(?P<id>\S+) "
                    r"root=(?P<root>\S+) site=(?P<site>\S+)")
_END = "# end of wallboard device {user}"

NEW_FILE_HEADER = """\
# Wallboard site broker ACL (mosquitto acl_file); docs/security.md explains it.
# Each block below is one device, written by `wallboard provision-device`, which replaces
# a device's block when run again. Whatever no line grants is denied.
"""


class Access(StrEnum):
    """The access words of a mosquitto ``topic`` line."""

    READ = "read"
    WRITE = "write"
    READWRITE = "readwrite"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class Rule:
    """One ``topic`` line of a user block."""

    access: Access
    topic: str

    @property
    def line(self) -> str:
        """The line as mosquitto reads it."""
        return f"topic {self.access} {self.topic}"


class Device(BaseModel):
    """One device to provision: its role, its id, and where its topics live."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    id: Id
    site: Id = "main"
    root: str = DEFAULT_ROOT

    @field_validator("id")
    @classmethod
    def _recorder_not_status(cls, value: str, info: ValidationInfo) -> str:
        if value == "status" and info.data.get("role") is Role.RECORDER:
            # Its health topic service/recorder/status would be the "recorder" service's status.
            raise ValueError("'status' cannot be a recorder id")
        return value

    @field_validator("root")
    @classmethod
    def _root_levels_are_ids(cls, root: str) -> str:
        if not all(is_id(level) for level in root.split("/")):
            raise ValueError("every level must be an id (no wildcards, spaces or empty levels)")
        return root

    @property
    def username(self) -> str:
        """The broker user name: the role's prefix, then the id."""
        return USERNAME_PREFIX[self.role] + self.id

    @property
    def service(self) -> str | None:
        """The ``{service}`` of its retained ``service/{service}/status``, if it has one: the
        name ``bootstrap`` gives the service, from the same function."""
        return service_name(self.role, self.id) if self.role in SERVICE_NAMES else None


def rules(device: Device) -> tuple[Rule, ...]:
    """The ACL lines of ``device``: denials first (mosquitto checks them first anyway)."""
    root, site = device.root, device.site
    everything = f"{root}/{site}/#"

    def anyone(kinds: Iterable[Kind]) -> list[str]:
        return [subscription(kind, root=root, site=site) for kind in kinds]

    def status() -> list[str]:
        name = device.service
        return [] if name is None else [
            build(Kind.SERVICE_STATUS, root=root, site=site, service=name)]

    match device.role:
        case Role.DESK:
            own = [build(k, root=root, site=site, desk=device.id) for k in DESK_WRITES]
            reads = [build(k, root=root, site=site, desk=device.id) for k in DESK_READS]
            return _combine(own, reads)
        case Role.FLOOR_KIOSK:
            return (*(Rule(Access.DENY, t) for t in anyone(FLOOR_DENIED)),
                    Rule(Access.READ, everything))
        case Role.SUPERVISOR_KIOSK:
            return _combine(anyone(SUPERVISOR_WRITES), [everything])
        case Role.CONTROLLER:
            return _combine([*anyone(CONTROLLER_WRITES), *status()], anyone(CONTROLLER_READS))
        case Role.RECORDER:
            health = build(Kind.RECORDER_HEALTH, root=root, site=site, recorder=device.id)
            # Every site under the root: the recorder subscribes to {root}/+/#.
            return _combine([health, *status()], [f"{root}/#"])
        case Role.TELEPHONY:
            return _combine([*anyone(TELEPHONY_WRITES), *status()], [])
    raise AssertionError(device.role)  # pragma: no cover - the match is exhaustive


def _combine(writes: Sequence[str], reads: Sequence[str]) -> tuple[Rule, ...]:
    """Write rules, then read rules; a topic in both becomes one readwrite rule."""
    out = [Rule(Access.READWRITE if t in reads else Access.WRITE, t) for t in writes]
    out += [Rule(Access.READ, t) for t in reads if t not in writes]
    return tuple(out)


def block(device: Device) -> str:
    """The device's block: a marker naming it, its user line, its rules, an end marker."""
    d = device
    lines = [f"# wallboard device {d.username}: role={d.role} id={d.id} root={d.root} "
             f"site={d.site}", f"user {d.username}", *(r.line for r in rules(d)),
             _END.format(user=d.username)]
    return "\n".join(lines)


def merge(text: str, device: Device) -> str:
    """``text`` with the device's block in place of its old one, or appended if new.

    Raises ``ProvisionError`` if the file already gives that user name to another site or
    root, or has hand-written lines for it, since replacing the block would change them.
    """
    user = device.username
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines)
              if (m := _BEGIN.fullmatch(line)) is not None and m["user"] == user]
    managed = {i + 1 for i in starts}
    if any(i not in managed and line.split() == ["user", user] for i, line in enumerate(lines)):
        raise ProvisionError(f"the ACL file has a hand-written 'user {user}' line: "
                             "remove it first")
    if len(starts) > 1:
        raise ProvisionError(f"the ACL file has {len(starts)} blocks for {user}: keep one")
    new = block(device).splitlines()
    if not starts:
        body = "\n".join(lines).rstrip("\n")
        return (body + "\n\n" if body else "") + "\n".join(new) + "\n"
    start = starts[0]
    old = _BEGIN.fullmatch(lines[start])
    assert old is not None
    if (old["root"], old["site"]) != (device.root, device.site):
        raise ProvisionError(f"{user} is already provisioned for {old['root']}/{old['site']}: "
                             "remove its block from the ACL file first, or choose another id")
    end = _end_of_block(lines, start, user)
    return "\n".join([*lines[:start], *new, *lines[end + 1:]]) + "\n"


def _end_of_block(lines: list[str], start: int, user: str) -> int:
    """Index of the block's end marker; refuse if hand-written topic lines follow it,
    since mosquitto counts those as this user's and a new block would drop them."""
    marker = _END.format(user=user)
    try:
        end = lines.index(marker, start)
    except ValueError:
        raise ProvisionError(f"the ACL file's block for {user} has no end marker") from None
    for line in lines[end + 1:]:
        words = line.split()
        if words[:1] == ["user"] or _BEGIN.fullmatch(line):
            break
        if words[:1] == ["topic"]:
            raise ProvisionError(f"the ACL file has topic lines after the block of {user}, "
                                 "which mosquitto counts as its: put them under a user line")
    return end


def topic_matches(topic_filter: str, topic: str) -> bool:
    """True if ``topic`` matches ``topic_filter`` (``+`` one level, ``#`` the rest), as in MQTT."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False  # wildcards never match $SYS and the like
    parts, levels = topic_filter.split("/"), topic.split("/")
    for i, part in enumerate(parts):
        if part == "#":
            return True
        if i >= len(levels) or part not in ("+", levels[i]):
            return False
    return len(parts) == len(levels)


def may(device_rules: Iterable[Rule], action: Literal["read", "write"], topic: str) -> bool:
    """What mosquitto decides for one message: a matching deny wins, then any grant."""
    found = tuple(device_rules)
    if any(r.access is Access.DENY and topic_matches(r.topic, topic) for r in found):
        return False
    grants = (Access(action), Access.READWRITE)
    return any(r.access in grants and topic_matches(r.topic, topic) for r in found)


EXAMPLE_IDS: dict[Role, str] = {
    Role.DESK: "d-017", Role.FLOOR_KIOSK: "wall-1", Role.SUPERVISOR_KIOSK: "wall-2",
    Role.CONTROLLER: "hq", Role.RECORDER: "main", Role.TELEPHONY: "pbx",
}


def commented_examples(site: str = "hq") -> str:
    """One commented-out block per role, as the shipped ``wallboard.acl`` shows them."""
    out: list[str] = []
    for role in Role:
        device = Device(role=role, id=EXAMPLE_IDS[role], site=site)
        out += [f"# {role}:", f"#   user {device.username}",
                *(f"#   {r.line}" for r in rules(device)), "#"]
    return "\n".join(out[:-1])
