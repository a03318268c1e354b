"""The pure floor model: folding events and reading snapshots at an injected 'now'."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest

from tests.floor_events import abandoned, answered, completed, env, offered, state
from tests.snapshots import differences
from wallboard.floor.model import FloorModel
from wallboard.floor.settings import FloorSettings, QueuePolicy
from wallboard.messages import Envelope, QueueKpi

T0 = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC).timestamp()


def queue_kpi(model: FloorModel, queue: str, now: float) -> QueueKpi:
    per_queue, _ = model.snapshots(now)
    return next(k for k in per_queue if k.queue == queue)


def published_example(q: str = "q") -> list[Envelope]:
    """1000 answered (860 within 20 s), 60 abandoned: 20 within 20 s (10 of them short)."""
    events = []
    for i in range(1000):
        wait = 12.0 if i < 860 else 45.0
        events.append(answered(q, f"ans{i}", T0 + i, wait))
    for i in range(60):
        wait = 2.0 if i < 10 else 15.0 if i < 20 else 90.0
        events.append(abandoned(q, f"abn{i}", T0 + 1000 + i, wait))
    return events


@pytest.mark.parametrize(
    ("treatment", "expected"),
    [("count_against", 860 / 1050), ("ignore", 860 / 1040), ("count_in_favour", 870 / 1050)],
)
def test_published_example_through_the_model(treatment, expected):
    model = FloorModel(FloorSettings(default=QueuePolicy(sl_treatment=treatment)))
    for e in published_example():
        assert model.apply(e) == "applied"
    today = queue_kpi(model, "q", T0 + 2000).today
    assert (today.answered, today.abandoned, today.short_abandoned) == (1000, 60, 10)
    assert (today.answered_in_sl, today.abandoned_in_sl) == (860, 10)
    assert today.service_level == pytest.approx(expected)
    assert today.abandon_rate == pytest.approx(50 / 1050)
    assert today.asa_s == pytest.approx((860 * 12 + 140 * 45) / 1000)


@pytest.mark.parametrize(
    ("event", "wait", "field"),
    [
        ("answered", 20.0, "answered_in_sl"),  # "within 20 s" includes 20 s
        ("answered", 20.001, None),
        ("abandoned", 4.999, "short_abandoned"),
        ("abandoned", 5.0, "abandoned_in_sl"),  # 5 s is no longer short
        ("abandoned", 20.0, "abandoned_in_sl"),
        ("abandoned", 20.5, None),
    ],
)
def test_threshold_boundaries(event, wait, field):
    model = FloorModel()
    maker = answered if event == "answered" else abandoned
    model.apply(maker("q", "c1", T0, wait))
    today = queue_kpi(model, "q", T0 + 1).today
    counted = {f: getattr(today, f) for f in ("answered_in_sl", "short_abandoned",
                                              "abandoned_in_sl")}
    assert counted == {f: int(f == field) for f in counted}


def test_per_queue_policy_overrides_the_default():
    settings = FloorSettings(queues={"vip": QueuePolicy(sl_threshold_s=10.0,
                                                        sl_treatment="ignore")})
    model = FloorModel(settings)
    model.apply(answered("vip", "c1", T0, 15.0))
    model.apply(answered("std", "c2", T0, 15.0))
    vip, std = queue_kpi(model, "vip", T0 + 1), queue_kpi(model, "std", T0 + 1)
    assert (vip.today.service_level, vip.today.sl_threshold_s, vip.sl_treatment) == (
        0.0, 10.0, "ignore")
    assert (std.today.service_level, std.today.sl_threshold_s, std.sl_treatment) == (
        1.0, 20.0, "count_against")


def test_duplicates_are_ignored():
    model = FloorModel()
    events = [offered("q", "c1", T0), answered("q", "c1", T0 + 8, 8.0),
              completed("q", "c1", T0 + 200, 192.0, 30.0), state("a1", "talking", T0 + 8)]
    assert [model.apply(e) for e in events] == ["applied"] * 4
    assert [model.apply(e) for e in events] == ["duplicate"] * 4
    # A retained state re-sent later with a new ts is the same change, not a new one.
    assert model.apply(state("a1", "talking", T0 + 8, ts=T0 + 60)) == "duplicate"
    kpi = queue_kpi(model, "q", T0 + 300)
    assert (kpi.today.offered, kpi.today.answered, kpi.today.completed) == (1, 1, 1)
    assert kpi.today.aht_s == 192.0


def test_answer_before_offer_never_leaves_the_call_waiting():
    model = FloorModel()
    model.apply(answered("q", "c1", T0 + 5, 5.0))
    model.apply(offered("q", "c1", T0))  # delivered late
    kpi = queue_kpi(model, "q", T0 + 10)
    assert (kpi.waiting, kpi.today.offered, kpi.today.answered) == (0, 1, 1)


def test_waiting_and_longest_wait_come_from_calls_not_yet_ended():
    model = FloorModel()
    model.apply(offered("q", "c1", T0))
    model.apply(offered("q", "c2", T0 + 30))
    model.apply(offered("q", "c3", T0 + 40))
    model.apply(abandoned("q", "c1", T0 + 50, 50.0))
    kpi = queue_kpi(model, "q", T0 + 60)
    assert (kpi.waiting, kpi.longest_wait_s) == (2, 30.0)


def test_a_call_whose_end_was_lost_stops_counting_as_waiting():
    model = FloorModel(FloorSettings(stale_call_s=3600.0))
    model.apply(offered("q", "lost", T0))
    assert queue_kpi(model, "q", T0 + 3599).waiting == 1
    assert queue_kpi(model, "q", T0 + 3601).waiting == 0


def test_sliding_window_counts_only_its_own_span():
    model = FloorModel(FloorSettings(window_s=1800.0))
    model.apply(answered("q", "old", T0, 5.0))
    model.apply(answered("q", "new", T0 + 1700, 30.0))
    kpi = queue_kpi(model, "q", T0 + 2000)
    assert (kpi.sliding.answered, kpi.sliding.service_level, kpi.sliding.asa_s) == (1, 0.0, 30.0)
    assert (kpi.today.answered, kpi.today.service_level) == (2, 0.5)
    assert kpi.sliding.name == "last 30 min"
    assert kpi.sliding.start == T0 + 200


def test_late_event_lands_in_its_own_window():
    model = FloorModel(FloorSettings(window_s=1800.0))
    model.apply(answered("q", "c2", T0 + 1500, 10.0))
    model.apply(answered("q", "c1", T0 + 1000, 50.0))  # late, but inside the window
    model.apply(abandoned("q", "y1", T0 - 86_400, 60.0))  # yesterday's, delivered today
    kpi = queue_kpi(model, "q", T0 + 2000)
    assert (kpi.sliding.answered, kpi.sliding.abandoned) == (2, 0)
    assert (kpi.today.answered, kpi.today.abandoned) == (2, 0)
    assert kpi.sliding.asa_s == 30.0
    # Yesterday's abandon is in yesterday's numbers, which a snapshot taken then would show.
    yesterday = queue_kpi(model, "q", T0 - 86_400 + 3600)
    assert yesterday.today.abandoned == 1


@pytest.mark.parametrize(
    ("zone", "day_start", "local_event", "local_now", "counted"),
    [
        # A 06:00 day start in New York: 05:59 belongs to the previous day.
        ("America/New_York", dt.time(6), (2026, 11, 23, 5, 59), (2026, 11, 23, 6, 1), False),
        ("America/New_York", dt.time(6), (2026, 11, 23, 6, 0), (2026, 11, 23, 6, 1), True),
        ("America/New_York", dt.time(6), (2026, 11, 24, 5, 0), (2026, 11, 23, 23, 0), True),
        # Midnight in Tokyo is 15:00 UTC the day before.
        ("Asia/Tokyo", dt.time(0), (2026, 11, 23, 23, 59), (2026, 11, 24, 0, 1), False),
        ("Asia/Tokyo", dt.time(0), (2026, 11, 24, 0, 0), (2026, 11, 24, 0, 1), True),
    ],
)
def test_day_roll_over_in_site_time_zone(zone, day_start, local_event, local_now, counted):
    tz = ZoneInfo(zone)
    model = FloorModel(FloorSettings(timezone=tz, day_start=day_start))
    ts = dt.datetime(*local_event).replace(tzinfo=tz).timestamp()
    now = dt.datetime(*local_now).replace(tzinfo=tz).timestamp()
    model.apply(answered("q", "c1", ts, 3.0))
    kpi = queue_kpi(model, "q", now)
    assert kpi.today.answered == int(counted)
    start = dt.datetime.fromtimestamp(kpi.today.start, tz)
    assert (start.hour, start.minute) == (day_start.hour, day_start.minute)


@pytest.mark.parametrize(
    ("date", "hours"),
    [(dt.date(2026, 3, 29), 23), (dt.date(2026, 10, 25), 25), (dt.date(2026, 11, 23), 24)],
    ids=["spring-forward", "fall-back", "ordinary"],
)
def test_daylight_saving_change_day(date, hours):
    tz = ZoneInfo("Europe/London")
    model = FloorModel(FloorSettings(timezone=tz))
    start = dt.datetime.combine(date, dt.time(0), tzinfo=tz).timestamp()
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(0), tzinfo=tz).timestamp()
    assert end - start == hours * 3600
    # First and last minute of the day both count in it; the next day's first minute doesn't.
    model.apply(answered("q", "first", start, 1.0))
    model.apply(answered("q", "last", end - 60, 1.0))
    model.apply(answered("q", "next", end, 1.0))
    kpi = queue_kpi(model, "q", end - 1)
    assert kpi.today.answered == 2
    assert kpi.today.start == start
    assert queue_kpi(model, "q", end + 1).today.answered == 1


def test_agents_by_state_with_time_in_state():
    model = FloorModel()
    model.apply(state("a1", "available", T0, queue="q", team="t1", desk="d1"))
    model.apply(state("a2", "break", T0 + 10, queue="q", reason="lunch"))
    model.apply(state("a3", "hold", T0 + 20, queue="q", call="c9"))
    model.apply(state("a4", "offline", T0 + 5))
    views = {v.agent: v for v in model.agent_views(T0 + 100)}
    assert views["a1"].time_in_state_s == 100.0 and views["a1"].desk == "d1"
    assert (views["a2"].state, views["a2"].reason) == ("break", "lunch")
    assert (views["a3"].state, views["a3"].call) == ("hold", "c9")
    per_queue, floor = model.snapshots(T0 + 100)
    q = per_queue[0]
    assert (q.agents_available, q.agents_busy, q.agents_on_break, q.agents_logged_in) == (
        1, 1, 1, 3)
    assert floor.agents_by_state == {"available": 1, "talking": 0, "hold": 1, "wrap_up": 0,
                                     "break": 1, "offline": 1}
    assert floor.agents_logged_in == 3


def test_occupancy_today_and_sliding_from_state_durations():
    model = FloorModel(FloorSettings(window_s=600.0))
    model.apply(state("a1", "available", T0, queue="q"))
    model.apply(state("a1", "talking", T0 + 300, queue="q"))  # 300 s available
    model.apply(state("a1", "wrap_up", T0 + 900, queue="q"))  # 600 s talking
    model.apply(state("a1", "break", T0 + 1000, queue="q"))  # 100 s wrap-up, then break
    kpi = queue_kpi(model, "q", T0 + 1200)
    assert kpi.today.occupancy == pytest.approx(700 / 1000)
    # The last 600 s: 300 s talking, 100 s wrap-up, 200 s break (not counted either way).
    assert kpi.sliding.occupancy == 1.0


def test_late_state_change_slots_into_history_without_changing_current_state():
    model = FloorModel()
    model.apply(state("a1", "available", T0, queue="q"))
    model.apply(state("a1", "available", T0 + 400, ts=T0 + 400, queue="q"))
    model.apply(state("a1", "talking", T0 + 100, ts=T0 + 100, queue="q"))  # late
    assert model.agent_views(T0 + 500)[0].state == "available"
    kpi = queue_kpi(model, "q", T0 + 500)
    assert kpi.today.occupancy == pytest.approx(300 / 500)


def test_occupancy_splits_at_the_day_start():
    tz = ZoneInfo("Europe/Paris")
    model = FloorModel(FloorSettings(timezone=tz, day_start=dt.time(6)))
    six = dt.datetime(2026, 11, 23, 6, 0, tzinfo=tz).timestamp()
    model.apply(state("a1", "talking", six - 600, queue="q"))
    model.apply(state("a1", "available", six + 300, queue="q"))
    kpi = queue_kpi(model, "q", six + 600)
    assert kpi.today.occupancy == pytest.approx(300 / 600)


def test_floor_snapshot_sums_the_queues():
    model = FloorModel()
    model.apply(answered("sales", "c1", T0, 5.0))
    model.apply(answered("support", "c2", T0, 50.0))
    model.apply(offered("support", "c3", T0 + 10))
    _, floor = model.snapshots(T0 + 20)
    assert floor.queues == ["sales", "support"]
    assert (floor.today.answered, floor.today.service_level, floor.waiting) == (2, 0.5, 1)
    assert floor.longest_wait_s == 10.0


def test_messages_the_floor_does_not_track_are_ignored():
    model = FloorModel()
    help_msg = env("desk/d1/help", ts=T0, request="r1", state="requested")
    assert model.apply(help_msg) == "ignored"


def test_any_delivery_order_with_duplicates_gives_the_same_numbers():
    from wallboard.sim.event_mix import MixSettings, generate

    messages = generate(T0, 1800, MixSettings(agents=40), seed=7)
    envelopes = [env(t.split("/", 2)[2], **m.model_dump(exclude_none=True)) for t, m in messages]
    in_order = FloorModel()
    for e in envelopes:
        in_order.apply(e)
    shuffled = FloorModel()
    rng = random.Random(3)
    jumbled = envelopes + rng.sample(envelopes, len(envelopes) // 5)  # 20% redelivered
    rng.shuffle(jumbled)
    outcomes = [shuffled.apply(e) for e in jumbled]
    assert outcomes.count("duplicate") == len(envelopes) // 5
    now = T0 + 1800
    (got_queues, got_floor), (want_queues, want_floor) = (
        shuffled.snapshots(now), in_order.snapshots(now))
    assert [q.queue for q in got_queues] == [q.queue for q in want_queues]
    for got, want in [*zip(got_queues, want_queues, strict=True), (got_floor, want_floor)]:
        assert differences(got, want, rel=1e-12) == []
