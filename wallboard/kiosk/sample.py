"""A made-up floor as retained messages, for kiosk tests, benchmarks and layout checks.

Deterministic: the same arguments give the same messages. Real floors come from the
simulator and the controller (``make screenshots`` uses those); this is for when a test
needs to know exactly what the screen should show.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

from wallboard.messages import (
    AGENT_STATES,
    AgentState,
    AgentWellbeing,
    DeskLight,
    FloorKpi,
    HelpStatus,
    Kudos,
    LongHold,
    Message,
    QueueKpi,
    StrainComponent,
    Suggestion,
    WindowKpi,
    encode,
)
from wallboard.topics import DEFAULT_ROOT, Kind, build

Published = tuple[str, bytes]  # topic, payload


def window(ts: float, name: str, *, sl: float | None, asa: float | None,
           abandon: float | None, offered: int = 100) -> WindowKpi:
    """A KPI window with the given rates (counts made consistent enough to validate)."""
    return WindowKpi(
        name=name, start=ts - 1800, end=ts, offered=offered, answered=offered - 5, abandoned=5,
        short_abandoned=1, answered_in_sl=int(offered * (sl or 0)), abandoned_in_sl=1,
        completed=offered - 10, sl_threshold_s=20.0, service_level=sl, asa_s=asa,
        abandon_rate=abandon, aht_s=300.0, occupancy=0.8)


def kpi_fields(ts: float, *, waiting: int, longest: float, sl: float | None,
               abandon: float | None, asa: float | None = 12.0) -> dict[str, Any]:
    """The fields a queue and the floor snapshot share."""
    return dict(
        ts=ts, sl_treatment="count_against", short_abandon_s=5.0, waiting=waiting,
        longest_wait_s=longest, agents_available=3, agents_busy=10, agents_on_break=2,
        agents_logged_in=15,
        today=window(ts, "today", sl=sl, asa=asa, abandon=abandon, offered=900),
        sliding=window(ts, "last 30 min", sl=sl, asa=asa, abandon=abandon))


class SampleFloor:
    """Builds topics and payloads for one site."""

    def __init__(self, site: str = "main", root: str = DEFAULT_ROOT) -> None:
        self.site, self.root = site, root

    def topic(self, kind: Kind, **ids: str) -> str:
        """A topic of this site."""
        return build(kind, root=self.root, site=self.site, **ids)

    def _out(self, kind: Kind, message: Message, **ids: str) -> Published:
        return self.topic(kind, **ids), encode(message)

    def floor(self, ts: float, queues: list[str], *, waiting: int = 4, longest: float = 25.0,
              sl: float | None = 0.85, abandon: float | None = 0.03,
              long_holds: Sequence[tuple[str, float]] = (),
              kudos: Sequence[tuple[str, float]] = ()) -> Published:
        """The ``kpi/floor`` snapshot."""
        return self._out(Kind.KPI_FLOOR, FloorKpi(
            **kpi_fields(ts, waiting=waiting, longest=longest, sl=sl, abandon=abandon),
            queues=queues, agents_by_state={"available": 3, "talking": 10},
            long_holds=[LongHold(agent=a, hold_s=s) for a, s in long_holds],
            kudos=[Kudos(agent=a, at=at) for a, at in kudos]))

    def wellbeing(self, ts: float, agent: str, reasons: Sequence[tuple[str, float, str]],
                  suggestion: Suggestion | None = None, text: str | None = None
                  ) -> Published:
        """One ``agent/{agent}/wellbeing``: (component, points, reason) each."""
        parts = [StrainComponent(name=n, value=1, points=p, reason=r) for n, p, r in reasons]
        return self._out(Kind.AGENT_WELLBEING, AgentWellbeing(
            ts=ts, score=min(100.0, sum(c.points for c in parts)), components=parts,
            suggestion=suggestion, suggestion_text=text), agent=agent)

    def queue(self, ts: float, queue: str, *, waiting: int, longest: float,
              sl: float | None, abandon: float | None) -> Published:
        """One ``kpi/queue/{queue}`` snapshot."""
        return self._out(Kind.KPI_QUEUE, QueueKpi(
            **kpi_fields(ts, waiting=waiting, longest=longest, sl=sl, abandon=abandon),
            queue=queue), queue=queue)

    def agent(self, ts: float, agent: str, state: str, since: float, *, team: str,
              desk: str | None = None, reason: str | None = None) -> Published:
        """One ``agent/{agent}/state``."""
        return self._out(Kind.AGENT_STATE, AgentState.model_validate(dict(
            ts=ts, state=state, since=since, team=team, desk=desk, reason=reason)), agent=agent)

    def light(self, ts: float, desk: str, red: str = "off", amber: str = "off",
              green: str = "on") -> Published:
        """One ``desk/{desk}/light``."""
        return self._out(Kind.DESK_LIGHT, DeskLight.model_validate(dict(
            ts=ts, red=red, amber=amber, green=green, buzzer="off")), desk=desk)

    def help(self, ts: float, desk: str, request: str, state: str, requested_at: float, *,
             agent: str | None = None, level: int = 0) -> Published:
        """One ``help/{desk}``."""
        return self._out(Kind.HELP, HelpStatus.model_validate(dict(
            ts=ts, request=request, state=state, agent=agent, requested_at=requested_at,
            level=level)), desk=desk)

    def agents(self, ts: float, count: int, *, teams: int = 10, seed: int = 1,
               changed: int = 0) -> Iterator[Published]:
        """``count`` agents spread over ``teams``, each at a desk of the same number.

        ``changed`` picks a different state sequence, so a second call with another value
        changes (nearly) every agent: the benchmark's full update.
        """
        rng = random.Random(seed * 1000 + changed)
        states = [s for s in AGENT_STATES if s != "offline"]
        for i in range(count):
            state = rng.choice(states)
            yield self.agent(ts, f"agent-{i:03d}", state, ts - rng.uniform(0, 1800),
                             team=f"team-{i % teams:02d}", desk=f"d-{i:03d}",
                             reason="lunch" if state == "break" else None)
