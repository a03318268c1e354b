"""Workload facts from state history and caller signals; what the core publishes for
agents and teams, and the privacy minimum for teams."""

from __future__ import annotations

import pytest

from tests.floor_events import env, state
from wallboard.floor.core import FloorCore
from wallboard.floor.effects import PublishTeamWellbeing, PublishWellbeing
from wallboard.floor.settings import FloorSettings
from wallboard.floor.strain import StrainPolicy, Workload
from wallboard.floor.workload import workload

T0 = 1_795_420_800.0  # a Monday 00:00 UTC: the day starts here
M = 60.0


def signal(agent: str, kind: str, ts: float, call: str | None = None):
    fields = {"call": call} if call else {}
    return env(f"agent/{agent}/signal", ts=ts, kind=kind, **fields)


def help_press(desk: str, request: str, ts: float, agent: str):
    return env(f"desk/{desk}/help", ts=ts, request=request, state="requested", agent=agent)


def shift(core: FloorCore, agent: str, steps: list[tuple[str, float]],
          team: str | None = None) -> None:
    """Fold the agent's state changes: (state, minutes after T0)."""
    for st, minute in steps:
        core.fold(state(agent, st, T0 + minute * M, team=team))


def facts(core: FloorCore, agent: str, minute: float) -> Workload:
    now = T0 + minute * M
    return workload(core.model.agents.by_id[agent], core.signals.of(agent),
                    sum(1 for r in core.help.open_requests() if r.agent == agent), now, T0,
                    core.settings.strain)


CALLS = [("available", 480), ("talking", 481), ("hold", 484), ("talking", 486),
         ("wrap_up", 490), ("talking", 491), ("wrap_up", 495), ("available", 496),
         ("talking", 500)]


def test_calls_and_time_since_the_break_are_read_from_the_states():
    core = FloorCore()
    shift(core, "a1", [("offline", 0), ("available", 420), ("talking", 421), ("break", 450),
                       *CALLS])
    work = facts(core, "a1", 510)
    # Three calls after the break (back from hold is the same call), break ended at 480.
    assert (work.calls_since_break, work.minutes_since_break) == (3, 30)
    assert work.continuous_handle_min == 10  # talking since 500
    assert work.long_holds_last_hour == 1  # 484 to 486: two minutes on hold


def test_an_agent_on_a_break_has_no_calls_or_time_since_it():
    core = FloorCore()
    shift(core, "a1", [("available", 420), ("talking", 421), ("break", 450)])
    work = facts(core, "a1", 460)
    assert (work.calls_since_break, work.minutes_since_break, work.continuous_handle_min) == (
        0, 0, 0)


def test_without_any_break_the_time_counts_from_the_first_state_today():
    core = FloorCore()
    shift(core, "a1", [("available", 420), ("talking", 421)])
    assert facts(core, "a1", 600).minutes_since_break == 180


@pytest.mark.parametrize(("busy_min", "expected"), [(57, 95), (30, 50), (0, 0)])
def test_occupancy_over_the_last_hour(busy_min, expected):
    core = FloorCore()
    shift(core, "a1", [("available", 400), ("talking", 420), ("available", 420 + busy_min)])
    assert facts(core, "a1", 480).occupancy_last_hour_pct == expected


def test_occupancy_is_left_out_with_under_half_an_hour_logged_in():
    core = FloorCore()
    shift(core, "a1", [("offline", 0), ("available", 460), ("talking", 461)])
    assert facts(core, "a1", 480).occupancy_last_hour_pct is None


def test_caller_signals_count_by_hour_and_day_and_duplicates_once():
    core = FloorCore()
    shift(core, "a1", [("available", 300)])
    for kind, minute, call in [("abusive_caller", 320, "c1"), ("abusive_caller", 450, "c2"),
                               ("abusive_caller", 470, "c3"), ("irate_caller", 460, "c4"),
                               ("escalated", 330, "c5"), ("escalated", 400, "c6"),
                               ("compliment", 465, "c7")]:
        assert core.fold(signal("a1", kind, T0 + minute * M, call)).outcome == "applied"
    again = core.fold(signal("a1", "abusive_caller", T0 + 470 * M, "c3"))
    assert again.outcome == "duplicate"
    work = facts(core, "a1", 480)
    assert (work.abusive_last_hour, work.abusive_today, work.irate_last_hour,
            work.escalated_today, work.minutes_since_abusive) == (2, 3, 1, 2, 10)


def test_pending_help_counts_the_agents_open_requests():
    core = FloorCore()
    shift(core, "a1", [("available", 300)])
    core.fold(help_press("d1", "r1", T0 + 470 * M, "a1"))
    core.fold(help_press("d2", "r2", T0 + 471 * M, "a2"))
    assert facts(core, "a1", 480).pending_help == 1


def wellbeing_effects(core: FloorCore, minute: float) -> list[object]:
    return [e for e in core.tick(T0 + minute * M)
            if isinstance(e, PublishWellbeing | PublishTeamWellbeing)]


