"""Staffing: how many agents a queue needs to meet its service level (Erlang C).

Give the calls expected in a period, the period's length and the average handle time (AHT).
The offered load is A = calls / period * AHT erlangs: the number of agents that would be busy
all the time. With N agents, Erlang C predicts:

- ``p_wait``: the chance a call has to queue at all;
- ``service_level``: the share answered within the threshold T, 1 - P(wait) * e^(-(N-A)T/AHT);
- ``asa_s``: the average wait of all calls, P(wait) * AHT / (N - A);
- ``occupancy``: the share of time agents spend on calls, A / N.

``agents_required`` is the fewest agents that meet the service-level target without
occupancy above the cap (85% by default: practitioners warn against more for long).
``agents_scheduled`` adds shrinkage, the paid time agents are not available (breaks, training,
meetings): required / (1 - shrinkage), rounded up.

With N <= A the agents cannot keep up and the queue grows without end: P(wait) is 1, the
service level 0, the average wait has no finite value (null in JSON) and occupancy shows 1.0.

Erlang C assumes random (Poisson) arrivals and that no caller hangs up. Real callers do
abandon, so real waits come out somewhat shorter than forecast: the plan errs on the safe side.
The formulas and their published checks are in ``docs/kpi.md`` ("Erlang C").
"""

from __future__ import annotations

from wallboard.staffing.erlang_c import (
    DEFAULT_MAX_OCCUPANCY,
    Forecast,
    agents_required,
    agents_scheduled,
    erlang_b,
    fewest_agents_for_occupancy,
    forecast,
    p_wait,
    traffic_erlangs,
)
from wallboard.staffing.plan import StaffingPlan, StaffingRequest, plan_staffing

__all__ = [
    "DEFAULT_MAX_OCCUPANCY",
    "Forecast",
    "StaffingPlan",
    "StaffingRequest",
    "agents_required",
    "agents_scheduled",
    "erlang_b",
    "fewest_agents_for_occupancy",
    "forecast",
    "p_wait",
    "plan_staffing",
    "traffic_erlangs",
]
