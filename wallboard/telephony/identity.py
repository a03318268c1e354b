"""Asterisk's names for members and queues, as Wallboard contract ids.

Asterisk names a member by interface (``SIP/1001``, ``PJSIP/1001``, ``Local/1127@from-queue``,
``Agent/1127``) or by member name ("Sathish"); neither is always a valid id. The
``[telephony]`` config maps them; a name it leaves out gets a derived id, the same every run,
and exactly one warning, returned as data for the shell to log. A valid id is kept as it is;
any other name becomes a slug of it plus a short hash of the whole, so ``SIP/1001`` and
``SIP-1001`` stay apart.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from wallboard.telephony.settings import TelephonyConfig
from wallboard.topics import is_id

_NOT_ID = re.compile(r"[^A-Za-z0-9_.-]+")
MAX_REMEMBERED = 10_000  # distinct names remembered; garbage lines cannot grow memory further


@dataclass(frozen=True, slots=True)
class Agent:
    """Who an Asterisk member is on the contract."""

    agent: str
    desk: str | None = None
    team: str | None = None


def derive_id(name: str, kind: str = "x") -> str:
    """A valid id for ``name``: itself when valid, else a slug plus a hash of the whole."""
    if is_id(name):
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    slug = _NOT_ID.sub("-", name).strip("-_.")[:40]
    return f"{slug}-{digest}" if slug else f"{kind}-{digest}"


def call_id(callid: str) -> str:
    """A valid call id for Asterisk's uniqueid (normally already one, e.g. 1366720340.1234)."""
    return callid if is_id(callid) else derive_id(callid, "call")


class Identities:
    """Looks up members and queues; derives and warns once for names the config leaves out."""

    __slots__ = ("_agents", "_config", "_full", "_queues")

    def __init__(self, config: TelephonyConfig) -> None:
        self._config = config
        self._agents: dict[str, Agent] = {}
        self._queues: dict[str, str] = {}
        self._full = False  # past MAX_REMEMBERED: names are derived each time, warned once

    def agent(self, name: str) -> tuple[Agent, str | None]:
        """The agent for a member name or interface, and a warning the first time it is unknown."""
        found = self._agents.get(name)
        if found is not None:
            return found, None
        mapped = self._config.members.get(name) or self._config.members.get(_base(name))
        warning = None
        if mapped is not None:
            found = Agent(mapped.agent, mapped.desk, mapped.team)
        else:
            found = Agent(derive_id(name, "agent"))
            warning = (f"member {name[:80]!r} is not in telephony.members: "
                       f"shown as agent {found.agent!r}")
        if len(self._agents) < MAX_REMEMBERED:
            self._agents[name] = found
            return found, warning
        return found, self._full_warning(warning)

    def queue(self, name: str) -> tuple[str, str | None]:
        """The queue id for an Asterisk queue name, and a warning the first time it is unknown."""
        found = self._queues.get(name)
        if found is not None:
            return found, None
        mapped = self._config.queues.get(name)
        warning = None
        if mapped is not None and mapped.id is not None:
            found = mapped.id
        else:
            found = derive_id(name, "queue")
            if mapped is None:
                warning = (f"queue {name[:80]!r} is not in telephony.queues: "
                           f"shown as queue {found!r}")
        if len(self._queues) < MAX_REMEMBERED:
            self._queues[name] = found
            return found, warning
        return found, self._full_warning(warning)

    def _full_warning(self, warning: str | None) -> str | None:
        """Once past the memory limit, one last warning instead of one per line."""
        if warning is None or self._full:
            return None
        self._full = True
        return f"over {MAX_REMEMBERED} distinct names: unknown names are no longer reported"


def _base(name: str) -> str:
    """``Local/1127@from-queue/n`` -> ``Local/1127@from-queue``: the channel's flag suffix off."""
    head, sep, tail = name.rpartition("/")
    if sep and head.count("/") >= 1 and len(tail) <= 2 and tail.isalpha():
        return head
    return name