def test_agents_are_published_on_change_and_cleared_when_they_log_off():
    core = FloorCore(FloorSettings(wellbeing_every_s=5.0))
    shift(core, "a1", [("available", 400)], team="t1")
    core.fold(signal("a1", "abusive_caller", T0 + 470 * M, "c1"))
    first = wellbeing_effects(core, 480)
    assert len(first) == 1 and isinstance(first[0], PublishWellbeing)
    message = first[0].message
    assert message is not None
    assert message.suggestion == "recovery_break"
    assert "1 abusive caller in 60 min" in [c.reason for c in message.components]
    assert wellbeing_effects(core, 480 + 1 / 60) == []  # not yet due
    assert wellbeing_effects(core, 480 + 6 / 60) == []  # due, but nothing changed
    core.fold(state("a1", "offline", T0 + 481 * M, team="t1"))
    assert wellbeing_effects(core, 482) == [PublishWellbeing("a1", None)]


def test_a_team_aggregate_is_withheld_below_min_group_and_withdrawn_when_it_shrinks():
    policy = StrainPolicy(min_group=5)
    core = FloorCore(FloorSettings(strain=policy))
    for n in range(4):
        shift(core, f"a{n}", [("available", 400)], team="t1")
    teams = [e for e in wellbeing_effects(core, 480) if isinstance(e, PublishTeamWellbeing)]
    assert teams == []  # four agents: too few to show
    shift(core, "a4", [("available", 480)], team="t1")
    teams = [e for e in wellbeing_effects(core, 481) if isinstance(e, PublishTeamWellbeing)]
    assert len(teams) == 1 and teams[0].message is not None
    assert (teams[0].team, teams[0].message.agents) == ("t1", 5)
    shift(core, "a4", [("offline", 482)], team="t1")
    teams = [e for e in wellbeing_effects(core, 483) if isinstance(e, PublishTeamWellbeing)]
    assert teams == [PublishTeamWellbeing("t1", None)]


def test_compliments_appear_as_kudos_on_the_floor_snapshot():
    core = FloorCore()
    shift(core, "a1", [("available", 400)])
    shift(core, "a2", [("available", 400)])
    core.fold(signal("a1", "compliment", T0 + 300 * M, "old"))  # over an hour before
    assert core.fold(signal("a2", "compliment", T0 + 470 * M, "c1")).floor
    core.fold(signal("a1", "compliment", T0 + 475 * M, "c2"))
    _, floor = core.snapshots(T0 + 480 * M)
    assert [(k.agent, k.at) for k in floor.kudos] == [("a1", T0 + 475 * M),
                                                      ("a2", T0 + 470 * M)]


def agent_wellbeing(agent: str, ts: float):
    return env(f"agent/{agent}/wellbeing", ts=ts, score=40.0, components=[], suggestion=None)


def team_wellbeing(team: str, ts: float):
    return env(f"team/{team}/wellbeing", ts=ts, agents=5, mean_score=30.0,
               agents_over_threshold=0)


# (id, what the restarted core knows of the agent, outcome, clears)
LEFT_BEHIND = [
    ("unknown-agent-cleared", [], "applied", True),
    ("logged-off-agent-cleared", [("available", 400), ("offline", 470)], "applied", True),
    ("logged-in-agent-rescored-instead", [("available", 400)], "ignored", False),
]


@pytest.mark.parametrize(("steps", "outcome", "clears"), [r[1:] for r in LEFT_BEHIND],
                         ids=[r[0] for r in LEFT_BEHIND])
def test_retained_strain_left_by_an_earlier_run_is_cleared_unless_the_agent_is_in(
        steps, outcome, clears):
    core = FloorCore()
    shift(core, "a1", steps)
    folded = core.fold(agent_wellbeing("a1", T0 + 475 * M))
    assert folded.outcome == outcome
    assert folded.effects == ((PublishWellbeing("a1", None),) if clears else ())


def test_the_core_s_own_strain_echoed_back_is_a_duplicate_not_cleared():
    core = FloorCore()
    shift(core, "a1", [("available", 400)])
    assert wellbeing_effects(core, 480) != []
    folded = core.fold(agent_wellbeing("a1", T0 + 480 * M))
    assert (folded.outcome, folded.effects) == ("duplicate", ())


@pytest.mark.parametrize(("agents", "outcome"), [(4, "applied"), (5, "ignored")])
def test_a_team_aggregate_left_behind_is_withdrawn_only_below_min_group(agents, outcome):
    core = FloorCore(FloorSettings(strain=StrainPolicy(min_group=5)))
    for n in range(agents):
        shift(core, f"a{n}", [("available", 400)], team="t1")
    folded = core.fold(team_wellbeing("t1", T0 + 470 * M))
    assert folded.outcome == outcome
    assert folded.effects == ((PublishTeamWellbeing("t1", None),) if agents < 5 else ())
    wellbeing_effects(core, 480)
    if agents == 5:  # published by this run now: its echo is left alone
        assert core.fold(team_wellbeing("t1", T0 + 480 * M)).outcome == "duplicate"
