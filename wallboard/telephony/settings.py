"""The ``[telephony]`` config section: where Asterisk's queue_log is, how to reach AMI, and how
Asterisk's member and queue names map to Wallboard ids.

Asterisk names members by interface (``SIP/1001``, ``PJSIP/1001``, ``Local/1127@from-queue``)
or member name ("Sathish"); ``members`` maps either to an agent id, desk and team. ``queues``
maps an Asterisk queue name to a queue id and gives its ``wrapuptime`` (queues.conf), which
queue_log does not record. Names left out get a derived id (``wallboard.telephony.identity``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator

from wallboard.config_base import Section
from wallboard.messages import Id

Port = Annotated[int, Field(ge=1, le=65535)]
WrapUp = Annotated[float, Field(ge=0, le=3600, description="Seconds of wrap-up after a call")]
# An Asterisk name as config keys hold it: anything printable, not empty, not absurdly long.
_NAME_MAX = 200


def _check_names(names: Iterable[str], what: str) -> None:
    for name in names:
        if not name or len(name) > _NAME_MAX or not name.isprintable():
            raise ValueError(f"{what} name {name[:80]!r}: must be 1 to {_NAME_MAX} printable "
                             "characters")


class MemberMap(Section):
    """One Asterisk member (interface or member name) as a Wallboard agent."""

    agent: Id = Field(description="Agent id on the contract")
    desk: Id | None = Field(None, description="The agent's desk, if fixed")
    team: Id | None = Field(None, description="The agent's team, for team wellbeing")


class QueueMap(Section):
    """One Asterisk queue: its Wallboard id and its wrap-up time."""

    id: Id | None = Field(
        None, description="Queue id on the contract; default: the Asterisk name if it is a "
                          "valid id, else one derived from it")
    wrapuptime_s: WrapUp | None = Field(
        None, description="The queue's wrapuptime in queues.conf; default: telephony.wrapuptime_s")


class AmiConfig(Section):
    """The Asterisk Manager Interface connection (manager.conf)."""

    host: str = Field("localhost", min_length=1, description="Asterisk host")
    port: Port = Field(5038, description="AMI port (5038; 5039 is usual for TLS)")
    tls: bool = Field(False, description="Connect with TLS")
    ca_file: Annotated[Path, Field(strict=False)] | None = Field(
        None, description="CA bundle for TLS; system CAs if unset")
    username: str = Field("wallboard", min_length=1, description="manager.conf user")
    password_env: str = Field(
        "WALLBOARD_AMI_PASSWORD", min_length=1,
        description="Environment variable holding the AMI password")


class TelephonyConfig(Section):
    """The ``[telephony]`` section: the Asterisk adapter."""

    queue_log: Annotated[Path, Field(strict=False)] = Field(
        Path("/var/log/asterisk/queue_log"), description="Asterisk's queue_log file")
    state_file: Annotated[Path, Field(strict=False)] = Field(
        Path("/var/lib/wallboard/telephony/queue_log.position"),
        description="Where the follower saves how far it has read, to resume after a restart")
    wrapuptime_s: WrapUp = Field(
        0.0, description="Wrap-up after a call for queues that do not set their own "
                         "(Asterisk's default wrapuptime is 0)")
    queues: dict[str, QueueMap] = Field(
        default_factory=dict, description="Asterisk queue name -> queue id and wrap-up time")
    members: dict[str, MemberMap] = Field(
        default_factory=dict,
        description="Asterisk interface or member name -> agent id, desk and team")
    ami: AmiConfig | None = Field(
        None, description="AMI connection; leave out to read queue_log only")

    @field_validator("queues")
    @classmethod
    def _queue_names(cls, queues: dict[str, QueueMap]) -> dict[str, QueueMap]:
        _check_names(queues, "queue")
        return queues

    @field_validator("members")
    @classmethod
    def _member_names(cls, members: dict[str, MemberMap]) -> dict[str, MemberMap]:
        _check_names(members, "member")
        return members

    def wrapuptime(self, queue_name: str) -> float:
        """The wrap-up seconds of an Asterisk queue, by its Asterisk name."""
        mapped = self.queues.get(queue_name)
        if mapped is not None and mapped.wrapuptime_s is not None:
            return mapped.wrapuptime_s
        return self.wrapuptime_s
