"""The floor as text: what a user on SSH sees in place of the wall screen.

``render`` is pure: snapshots and ``now`` in, lines out. It shows what a supervisor needs at
a glance (queues, service level, waiting, longest wait, open help requests with their age,
long holds, alerts) and says loudly when the numbers are stale, and what it is waiting for
(the broker or the controller) in the words the wall screen uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from wallboard.alert_age import live_text
from wallboard.kiosk.state import FUTURE_S
from wallboard.kiosk.view import span_text
from wallboard.link_status import ControllerSeen, LinkState, waiting_for
from wallboard.messages import Alert, FloorKpi, QueueKpi, RecorderHealth

STALE_AFTER_S = 10.0  # twice the slowest snapshot refresh


@dataclass(slots=True)
class FloorView:
    """The latest retained state the view has heard, by topic kind."""

    floor: FloorKpi | None = None
    queues: dict[str, QueueKpi] = field(default_factory=dict)
    alerts: dict[str, Alert] = field(default_factory=dict)
    controller_online: bool | None = None
    controller_ts: float | None = None  # of its latest retained status
    recorders: dict[str, RecorderHealth] = field(default_factory=dict)


def _pct(value: float | None) -> str:
    return "  -- " if value is None else f"{value * 100:4.0f}%"


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "   --"
    seconds = int(seconds)
    return f"{seconds // 60:2d}:{seconds % 60:02d}"


def controller_seen(view: FloorView) -> ControllerSeen:
    """What the view has heard from the controller."""
    times = [t for t in (view.controller_ts, view.floor.ts if view.floor else None)
             if t is not None]
    return ControllerSeen(heard=view.floor is not None, online=view.controller_online,
                          last_alive=max(times) if times else None)


def render(view: FloorView, now: float, site: str, tz: ZoneInfo | None = None,
           width: int = 100, link: LinkState | None = None,
           names: Mapping[str, str] | None = None) -> list[str]:
    """The screen as lines no longer than ``width``; ``link`` None: connection not tracked.

    ``names`` are agents' display names (``[agents.<id>]``), shown in place of their ids.
    """
    names = names or {}
    clock = dt.datetime.fromtimestamp(now, tz or dt.UTC).strftime("%a %d %b %H:%M:%S")
    lines = [f"WALLBOARD  {site}  {clock}"]
    problem = waiting_for(link, controller_seen(view), now, tz)
    floor = view.floor
    if floor is None:
        lines.append(f"!! NO DATA: {problem}")
        return [line[:width] for line in lines]
    if problem is not None:
        lines.append(f"!! {problem}: numbers below are frozen")
    age = now - floor.ts
    if age < -FUTURE_S:  # a clock is wrong: the age says nothing about how fresh this is
        lines.append(f"!! CLOCK MISMATCH: data dated {span_text(-age)} ahead of this clock")
    elif age > STALE_AFTER_S:
        lines.append(f"!! STALE: last snapshot {age:.0f} s ago")
    s = floor.sliding
    sl_window = f"SL {(s.end - s.start) / 60:.0f}m"  # every windowed value says its window
    lines += [
        "",
        f"FLOOR  waiting {floor.waiting} (longest {_dur(floor.longest_wait_s).strip()})  "
        f"SL {_pct(floor.today.service_level).strip()} today  {s.name}: SL "
        f"{_pct(s.service_level).strip()}, ASA {_dur(s.asa_s).strip()}, abandoned "
        f"{_pct(s.abandon_rate).strip()}",
        "AGENTS " + "  ".join(f"{state} {n}" for state, n in floor.agents_by_state.items()),
        "",
        f"QUEUES  {sl_window}, ASA, ABAND, AHT and OCC: {s.name}; SL day: today",
        f"{'QUEUE':<12}{'WAIT':>5}{'LONGEST':>9}{sl_window:>8}{'SL day':>8}{'ASA':>7}"
        f"{'ABAND':>7}{'AHT':>7}{'OCC':>6}  AVAIL/BUSY/BREAK",
    ]
    for queue in floor.queues:
        q = view.queues.get(queue)
        if q is None:
            continue
        w = q.sliding
        lines.append(
            f"{queue[:12]:<12}{q.waiting:>5}{_dur(q.longest_wait_s):>9}"
            f"{_pct(w.service_level):>8}{_pct(q.today.service_level):>8}{_dur(w.asa_s):>7}"
            f"{_pct(w.abandon_rate):>7}{_dur(w.aht_s):>7}{_pct(w.occupancy):>6}  "
            f"{q.agents_available}/{q.agents_busy}/{q.agents_on_break}")
    help_today = floor.help_today
    lines += ["", f"HELP  open {len(floor.help_open)}   today {help_today.requests} requests,"
                  f" acknowledged in p50 {_dur(help_today.ack_p50_s)}"
                  f" / p90 {_dur(help_today.ack_p90_s)}"]
    for req in floor.help_open[:8]:
        flag = {0: "", 1: "  ! ESCALATED", 2: "  !! ESCALATED TWICE"}[req.level]
        who = f" ({names.get(req.agent, req.agent)})" if req.agent else ""
        lines.append(f"  desk {req.desk}{who}: {req.state}, {_dur(req.age_s)} ago{flag}")
    if floor.long_holds:
        lines.append("LONG HOLDS  " + ", ".join(
            f"{names.get(h.agent, h.agent)} {_dur(h.hold_s)}" for h in floor.long_holds[:6]))
    if view.alerts:
        lines.append(f"ALERTS  {len(view.alerts)} active")
        for alert in sorted(view.alerts.values(), key=lambda a: -a.level)[:4]:
            lines.append(f"  L{alert.level} {live_text(alert, now)}")
    for name, r in sorted(view.recorders.items()):
        db = "InfluxDB up" if r.database_up else "!! InfluxDB DOWN"
        lines.append(f"STORAGE  recorder {name}: {r.written:,} stored, {r.spooled:,} spooled,"
                     f" {r.rejected:,} rejected, lag {r.lag_s:.1f} s, {db}")
        if r.disk_full:
            lines.append(f"!! recorder {name}: spool disk full, new messages wait at the broker")
    return [line[:width] for line in lines]
