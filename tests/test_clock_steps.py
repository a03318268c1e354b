"""Telling a wall-clock step from time passing: ``StepDetector`` and ``steady_for``."""

from __future__ import annotations

import time

import pytest

from wallboard.clock import ScaledClock, steady_for
from wallboard.clock_steps import StepDetector

# (name, (wall, monotonic) readings, what each reading reports)
CASES = [
    ("first-reading", [(5000.0, 10.0)], [None]),
    ("time-passing", [(5000.0, 10.0), (5000.2, 10.2), (5060.2, 70.2)], [None, None, None]),
    ("step-ahead", [(5000.0, 10.0), (8600.2, 10.2), (8600.4, 10.4)], [None, 3600.0, None]),
    ("step-back", [(5000.0, 10.0), (1400.2, 10.2), (1400.4, 10.4)], [None, -3600.0, None]),
    ("jitter-below-threshold", [(5000.0, 10.0), (5001.9, 10.2)], [None, None]),
    ("just-over", [(5000.0, 10.0), (5002.3, 10.2)], [None, 2.1]),
    # Slewing adds up to more than the threshold, but never between two readings.
    ("slow-slew", [(5000.0 + i * 1.5, 10.0 + i) for i in range(5)], [None] * 5),
    ("step-then-back", [(5000.0, 10.0), (8600.0, 10.0), (5000.0, 10.0)], [None, 3600.0, -3600.0]),
]


@pytest.mark.parametrize(("readings", "expected"), [pytest.param(r, e, id=n) for n, r, e in CASES])
def test_a_step_is_reported_once_with_its_size(readings, expected):
    detector = StepDetector(threshold_s=2.0)
    reported = [detector.feed(wall, mono) for wall, mono in readings]
    assert reported == [e if e is None else pytest.approx(e) for e in expected]


def test_the_wall_clock_is_paced_by_the_monotonic_clock():
    assert steady_for(time.time) is time.monotonic


def test_simulated_time_paces_itself():
    def sim() -> float:
        return 42.0
    assert steady_for(sim) is sim


@pytest.mark.parametrize("speed", [1.0, 10.0])
def test_a_scaled_clock_is_paced_at_its_own_speed(speed):
    wall, mono = [5000.0], [10.0]  # the clock it runs on (here stepped), and a monotonic one
    clock = ScaledClock(1_000_000.0, speed, wall=lambda: wall[0], steady=lambda: mono[0])
    steady = steady_for(clock)
    detector = StepDetector()
    assert detector.feed(clock(), steady()) is None
    wall[0] += 0.3
    mono[0] += 0.3  # 3 simulated seconds at 10x: a step, if it were paced unscaled
    assert detector.feed(clock(), steady()) is None
    wall[0] += 3600.0  # NTP steps the wall clock under a demo at --speed 1
    assert detector.feed(clock(), steady()) == pytest.approx(3600.0 * speed)
