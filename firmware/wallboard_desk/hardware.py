"""The desk unit's GPIO: the stack light, the buzzer and the button, through gpiozero.

Every device takes the ``pin_factory`` it is given, so tests and ``--virtual`` pass
gpiozero's ``MockFactory`` and the same code drives mock pins.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from gpiozero import LED, Button, Buzzer, DigitalOutputDevice

from wallboard_desk.config import ButtonConfig, PinsConfig
from wallboard_desk.tower import DARK, PATTERNS, Tower

LAMPS = ("red", "amber", "green", "buzzer")


class TowerPins:
    """Shows a ``Tower`` on the outputs, changing only the lamps whose pattern changed."""

    def __init__(self, pins: PinsConfig, factory: Any = None) -> None:
        self.devices: dict[str, DigitalOutputDevice] = {
            name: LED(getattr(pins, name).pin, active_high=getattr(pins, name).active_high,
                      initial_value=False, pin_factory=factory)
            for name in ("red", "amber", "green")
        }
        self.devices["buzzer"] = Buzzer(pins.buzzer.pin, active_high=pins.buzzer.active_high,
                                        initial_value=False, pin_factory=factory)
        self.shown = DARK
        self._lock = threading.Lock()

    def show(self, tower: Tower) -> None:
        """Drive the outputs to ``tower``."""
        with self._lock:
            for f in fields(Tower):
                want = getattr(tower, f.name)
                if want == getattr(self.shown, f.name):
                    continue  # restarting a blink would break its rhythm
                device = self.devices[f.name]
                if want == "on":
                    device.on()
                elif want == "off":
                    device.off()
                else:
                    on_s, off_s = PATTERNS[want]
                    device.blink(on_time=on_s, off_time=off_s)
            self.shown = tower

    def close(self) -> None:
        """Switch everything off, then release the pins."""
        self.show(DARK)
        for device in self.devices.values():
            device.close()


class DeskButton:
    """The button: a short press, or a long press that fires once the hold time is reached.

    gpiozero's advice: react on release with a "held" flag, rather than setting both
    ``when_pressed`` and ``when_held``, so one press never counts as both.
    """

    def __init__(self, pins: PinsConfig, timing: ButtonConfig, on_press: Callable[[], None],
                 on_long_press: Callable[[], None], factory: Any = None) -> None:
        self._held = False
        self._on_press, self._on_long_press = on_press, on_long_press
        self.device = Button(pins.button.pin, pull_up=pins.button.pull_up,
                             bounce_time=timing.bounce_s, hold_time=timing.long_press_s,
                             pin_factory=factory)
        self.device.when_held = self._held_down
        self.device.when_released = self._released

    def _held_down(self) -> None:
        self._held = True
        self._on_long_press()  # at once, so the tower answers while the finger is still down

    def _released(self) -> None:
        if self._held:
            self._held = False
        else:
            self._on_press()

    def close(self) -> None:
        """Release the pin."""
        self.device.close()
