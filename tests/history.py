"""A simulated week stored as the recorder stores it, for tests of what managers read."""

from __future__ import annotations

import time
from dataclasses import dataclass

from wallboard.adapters.influx import InfluxHttp
from wallboard.devservices import Influxd
from wallboard.recorder.downsampling import Retention
from wallboard.services.database_setup import init_database
from wallboard.services.history import DAY, last_full_week, site_history, store_history
from wallboard.sim.floor import SimSettings

WEEK_AGENTS = 30  # two teams of 15: both big enough for team aggregates
WEEK_QUEUES = 6


@dataclass(frozen=True)
class SimulatedWeek:
    """A database holding one simulated Monday-to-Sunday week of site ``site``."""

    influxd: Influxd
    db: str
    start: float  # a Monday 00:00 UTC
    end: float  # the Monday after
    site: str
    queues: tuple[str, ...]
    agents: int



def load_week(influxd: Influxd, db: str, agents: int = WEEK_AGENTS,
              site: str = "hq") -> SimulatedWeek:
    """Set up ``db`` and store a simulated week in it."""
    start = last_full_week(time.time())
    end = start + 7 * DAY
    database = InfluxHttp(influxd.url, db, timeout_s=120)
    init_database(database, Retention())
    sim = SimSettings(agents=agents, queues=WEEK_QUEUES, site=site, seed=7)
    store_history(database, site_history(sim, start, end), start, end, root=sim.root)
    return SimulatedWeek(influxd, db, start, end, site, sim.queue_ids, agents)
