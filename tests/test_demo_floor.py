"""The demo's floor without services: always a busy hour now, and a warm-up folded first."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from wallboard.demo_floor import DEMO_PROFILE, WARM_UP, busy_zone, fold_warm_up, split_warm_up
from wallboard.floor.core import FloorCore
from wallboard.floor.effects import RaiseAlert
from wallboard.sim.floor import SimSettings, simulate

START = dt.datetime(2026, 12, 6, 0, 0, tzinfo=dt.UTC).timestamp()  # a Sunday, midnight UTC


@pytest.mark.parametrize("half_hours", range(0, 48 * 7, 5))
def test_the_demo_floor_is_always_at_a_busy_morning_hour(half_hours):
    now = START + half_hours * 1800 + 17 * 60
    local = dt.datetime.fromtimestamp(now, ZoneInfo(busy_zone(now)))
    assert dt.time(9, 30) <= local.time() < dt.time(10, 30), local
    assert DEMO_PROFILE.is_open(local.weekday(), 8)  # a Sunday too: every day a Monday
    assert DEMO_PROFILE.hour_share(local.weekday(), local.hour) == pytest.approx(
        DEMO_PROFILE.hour_share(0, local.hour))


def test_the_warm_up_folded_first_leaves_no_phantom_ages_or_alerts():
    now = START + 3 * 3600  # 03:00 UTC: a night hour for the machine, a morning for the floor
    settings = SimSettings(agents=200, site="demo", timezone=busy_zone(now),
                           profile=DEMO_PROFILE)
    warm_up, live = split_warm_up(simulate(settings, now - WARM_UP.total_seconds()), now)
    assert warm_up and max(m.ts for _, m in warm_up) < now <= next(live)[1].ts
    core = FloorCore()
    help_now = fold_warm_up(core, warm_up, "wallboard")
    _, floor = core.snapshots(now)
    assert floor.agents_logged_in > 100  # the floor is staffed on the first frame
    assert (floor.longest_wait_s or 0) < 15 * 60
    assert all(h.age_s < 15 * 60 for h in floor.help_open), floor.help_open
    assert all(hold.hold_s < 15 * 60 for hold in floor.long_holds), floor.long_holds
    assert help_now and all(status.ts < now for status in help_now.values())
    # The first time rules at now raise alerts only for requests still waiting now.
    waiting = {h.desk for h in floor.help_open if h.state == "requested"}
    raised = [e for e in core.tick(now) if isinstance(e, RaiseAlert)]
    assert {e.desk for e in raised} <= waiting
