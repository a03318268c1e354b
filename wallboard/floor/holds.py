"""Hold reminders: nudge an agent's desk when a caller has been on hold too long.

A pure rule over the agents' current states at ``now``: ``nudge`` once when a hold passes
``remind_after_s``, ``clear_nudge`` once when it ends (or the agent moves desk).
"""

from __future__ import annotations

from collections.abc import Iterable

from wallboard.floor.agents import AgentView
from wallboard.floor.effects import Effect, SendDeskCommand


class HoldReminders:
    """Remembers which desks it nudged, so each nudge and clear is sent exactly once."""

    def __init__(self, remind_after_s: float = 60.0) -> None:
        self.remind_after_s = remind_after_s
        self.nudged: dict[str, str] = {}  # agent -> desk nudged

    def tick(self, agents: Iterable[AgentView], now: float) -> list[Effect]:
        """Desk commands due at ``now`` for these agents."""
        effects: list[Effect] = []
        for view in agents:
            long_hold = (view.state == "hold" and view.desk is not None
                         and now - view.since >= self.remind_after_s)
            nudged = self.nudged.get(view.agent)
            if nudged is not None and (not long_hold or nudged != view.desk):
                effects.append(SendDeskCommand(nudged, "clear_nudge"))
                del self.nudged[view.agent]
                nudged = None
            if long_hold and nudged is None and view.desk is not None:
                effects.append(SendDeskCommand(view.desk, "nudge"))
                self.nudged[view.agent] = view.desk
        return effects
