"""Settings the pure floor model needs: time zone, day start, window and per-queue KPI policy."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from wallboard.floor.strain import StrainPolicy
from wallboard.messages import SlTreatment


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    """How one queue's service level and abandons are counted."""

    sl_threshold_s: float = 20.0
    short_abandon_s: float = 5.0
    sl_treatment: SlTreatment = "count_against"
    sl_target: float = 0.8


@dataclass(frozen=True, slots=True)
class FloorSettings:
    """Everything the floor model is configured with; defaults match the docs."""

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    day_start: dt.time = dt.time(0, 0)
    window_s: float = 1800.0
    default: QueuePolicy = QueuePolicy()
    queues: dict[str, QueuePolicy] = field(default_factory=dict)
    stale_call_s: float = 4 * 3600.0  # a call "waiting" longer than this lost its end event
    escalate_after_s: float = 60.0  # an unacknowledged help request raises an alert after this
    hold_remind_s: float = 60.0  # a hold longer than this nudges the agent's desk
    strain: StrainPolicy = field(default_factory=StrainPolicy)
    wellbeing_every_s: float = 5.0  # how often strain is scored (only changes are published)
    kudos_window_s: float = 3600.0  # how long a compliment stays on the floor screens

    def policy(self, queue: str) -> QueuePolicy:
        """The policy for ``queue``: its own, or the site default."""
        return self.queues.get(queue, self.default)
