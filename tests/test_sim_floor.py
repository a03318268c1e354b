"""The simulated floor: contract-clean, deterministic, and statistically true to its profile.

Statistical tests run one fixed seed, so they are deterministic; the tolerances are set
so that a correct simulator would fail them only rarely across seeds (each docstring says
how rarely), while a wrong rate, shape or mechanism fails them by a wide margin.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import statistics
import time
from collections import Counter, defaultdict
from functools import cache
from zoneinfo import ZoneInfo

import pytest

from wallboard.messages import (
    AgentSignal,
    AgentState,
    CallEvent,
    DeskHelp,
    Envelope,
    Message,
    decode,
    encode,
)
from wallboard.sim.floor import SimSettings, plan_shifts, simulate
from wallboard.sim.profile import DEFAULT_PROFILE, DemandProfile
from wallboard.topics import ID_PATTERN, Kind, build, is_id, parse

MONDAY = dt.datetime(2026, 3, 2, tzinfo=dt.UTC).timestamp()  # a Monday, 00:00 UTC
DAY = 86_400.0
WEEK = 7 * DAY
# 60 agents: arrivals scale linearly with head-count, so 60 agents (about 20k calls a
# week) still give every statistical test thousands of events, at under a third of the
# run time of the default 200. The default size gets its own day and speed tests.
WEEK_AGENTS = 60

Stream = list[tuple[str, Message]]


@cache
def run(settings: SimSettings, start: float, end: float) -> Stream:
    """A simulated stream, cached so several tests can share one run."""
    return list(simulate(settings, start, end))


def week() -> Stream:
    """A Monday-to-Sunday week at seed 1 with ``WEEK_AGENTS`` agents."""
    return run(SimSettings(agents=WEEK_AGENTS, seed=1), MONDAY, MONDAY + WEEK)


def default_monday() -> Stream:
    """One Monday of the default floor (200 agents)."""
    return run(SimSettings(), MONDAY, MONDAY + DAY)


def of(stream: Stream, kind: type[Message]) -> list[tuple[str, Message]]:
    """The (topic, message) pairs of one message type."""
    return [(t, m) for t, m in stream if isinstance(m, kind)]


def calls(stream: Stream) -> list[CallEvent]:
    """Every call event."""
    return [m for _, m in stream if isinstance(m, CallEvent)]


def who(topic: str) -> str:
    """The agent or desk id in an ``agent/...`` or ``desk/...`` topic."""
    return topic.split("/")[3]


def chi2_critical(dof: int, z: float) -> float:
    """Upper chi-square quantile by Wilson-Hilferty (within about 1% for dof >= 30)."""
    h = 2 / (9 * dof)
    return dof * (1 - h + z * math.sqrt(h)) ** 3


# ---- the profile ------------------------------------------------------------------------

def test_profile_shares_sum_to_one_per_open_day():
    for day in range(7):
        total = sum(DEFAULT_PROFILE.hour_share(day, h) for h in range(24))
        expected = 1.0 if DEFAULT_PROFILE.daily_volume(day, 1) > 0 else 0.0
        assert total == pytest.approx(expected)


@pytest.mark.parametrize(("weekday", "hour", "is_open"), [
    (0, 7, False), (0, 8, True), (0, 19, True), (0, 20, False),
    (4, 12, True), (5, 8, False), (5, 9, True), (5, 16, True), (5, 17, False),
    (6, 12, False),
])
def test_opening_hours(weekday, hour, is_open):
    assert DEFAULT_PROFILE.is_open(weekday, hour) is is_open
    assert (DEFAULT_PROFILE.expected_calls(weekday, hour, 100) > 0) is is_open


def test_rate_is_volume_times_share_per_second():
    local = dt.datetime(2026, 3, 2, 10, 30)  # Monday 10:30
    volume = 200 * 70 * DEFAULT_PROFILE.weekday_factor[0]
    assert DEFAULT_PROFILE.rate(local, 200) == pytest.approx(
        volume * DEFAULT_PROFILE.hour_share(0, 10) / 3600)


def test_profile_rejects_a_short_week():
    with pytest.raises(ValueError, match="7 entries"):
        DemandProfile(weekday_factor=(1.0,) * 6)


@pytest.mark.parametrize("bad", [
    {"agents": 0}, {"queues": 0}, {"hold_probability": 1.5}, {"ring_s": (5.0, 1.0)},
    {"queue_weights": (1.0, 2.0)}, {"handle_median_s": 0.0}, {"wrap_share": (0.1, 1.0)},
])
def test_settings_reject_nonsense(bad):
    with pytest.raises(ValueError):
        SimSettings(**bad)


def test_settings_reject_an_unknown_zone():
    with pytest.raises(KeyError):  # zoneinfo's ZoneInfoNotFoundError is a KeyError
        SimSettings(timezone="Mars/Olympus_Mons")


@pytest.mark.parametrize(("queues", "ids"), [
    (1, ("sales",)),
    (6, ("sales", "support", "billing", "retention", "tech", "general")),
    (8, ("sales", "support", "billing", "retention", "tech", "general", "q7", "q8")),
])
def test_queue_ids(queues, ids):
    assert SimSettings(queues=queues).queue_ids == ids


# ---- the contract -------------------------------------------------------------------------

def test_every_message_of_a_default_day_passes_the_contract_in_time_order():
    stream = default_monday()
    assert len(stream) > 50_000
    last = MONDAY
    for topic, msg in stream:
        assert MONDAY <= msg.ts < MONDAY + DAY
        assert msg.ts >= last
        last = msg.ts
        envelope = decode(topic, encode(msg), now=msg.ts)
        assert isinstance(envelope, Envelope)
        assert envelope.message == msg
        assert envelope.topic.site == "main"


def test_topics_use_the_configured_root_site_and_queue_ids():
    settings = SimSettings(agents=12, queues=8, site="north", root="wb", seed=3)
    stream = list(simulate(settings, MONDAY + 9 * 3600, MONDAY + 11 * 3600))
    kinds = Counter(parse(t, root="wb").kind for t, _ in stream)
    assert {Kind.CALL, Kind.AGENT_STATE} <= set(kinds)
    assert all(t.startswith("wb/north/") for t, _ in stream)
    queues = {parse(t, root="wb").id("queue") for t, m in stream if isinstance(m, CallEvent)}
    assert queues == set(settings.queue_ids)  # over two hours every queue gets calls


def test_agents_sit_at_fixed_desks_with_matching_ids():
    desks: dict[str, set[str | None]] = defaultdict(set)
    for topic, msg in of(default_monday(), AgentState):
        assert isinstance(msg, AgentState)
        desks[who(topic)].add(msg.desk)
    assert len(desks) == 200
    for agent, seen in desks.items():
        assert is_id(agent) and agent.startswith("a")
        assert seen == {"d" + agent[1:]}, ID_PATTERN


def test_every_agent_state_is_published_as_it_changes():
    for _, msg in of(default_monday(), AgentState):
        assert isinstance(msg, AgentState)
        assert msg.ts == msg.since


def test_every_agent_starts_with_a_state_at_start():
    start = MONDAY + 10.5 * 3600
    settings = SimSettings(agents=30)
    first = list(itertools.islice(simulate(settings, start), 30))
    assert [who(t) for t, _ in first] == [f"a{i:03d}" for i in range(1, 31)]
    states = Counter(m.state for _, m in first if isinstance(m, AgentState))
    assert all(m.ts == start for _, m in first)
    assert states["available"] > 15  # mid-morning on a Monday, most of the floor is in
    assert set(states) <= {"available", "offline"}


def test_simulate_runs_forever_and_lazily_without_end():
    stream = simulate(SimSettings(agents=20), MONDAY)
    taken = list(itertools.islice(stream, 20_000))
    assert len(taken) == 20_000
    assert taken[-1][1].ts > MONDAY + DAY  # it crossed into the next day on its own


def test_nothing_when_end_is_not_after_start():
    assert list(simulate(SimSettings(agents=5), MONDAY, MONDAY)) == []


# ---- determinism ------------------------------------------------------------------------

def _bytes(settings: SimSettings, start: float, end: float) -> list[tuple[str, bytes]]:
    return [(t, encode(m)) for t, m in simulate(settings, start, end)]


def test_same_seed_same_stream_other_seed_other_stream():
    start, end = MONDAY + 8 * 3600, MONDAY + 10 * 3600
    one = _bytes(SimSettings(agents=40, seed=7), start, end)
    assert len(one) > 2_000
    assert _bytes(SimSettings(agents=40, seed=7), start, end) == one
    assert _bytes(SimSettings(agents=40, seed=8), start, end) != one


def test_id_prefix_keeps_runs_apart():
    stream = list(simulate(SimSettings(agents=10, id_prefix="r2-"), MONDAY + 9 * 3600,
                           MONDAY + 10 * 3600))
    ids = {m.call for _, m in stream if isinstance(m, CallEvent)}
    assert ids and all(i.startswith("r2-c") for i in ids)


# ---- demand follows the profile ---------------------------------------------------------

def _offered_by_bin(stream: Stream) -> Counter[tuple[int, int]]:
    tz = ZoneInfo("UTC")
    bins: Counter[tuple[int, int]] = Counter()
    for m in calls(stream):
        if m.event == "offered":
            local = dt.datetime.fromtimestamp(m.ts, tz)
            bins[local.weekday(), local.hour] += 1
    return bins


def test_weekday_and_hour_counts_match_the_profile():
    """Offered calls per weekday, per hour (summed over the week) and per (weekday, hour).

    Arrivals are Poisson with a rate fixed by the profile, so each count has variance equal
    to its mean. Tolerances: every weekday total and every hour-of-day total within 4 sigma
    (two-sided 4-sigma misses have probability 6e-5 per bin, about 0.2% over these 31
    bins), closed bins exactly 0, and the chi-square over all 68 open (weekday, hour) bins
    (68 degrees of freedom: nothing is fitted) below its 0.1% critical value (about 110,
    by Wilson-Hilferty, z = 3.09).
    """
    bins = _offered_by_bin(week())
    expect = {(d, h): DEFAULT_PROFILE.expected_calls(d, h, WEEK_AGENTS)
              for d in range(7) for h in range(24)}
    for d in range(7):
        e = sum(expect[d, h] for h in range(24))
        o = sum(bins[d, h] for h in range(24))
        assert abs(o - e) <= 4 * math.sqrt(e), (d, o, e)
    for h in range(24):
        e = sum(expect[d, h] for d in range(7))
        o = sum(bins[d, h] for d in range(7))
        assert abs(o - e) <= 4 * math.sqrt(e), (h, o, e)
    open_bins = [k for k, e in expect.items() if e > 0]
    assert len(open_bins) == 68
    assert all(bins[k] == 0 for k, e in expect.items() if e == 0)
    chi2 = sum((bins[k] - expect[k]) ** 2 / expect[k] for k in open_bins)
    assert chi2 < chi2_critical(len(open_bins), 3.090), chi2


def test_weekly_shape_busy_monday_lunch_dip_light_friday_afternoon():
    bins = _offered_by_bin(week())
    day = [sum(bins[d, h] for h in range(24)) for d in range(7)]
    assert day[0] > day[4] > day[5] > day[6] == 0
    for d in range(5):
        assert bins[d, 12] < bins[d, 11], d
    afternoon = range(13, 20)
    assert sum(bins[4, h] for h in afternoon) < 0.8 * sum(bins[0, h] for h in afternoon)


def test_calls_follow_the_local_time_zone():
    settings = SimSettings(agents=20, timezone="America/New_York")
    tz = ZoneInfo(settings.timezone)
    start = dt.datetime(2026, 3, 2, tzinfo=tz).timestamp()
    hours = Counter(dt.datetime.fromtimestamp(m.ts, tz).hour
                    for m in calls(run(settings, start, start + DAY)) if m.event == "offered")
    assert set(hours) == set(range(8, 20))


def test_queues_get_calls_by_weight():
    settings = SimSettings(agents=WEEK_AGENTS)
    offered = Counter(parse(t).id("queue") for t, m in week()
                      if isinstance(m, CallEvent) and m.event == "offered")
    n = sum(offered.values())
    total = sum(settings.weights)
    for queue, weight in zip(settings.queue_ids, settings.weights, strict=True):
        p = weight / total
        assert abs(offered[queue] - n * p) <= 4 * math.sqrt(n * p * (1 - p)), queue


# ---- calls --------------------------------------------------------------------------------

def test_every_call_is_offered_then_answered_and_completed_or_abandoned():
    steps: dict[str, list[CallEvent]] = defaultdict(list)
    for m in calls(week()):
        steps[m.call].append(m)
    paths = Counter(tuple(e.event for e in s) for s in steps.values())
    # Calls still in progress at the end of the week would be cut short; Sunday is closed.
    assert set(paths) == {("offered", "answered", "completed"), ("offered", "abandoned")}
    for s in steps.values():
        if s[-1].event == "completed":
            offered, answered, done = s
            assert answered.agent == done.agent
            assert answered.wait_s == pytest.approx(answered.ts - offered.ts, abs=2e-3)
            assert done.handle_s == pytest.approx(done.ts - answered.ts, abs=2e-3)
            assert isinstance(done.hold_s, float) and done.handle_s is not None  # sim knows hold
            assert 0 <= done.hold_s <= done.handle_s
        else:
            assert s[1].wait_s == pytest.approx(s[1].ts - s[0].ts, abs=2e-3)


def test_handle_time_median_matches_the_lognormal_setting():
    """The sample median of n lognormal handle times has standard error
    median * sigma * sqrt(2 pi) / (2 sqrt(n)); the test allows 4 of them (1e-4 two-sided)."""
    settings = SimSettings(agents=WEEK_AGENTS)
    handles = [m.handle_s for m in calls(week()) if m.handle_s is not None]
    n = len(handles)
    se = settings.handle_median_s * settings.handle_sigma * math.sqrt(2 * math.pi) / (
        2 * math.sqrt(n))
    assert abs(statistics.median(handles) - settings.handle_median_s) <= 4 * se
    holds = [m.hold_s for m in calls(week()) if m.hold_s]
    share = len(holds) / n
    assert abs(share - settings.hold_probability) <= 4 * math.sqrt(0.25 * 0.75 / n)


def _abandon_rate(settings: SimSettings) -> tuple[float, float]:
    """Abandoned / offered, and mean wait of answered calls, over one Tuesday."""
    stream = run(settings, MONDAY + DAY, MONDAY + 2 * DAY)
    events = Counter(m.event for m in calls(stream))
    waits = [m.wait_s for m in calls(stream) if m.event == "answered" and m.wait_s is not None]
    return events["abandoned"] / events["offered"], statistics.fmean(waits)


def test_fewer_agents_on_the_same_demand_wait_longer_and_abandon_more():
    full, full_wait = _abandon_rate(SimSettings(agents=60, demand_agents=60))
    short, short_wait = _abandon_rate(SimSettings(agents=40, demand_agents=60))
    assert full < 0.08  # a properly staffed floor loses few callers
    assert short > full + 0.10
    assert short_wait > 3 * full_wait


def test_default_floor_has_realistic_occupancy_and_service_level():
    """Peak hour (Monday 10:00-11:00) occupancy in 70-95%, the day's SL(20 s) in 60-99.5%."""
    stream = default_monday()
    peak = (MONDAY + 10 * 3600, MONDAY + 11 * 3600)
    busy = available = 0.0
    last: dict[str, tuple[str, float]] = {}
    for topic, msg in stream:
        if not isinstance(msg, AgentState):
            continue
        agent = who(topic)
        if agent in last:
            state, since = last[agent]
            overlap = max(0.0, min(msg.ts, peak[1]) - max(since, peak[0]))
            if state in ("talking", "hold", "wrap_up"):
                busy += overlap
            elif state == "available":
                available += overlap
        last[agent] = (msg.state, msg.ts)
    occupancy = busy / (busy + available)
    assert 0.70 <= occupancy <= 0.95, occupancy
    events = calls(stream)
    offered = sum(m.event == "offered" for m in events)
    in_sl = sum(m.event == "answered" and (m.wait_s or 0) <= 20 for m in events)
    assert 0.60 <= in_sl / offered <= 0.995


