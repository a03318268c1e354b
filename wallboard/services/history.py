"""A site's history in simulated time: what its broker would have carried, and that history
stored as the recorder stores it, for reports, dashboards, their tests and benchmarks.

``site_history`` runs the simulator through the real controller service on a simulated
clock, so the stream holds the controller's outputs (snapshots, help states, alerts,
wellbeing) as well as its inputs. ``store_history`` writes the stream's points through the
recorder's schema to the same retention policies, then fills the aggregates the continuous
queries would have made had they been running at the time.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from wallboard.adapters.influx import InfluxHttp
from wallboard.floor.core import FloorCore
from wallboard.floor.settings import FloorSettings
from wallboard.messages import Cleared, decode, encode
from wallboard.recorder.downsampling import backfill_statements
from wallboard.recorder.routing import by_policy
from wallboard.recorder.schema import cleared_row, message_row
from wallboard.services.controller import ControllerService, Pacing
from wallboard.sim.floor import SimSettings, simulate

STEP_S = 30.0  # time rules run this often in simulated time (the live service: 0.2 s)
SNAPSHOT_S = 60.0  # a snapshot a minute per topic is what the aggregates need
WELLBEING_S = 300.0  # strain scored every 5 minutes: enough for trends, and a week is quick
BATCH = 5_000
DAY = 86_400.0


Timed = tuple[float, str, bytes]  # when it was published, topic, payload


@dataclass
class _Captured:
    """The controller's publisher: keeps what it publishes, with the simulated time."""

    now: list[float]
    messages: list[Timed] = field(default_factory=list)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False, qos: int = 1
                ) -> None:
        self.messages.append((self.now[0], topic, payload))


def last_full_week(now: float) -> float:
    """The Monday 00:00 UTC that began the last whole week before ``now``: a week that is
    over, and within the raw retention (30 days by default)."""
    monday = now // DAY * DAY
    while time.gmtime(monday).tm_wday != 0:
        monday -= DAY
    return monday - 7 * DAY


def site_history(sim: SimSettings, start: float, end: float,
                 floor: FloorSettings | None = None) -> Iterator[Timed]:
    """Every message the site's broker would carry from ``start`` to ``end``, in order, with
    the time it was published."""
    settings = dataclasses.replace(floor or FloorSettings(), wellbeing_every_s=WELLBEING_S)
    now = [start]
    captured = _Captured(now)
    service = ControllerService(FloorCore(settings), captured, root=sim.root, site=sim.site,
                                clock=lambda: now[0],
                                pacing=Pacing(SNAPSHOT_S, SNAPSHOT_S))
    steps = iter(range(int(start), int(end), int(STEP_S)))
    next_step = next(steps, None)

    def step_until(t: float) -> Iterator[Timed]:
        """Run the time rules at every step up to ``t``, with what they publish."""
        nonlocal next_step
        while next_step is not None and next_step <= t:
            now[0] = next_step
            service.step(next_step)
            next_step = next(steps, None)
            yield from _drain(captured)

    for topic, message in simulate(sim, start, end):
        yield from step_until(message.ts)
        now[0] = message.ts
        payload = encode(message)
        yield message.ts, topic, payload
        service.handle(topic, payload)
        yield from _drain(captured)
    yield from step_until(end)


def _drain(captured: _Captured) -> Iterator[Timed]:
    messages, captured.messages = captured.messages, []
    yield from messages


def store_history(db: InfluxHttp, messages: Iterator[Timed], start: float, end: float, *,
                  root: str) -> int:
    """Store ``messages`` as the recorder would, fill the aggregates for ``start`` to
    ``end``; return how many points were written. The database must be set up
    (``init_database``)."""
    written = 0
    lines: list[bytes] = []
    for at, topic, payload in messages:
        item = decode(topic, payload, now=at, root=root)
        row = (cleared_row(item, at) if isinstance(item, Cleared)
               else message_row(item, payload, topic))
        lines.append(row.line())
        if len(lines) >= BATCH:
            written += _write(db, lines)
            lines = []
    written += _write(db, lines)
    for since in range(int(start), int(end), int(DAY)):  # a day at a time: each is quick
        for statement in backfill_statements(db.database, since, min(since + DAY, end)):
            db.query(statement)
    return written


def _write(db: InfluxHttp, lines: list[bytes]) -> int:
    for policy, part in by_policy(b"\n".join(lines)):
        written = db.write(part, policy=policy)
        if written.dropped:
            raise RuntimeError(f"InfluxDB dropped {written.dropped} points: {written.reason}")
    return len(lines)
