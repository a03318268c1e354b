"""``wallboard-desk --virtual``: the unit on gpiozero's mock pins, drawn in the terminal.

For demos and for installers trying the system without hardware. The drawing reads the
output pins themselves, so it shows exactly what a real tower would. Keys: space presses
the button (hold it, and the terminal's key repeat keeps it down), ``c`` holds it long
enough to cancel, ``q`` quits. Without a terminal (a pipe) the same keys are read from
stdin, and each change of the drawing is printed on its own line.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import termios
import threading
import time
import tty
from collections.abc import Iterator
from typing import IO, Any

from wallboard_desk.bootstrap import DeskRuntime
from wallboard_desk.hardware import LAMPS

FRAME_S = 0.05
TAP_S = 0.6  # a tap holds the button this long: longer than a key repeat's first delay,
# unless the long press is set shorter than twice that
REPEAT_GAP_S = 0.15  # while repeats keep coming closer than this, the key is held
_COLOURS = {"red": "\033[1;31m", "amber": "\033[1;33m", "green": "\033[1;32m",
            "buzzer": "\033[1;36m"}


def draw(lit: dict[str, bool], online: bool, help_state: str, colour: bool) -> str:
    """One line: each lamp lit or dark, named so it reads without colour too."""
    parts = []
    for name in LAMPS:
        label = f"{name.upper()} ●" if lit[name] else f"{name} ○"
        parts.append(f"{_COLOURS[name]}{label}\033[0m" if colour and lit[name] else label)
    link = "online" if online else "OFFLINE"
    return f"[{' | '.join(parts)}]  {link}  help: {help_state}"


class VirtualPanel:
    """Draws the tower and turns keys into button presses on the mock pin."""

    def __init__(self, runtime: DeskRuntime, factory: Any, stop: threading.Event,
                 keys: IO[bytes], out: IO[str]) -> None:
        self.runtime, self.stop = runtime, stop
        self.keys, self.out = keys, out
        self.colour = out.isatty()
        pins = runtime.config.pins.button
        self._pin = factory.pin(pins.pin)
        self._pressed_level_low = pins.pull_up  # pulled up: pressing connects it to ground
        self._release_at: float | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Run the drawing, the key reader and the button timer in daemon threads."""
        for target in (self._draw_loop, self._read_keys, self._button_loop):
            threading.Thread(target=target, daemon=True, name=target.__name__).start()

    # -- the button ------------------------------------------------------------------------

    def _set_pin(self, down: bool) -> None:
        if down == self._pressed_level_low:
            self._pin.drive_low()
        else:
            self._pin.drive_high()

    def hold_for(self, seconds: float) -> None:
        """Press the button now (if it is up) and keep it down for at least ``seconds``."""
        with self._lock:
            if self._release_at is None:
                self._set_pin(True)
            self._release_at = max(self._release_at or 0.0, time.monotonic() + seconds)

    def _button_loop(self) -> None:
        while not self.stop.wait(0.01):
            with self._lock:
                if self._release_at is not None and time.monotonic() >= self._release_at:
                    self._release_at = None
                    self._set_pin(False)

    # -- keys ------------------------------------------------------------------------------

    def key(self, ch: bytes) -> None:
        """Act on one key."""
        if ch == b" ":
            # The first press holds for a tap; key repeats extend it while they keep coming.
            held = self._release_at is not None
            tap = min(TAP_S, self.runtime.config.button.long_press_s / 2)
            self.hold_for(REPEAT_GAP_S if held else tap)
        elif ch in (b"c", b"C"):
            self.hold_for(self.runtime.config.button.long_press_s + 0.2)
        elif ch in (b"q", b"Q", b"\x03"):
            self.stop.set()
            self.runtime.unit.wake()

    def _read_keys(self) -> None:
        with _cbreak(self.keys):
            fd = self.keys.fileno()
            while not self.stop.is_set():
                ready, _, _ = select.select([fd], [], [], 0.2)
                if not ready:
                    continue
                ch = os.read(fd, 1)
                if not ch:
                    return  # end of input: keep running until stopped
                self.key(ch)

    # -- drawing ---------------------------------------------------------------------------

    def frame(self) -> str:
        """The current drawing."""
        r = self.runtime
        lit = {name: bool(r.lamps.devices[name].value) for name in LAMPS}
        request = r.unit.desk.request
        state = "none" if request is None else request.state + (
            "" if request.delivered else " (not delivered yet)")
        return draw(lit, r.link.connected.is_set(), state, self.colour)

    def _draw_loop(self) -> None:
        last = ""
        while not self.stop.wait(FRAME_S):
            line = self.frame()
            if line == last:
                continue
            last = line
            if self.colour:
                self.out.write("\r\033[K" + line)
            else:
                self.out.write(line + "\n")
            self.out.flush()
        if self.colour:
            self.out.write("\n")


@contextlib.contextmanager
def _cbreak(stream: IO[bytes]) -> Iterator[None]:
    """Keys one at a time without Enter, restored on exit; nothing to do for a pipe."""
    if not stream.isatty():
        yield
        return
    fd = stream.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def attach(runtime: DeskRuntime, factory: Any, stop: threading.Event) -> VirtualPanel:
    """Start a panel on this process's terminal (or pipes)."""
    panel = VirtualPanel(runtime, factory, stop, sys.stdin.buffer, sys.stdout)
    panel.start()
    return panel
