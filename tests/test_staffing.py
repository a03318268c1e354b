"""Erlang C staffing: the published examples, scale, the occupancy cap, and the CLI."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
import time
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from wallboard.staffing import (
    StaffingRequest,
    agents_required,
    agents_scheduled,
    erlang_b,
    fewest_agents_for_occupancy,
    forecast,
    p_wait,
    plan_staffing,
    traffic_erlangs,
)


def printed(value: float | None, text: str) -> bool:
    """Whether ``value`` shows as ``text`` when rounded to as many decimals as ``text`` has."""
    assert value is not None
    return round(value, len(text.partition(".")[2])) == float(text)


# --- Example 1 of docs/kpi.md: 100 calls in 30 min, AHT 180 s, T = 20 s, A = 10 ----------

EXAMPLE_1 = {"calls": 100, "period_s": 1800, "aht_s": 180, "threshold_s": 20}
A1 = 10.0


def test_example_1_traffic_is_10_erlangs():
    assert traffic_erlangs(100, 1800, 180) == A1


@pytest.mark.parametrize(("agents", "want_p_wait", "want_sl", "want_asa", "want_occupancy"), [
    pytest.param(11, "0.6821182", "0.3896138", "122.78", "0.9090909", id="N=11"),
    pytest.param(12, "0.4493882", "0.640158", "40.44", None, id="N=12"),
    pytest.param(13, "0.2852705", "0.7955948", "17.12", None, id="N=13"),
    pytest.param(14, "0.1741319", "0.88835", "7.84", "0.7142857", id="N=14"),
])
def test_example_1_forecast(agents, want_p_wait, want_sl, want_asa, want_occupancy):
    got = forecast(agents, A1, EXAMPLE_1["aht_s"], EXAMPLE_1["threshold_s"])
    assert got.agents == agents
    assert got.traffic_erlangs == A1
    assert printed(got.p_wait, want_p_wait), got.p_wait
    assert printed(p_wait(agents, A1), want_p_wait)
    assert printed(got.service_level, want_sl), got.service_level
    assert printed(got.asa_s, want_asa), got.asa_s
    if want_occupancy is not None:
        assert printed(got.occupancy, want_occupancy), got.occupancy


def test_example_1_needs_14_agents_for_80_in_20():
    assert forecast(13, A1, 180, 20).service_level < 0.8  # 0.7956: one agent short
    assert agents_required(A1, 180, sl_target=0.8, threshold_s=20) == 14


def test_example_1_plan_with_30_percent_shrinkage_schedules_20():
    request = StaffingRequest(calls=100, period_s=1800, aht_s=180, shrinkage=0.3)
    plan = plan_staffing(request)
    assert (plan.agents_required, plan.agents_scheduled) == (14, 20)
    assert plan.forecast == forecast(14, A1, 180, 20)


@pytest.mark.parametrize(("required", "shrinkage", "scheduled"), [
    pytest.param(14, 0.0, 14, id="no-shrinkage"),
    pytest.param(14, 0.3, 20, id="example-1"),
    pytest.param(15, 0.3, 22, id="rounds-up"),
    pytest.param(3, 0.8, 15, id="exact-not-float"),  # 3 / (1 - 0.8) is 15.000000000000004
    pytest.param(2, 0.9, 20, id="exact-not-float-2"),
    pytest.param(5000, 0.35, 7693, id="large"),
])
def test_agents_scheduled(required, shrinkage, scheduled):
    assert agents_scheduled(required, shrinkage) == scheduled


# --- Example 2: 600 calls/h, AHT 120 s, A = 20 ----------------------------------------------

A2 = traffic_erlangs(600, 3600, 120)


def test_example_2_traffic_is_20_erlangs():
    assert A2 == 20.0


def test_example_2_p_wait_15_percent_needs_26_agents():
    fewest = next(n for n in range(1, 100) if p_wait(n, A2) <= 0.15)
    assert fewest == 26


def test_example_2_average_wait_about_3_s_at_26():
    asa = forecast(26, A2, 120, 20).asa_s
    assert asa is not None
    assert round(asa) == 3


def test_example_2_p_wait_about_2_5_percent_at_30():
    assert round(p_wait(30, A2) * 100, 1) == 2.5


# --- Overloaded queues and edge cases -------------------------------------------------------

@pytest.mark.parametrize("agents", [1, 5, 10], ids=["N=1", "N=5", "N=A"])
def test_agents_at_or_below_traffic_cannot_keep_up(agents):
    got = forecast(agents, A1, 180, 20)
    assert (got.p_wait, got.service_level, got.asa_s, got.occupancy) == (1.0, 0.0, None, 1.0)


def test_just_above_traffic_is_finite():
    got = forecast(11, 10.999999, 180, 20)
    assert got.asa_s is not None and math.isfinite(got.asa_s) and got.asa_s > 1e6
    assert 0.99 < got.p_wait <= 1.0


def test_far_more_agents_than_traffic_is_instant():
    t = time.perf_counter()
    got = forecast(10_000_000, A1, 180, 20)  # B underflows early; the loop stops there
    assert time.perf_counter() - t < 1.0
    assert (got.p_wait, got.service_level, got.asa_s) == (0.0, 1.0, 0.0)
    assert got.occupancy == pytest.approx(1e-6)


@pytest.mark.parametrize(("kwargs", "message"), [
    pytest.param({"sl_target": 1.0}, "sl_target", id="sl-target-1"),
    pytest.param({"sl_target": 0.0}, "sl_target", id="sl-target-0"),
    pytest.param({"max_occupancy": 0.0}, "max_occupancy", id="occupancy-0"),
    pytest.param({"traffic": 2e6}, "traffic", id="traffic-too-high"),
])
def test_agents_required_refuses_inputs_it_cannot_finish(kwargs, message):
    args = {"traffic": A1, "aht_s": 180.0, "sl_target": 0.8, "threshold_s": 20.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        agents_required(**args)


# --- Scale: thousands of agents -------------------------------------------------------------

A_LARGE = traffic_erlangs(54_000, 3600, 300)  # 4,500 erlangs


def reference_erlang_b(agents: int, traffic: float) -> float:
    """Erlang B as Poisson(N) / Poisson(<= N), summed in log space: independent of the code."""
    logs = [k * math.log(traffic) - math.lgamma(k + 1) for k in range(agents + 1)]
    top = max(logs)
    return math.exp(logs[-1] - top) / sum(math.exp(x - top) for x in logs)


@pytest.mark.parametrize("agents", [4501, 4600, 5000], ids=["N=A+1", "N=4600", "N=5000"])
def test_erlang_b_matches_a_log_space_reference_at_scale(agents):
    assert erlang_b(agents, A_LARGE) == pytest.approx(reference_erlang_b(agents, A_LARGE),
                                                      rel=1e-9)


@pytest.mark.parametrize("agents", [4501, 4550, 4600, 5000])
def test_forecast_at_scale_is_finite_and_sensible(agents):
    got = forecast(agents, A_LARGE, 300, 20)
    assert 0.0 <= got.p_wait <= 1.0
    assert 0.0 <= got.service_level <= 1.0
    assert got.asa_s is not None and math.isfinite(got.asa_s) and got.asa_s >= 0
    assert got.occupancy == pytest.approx(A_LARGE / agents)


def test_agents_required_at_scale_is_fast_and_sensible():
    t = time.perf_counter()
    required = agents_required(A_LARGE, 300, 0.8, 20, max_occupancy=1.0)
    assert time.perf_counter() - t < 2.0
    assert A_LARGE < required < 5000
    assert forecast(required, A_LARGE, 300, 20).service_level >= 0.8
    assert forecast(required - 1, A_LARGE, 300, 20).service_level < 0.8


# --- The occupancy cap ----------------------------------------------------------------------

@pytest.mark.parametrize(("traffic", "sl_target", "max_occupancy", "want", "cap_binds"), [
    pytest.param(A1, 0.8, 0.85, 14, False, id="example-1-sl-binds"),
    pytest.param(A1, 0.8, 0.70, 15, True, id="example-1-tight-cap"),  # 10/14 = 0.714 > 0.70
    pytest.param(100.0, 0.5, 0.85, 118, True, id="easy-target"),  # ceil(100 / 0.85)
    pytest.param(A_LARGE, 0.8, 0.85, 5295, True, id="4500-erlangs"),  # ceil(4500 / 0.85)
    pytest.param(A_LARGE, 0.8, 1.0, None, False, id="4500-erlangs-no-cap"),
])
def test_occupancy_cap(traffic, sl_target, max_occupancy, want, cap_binds):
    required = agents_required(traffic, 180, sl_target, 20, max_occupancy)
    uncapped = agents_required(traffic, 180, sl_target, 20, max_occupancy=1.0)
    if want is not None:
        assert required == want
    assert forecast(required, traffic, 180, 20).occupancy <= max_occupancy
    if cap_binds:
        assert required == fewest_agents_for_occupancy(traffic, max_occupancy) > uncapped
        assert traffic / (required - 1) > max_occupancy
    else:
        assert required == uncapped


@pytest.mark.parametrize(("traffic", "cap", "want"), [
    pytest.param(10.0, 0.85, 12, id="10/0.85"),
    pytest.param(17.0, 0.85, 20, id="exactly-0.85"),  # 17 / 20 is the cap itself
    pytest.param(10.0, 1.0, 10, id="cap-1"),
    pytest.param(0.5, 0.85, 1, id="at-least-1"),
])
def test_fewest_agents_for_occupancy(traffic, cap, want):
    assert fewest_agents_for_occupancy(traffic, cap) == want


# --- Properties -----------------------------------------------------------------------------

def exact_erlang_c(agents: int, traffic: Fraction) -> Fraction:
    """Erlang C from the textbook factorial formula, in exact fractions (small N only)."""
    terms = [traffic ** k / math.factorial(k) for k in range(agents)]
    last = traffic ** agents / math.factorial(agents) * agents / (agents - traffic)
    return last / (sum(terms) + last)


@given(agents=st.integers(1, 60), share=st.floats(0.05, 0.99))
def test_recurrence_matches_the_factorial_formula(agents, share):
    traffic = agents * share
    want = float(exact_erlang_c(agents, Fraction(traffic)))
    assert p_wait(agents, traffic) == pytest.approx(want, rel=1e-10)


@given(traffic=st.floats(0.1, 300), aht=st.floats(10, 900), threshold=st.floats(1, 120))
def test_more_agents_never_make_things_worse(traffic, aht, threshold):
    start = math.floor(traffic) + 1
    runs = [forecast(n, traffic, aht, threshold) for n in range(start, start + 30)]
    for fewer, more in itertools.pairwise(runs):
        assert more.service_level >= fewer.service_level
        assert more.p_wait <= fewer.p_wait
        assert fewer.asa_s is not None and more.asa_s is not None
        assert more.asa_s <= fewer.asa_s
        assert more.occupancy < fewer.occupancy


@given(traffic=st.floats(0.01, 200), sl_target=st.floats(0.05, 0.99),
       threshold=st.floats(1, 60), cap=st.floats(0.3, 1.0))
def test_agents_required_is_the_smallest_that_meets_both(
    traffic: float, sl_target: float, threshold: float, cap: float
) -> None:
    required = agents_required(traffic, 180, sl_target, threshold, cap)

    def meets(n: int) -> bool:
        got = forecast(n, traffic, 180, threshold)
        return n > traffic and got.service_level >= sl_target and got.occupancy <= cap

    assert meets(required)
    assert not any(meets(n) for n in range(1, required))


# --- The request model ----------------------------------------------------------------------

def test_request_defaults():
    request = StaffingRequest(calls=100, period_s=1800, aht_s=180)
    assert (request.sl_target, request.sl_threshold_s, request.shrinkage,
            request.max_occupancy, request.agents) == (0.8, 20.0, 0.0, 0.85, None)


@pytest.mark.parametrize(("change", "field"), [
    pytest.param({"calls": 1e9, "period_s": 1}, "aht_s", id="traffic-too-high"),
    pytest.param({"max_occupancy": 1e-9}, "max_occupancy", id="cap-needs-too-many"),
    pytest.param({"agents": 10**8}, "agents", id="agents-too-many"),
    pytest.param({"colour": "red"}, "colour", id="unknown-field"),
])
def test_request_refuses(change, field):
    with pytest.raises(ValidationError) as caught:
        StaffingRequest.model_validate({"calls": 100, "period_s": 1800, "aht_s": 180, **change})
    assert caught.value.errors()[0]["loc"] == (field,)


# --- The CLI, run as a separate process -----------------------------------------------------

def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wallboard.cli", "staffing", *args],
                          capture_output=True, text=True, timeout=60, check=False)


def no_nan(text: str) -> float:
    raise AssertionError(f"{text} in the JSON output")


def test_cli_example_1():
    result = run("--calls", "100", "--period-s", "1800", "--aht-s", "180",
                 "--sl-target", "0.8", "--sl-threshold-s", "20", "--shrinkage", "0.3")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = json.loads(result.stdout, parse_constant=no_nan)
    assert (out["agents_required"], out["agents_scheduled"], out["agents"]) == (14, 20, 14)
    assert out["traffic_erlangs"] == 10.0
    assert printed(out["p_wait"], "0.1741319")
    assert printed(out["service_level"], "0.88835")
    assert printed(out["asa_s"], "7.84")
    assert printed(out["occupancy"], "0.7142857")
    assert out["inputs"] == {"calls": 100.0, "period_s": 1800.0, "aht_s": 180.0,
                             "sl_target": 0.8, "sl_threshold_s": 20.0, "shrinkage": 0.3,
                             "max_occupancy": 0.85, "agents": None}


def test_cli_agents_evaluates_that_many_and_overload_is_null_not_inf():
    result = run("--calls", "100", "--period-s", "1800", "--aht-s", "180", "--agents", "9")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout, parse_constant=no_nan)
    assert (out["agents_required"], out["agents_scheduled"], out["agents"]) == (14, 14, 9)
    assert (out["p_wait"], out["service_level"], out["asa_s"], out["occupancy"]) == (
        1.0, 0.0, None, 1.0)


def test_cli_5000_agents():
    result = run("--calls", "54000", "--period-s", "3600", "--aht-s", "300", "--agents", "5000")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout, parse_constant=no_nan)
    assert out["traffic_erlangs"] == 4500.0
    assert out["agents_required"] == 5295  # the 85% occupancy cap binds
    assert out["agents"] == 5000
    assert 0.0 <= out["p_wait"] <= 1.0 and 0.0 <= out["service_level"] <= 1.0


GOOD = {"--calls": "100", "--period-s": "1800", "--aht-s": "180"}


@pytest.mark.parametrize(("option", "value", "reason"), [
    pytest.param("--calls", "0", "greater than 0", id="calls-zero"),
    pytest.param("--calls", "-5", "greater than 0", id="calls-negative"),
    pytest.param("--calls", "nan", "finite number", id="calls-nan"),
    pytest.param("--calls", "many", "valid number", id="calls-text"),
    pytest.param("--period-s", "0", "greater than 0", id="period-zero"),
    pytest.param("--aht-s", "-180", "greater than 0", id="aht-negative"),
    pytest.param("--sl-threshold-s", "0", "greater than 0", id="threshold-zero"),
    pytest.param("--sl-target", "0", "greater than 0", id="sl-target-zero"),
    pytest.param("--sl-target", "1", "less than 1", id="sl-target-one"),
    pytest.param("--sl-target", "80", "less than 1", id="sl-target-percent"),
    pytest.param("--shrinkage", "-0.1", "greater than or equal to 0", id="shrinkage-negative"),
    pytest.param("--shrinkage", "1", "less than 1", id="shrinkage-one"),
    pytest.param("--max-occupancy", "0", "greater than 0", id="occupancy-zero"),
    pytest.param("--max-occupancy", "1.2", "less than or equal to 1", id="occupancy-above-1"),
    pytest.param("--agents", "0", "greater than or equal to 1", id="agents-zero"),
    pytest.param("--agents", "2.5", "valid integer", id="agents-fraction"),
])
def test_cli_bad_input_exits_2_with_one_line(option, value, reason):
    args = {**GOOD, option: value}
    result = run(*(f"{name}={text}" for name, text in args.items()))
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"bad option: {option}: "), result.stderr
    assert reason in result.stderr
    assert result.stderr.endswith(f"(got {value})\n")


def test_cli_missing_required_option_is_a_usage_error():
    result = run("--period-s", "1800", "--aht-s", "180")
    assert result.returncode == 2
    assert "--calls" in result.stderr
