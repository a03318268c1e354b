"""A simulated call-centre floor: a deterministic discrete-event model that speaks the contract.

``simulate`` turns ``SimSettings`` and a start time into an endless (or bounded) stream of
``(topic, message)`` pairs in time order: calls offered, answered, abandoned and completed;
agents logging in, talking, holding, wrapping up, taking breaks and logging off; speech
analytics signals; and desk help requests with a supervisor answering them.

The model is pure: no I/O and no clock. Time is the ``start`` argument plus simulated
seconds, randomness is one ``random.Random(seed)``, so the same settings and start always
give the same stream. The shell (``wallboard simulate``) paces and publishes it.

How the floor behaves:

* Calls arrive as a Poisson process whose rate is constant within each local hour and
  follows ``wallboard.sim.profile``; each is routed to a queue by weight.
* Waiting calls are answered oldest-first across queues by the longest-idle available
  agent (every agent takes every queue). Callers give up after an exponential patience.
* Handle time (talk + hold + wrap-up) is lognormal; some calls have one or two hold
  segments. The analytics flag abusive callers (about 10 per agent-day) and compliments.
* After an abusive call an agent sometimes presses the desk help button; a supervisor
  acknowledges it (usually within 20-90 s, sometimes minutes later) and resolves it, or
  the agent cancels it first.
* Each day, ``agents * weekday factor`` agents work one shift, with starts chosen so the
  staffed head-count follows that day's demand curve; breaks are taken between calls.
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
import math
import random
from bisect import bisect_right
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from zoneinfo import ZoneInfo

from wallboard.messages import (
    AgentSignal,
    AgentState,
    AgentStateName,
    CallEvent,
    CallEventKind,
    DeskHelp,
    HelpState,
    Message,
    SignalKind,
)
from wallboard.sim.profile import DEFAULT_PROFILE, DemandProfile
from wallboard.topics import DEFAULT_ROOT, Kind, build

log = logging.getLogger(__name__)

QUEUE_NAMES = ("sales", "support", "billing", "retention", "tech", "general")
# Support and sales take most calls; retention and general are small specialist lines.
DEFAULT_QUEUE_WEIGHTS = (0.24, 0.26, 0.18, 0.08, 0.16, 0.08)
EXTRA_QUEUE_WEIGHT = 0.08


@dataclass(frozen=True, slots=True)
class SimSettings:
    """Size, behaviour and identity of the simulated floor; every default is realistic."""

    agents: int = 200
    queues: int = 6  # ids: sales, support, billing, retention, tech, general, then q7, q8, ...
    site: str = "main"
    root: str = DEFAULT_ROOT
    seed: int = 1
    timezone: str = "UTC"  # IANA zone the profile's local hours are in
    # Demand as if this many agents were staffed; None = ``agents``. Setting it apart from
    # ``agents`` models under- or over-staffing against the same demand.
    demand_agents: int | None = None
    profile: DemandProfile = DEFAULT_PROFILE
    queue_weights: tuple[float, ...] = ()  # routing weights per queue; () = the defaults
    # Handle time (talk + hold + wrap-up) is lognormal: median and sigma of its logarithm.
    handle_median_s: float = 240.0
    handle_sigma: float = 0.5
    wrap_share: tuple[float, float] = (0.08, 0.20)  # wrap-up as a share of handle time
    hold_probability: float = 0.25  # share of calls with at least one hold segment
    hold_share: tuple[float, float] = (0.10, 0.35)  # hold as a share of talk + hold
    ring_s: tuple[float, float] = (2.0, 6.0)  # from agent reserved to answered
    patience_mean_s: float = 150.0  # exponential caller patience while queued
    abusive_per_agent_day: float = 10.0  # Grandey et al. 2004: about 10 a day
    compliments_per_agent_day: float = 1.0
    help_after_abuse: float = 0.3  # chance an agent presses help after an abusive call
    help_cancel_probability: float = 0.1  # the agent cancels before anyone acknowledges
    ack_delay_s: tuple[float, float] = (20.0, 90.0)
    slow_ack_probability: float = 0.12  # supervisor busy: slow enough to escalate
    slow_ack_delay_s: tuple[float, float] = (120.0, 420.0)
    resolve_delay_s: tuple[float, float] = (60.0, 300.0)  # after acknowledging
    cancel_delay_s: tuple[float, float] = (5.0, 30.0)
    supervisors: int = 4  # ids sup1..supN; a team always goes to the same supervisor
    team_size: int = 15
    shift_hours: float = 8.5  # full-time, on site, lunch included; clipped to opening hours
    part_time_hours: float = 4.0  # part-timers cover the morning peak and the evening
    part_time_share: float = 0.2
    lunch_min: float = 30.0
    short_break_min: float = 15.0
    id_prefix: str = ""  # prepended to call and help-request ids, so two runs never clash

    def __post_init__(self) -> None:
        if self.agents < 1 or self.queues < 1 or self.supervisors < 1 or self.team_size < 1:
            raise ValueError("agents, queues, supervisors and team_size must be at least 1")
        if self.demand_agents is not None and self.demand_agents < 0:
            raise ValueError("demand_agents must not be negative")
        if self.queue_weights and (len(self.queue_weights) != self.queues
                                   or min(self.queue_weights) < 0
                                   or sum(self.queue_weights) <= 0):
            raise ValueError("queue_weights needs one non-negative weight per queue")
        if self.handle_median_s <= 0 or self.handle_sigma < 0 or self.patience_mean_s <= 0:
            raise ValueError("handle_median_s and patience_mean_s must be > 0, sigma >= 0")
        for name in ("hold_probability", "part_time_share", "help_after_abuse",
                     "help_cancel_probability", "slow_ack_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        for name in ("wrap_share", "hold_share", "ring_s", "ack_delay_s", "slow_ack_delay_s",
                     "resolve_delay_s", "cancel_delay_s"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"{name} must be (low, high) with 0 <= low <= high")
        if min(self.shift_hours, self.part_time_hours) < 0.5:
            raise ValueError("shift_hours and part_time_hours must be at least 0.5")
        if min(self.lunch_min, self.short_break_min) < 0:
            raise ValueError("lunch_min and short_break_min must not be negative")
        if self.wrap_share[1] >= 1 or self.hold_share[1] >= 1:
            raise ValueError("wrap_share and hold_share must stay below 1")
        ZoneInfo(self.timezone)  # fail now, not on the first day boundary

    @property
    def demand(self) -> int:
        """The head-count the demand is sized for."""
        return self.agents if self.demand_agents is None else self.demand_agents

    @property
    def queue_ids(self) -> tuple[str, ...]:
        """The queue ids, in order."""
        return tuple(QUEUE_NAMES[i] if i < len(QUEUE_NAMES) else f"q{i + 1}"
                     for i in range(self.queues))

    @property
    def weights(self) -> tuple[float, ...]:
        """Routing weights per queue, as given or the defaults."""
        if self.queue_weights:
            return self.queue_weights
        return tuple(DEFAULT_QUEUE_WEIGHTS[i] if i < len(DEFAULT_QUEUE_WEIGHTS)
                     else EXTRA_QUEUE_WEIGHT for i in range(self.queues))

    @property
    def abusive_per_call(self) -> float:
        """Chance an answered call is flagged abusive, so an agent-day sees the configured count."""
        return min(1.0, self.abusive_per_agent_day / self.profile.calls_per_agent_day)


def agent_id(index: int, agents: int) -> str:
    """Agent id for 0-based ``index``: a001, a002, ... (wider past 999 agents)."""
    return f"a{index + 1:0{max(3, len(str(agents)))}d}"


def desk_id(index: int, agents: int) -> str:
    """The fixed desk of agent ``index``: d001 for a001, and so on."""
    return f"d{index + 1:0{max(3, len(str(agents)))}d}"


# A break in a shift: (minutes after shift start, length in minutes, reason).
Break = tuple[int, int, str]


@dataclass(frozen=True, slots=True)
class Shift:
    """One rostered shift: local start (minutes after midnight), length and breaks."""

    start_min: int
    length_min: int
    breaks: tuple[Break, ...]


def break_template(shift_min: int, lunch_min: float, short_min: float,
                   lunch_shift_min: int = 0) -> tuple[Break, ...]:
    """Breaks for a shift: short ones near 1/4 and 3/4 and lunch mid-shift; one short if part-time.

    ``lunch_shift_min`` moves lunch from mid-shift, so the rota can stagger lunches.
    """
    short, lunch = round(short_min), round(lunch_min)
    breaks: list[Break] = []
    # UK display-screen guidance prefers short, frequent breaks; lunch only on long shifts.
    if shift_min >= 360:
        if short > 0:
            breaks.append((round(shift_min * 0.25) - short // 2, short, "short"))
        if lunch > 0:
            breaks.append((shift_min // 2 - lunch // 2 + lunch_shift_min, lunch, "lunch"))
        if short > 0:
            breaks.append((round(shift_min * 0.77) - short // 2, short, "short"))
    elif shift_min >= 180 and short > 0:
        breaks.append((shift_min // 2 - short // 2, short, "short"))
    return tuple(breaks)


def _span(start_min: int, length_min: int, open_min: int,
          bins: int) -> list[tuple[int, float]]:
    """Half-hour bins (counted from opening) that [start, start + length) overlaps, as shares."""
    spans: list[tuple[int, float]] = []
    m, end = start_min - open_min, start_min - open_min + length_min
    while m < end:
        b = m // 30
        step = min(end, (b + 1) * 30) - m
        if 0 <= b < bins:
            spans.append((b, step / 30))
        m += step
    return spans


# How far the rota may move each break from its place in ``break_template``, in minutes.
BREAK_MOVES = {"lunch": range(-60, 61, 15), "short": range(-30, 31, 15)}
BREAK_GAP_MIN = 30  # work at least this long between breaks and at either end of the shift


@lru_cache(maxsize=128)
def plan_shifts(need: tuple[float, ...], open_h: int, close_h: int, full_time: int,
                part_time: int, full_min: int, part_min: int, lunch_min: float,
                short_min: float) -> tuple[Shift, ...]:
    """Shifts for the day's agents so the staffed head-count follows ``need``.

    ``need`` holds one value per half hour from opening. The plan minimises
    sum(need^2 / cover) over those half hours, which is smallest when cover is proportional
    to need. First each agent in turn takes the half-hourly start that lowers it most (then
    two passes move single agents), then each break moves within ``BREAK_MOVES`` the same way.
    """
    bins, open_min = (close_h - open_h) * 2, open_h * 60
    weight = [n * n for n in need]
    cover = [1e-9] * bins

    def add(spans: list[tuple[int, float]], sign: float) -> None:
        """Add (or with sign -1, remove) ``spans`` to the cover."""
        for b, c in spans:
            cover[b] += sign * c

    # Stage 1: starts, with every break in its template place.
    menus: list[list[list[tuple[int, float]]]] = []
    templates = []
    for length in (full_min, part_min):
        breaks = break_template(length, lunch_min, short_min)
        templates.append(breaks)
        menu = []
        for start in range(open_min, close_h * 60 - length + 1, 30):
            work = dict(_span(start, length, open_min, bins))
            for off, blen, _ in breaks:
                for b, c in _span(start + off, blen, open_min, bins):
                    work[b] -= c
            menu.append([(b, c) for b, c in work.items() if c > 1e-9])
        menus.append(menu)

    def best_start(menu: list[list[tuple[int, float]]]) -> int:
        """The menu entry that lowers the objective most, given ``cover``."""
        top, top_gain = 0, -math.inf
        for k, spans in enumerate(menu):
            gain = sum(weight[b] * c / (cover[b] * (cover[b] + c)) for b, c in spans)
            if gain > top_gain:
                top, top_gain = k, gain
        return top

    # Interleave part-timers among full-timers so neither type grabs every good slot first.
    total = full_time + part_time
    kinds = [int((k + 1) * part_time / total) > int(k * part_time / total)
             for k in range(total)]
    chosen: list[int] = []
    for part in kinds:
        chosen.append(best_start(menus[part]))
        add(menus[part][chosen[-1]], 1.0)
    for _ in range(2):
        for i, part in enumerate(kinds):
            add(menus[part][chosen[i]], -1.0)
            chosen[i] = best_start(menus[part])
            add(menus[part][chosen[i]], 1.0)

    # Stage 2: stagger breaks away from the busiest half hours.
    starts = [open_min + 30 * k for k in chosen]
    lengths = [part_min if part else full_min for part in kinds]
    offsets = [[off for off, _, _ in templates[part]] for part in kinds]
    for _ in range(2):
        for i, part in enumerate(kinds):
            template = templates[part]
            for j, (home, blen, reason) in enumerate(template):
                lo = (offsets[i][j - 1] + template[j - 1][1] if j else 0) + BREAK_GAP_MIN
                hi = (offsets[i][j + 1] if j + 1 < len(template) else lengths[i]) \
                    - BREAK_GAP_MIN - blen
                add(_span(starts[i] + offsets[i][j], blen, open_min, bins), 1.0)
                top, top_cost = offsets[i][j], math.inf
                for move in BREAK_MOVES[reason]:
                    off = home + move
                    if not lo <= off <= hi:
                        continue
                    cost = sum(weight[b] * (1 / max(cover[b] - c, 1e-9) - 1 / cover[b])
                               for b, c in _span(starts[i] + off, blen, open_min, bins))
                    if cost < top_cost:
                        top, top_cost = off, cost
                offsets[i][j] = top
                add(_span(starts[i] + top, blen, open_min, bins), -1.0)
    shifts = [Shift(starts[i], lengths[i], tuple(
                  (off, blen, reason)
                  for off, (_, blen, reason) in zip(offsets[i], templates[part], strict=True)))
              for i, part in enumerate(kinds)]
    return tuple(sorted(shifts, key=lambda s: (s.start_min, s.length_min, s.breaks)))


# Event codes, in one table so the dispatch in ``_Floor.run`` reads top to bottom.
ARRIVE, HOUR, ANSWER, PHASE, ABANDON, SIGNAL, HELP = range(7)
SHIFT_START, BREAK, BREAK_END, SHIFT_END, DAY = range(7, 12)
# Call phases an agent steps through after answering.
P_HOLD, P_TALK, P_WRAP, P_DONE = range(4)
# Agent status inside the model; "ringing" is reserved for a call but still shows available.
OFFLINE, AVAILABLE, RINGING, BUSY, ON_BREAK = range(5)
# What an agent does once the current call is over.
NONE, GO_BREAK, GO_OFFLINE = range(3)
# Call status.
WAITING, TAKEN, ABANDONED = range(3)
HELP_STATES: tuple[HelpState, ...] = ("requested", "acknowledged", "resolved", "cancelled")
SIGNAL_KINDS: tuple[SignalKind, ...] = ("abusive_caller", "compliment")
BREAK_REASONS = ("short", "lunch")


class _Call:
    """One call's life: queue, when it was offered and answered, and hold time so far."""

    __slots__ = ("answered", "hold_s", "id", "offered", "queue", "state", "topic")

    def __init__(self, call_id: str, queue: str, topic: str, offered: float) -> None:
        self.id = call_id
        self.queue = queue
        self.topic = topic
        self.offered = offered
        self.answered = 0.0
        self.hold_s = 0.0
        self.state = WAITING


