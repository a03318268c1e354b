"""A text preview: replay a simulated floor through the pure floor model and print its KPIs.

It needs no broker or database, so it shows what the wall screens will show on any machine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from wallboard.floor.model import FloorModel
from wallboard.messages import Envelope, QueueKpi, decode, encode
from wallboard.sim.event_mix import MixSettings, generate


def _pct(value: float | None) -> str:
    return "  —  " if value is None else f"{value * 100:4.0f}%"


def _secs(value: float | None) -> str:
    return "  — " if value is None else f"{value:4.0f}s"


def _row(k: QueueKpi) -> str:
    w = k.sliding
    return (f"  {k.queue:<10} waiting {k.waiting:>3}  longest {_secs(k.longest_wait_s)}  "
            f"SL {_pct(w.service_level)}  ASA {_secs(w.asa_s)}  "
            f"abandon {_pct(w.abandon_rate)}  AHT {_secs(w.aht_s)}  occ {_pct(w.occupancy)}  "
            f"agents {k.agents_available}/{k.agents_busy}/{k.agents_on_break}")


def preview(start: float, hours: float, every_min: float, agents: int,
            out: Callable[[str], None] = print) -> FloorModel:
    """Fold ``hours`` of a simulated floor and print every queue's KPIs every ``every_min``."""
    model = FloorModel()
    messages = generate(start, hours * 3600, MixSettings(agents=agents))
    step = every_min * 60
    due = start + step
    for topic, msg in messages:
        while msg.ts >= due:
            _report(model, due, out)
            due += step
        # Through the same boundary check the services use, so the preview proves the contract.
        result = decode(topic, encode(msg), now=msg.ts)
        assert isinstance(result, Envelope)
        model.apply(result)
    _report(model, start + hours * 3600, out)
    return model


def _report(model: FloorModel, now: float, out: Callable[[str], None]) -> None:
    per_queue, floor = model.snapshots(now)
    when = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%a %H:%M UTC")
    out(f"{when}  floor: {floor.waiting} waiting, SL {_pct(floor.sliding.service_level)} "
        f"({floor.sl_treatment}, {floor.sliding.name}), "
        f"{floor.agents_logged_in} agents logged in")
    for k in per_queue:
        out(_row(k))