# ---- agents -------------------------------------------------------------------------------

LEGAL = {
    "offline": {"available"},
    "available": {"talking", "break", "offline"},
    "talking": {"hold", "wrap_up"},
    "hold": {"talking"},
    "wrap_up": {"available", "break", "offline"},
    "break": {"available", "offline"},
}


def test_agent_state_sequences_are_legal_and_follow_the_calls():
    last: dict[str, AgentState] = {}
    answered_by: dict[str, str] = {}
    reasons: Counter[str | None] = Counter()
    for topic, msg in week():
        if isinstance(msg, CallEvent) and msg.event == "answered":
            assert msg.agent is not None
            assert last[msg.agent].state == "available"  # the agent was free to take it
            answered_by[msg.call] = msg.agent
        elif isinstance(msg, CallEvent) and msg.event == "completed":
            assert msg.agent is not None
            assert last[msg.agent].state == "wrap_up" and last[msg.agent].call == msg.call
        elif isinstance(msg, AgentState):
            agent = who(topic)
            before = last.get(agent)
            if before is not None:
                assert msg.state in LEGAL[before.state], (agent, before.state, msg.state)
            if msg.state in ("talking", "hold", "wrap_up"):
                assert msg.call is not None and answered_by[msg.call] == agent
                assert before is not None and before.state in LEGAL and (
                    before.call in (None, msg.call))
            else:
                assert msg.call is None
            if msg.state in ("break", "offline"):
                reasons[msg.reason] += 1
            last[agent] = msg
    assert set(reasons) == {"short", "lunch", "off_shift", "shift_end"}


