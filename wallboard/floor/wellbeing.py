"""Per-agent strain and per-team aggregates, and which of them to publish now.

Pure. Every ``every_s`` the board scores each logged-in agent and each team, and returns
effects only for what changed since it last published: a new score, component or
suggestion; an agent who logged off (cleared); a team that fell below ``min_group`` agents
logged in (withdrawn, so a public screen never shows a group small enough to point at one
person).
"""

from __future__ import annotations

from collections import Counter, defaultdict

from wallboard.floor.agents import AgentRecord
from wallboard.floor.effects import Effect, PublishTeamWellbeing, PublishWellbeing
from wallboard.floor.strain import StrainPolicy, strain
from wallboard.floor.workload import SignalLog, workload
from wallboard.messages import AgentWellbeing, TeamWellbeing


def _content(message: AgentWellbeing | TeamWellbeing) -> str:
    """The message without its time: what a screen would show differently."""
    return message.model_dump_json(exclude={"ts"})


class WellbeingBoard:
    """Scores agents and teams on a schedule and remembers what it last published."""

    def __init__(self, policy: StrainPolicy, every_s: float = 5.0) -> None:
        self.policy = policy
        self.every_s = every_s
        self.next_at = float("-inf")
        self.agents: dict[str, str] = {}  # agent -> content last published
        self.teams: dict[str, str] = {}

    def rebase(self, delta_s: float) -> None:
        """Keep the scoring schedule across a wall-clock step (a step back must not pause it)."""
        self.next_at += delta_s

    def update(self, records: dict[str, AgentRecord], signals: SignalLog,
               help_by_agent: Counter[str], now: float, day_start: float) -> list[Effect]:
        """Effects for what changed, if the schedule says it is time; else nothing."""
        if now < self.next_at:
            return []
        self.next_at = now + self.every_s
        effects: list[Effect] = []
        scores: dict[str, list[float]] = defaultdict(list)
        seen: set[str] = set()
        for agent, record in sorted(records.items()):
            if record.current.state == "offline":
                continue
            seen.add(agent)
            work = workload(record, signals.of(agent), help_by_agent[agent], now, day_start,
                            self.policy)
            result = strain(work, self.policy)
            message = AgentWellbeing(ts=now, score=result.score, components=result.components,
                                     suggestion=result.suggestion,
                                     suggestion_text=result.suggestion_text,
                                     team=record.current.team)
            if record.current.team is not None:
                scores[record.current.team].append(result.score)
            content = _content(message)
            if self.agents.get(agent) != content:
                self.agents[agent] = content
                effects.append(PublishWellbeing(agent, message))
        for agent in sorted(set(self.agents) - seen):
            del self.agents[agent]
            effects.append(PublishWellbeing(agent, None))
        effects += self._teams(scores, now)
        return effects

    def _teams(self, scores: dict[str, list[float]], now: float) -> list[Effect]:
        effects: list[Effect] = []
        shown: set[str] = set()
        for team, team_scores in sorted(scores.items()):
            if len(team_scores) < self.policy.min_group:
                continue
            shown.add(team)
            message = TeamWellbeing(
                ts=now, agents=len(team_scores),
                mean_score=round(sum(team_scores) / len(team_scores), 1),
                agents_over_threshold=sum(1 for s in team_scores
                                          if s >= self.policy.check_in_score))
            content = _content(message)
            if self.teams.get(team) != content:
                self.teams[team] = content
                effects.append(PublishTeamWellbeing(team, message))
        for team in sorted(set(self.teams) - shown):
            del self.teams[team]
            effects.append(PublishTeamWellbeing(team, None))
        return effects
