"""The desk unit's GPIO on gpiozero's MockFactory: every lamp pattern's timing on the pins,
active-low outputs, and how the button tells a press from a long press."""

from __future__ import annotations

import threading
import time

import pytest
from gpiozero.pins.mock import MockFactory

from wallboard.devservices import wait_for
from wallboard.messages import LampState
from wallboard_desk.config import ButtonConfig, PinsConfig
from wallboard_desk.hardware import DeskButton, TowerPins
from wallboard_desk.tower import PATTERNS, Tower

TOLERANCE_S = 0.05  # gpiozero's own tests allow tens of milliseconds off a real-time schedule


@pytest.fixture
def factory():
    f = MockFactory()
    yield f
    f.reset()


def rhythm(pin, active_high=True) -> list[tuple[bool, float]]:
    """Each completed level on the pin and how long it lasted (lamp lit or not)."""
    states = list(pin.states)  # a copy: the blink thread is still appending
    return [(s.state == active_high, states[i + 1].timestamp)
            for i, s in enumerate(states[:-1])][1:]  # the first level began before the clock


def assert_pattern(pin, on_s: float, off_s: float, active_high=True) -> None:
    got = rhythm(pin, active_high)
    assert len(got) >= 3, f"too few changes: {got}"
    for lit, lasted in got:
        want = on_s if lit else off_s
        assert abs(lasted - want) <= TOLERANCE_S + 0.1 * want, (
            f"{'on' if lit else 'off'} for {lasted:.3f} s, want {want} s: {got}")


def test_each_moving_pattern_has_its_timing_on_the_pins(factory):
    pins = PinsConfig()
    tower = TowerPins(pins, factory)
    try:
        for lamp in ("red", "amber", "green"):
            factory.pin(getattr(pins, lamp).pin).clear_states()
        tower.show(Tower(red="blink", amber="fast", green="flash"))
        time.sleep(2 * sum(PATTERNS["flash"]) + 0.3)  # two flashes: the slowest rhythm
        cases: list[tuple[str, LampState]] = [("red", "blink"), ("amber", "fast"),
                                               ("green", "flash")]
        for lamp, pattern in cases:
            assert_pattern(factory.pin(getattr(pins, lamp).pin), *PATTERNS[pattern])
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
        red.clear_states()
        tower.show(Tower(red="blink"))
        time.sleep(2.3)
        assert_pattern(red, *PATTERNS["blink"], active_high=False)
    finally:
        tower.close()
    assert red.state is True  # released dark: high, for an active-low relay


def test_unchanged_lamps_are_left_alone(factory):
    tower = TowerPins(PinsConfig(), factory)
    try:
        tower.show(Tower(red="blink"))
        time.sleep(0.2)
        red = factory.pin(17)
        red.clear_states()
        tower.show(Tower(red="blink", green="on"))  # a restarted blink would break rhythm
        time.sleep(0.4)
        assert [s.state for s in red.states] == [True, False]
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
