"""What the pure core asks the shell to do, as plain values: alerts, help states, desk
commands, wellbeing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from wallboard.messages import AgentWellbeing, HelpStatus, TeamWellbeing


@dataclass(frozen=True, slots=True)
class RaiseAlert:
    """Publish (or re-publish at a new level) the retained alert ``alert``."""

    alert: str
    level: int
    kind: str
    text: str
    desk: str | None = None
    agent: str | None = None
    request: str | None = None
    since: float | None = None  # when what it is about began: screens keep its age live


@dataclass(frozen=True, slots=True)
class ClearAlert:
    """Clear the retained alert ``alert`` (an empty retained payload)."""

    alert: str


@dataclass(frozen=True, slots=True)
class SendDeskCommand:
    """Send ``cmd`` to the desk unit at ``desk``."""

    desk: str
    cmd: Literal["nudge", "clear_nudge"]


@dataclass(frozen=True, slots=True)
class PublishHelp:
    """Publish the retained ``help/{desk}`` state at once."""

    desk: str
    status: HelpStatus


@dataclass(frozen=True, slots=True)
class PublishWellbeing:
    """Publish the retained ``agent/{agent}/wellbeing``, or clear it (``None``)."""

    agent: str
    message: AgentWellbeing | None


@dataclass(frozen=True, slots=True)
class PublishTeamWellbeing:
    """Publish the retained ``team/{team}/wellbeing``, or withdraw it (``None``)."""

    team: str
    message: TeamWellbeing | None


Effect = (RaiseAlert | ClearAlert | SendDeskCommand | PublishHelp | PublishWellbeing
          | PublishTeamWellbeing)
