"""The strain score: each component's points and cap, the reasons shown, the suggestions."""

from __future__ import annotations

import pytest

from wallboard.floor.strain import COMPONENTS, REASONS, Rule, StrainPolicy, Workload, strain

POLICY = StrainPolicy()


@pytest.mark.parametrize(("fact", "value", "points", "reason"), [
    ("calls_since_break", 12, 0.0, "12 calls since the last break"),
    ("calls_since_break", 16, 6.0, "16 calls since the last break"),
    ("calls_since_break", 40, 15.0, "40 calls since the last break"),  # capped
    ("minutes_since_break", 90, 0.0, "1 h 30 min without a break"),
    ("minutes_since_break", 160, 17.5, "2 h 40 min without a break"),
    ("minutes_since_break", 400, 20.0, "6 h 40 min without a break"),
    ("abusive_last_hour", 1, 12.0, "1 abusive caller in 60 min"),
    ("abusive_last_hour", 3, 30.0, "3 abusive callers in 60 min"),
    ("abusive_last_hour", 5, 30.0, "5 abusive callers in 60 min"),
    ("abusive_today", 1, 0.0, "1 abusive caller today"),
    ("abusive_today", 4, 12.0, "4 abusive callers today"),
    ("abusive_today", 10, 16.0, "10 abusive callers today"),
    ("irate_last_hour", 2, 10.0, "2 irate callers in 60 min"),
    ("irate_last_hour", 9, 15.0, "9 irate callers in 60 min"),
    ("escalated_today", 2, 3.0, "2 escalated calls today"),
    ("escalated_today", 7, 9.0, "7 escalated calls today"),
    ("long_holds_last_hour", 1, 4.0, "1 long hold in 60 min"),
    ("long_holds_last_hour", 4, 12.0, "4 long holds in 60 min"),
    ("continuous_handle_min", 45, 7.5, "45 min on calls without a pause"),
    ("continuous_handle_min", 95, 15.0, "1 h 35 min on calls without a pause"),
    ("occupancy_last_hour_pct", 85, 0.0, "occupancy 85 % over 60 min"),
    ("occupancy_last_hour_pct", 93, 8.0, "occupancy 93 % over 60 min"),
    ("occupancy_last_hour_pct", 100, 15.0, "occupancy 100 % over 60 min"),
    ("pending_help", 1, 10.0, "1 help request waiting"),
    ("pending_help", 3, 20.0, "3 help requests waiting"),
])
def test_each_component_scores_its_fact_up_to_its_cap_and_says_why(fact, value, points,
                                                                    reason):
    result = strain(Workload(**{fact: value}), POLICY)
    assert [(c.name, c.value, c.points, c.reason) for c in result.components] == [
        (fact, value, points, reason)]
    assert result.score == points


def test_every_component_has_a_rule_and_a_reason_and_a_workload_fact():
    assert set(COMPONENTS) == set(POLICY.rules) == set(REASONS)
    assert set(COMPONENTS) <= set(Workload.__dataclass_fields__)


def test_the_score_is_the_sum_of_the_components_and_never_over_100():
    busy = Workload(calls_since_break=20, minutes_since_break=150, abusive_last_hour=2)
    result = strain(busy, POLICY)
    assert result.score == pytest.approx(12.0 + 15.0 + 24.0)
    worst = Workload(calls_since_break=99, minutes_since_break=999, abusive_last_hour=9,
                     abusive_today=9, irate_last_hour=9, escalated_today=9,
                     long_holds_last_hour=9, continuous_handle_min=999,
                     occupancy_last_hour_pct=100, pending_help=9)
    assert strain(worst, POLICY).score == 100.0


def test_a_quiet_shift_scores_zero_and_shows_nothing():
    result = strain(Workload(), POLICY)
    assert (result.score, result.components, result.suggestion) == (0.0, [], None)


def test_site_policy_sets_the_rules():
    strict = StrainPolicy(rules={**POLICY.rules, "abusive_last_hour": Rule(0, 40, 40)})
    assert strain(Workload(abusive_last_hour=1), strict).score == 40.0


@pytest.mark.parametrize(("work", "suggestion", "text"), [
    (Workload(abusive_last_hour=1, abusive_today=1, minutes_since_abusive=3, pending_help=9),
     "recovery_break", "5 min recovery break after an abusive caller 3 min ago"),
    (Workload(abusive_last_hour=1, minutes_since_abusive=20, minutes_since_break=30),
     None, None),  # too long ago to call it recovery
    (Workload(minutes_since_break=125), "break_due", "break due: 2 h 5 min without one"),
    (Workload(calls_since_break=30), "break_due", "break due: 30 calls since the last one"),
    (Workload(pending_help=2, irate_last_hour=3, long_holds_last_hour=4), None, None),  # 47
    (Workload(pending_help=2, irate_last_hour=3, long_holds_last_hour=4, escalated_today=2),
     "check_in", "check in: strain 50 of 100"),
])
def test_suggestions_come_in_order_recovery_then_break_then_check_in(work, suggestion, text):
    result = strain(work, POLICY)
    assert (result.suggestion, result.suggestion_text) == (suggestion, text)


def test_the_recovery_break_length_is_site_policy():
    policy = StrainPolicy(recovery_break_min=10, recovery_window_min=30)
    result = strain(Workload(abusive_last_hour=1, minutes_since_abusive=25), policy)
    assert result.suggestion_text == "10 min recovery break after an abusive caller 25 min ago"
