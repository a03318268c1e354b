"""A small discrete-event floor: calls queue, get answered or abandon, agents hold and break.

Deterministic for a given seed and start time, and pure (no clock, no I/O), so the benchmark,
the tests and the demo all see the same stream. The controller issue grows this into the
full simulator with intraday and weekday volume.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from wallboard.messages import AgentState, CallEvent, Message, encode
from wallboard.topics import Kind, build


@dataclass(frozen=True, slots=True)
class MixSettings:
    """Size and pace of the simulated floor."""

    agents: int = 500
    queues: tuple[str, ...] = ("sales", "support", "billing", "retention")
    aht_s: float = 300.0
    target_occupancy: float = 0.88
    mean_patience_s: float = 120.0
    hold_share: float = 0.3
    break_every_calls: int = 12
    break_s: float = 600.0
    site: str = "hq"
    root: str = "wallboard"


@dataclass(slots=True)
class _Agent:
    id: str
    queue: str
    team: str
    desk: str
    calls_since_break: int = 0
    free: bool = True


@dataclass(slots=True)
class _Sim:
    cfg: MixSettings
    rng: random.Random
    now: float
    agents: list[_Agent]
    heap: list[tuple[float, int, str, tuple[object, ...]]] = field(default_factory=list)
    waiting: dict[str, deque[tuple[str, float]]] = field(default_factory=dict)
    answered: set[str] = field(default_factory=set)
    seq: int = 0
    out: list[tuple[str, Message]] = field(default_factory=list)

    def at(self, t: float, what: str, *args: object) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, what, args))

    def state(self, a: _Agent, state: str, call: str | None = None) -> None:
        msg = AgentState.model_validate({
            "ts": self.now, "state": state, "since": self.now, "queue": a.queue,
            "team": a.team, "desk": a.desk, "call": call,
            "reason": "scheduled" if state == "break" else None})
        self.out.append((build(Kind.AGENT_STATE, root=self.cfg.root, site=self.cfg.site,
                               agent=a.id), msg))

    def call(self, queue: str, **fields: object) -> None:
        msg = CallEvent.model_validate({"ts": self.now, **fields})
        self.out.append((build(Kind.CALL, root=self.cfg.root, site=self.cfg.site,
                               queue=queue), msg))


def generate(start: float, duration_s: float, settings: MixSettings | None = None,
             seed: int = 1) -> list[tuple[str, Message]]:
    """Every message of a simulated floor from ``start`` for ``duration_s``, in time order."""
    cfg = settings or MixSettings()
    rng = random.Random(seed)
    agents = [
        _Agent(f"a{i:04d}", cfg.queues[i % len(cfg.queues)], f"team{i // 10:03d}", f"d{i:04d}")
        for i in range(cfg.agents)
    ]
    sim = _Sim(cfg, rng, start, agents, waiting={q: deque() for q in cfg.queues})
    for a in agents:
        sim.state(a, "available")
    per_queue_rate = cfg.target_occupancy * cfg.agents / cfg.aht_s / len(cfg.queues)
    for q in cfg.queues:
        sim.at(start + rng.expovariate(per_queue_rate), "arrive", q)
    by_queue = {q: [a for a in agents if a.queue == q] for q in cfg.queues}
    n = 0
    while sim.heap and sim.heap[0][0] < start + duration_s:
        t, _, what, args = heapq.heappop(sim.heap)
        sim.now = t
        if what == "arrive":
            queue = args[0]
            assert isinstance(queue, str)
            n += 1
            call = f"c{n:07d}"
            sim.call(queue, call=call, event="offered")
            sim.at(t + rng.expovariate(per_queue_rate), "arrive", queue)
            free = next((a for a in by_queue[queue] if a.free), None)
            if free is not None:
                _answer(sim, free, call, t)
            else:
                sim.waiting[queue].append((call, t))
                sim.at(t + rng.expovariate(1 / cfg.mean_patience_s), "abandon", queue, call, t)
        elif what == "abandon":
            queue, gone, offered = args
            assert isinstance(queue, str) and isinstance(gone, str)
            assert isinstance(offered, float)
            if gone not in sim.answered:
                sim.waiting[queue] = deque(c for c in sim.waiting[queue] if c[0] != gone)
                sim.call(queue, call=gone, event="abandoned", wait_s=round(t - offered, 3))
        else:
            _agent_step(sim, what, args)
    return sim.out


def _answer(sim: _Sim, a: _Agent, call: str, offered: float) -> None:
    rng, cfg = sim.rng, sim.cfg
    a.free = False
    sim.answered.add(call)
    sim.call(a.queue, call=call, event="answered", wait_s=round(sim.now - offered, 3), agent=a.id)
    sim.state(a, "talking", call)
    talk = rng.gammavariate(2.0, cfg.aht_s * 0.8 / 2.0)
    hold = rng.expovariate(1 / 45.0) if rng.random() < cfg.hold_share else 0.0
    wrap = rng.uniform(0.1, 0.3) * cfg.aht_s
    if hold:
        sim.at(sim.now + talk / 2, "hold", a, call)
        sim.at(sim.now + talk / 2 + hold, "talking", a, call)
    sim.at(sim.now + talk + hold, "wrap_up", a, call)
    sim.at(sim.now + talk + hold + wrap, "complete", a, call, talk + hold + wrap, hold)


def _agent_step(sim: _Sim, what: str, args: tuple[object, ...]) -> None:
    a = args[0]
    assert isinstance(a, _Agent)
    if what in ("hold", "talking", "wrap_up"):
        call = args[1]
        assert isinstance(call, str)
        sim.state(a, what, call)
        return
    if what == "complete":
        _, call, handle, hold = args
        assert isinstance(call, str) and isinstance(handle, float) and isinstance(hold, float)
        sim.call(a.queue, call=call, event="completed", agent=a.id,
                 handle_s=round(handle, 3), hold_s=round(hold, 3))
        a.calls_since_break += 1
        if a.calls_since_break >= sim.cfg.break_every_calls:
            a.calls_since_break = 0
            sim.state(a, "break")
            sim.at(sim.now + sim.cfg.break_s, "back", a)
            return
    _become_free(sim, a)


def _become_free(sim: _Sim, a: _Agent) -> None:
    queue = sim.waiting[a.queue]
    while queue:
        call, offered = queue.popleft()
        if call not in sim.answered:
            a.free = True  # _answer flips it back; keeps the state machine in one place
            _answer(sim, a, call, offered)
            return
    a.free = True
    sim.state(a, "available")


def payloads(messages: list[tuple[str, Message]]) -> Iterator[tuple[str, bytes]]:
    """The messages as MQTT would carry them."""
    for topic, msg in messages:
        yield topic, encode(msg)
