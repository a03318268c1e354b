"""The desk unit's GPIO on gpiozero's MockFactory: every lamp pattern's sequence and timing
on a recorded trace of the pins, active-low outputs, and how the button tells a press from
a long press. ``tests/lamp_trace.py`` says how a rhythm is judged; the table below checks
that judgement on made-up traces: noise passes, a wrong rhythm does not."""

from __future__ import annotations

import threading
import time

import pytest
from gpiozero.pins.mock import MockFactory

from tests.lamp_trace import Level, Trace, assert_rhythm, rhythm_problems
from wallboard.devservices import wait_for
from wallboard.messages import LampState
from wallboard_desk.config import ButtonConfig, PinsConfig
from wallboard_desk.hardware import DeskButton, TowerPins
from wallboard_desk.tower import PATTERNS, Tower

LAMPS = ("red", "amber", "green", "buzzer")


@pytest.fixture
def factory():
    f = MockFactory()
    yield f
    f.reset()


def made_up(on_s: float, off_s: float, late: tuple[float, ...] = (0.0,), n: int = 8
             ) -> list[Level]:
    """n levels of a rhythm, lit first, each late by the next of ``late`` (in turn)."""
    return [Level(i % 2 == 0, (on_s if i % 2 == 0 else off_s) + late[i % len(late)])
            for i in range(n)]


BLINK, FAST, FLASH = PATTERNS["blink"], PATTERNS["fast"], PATTERNS["flash"]
# (case, levels, the pattern they should be, what the check must say; None: nothing)
RHYTHMS: list[tuple[str, list[Level], tuple[float, float], str | None]] = [
    ("exact", made_up(*BLINK), BLINK, None),
    ("exact fast", made_up(*FAST), FAST, None),
    ("exact flash", made_up(*FLASH, n=3), FLASH, None),
    # A loaded CI machine: every level late, one of them by 150 ms.
    ("late, and one hiccup", made_up(*BLINK, late=(0.02, 0.04, 0.0, 0.15, 0.01)), BLINK, None),
    ("fast, every level 40 ms late", made_up(*FAST, late=(0.04,)), FAST, None),
    ("flash, late", made_up(*FLASH, late=(0.03, 0.12), n=5), FLASH, None),
    ("cut short by a hair of clock", made_up(*BLINK, late=(-0.002,)), BLINK, None),
    # Wrong rhythms.
    ("2 Hz for 1 Hz", made_up(0.25, 0.25), BLINK, "lit shorter than 0.5 s"),
    ("1 Hz for 2 Hz", made_up(0.5, 0.5), (0.25, 0.25), "lit for 0.500 s (median)"),
    ("half speed, late", made_up(1.0, 1.0, late=(0.05,)), BLINK, "lit for 1.050 s (median)"),
    ("blink for fast", made_up(*BLINK), FAST, "lit for 0.500 s (median)"),
    ("fast for blink", made_up(*FAST), BLINK, "lit shorter than 0.5 s"),
    ("flash upside down", made_up(1.9, 0.1), FLASH, "lit for 1.900 s (median)"),
    ("one level cut short", [*made_up(*BLINK)[:3], Level(False, 0.3), *made_up(*BLINK)[4:]],
     BLINK, "dark shorter than 0.5 s: [0.3]"),
    ("steady", [Level(True, 5.0)], BLINK, "1 complete levels, need 3"),
    ("two lit levels in a row", [Level(True, 0.5), Level(True, 0.5), Level(False, 0.5)], BLINK,
     "levels 0 and 1 are both lit"),
]


@pytest.mark.parametrize(("levels", "pattern", "problem"), [r[1:] for r in RHYTHMS],
                         ids=[r[0] for r in RHYTHMS])
def test_a_rhythm_passes_through_noise_but_not_when_wrong(levels, pattern, problem):
    problems = rhythm_problems(levels, *pattern)
    if problem is None:
        assert problems == []
    else:
        assert any(p.startswith(problem) for p in problems), problems


def test_a_pattern_that_should_start_lit_must():
    assert rhythm_problems(made_up(*BLINK)[1:], *BLINK, starts_lit=True) == ["began dark"]
    assert rhythm_problems(made_up(*BLINK), *BLINK, starts_lit=True) == []