def test_shifts_follow_demand_and_everyone_logs_off():
    stream = default_monday()
    logged_in: Counter[int] = Counter()
    final: dict[str, str] = {}
    for topic, msg in of(stream, AgentState):
        assert isinstance(msg, AgentState)
        if msg.state == "available" and final.get(who(topic), "offline") == "offline":
            logged_in[int((msg.ts - MONDAY) // 3600)] += 1
        final[who(topic)] = msg.state
    assert set(final.values()) == {"offline"}  # the night shift is nobody
    assert sum(logged_in.values()) == 200  # Monday rosters the whole floor
    assert min(logged_in) >= 7 and max(logged_in) <= 16


def test_plan_shifts_covers_need_roughly_in_proportion():
    """Each half hour's cover / need stays within a factor 2 of the day's average."""
    need = tuple(float(x) for x in (5, 8, 10, 14, 18, 20, 20, 19, 15, 12, 14, 16, 16, 15,
                                    14, 13, 12, 10, 9, 8, 6, 5, 4, 3))
    shifts = plan_shifts(need, 8, 20, 80, 20, 510, 240, 30.0, 15.0)
    assert len(shifts) == 100
    cover = [0.0] * 24
    for s in shifts:
        for m in range(s.length_min):
            if not any(off <= m < off + length for off, length, _ in s.breaks):
                cover[(s.start_min - 480 + m) // 30] += 1 / 30
    ratios = [c / n for c, n in zip(cover, need, strict=True)]
    mean = statistics.fmean(ratios)
    assert all(mean / 2 <= r <= mean * 2 for r in ratios), ratios


# ---- signals and help -----------------------------------------------------------------------

def _agent_days(stream: Stream) -> int:
    worked = {(who(t), int((m.ts - MONDAY) // DAY)) for t, m in stream
              if isinstance(m, AgentState) and m.state != "offline"}
    return len(worked)


def test_abusive_callers_about_ten_per_agent_day():
    """Abusive signals are Binomial(answered, 10/70): within 4 sigma of that. Per agent-day
    worked the mean is 10 x (answered per agent-day / 70), so within 8.5-11.5 (±15%)."""
    stream = week()
    settings = SimSettings(agents=WEEK_AGENTS)
    signals = Counter(m.kind for _, m in of(stream, AgentSignal) if isinstance(m, AgentSignal))
    answered = sum(m.event == "answered" for m in calls(stream))
    p = settings.abusive_per_call
    assert abs(signals["abusive_caller"] - answered * p) <= 4 * math.sqrt(answered * p * (1 - p))
    assert 8.5 <= signals["abusive_caller"] / _agent_days(stream) <= 11.5
    assert 0 < signals["compliment"] < signals["abusive_caller"] / 4


def test_signals_name_the_agents_current_call():
    current: dict[str, str | None] = {}
    for topic, msg in week():
        if isinstance(msg, AgentState):
            current[who(topic)] = msg.call
        elif isinstance(msg, AgentSignal):
            assert msg.source == "analytics"
            assert msg.call is not None and current[who(topic)] == msg.call


HELP_PATHS = {("requested", "acknowledged", "resolved"), ("requested", "cancelled")}


def test_help_follows_abuse_and_every_request_closes():
    stream = week()
    abusive: set[str] = set()
    last_call: dict[str, str] = {}
    steps: dict[str, list[DeskHelp]] = defaultdict(list)
    open_at: dict[str, str] = {}
    for topic, msg in stream:
        if isinstance(msg, CallEvent) and msg.event == "answered" and msg.agent:
            last_call[msg.agent] = msg.call
        elif isinstance(msg, AgentSignal) and msg.kind == "abusive_caller" and msg.call:
            abusive.add(msg.call)
        elif isinstance(msg, DeskHelp):
            desk = who(topic)
            steps[msg.request].append(msg)
            assert msg.agent is not None and desk == "d" + msg.agent[1:]
            if msg.state == "requested":
                assert desk not in open_at  # one open request per desk
                assert last_call[msg.agent] in abusive
                open_at[desk] = msg.request
            elif msg.state in ("resolved", "cancelled"):
                assert open_at.pop(desk) == msg.request
    assert not open_at
    paths = Counter(tuple(s.state for s in request) for request in steps.values())
    assert set(paths) == HELP_PATHS
    # About help_after_abuse of abusive calls lead to a press (fewer when a desk is busy).
    assert 0.15 * len(abusive) <= len(steps) <= 0.35 * len(abusive)
    acks = [r[1].ts - r[0].ts for r in steps.values() if r[1].state == "acknowledged"]
    assert all(r[1].by and r[1].by.startswith("sup") for r in steps.values()
               if r[1].state == "acknowledged")
    assert statistics.median(acks) <= 90
    assert sum(20 <= a <= 90 for a in acks) > 0.75 * len(acks)
    assert any(a > 120 for a in acks)  # some are slow enough for the board to escalate


# ---- speed ----------------------------------------------------------------------------------

def test_a_default_week_generates_well_over_20k_messages_per_second():
    started = time.perf_counter()
    n = sum(1 for _ in simulate(SimSettings(), MONDAY, MONDAY + WEEK))
    elapsed = time.perf_counter() - started
    assert n > 400_000
    assert elapsed < 30
    assert n / elapsed > 20_000, f"{n / elapsed:.0f} messages/s"


def test_built_topics_match_the_contract_builder():
    settings = SimSettings(agents=3)
    first = list(itertools.islice(simulate(settings, MONDAY + 9 * 3600), 3))
    assert [t for t, _ in first] == [
        build(Kind.AGENT_STATE, site="main", agent=f"a00{i}") for i in (1, 2, 3)]