class _Agent:
    """One agent: fixed desk and team, topics built once, and where they are in the day."""

    __slots__ = ("abused", "break_len", "break_reason", "by", "call", "desk", "help",
                 "help_topic", "hold_from", "id", "index", "pending", "phases", "queue",
                 "signal_topic", "state_topic", "status", "team")

    def __init__(self, index: int, cfg: SimSettings, home_queue: str) -> None:
        self.index = index
        self.id = agent_id(index, cfg.agents)
        self.desk = desk_id(index, cfg.agents)
        team = index // cfg.team_size
        self.team = f"team{team + 1:02d}"
        self.by = f"sup{team % cfg.supervisors + 1}"
        self.state_topic = build(Kind.AGENT_STATE, root=cfg.root, site=cfg.site, agent=self.id)
        self.signal_topic = build(Kind.AGENT_SIGNAL, root=cfg.root, site=cfg.site,
                                  agent=self.id)
        self.help_topic = build(Kind.DESK_HELP, root=cfg.root, site=cfg.site, desk=self.desk)
        self.queue = home_queue  # until the first call, the queue the agent is skilled for
        self.status = OFFLINE
        self.pending = NONE
        self.break_reason = ""
        self.break_len = 0.0
        self.call: _Call | None = None
        self.phases: list[tuple[float, int]] = []  # reversed: next phase last
        self.hold_from = 0.0
        self.abused = False  # the current call's caller was flagged abusive
        self.help: str | None = None  # the desk's open help request, if any