def test_each_moving_pattern_has_its_sequence_and_timing_on_the_pins(factory):
    pins = PinsConfig()
    tower = TowerPins(pins, factory)
    trace = Trace({lamp: factory.pin(getattr(pins, lamp).pin) for lamp in LAMPS})
    try:
        tower.show(Tower(red="blink", amber="fast", green="flash"))
        cases: list[tuple[str, LampState]] = [("green", "flash"), ("red", "blink"),
                                               ("amber", "fast")]
        for lamp, pattern in cases:  # the slowest first: the others are done by then
            assert_rhythm(trace, lamp, *PATTERNS[pattern], starts_lit=True,
                          count=3 if pattern == "flash" else 6)
        # Every lamp lit at once, from the same show; the buzzer never moved.
        first = {lamp: trace.edges(lamp)[0] for lamp in ("red", "amber", "green")}
        assert all(edge.lit for edge in first.values())
        assert trace.edges("buzzer") == []
        tower.show(Tower())
        for lamp in ("red", "amber", "green"):
            assert factory.pin(getattr(pins, lamp).pin).state is False  # dark again
    finally:
        tower.close()


def test_steady_and_dark_and_active_low_outputs(factory):
    pins = PinsConfig.model_validate({"red": {"pin": 17, "active_high": False},
                                      "buzzer": {"pin": 23, "active_high": False}})
    tower = TowerPins(pins, factory)
    red, amber = factory.pin(17), factory.pin(27)
    buzzer = factory.pin(23)
    try:
        assert red.state is True and buzzer.state is True  # off means high on a relay board
        tower.show(Tower(red="on", amber="on", buzzer="on"))
        assert red.state is False and amber.state is True and buzzer.state is False
        tower.show(Tower(amber="on"))
        assert red.state is True and amber.state is True and buzzer.state is True
        trace = Trace({"red": red}, active_high={"red": False})
        tower.show(Tower(red="blink"))
        assert_rhythm(trace, "red", *PATTERNS["blink"], starts_lit=True)
    finally:
        tower.close()
    assert red.state is True  # released dark: high, for an active-low relay


def test_unchanged_lamps_are_left_alone(factory):
    tower = TowerPins(PinsConfig(), factory)
    trace = Trace({"red": factory.pin(17)})
    try:
        tower.show(Tower(red="flash"))
        wait_for(lambda: [e.lit for e in trace.edges()] == [True, False], 5,
                 what="the flash's first dark part")
        shown_again = trace.now()
        tower.show(Tower(red="flash", green="on"))
        # A restarted blink would light red at once; left alone, it stays dark for 1.9 s.
        wait_for(lambda: len(trace.edges()) == 3, 5, what="the next flash")
        lit = trace.edges()[-1]
        assert lit.lit and lit.at - shown_again >= 1.0, (trace.edges(), shown_again)
    finally:
        tower.close()


class Presses:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.lock = threading.Lock()

    def press(self) -> None:
        with self.lock:
            self.seen.append("press")

    def long(self) -> None:
        with self.lock:
            self.seen.append("long")


def test_short_press_on_release_and_long_press_at_the_hold_time(factory):
    presses = Presses()
    button = DeskButton(PinsConfig(), ButtonConfig(long_press_s=0.5), presses.press,
                        presses.long, factory)
    pin = factory.pin(24)
    try:
        pin.drive_low()
        time.sleep(0.1)
        assert presses.seen == []  # nothing until released
        pin.drive_high()
        wait_for(lambda: presses.seen == ["press"], 2, what="a short press")
        pin.drive_low()
        wait_for(lambda: presses.seen == ["press", "long"], 2, what="the long press")
        pin.drive_high()  # releasing after a long press is not also a press
        time.sleep(0.2)
        assert presses.seen == ["press", "long"]
    finally:
        button.close()


def test_button_wired_to_3v3_with_pull_down(factory):
    presses = Presses()
    pins = PinsConfig.model_validate({"button": {"pin": 24, "pull_up": False}})
    button = DeskButton(pins, ButtonConfig(), presses.press, presses.long, factory)
    pin = factory.pin(24)
    try:
        pin.drive_high()
        time.sleep(0.05)
        pin.drive_low()
        wait_for(lambda: presses.seen == ["press"], 2, what="a press on a pulled-down pin")
    finally:
        button.close()
