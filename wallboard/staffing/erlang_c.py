"""Erlang C: what a queue with N agents can expect, and the fewest agents that meet a target.

Pure: numbers in, numbers out; no I/O and no clock. The formulas are those of
``docs/kpi.md`` ("Erlang C"). P(wait) comes from the Erlang B recurrence, which never
forms factorials or powers, so it stays finite and accurate for thousands of agents.

When N <= A the agents cannot keep up: the queue grows without end, so every call waits
(P(wait) 1), none is answered within the threshold (service level 0) and the average wait
has no finite value (ASA ``None``, never ``inf``). Occupancy is then reported as 1.0, because
the agents are busy all the time; A/N would claim more than 100%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

DEFAULT_MAX_OCCUPANCY = 0.85  # practitioners warn against sustained occupancy above ~85%
MAX_TRAFFIC_ERLANGS = 1_000_000.0  # the search walks N up from A one agent at a time
MAX_AGENTS = 10_000_000


@dataclass(frozen=True, slots=True)
class Forecast:
    """What Erlang C predicts for a queue with ``agents`` agents."""

    agents: int
    traffic_erlangs: float
    p_wait: float
    service_level: float
    asa_s: float | None  # None when the agents cannot keep up (N <= A)
    occupancy: float


def traffic_erlangs(calls: float, period_s: float, aht_s: float) -> float:
    """Offered load A in erlangs: calls per second times the average handle time."""
    # Multiply before dividing so whole-number inputs (100 calls, 180 s, 1800 s) stay exact.
    return calls * aht_s / period_s


def erlang_b(agents: int, traffic: float) -> float:
    """Erlang B, the blocking probability B(N, A), by the stable recurrence."""
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = _next_erlang_b(blocking, k, traffic)
        if blocking == 0.0:
            break  # underflowed: every later term is 0 too, so huge N costs nothing
    return blocking


def p_wait(agents: int, traffic: float) -> float:
    """Erlang C, the chance that a call has to queue: C(N, A); 1 when N <= A."""
    return _erlang_c(agents, traffic, erlang_b(agents, traffic))


def forecast(agents: int, traffic: float, aht_s: float, threshold_s: float) -> Forecast:
    """P(wait), service level within ``threshold_s``, ASA and occupancy for ``agents``."""
    return _forecast(agents, traffic, erlang_b(agents, traffic), aht_s, threshold_s)


def agents_required(traffic: float, aht_s: float, sl_target: float, threshold_s: float,
                    max_occupancy: float = DEFAULT_MAX_OCCUPANCY) -> int:
    """The fewest agents with service level >= ``sl_target`` and occupancy <= the cap."""
    # Guards that keep the search finite; StaffingRequest gives the user-facing messages.
    if not 0 <= traffic <= MAX_TRAFFIC_ERLANGS:
        raise ValueError(f"traffic must be 0 to {MAX_TRAFFIC_ERLANGS:g} erlangs, got {traffic!r}")
    if not 0 < sl_target < 1:
        raise ValueError(f"sl_target must be above 0 and below 1, got {sl_target!r}")
    if not 0 < max_occupancy <= 1:
        raise ValueError(f"max_occupancy must be above 0 and at most 1, got {max_occupancy!r}")
    # Service level only rises with N and occupancy only falls, so the first N that meets
    # both, counting up from the larger of the two lower bounds, is the answer.
    agents = max(math.floor(traffic) + 1, fewest_agents_for_occupancy(traffic, max_occupancy))
    blocking = erlang_b(agents, traffic)
    while _forecast(agents, traffic, blocking, aht_s, threshold_s).service_level < sl_target:
        agents += 1
        blocking = _next_erlang_b(blocking, agents, traffic)  # B(N) from B(N-1): no restart
    return agents


def fewest_agents_for_occupancy(traffic: float, max_occupancy: float) -> int:
    """The fewest agents N with A / N <= ``max_occupancy`` (at least 1)."""
    agents = max(1, math.ceil(traffic / max_occupancy))
    # ceil() of a rounded quotient can be one off; settle it with the float test callers use.
    while traffic / agents > max_occupancy:
        agents += 1
    while agents > 1 and traffic / (agents - 1) <= max_occupancy:
        agents -= 1
    return agents


def agents_scheduled(required: int, shrinkage: float) -> int:
    """Agents to put on the rota so ``required`` are available: required / (1 - shrinkage)."""
    # Exact decimal arithmetic: in floats 1 - 0.3 is 0.69999..., which could schedule one
    # agent too many once the quotient is rounded up.
    return math.ceil(required / (1 - Fraction(str(shrinkage))))


def _next_erlang_b(previous: float, agents: int, traffic: float) -> float:
    return traffic * previous / (agents + traffic * previous)


def _erlang_c(agents: int, traffic: float, blocking: float) -> float:
    if agents <= traffic:
        return 1.0
    return min(1.0, agents * blocking / (agents - traffic * (1.0 - blocking)))


def _forecast(agents: int, traffic: float, blocking: float, aht_s: float,
              threshold_s: float) -> Forecast:
    chance = _erlang_c(agents, traffic, blocking)
    if agents <= traffic:
        return Forecast(agents, traffic, chance, 0.0, None, 1.0)
    spare = agents - traffic
    return Forecast(
        agents=agents,
        traffic_erlangs=traffic,
        p_wait=chance,
        service_level=1.0 - chance * math.exp(-spare * threshold_s / aht_s),
        asa_s=chance * aht_s / spare,
        occupancy=traffic / agents,
    )