Event = tuple[float, int, int, int, int]  # (time, sequence, code, agent index, argument)


@dataclass(slots=True)
class _Floor:
    """The simulator's state; ``run`` pops events and appends messages to ``out``."""

    cfg: SimSettings
    start: float
    rng: random.Random
    tz: ZoneInfo
    agents: list[_Agent] = field(default_factory=list)
    heap: list[Event] = field(default_factory=list)
    out: list[tuple[str, Message]] = field(default_factory=list)
    free: dict[int, None] = field(default_factory=dict)  # insertion order = longest idle first
    waiting: deque[_Call] = field(default_factory=deque)
    calls: dict[int, _Call] = field(default_factory=dict)
    queue_ids: tuple[str, ...] = ()
    queue_topics: tuple[str, ...] = ()
    cum_weights: list[float] = field(default_factory=list)
    now: float = 0.0
    seq: int = 0
    n_calls: int = 0
    n_help: int = 0
    rate: float = 0.0
    hour_end: float = 0.0
    mu: float = 0.0

    def at(self, t: float, code: int, who: int = 0, arg: int = 0) -> None:
        """Schedule an event; times are kept to the millisecond, like the messages."""
        self.seq += 1
        heapq.heappush(self.heap, (round(t, 3), self.seq, code, who, arg))

    # ---- messages -------------------------------------------------------------------

    def state(self, a: _Agent, state: AgentStateName, reason: str | None = None) -> None:
        """Publish the agent's new state; ts == since because it changed just now."""
        call = a.call.id if a.call is not None and state in ("talking", "hold", "wrap_up") \
            else None
        self.out.append((a.state_topic, AgentState(
            ts=self.now, state=state, since=self.now, desk=a.desk, queue=a.queue, call=call,
            reason=reason, team=a.team)))

    def call_event(self, c: _Call, event: CallEventKind, wait_s: float | None = None,
                   agent: str | None = None, handle_s: float | None = None,
                   hold_s: float | None = None) -> None:
        """Publish one step of a call on its queue's topic."""
        self.out.append((c.topic, CallEvent(ts=self.now, call=c.id, event=event, wait_s=wait_s,
                                            agent=agent, handle_s=handle_s, hold_s=hold_s)))

    # ---- setup ----------------------------------------------------------------------

    def setup(self) -> None:
        """Create agents and queues, publish everyone's state at start, schedule the first day."""
        cfg = self.cfg
        self.queue_ids = cfg.queue_ids
        self.queue_topics = tuple(build(Kind.CALL, root=cfg.root, site=cfg.site, queue=q)
                                  for q in self.queue_ids)
        self.cum_weights = list(accumulate(cfg.weights))
        total = self.cum_weights[-1]
        # Spread home queues by weight so the floor's skills mirror the call mix.
        self.agents = [
            _Agent(i, cfg, self.queue_ids[min(bisect_right(self.cum_weights,
                                                           (i + 0.5) / cfg.agents * total),
                                              cfg.queues - 1)])
            for i in range(cfg.agents)]
        self.mu = math.log(cfg.handle_median_s)
        self.now = self.start
        today = dt.datetime.fromtimestamp(self.start, self.tz).date()
        on_shift = self.plan_day(today)
        for a in self.agents:
            if a.index in on_shift:
                self.become_free(a)
            else:
                self.state(a, "offline", "off_shift")
        self.at(_local(today + dt.timedelta(days=1), 0, self.tz), DAY)
        self.new_hour()

    def plan_day(self, day: dt.date) -> set[int]:
        """Schedule the day's shifts and breaks; return agents already on shift at start."""
        cfg, profile = self.cfg, self.cfg.profile
        weekday = day.weekday()
        hours = profile.opening[weekday]
        rostered = min(cfg.agents, round(cfg.agents * profile.weekday_factor[weekday]))
        if hours is None or rostered <= 0:
            log.debug("%s: closed, no shifts", day)
            return set()
        open_h, close_h = hours
        open_len = (close_h - open_h) * 60
        full_min = min(round(cfg.shift_hours * 60), open_len)
        part_min = min(round(cfg.part_time_hours * 60), open_len)
        part_time = round(rostered * cfg.part_time_share)
        # Staff to the forecast load in erlangs plus its square root (the square-root
        # staffing rule), so quiet hours get the extra head-room small groups need.
        mean_handle = cfg.handle_median_s * math.exp(cfg.handle_sigma ** 2 / 2)
        volume = profile.daily_volume(weekday, cfg.demand)
        need = []
        for b in range(open_len // 30):
            load = volume * profile.hour_share(weekday, open_h + b // 2) / 2 * mean_handle / 1800
            need.append(round(load + math.sqrt(load), 3))
        shifts = plan_shifts(tuple(need), open_h, close_h, rostered - part_time, part_time,
                             full_min, part_min, cfg.lunch_min, cfg.short_break_min)
        # Rotate who has the day off, so days off spread over the whole floor.
        offset = day.toordinal() * 37 % cfg.agents
        who = [(offset + k) % cfg.agents for k in range(rostered)]
        self.rng.shuffle(who)
        midnight = _local(day, 0, self.tz)
        on_shift: set[int] = set()
        rng = self.rng
        for index, shift in zip(who, shifts, strict=True):
            # People log in a few minutes either side of the rota and log off a little late.
            begin = midnight + shift.start_min * 60 + rng.uniform(-240.0, 120.0)
            end = begin + shift.length_min * 60 + rng.uniform(0.0, 240.0)
            if end <= self.start:
                continue
            if begin <= self.start:
                on_shift.add(index)
            else:
                self.at(begin, SHIFT_START, index)
            for off, length, reason in shift.breaks:
                due = begin + off * 60 + rng.uniform(-300.0, 300.0)
                if due > self.start:
                    # The break travels in the event, so a re-plan never changes it.
                    self.at(due, BREAK, index, length * 4 + BREAK_REASONS.index(reason))
            self.at(end, SHIFT_END, index)
        log.debug("%s: %d shifts, %d part-time", day, rostered, part_time)
        return on_shift

    # ---- arrivals -------------------------------------------------------------------

    def new_hour(self) -> None:
        """Enter the local hour containing ``now``: set its rate and draw the next arrival."""
        local = dt.datetime.fromtimestamp(self.now, self.tz)
        into = local.minute * 60 + local.second + local.microsecond / 1e6
        self.hour_end = round(self.now - into + 3600.0, 3)
        self.rate = self.cfg.profile.rate(local, self.cfg.demand)
        self.next_arrival()

    def next_arrival(self) -> None:
        """Draw the next arrival in this hour, or wake at the hour's end (memoryless)."""
        t = self.now + self.rng.expovariate(self.rate) if self.rate > 0 else math.inf
        # Compare after rounding to the millisecond, as ``at`` will: an arrival must never
        # land on the next hour's first instant and be counted (and rated) twice.
        if round(t, 3) < self.hour_end:
            self.at(t, ARRIVE)
        else:
            self.at(self.hour_end, HOUR)

    def arrive(self) -> None:
        """A call is offered: route it, give it to an idle agent or queue it."""
        rng = self.rng
        q = bisect_right(self.cum_weights, rng.random() * self.cum_weights[-1])
        q = min(q, len(self.queue_ids) - 1)
        self.n_calls += 1
        c = _Call(f"{self.cfg.id_prefix}c{self.n_calls}", self.queue_ids[q],
                  self.queue_topics[q], self.now)
        self.call_event(c, "offered")
        if self.free:
            index = next(iter(self.free))
            del self.free[index]
            self.ring(self.agents[index], c)
        else:
            self.waiting.append(c)
            self.calls[self.n_calls] = c
            self.at(self.now + rng.expovariate(1.0 / self.cfg.patience_mean_s), ABANDON,
                    0, self.n_calls)
        self.next_arrival()

    def abandon(self, number: int) -> None:
        """A queued caller's patience ran out; if still waiting, they hang up."""
        c = self.calls.pop(number)
        if c.state == WAITING:
            c.state = ABANDONED  # left in ``waiting``; skipped when it reaches the front
            self.call_event(c, "abandoned", wait_s=round(self.now - c.offered, 3))

    # ---- one call -------------------------------------------------------------------

    def ring(self, a: _Agent, c: _Call) -> None:
        """Reserve agent ``a`` for call ``c``; it is answered after the ring time."""
        c.state = TAKEN
        a.status = RINGING
        a.call = c
        self.at(self.now + self.rng.uniform(*self.cfg.ring_s), ANSWER, a.index)

    def answer(self, a: _Agent) -> None:
        """The agent picks up: draw the call's phases and what analytics will flag."""
        cfg, rng, c = self.cfg, self.rng, a.call
        assert c is not None
        t0 = c.answered = self.now
        a.status = BUSY
        a.queue = c.queue
        self.call_event(c, "answered", wait_s=round(t0 - c.offered, 3), agent=a.id)
        self.state(a, "talking")
        handle = rng.lognormvariate(self.mu, cfg.handle_sigma)
        wrap = handle * rng.uniform(*cfg.wrap_share)
        rest = handle - wrap
        phases: list[tuple[float, int]] = []
        t = t0
        if rng.random() < cfg.hold_probability:
            holds = 1 if rng.random() < 0.7 else 2
            hold_total = rest * rng.uniform(*cfg.hold_share)
            cuts = sorted(rng.random() for _ in range(holds))
            talk = [(hi - lo) * (rest - hold_total)
                    for lo, hi in zip([0.0, *cuts], [*cuts, 1.0], strict=True)]
            for k in range(holds):
                t += talk[k]
                phases.append((t, P_HOLD))
                t += hold_total / holds
                phases.append((t, P_TALK))
            t += talk[-1]
        else:
            t += rest
        phases.append((t, P_WRAP))
        phases.append((t + wrap, P_DONE))
        first_talk = phases[0][0] - t0
        phases.reverse()
        a.phases = phases
        self.at(phases[-1][0], PHASE, a.index)
        # Analytics flags the caller part-way through the first stretch of talk.
        a.abused = False
        draw = rng.random()
        if draw < cfg.abusive_per_call:
            a.abused = True
            self.at(t0 + first_talk * rng.uniform(0.15, 0.85), SIGNAL, a.index, 0)
        elif draw < cfg.abusive_per_call + (cfg.compliments_per_agent_day
                                            / cfg.profile.calls_per_agent_day):
            self.at(t0 + first_talk * rng.uniform(0.5, 0.95), SIGNAL, a.index, 1)

    def phase(self, a: _Agent) -> None:
        """Step the agent's call to its next phase."""
        _, step = a.phases.pop()
        c = a.call
        assert c is not None
        if step == P_HOLD:
            a.hold_from = self.now
            self.state(a, "hold")
        elif step == P_TALK:
            c.hold_s += self.now - a.hold_from
            self.state(a, "talking")
        elif step == P_WRAP:
            self.state(a, "wrap_up")
            if a.abused and a.help is None and self.rng.random() < self.cfg.help_after_abuse:
                # A hard call: the agent presses help while still writing it up, so the
                # request is plainly about this call and the next one has not started.
                wrap = a.phases[-1][0] - self.now
                self.at(self.now + wrap * self.rng.uniform(0.2, 0.8), HELP, a.index, 0)
        else:
            handle = round(self.now - c.answered, 3)
            self.call_event(c, "completed", agent=a.id, handle_s=handle,
                            hold_s=min(round(c.hold_s, 3), handle))
            self.become_free(a)
            return
        self.at(a.phases[-1][0], PHASE, a.index)

    # ---- agent's day ----------------------------------------------------------------

    def become_free(self, a: _Agent) -> None:
        """The agent is done with a call, a break or logging in: next call, break or log off."""
        if a.pending == GO_OFFLINE:
            self.go_offline(a)
            return
        if a.pending == GO_BREAK:
            self.go_break(a)
            return
        a.call = None
        a.status = AVAILABLE
        self.state(a, "available")
        waiting = self.waiting
        while waiting and waiting[0].state != WAITING:
            waiting.popleft()
        if waiting:
            self.ring(a, waiting.popleft())
        else:
            self.free[a.index] = None

    def go_break(self, a: _Agent) -> None:
        """Start the break the agent has due."""
        self.free.pop(a.index, None)
        a.call = None
        a.pending = NONE
        a.status = ON_BREAK
        self.state(a, "break", a.break_reason)
        # Breaks run a little over: people come back from the kitchen, not on the second.
        self.at(self.now + a.break_len + self.rng.uniform(0.0, 90.0), BREAK_END, a.index)

    def go_offline(self, a: _Agent) -> None:
        """End the agent's shift."""
        self.free.pop(a.index, None)
        a.call = None
        a.pending = NONE
        a.status = OFFLINE
        self.state(a, "offline", "shift_end")

    def break_due(self, a: _Agent, packed: int) -> None:
        """A scheduled break is due: take it now if idle, else after the current call."""
        if a.status in (OFFLINE, ON_BREAK) or a.pending == GO_OFFLINE:
            return
        a.break_reason = BREAK_REASONS[packed % 4]
        a.break_len = packed // 4 * 60.0
        if a.status == AVAILABLE:
            self.go_break(a)
        else:
            a.pending = GO_BREAK

    def shift_end(self, a: _Agent) -> None:
        """The shift is over: log off now if idle, else when the call or break ends."""
        if a.status == AVAILABLE:
            self.go_offline(a)
        elif a.status != OFFLINE:
            a.pending = GO_OFFLINE

    def break_end(self, a: _Agent) -> None:
        """Back from a break: available again, or off home if the shift ended meanwhile."""
        self.become_free(a)

    # ---- desk help ------------------------------------------------------------------

    def help(self, a: _Agent, step: int) -> None:
        """One step of a desk help request, scheduling the supervisor's (or agent's) next."""
        cfg, rng = self.cfg, self.rng
        if step == 0:
            if a.help is not None:
                return  # one open request per desk
            self.n_help += 1
            a.help = f"{cfg.id_prefix}h{self.n_help}"
            self.out.append((a.help_topic, DeskHelp(ts=self.now, request=a.help,
                                                    state="requested", agent=a.id)))
            if rng.random() < cfg.help_cancel_probability:
                self.at(self.now + rng.uniform(*cfg.cancel_delay_s), HELP, a.index, 3)
            else:
                slow = rng.random() < cfg.slow_ack_probability
                delay = rng.uniform(*(cfg.slow_ack_delay_s if slow else cfg.ack_delay_s))
                self.at(self.now + delay, HELP, a.index, 1)
            return
        assert a.help is not None
        state = HELP_STATES[step]
        self.out.append((a.help_topic, DeskHelp(
            ts=self.now, request=a.help, state=state, agent=a.id,
            by=None if step == 3 else a.by)))
        if step == 1:
            self.at(self.now + rng.uniform(*cfg.resolve_delay_s), HELP, a.index, 2)
        else:
            a.help = None

    # ---- the loop -------------------------------------------------------------------

    def run(self, end: float) -> Iterator[tuple[str, Message]]:
        """Process events before ``end``, yielding each event's messages as it happens."""
        heap, agents, out = self.heap, self.agents, self.out
        pop = heapq.heappop
        while True:
            if out:
                yield from out
                out.clear()
            if not heap or heap[0][0] >= end:
                return
            t, _, code, who, arg = pop(heap)
            self.now = t
            a = agents[who]
            if code == ARRIVE:
                self.arrive()
            elif code == PHASE:
                self.phase(a)
            elif code == ANSWER:
                self.answer(a)
            elif code == ABANDON:
                self.abandon(arg)
            elif code == HOUR:
                self.new_hour()
            elif code == SIGNAL:
                c = a.call
                assert c is not None
                self.out.append((a.signal_topic, AgentSignal(
                    ts=t, kind=SIGNAL_KINDS[arg], call=c.id, source="analytics")))
            elif code == HELP:
                self.help(a, arg)
            elif code == BREAK:
                self.break_due(a, arg)
            elif code == BREAK_END:
                self.break_end(a)
            elif code == SHIFT_START:
                self.become_free(a)
            elif code == SHIFT_END:
                self.shift_end(a)
            elif code == DAY:
                day = dt.datetime.fromtimestamp(t, self.tz).date()
                self.plan_day(day)
                self.at(_local(day + dt.timedelta(days=1), 0, self.tz), DAY)


def _local(day: dt.date, hour: int, tz: ZoneInfo) -> float:
    """Epoch seconds of ``hour``:00 local time on ``day``."""
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=tz).timestamp()


def simulate(settings: SimSettings, start: float,
             end: float | None = None) -> Iterator[tuple[str, Message]]:
    """The floor's messages from ``start`` (inclusive) to ``end`` (exclusive; None = forever).

    Lazy, in non-decreasing ``ts`` order, and deterministic for given settings and start.
    """
    stop = math.inf if end is None else float(end)
    if stop <= start:
        return iter(())
    floor = _Floor(settings, float(start), random.Random(settings.seed),
                   ZoneInfo(settings.timezone))
    floor.setup()
    return floor.run(stop)
