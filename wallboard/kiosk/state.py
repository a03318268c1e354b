"""What the kiosk has heard: the latest retained message of each kind, folded in order.

``fold`` is pure. It returns what changed, so the screen updates only those widgets. A message
older than the one already held for the same topic is ignored: a retained copy that arrives
after a live update must not roll the screen back. Given the screen's ``now``, a held message
dated over ``FUTURE_S`` ahead of it holds nothing back: its sender's clock was wrong, and
once NTP steps that clock back, the sender's next message is dated earlier yet is the news.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wallboard.messages import (
    AgentState,
    AgentWellbeing,
    Alert,
    Cleared,
    DeskLight,
    DeskStatus,
    Envelope,
    FloorKpi,
    HelpStatus,
    QueueKpi,
    ServiceStatus,
)
from wallboard.topics import Kind

FUTURE_S = 60.0  # dated further ahead of the screen's clock than this: a clock is wrong


@dataclass(slots=True)
class Changes:
    """What a fold touched: the screen redraws only these parts."""

    tiles: bool = False
    help: bool = False
    alerts: bool = False
    agents: set[str] = field(default_factory=set)  # agents whose cell changed
    roster: bool = False  # an agent joined, left or changed team: regroup the grid

    def merge(self, other: Changes) -> None:
        """Add ``other``'s changes to these."""
        self.tiles |= other.tiles
        self.help |= other.help
        self.alerts |= other.alerts
        self.roster |= other.roster
        self.agents |= other.agents

    def __bool__(self) -> bool:
        return self.tiles or self.help or self.alerts or self.roster or bool(self.agents)


@dataclass(slots=True)
class Board:
    """The latest retained state of the floor, as the controller and the desks published it."""

    floor: FloorKpi | None = None
    queues: dict[str, QueueKpi] = field(default_factory=dict)
    agents: dict[str, AgentState] = field(default_factory=dict)
    wellbeing: dict[str, AgentWellbeing] = field(default_factory=dict)
    lights: dict[str, DeskLight] = field(default_factory=dict)
    desks_online: dict[str, DeskStatus] = field(default_factory=dict)
    help: dict[str, HelpStatus] = field(default_factory=dict)  # by desk
    alerts: dict[str, Alert] = field(default_factory=dict)
    controller: ServiceStatus | None = None
    desk_agent: dict[str, str] = field(default_factory=dict)  # desk -> agent sitting there

    def long_holds(self) -> dict[str, float]:
        """Agents the controller says have held a caller too long, with the hold time."""
        if self.floor is None:
            return {}
        return {h.agent: h.hold_s for h in self.floor.long_holds}


def _newer(old: object, ts: float, now: float | None) -> bool:
    """Whether a message dated ``ts`` replaces ``old``: it is not older, or ``old`` is
    dated so far ahead of ``now`` that its clock was wrong."""
    held = getattr(old, "ts", 0.0)
    return old is None or held <= ts or (now is not None and held > now + FUTURE_S)


def fold(board: Board, item: Envelope | Cleared, now: float | None = None) -> Changes:
    """Fold one validated message, received at ``now`` (None: trust every ``ts``), into
    ``board``; return what changed."""
    changes = Changes()
    topic = item.topic
    if isinstance(item, Cleared):
        if topic.kind is Kind.ALERT and board.alerts.pop(topic.id("alert"), None) is not None:
            changes.alerts = True
        elif (topic.kind is Kind.AGENT_WELLBEING
              and board.wellbeing.pop(topic.id("agent"), None) is not None):
            changes.agents.add(topic.id("agent"))
        return changes
    msg = item.message
    kind = topic.kind
    if (kind is Kind.KPI_FLOOR and isinstance(msg, FloorKpi)
            and _newer(board.floor, msg.ts, now)):
        before = board.long_holds()
        board.floor = msg
        changes.tiles = True
        after = board.long_holds()
        changes.agents |= {a for a in before.keys() | after.keys() if before.get(a) != after.get(a)}
    elif kind is Kind.KPI_QUEUE and isinstance(msg, QueueKpi):
        queue = topic.id("queue")
        if _newer(board.queues.get(queue), msg.ts, now):
            board.queues[queue] = msg
            changes.tiles = True
    elif kind is Kind.AGENT_STATE and isinstance(msg, AgentState):
        _fold_agent(board, topic.id("agent"), msg, changes, now)
    elif kind is Kind.AGENT_WELLBEING and isinstance(msg, AgentWellbeing):
        agent = topic.id("agent")
        if _newer(board.wellbeing.get(agent), msg.ts, now):
            board.wellbeing[agent] = msg
            changes.agents.add(agent)
    elif kind is Kind.DESK_LIGHT and isinstance(msg, DeskLight):
        desk = topic.id("desk")
        if _newer(board.lights.get(desk), msg.ts, now):
            board.lights[desk] = msg
            _touch_desk(board, desk, changes)
    elif kind is Kind.DESK_STATUS and isinstance(msg, DeskStatus):
        desk = topic.id("desk")
        if _newer(board.desks_online.get(desk), msg.ts, now):
            board.desks_online[desk] = msg
            _touch_desk(board, desk, changes)
    elif kind is Kind.HELP and isinstance(msg, HelpStatus):
        desk = topic.id("desk")
        if _newer(board.help.get(desk), msg.ts, now):
            board.help[desk] = msg
            changes.help = True
    elif (kind is Kind.ALERT and isinstance(msg, Alert)
          and _newer(board.alerts.get(topic.id("alert")), msg.ts, now)):
        board.alerts[topic.id("alert")] = msg
        changes.alerts = True
    elif (kind is Kind.SERVICE_STATUS and isinstance(msg, ServiceStatus)
          and topic.id("service") == "controller" and _newer(board.controller, msg.ts, now)):
        board.controller = msg
        changes.tiles = True
    return changes


def _fold_agent(board: Board, agent: str, msg: AgentState, changes: Changes,
                now: float | None) -> None:
    old = board.agents.get(agent)
    if not _newer(old, msg.ts, now):
        return
    board.agents[agent] = msg
    changes.agents.add(agent)
    if old is None or old.team != msg.team or (old.state == "offline") != (msg.state == "offline"):
        changes.roster = True
    if (old is not None and old.desk is not None and old.desk != msg.desk
            and board.desk_agent.get(old.desk) == agent):  # someone else may sit there now
        del board.desk_agent[old.desk]
    if msg.desk is not None:
        board.desk_agent[msg.desk] = agent


def _touch_desk(board: Board, desk: str, changes: Changes) -> None:
    agent = board.desk_agent.get(desk)
    if agent is not None:
        changes.agents.add(agent)
