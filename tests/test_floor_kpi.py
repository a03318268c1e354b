"""KPI formulas against the published examples in the project's KPI reference."""

from __future__ import annotations

import pytest

from wallboard.floor.tally import CallTally, abandon_rate, aht_s, asa_s, occupancy, service_level

# Call Centre Helper's data: 1000 answered (860 within 20 s) and 60 abandoned. The published
# formulas that give 83% assume 20 of the abandons came within the threshold.
CCH = CallTally(offered=1060, answered=1000, abandoned=60, answered_in_sl=860, abandoned_in_sl=20)
# The same floor where 10 of those 20 early abandons were short (under 5 s).
CCH_SHORT = CallTally(offered=1060, answered=1000, abandoned=60, short_abandoned=10,
                      answered_in_sl=860, abandoned_in_sl=10)


@pytest.mark.parametrize(
    ("tally", "treatment", "expected"),
    [
        (CCH, "count_against", 860 / 1060),  # 81%: abandons count as failures
        (CCH, "ignore", 860 / 1040),  # 83%: abandons within T leave the denominator
        (CCH, "count_in_favour", 880 / 1060),  # 83%: abandons within T count as met
        (CCH_SHORT, "count_against", 860 / 1050),  # short abandons leave every treatment
        (CCH_SHORT, "ignore", 860 / 1040),
        (CCH_SHORT, "count_in_favour", 870 / 1050),
    ],
    ids=["against", "ignore", "favour", "against-short", "ignore-short", "favour-short"],
)
def test_service_level_treatments_on_the_published_example(tally, treatment, expected):
    assert service_level(tally, treatment) == pytest.approx(expected)


def _percent(value: float | None) -> int:
    assert value is not None
    return round(value * 100)


def test_published_example_rounds_to_the_published_percentages():
    assert _percent(service_level(CCH, "count_against")) == 81
    assert _percent(service_level(CCH, "ignore")) == 83
    assert _percent(service_level(CCH, "count_in_favour")) == 83
    # The fourth published figure ignores abandons altogether: answered within T / answered.
    assert round(CCH.answered_in_sl / CCH.answered * 100) == 86


@pytest.mark.parametrize(
    ("tally", "asa", "rate", "aht"),
    [
        (CallTally(), None, None, None),
        (CallTally(answered=4, wait_answered_s=40.0), 10.0, 0.0, None),
        (CallTally(answered=8, abandoned=3, short_abandoned=1, wait_answered_s=80.0),
         10.0, 2 / 10, None),
        (CallTally(abandoned=2, short_abandoned=2), None, None, None),
        (CallTally(completed=4, handle_s=1200.0, hold_s=100.0), None, None, 300.0),
    ],
    ids=["nothing", "asa", "abandon-rate-excludes-short", "only-short", "aht"],
)
def test_asa_abandon_rate_and_aht(tally, asa, rate, aht):
    assert asa_s(tally) == (pytest.approx(asa) if asa is not None else None)
    assert abandon_rate(tally) == (pytest.approx(rate) if rate is not None else None)
    assert aht_s(tally) == (pytest.approx(aht) if aht is not None else None)


@pytest.mark.parametrize(("busy", "avail", "expected"),
                         [(0.0, 0.0, None), (85.0, 15.0, 0.85), (60.0, 0.0, 1.0)])
def test_occupancy(busy, avail, expected):
    assert occupancy(busy, avail) == (pytest.approx(expected) if expected is not None else None)


def test_no_ended_calls_means_no_service_level():
    waiting_only = CallTally(offered=5)
    for treatment in ("count_against", "ignore", "count_in_favour"):
        assert service_level(waiting_only, treatment) is None
