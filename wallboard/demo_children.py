"""The demo's child processes: its wall screen (``wallboard kiosk``) and its virtual desk.

Each starts in a session of its own, so a Ctrl-C or a hang-up from the terminal reaches the
demo alone, which then stops them itself, in order, before the broker they talk to.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import termios
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

from wallboard.devservices import tail

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 10.0
WALL_SIZE = "1600x900"


def has_display(env: Mapping[str, str]) -> bool:
    """True where a window can open: an X or Wayland display is named."""
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


class Child:
    """One child process, started in its own session, stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, name: str, argv: Sequence[str], *, log_path: Path | None = None,
                 stdin: IO[bytes] | int | None = None) -> None:
        """Prepare ``argv``; its output goes to ``log_path``, or to the demo's own if None."""
        self.name, self.argv, self.log_path, self.stdin = name, list(argv), log_path, stdin
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process."""
        output = self.log_path.open("ab") if self.log_path is not None else None
        try:
            self.process = subprocess.Popen(self.argv, stdin=self.stdin, stdout=output,
                                            stderr=output, start_new_session=True)
        finally:
            if output is not None:
                output.close()

    @property
    def exit_code(self) -> int | None:
        """The exit code once it has exited, else None."""
        return None if self.process is None else self.process.poll()

    def stop(self) -> None:
        """Ask it to stop, and make sure it has."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0f s: killed", self.name, STOP_TIMEOUT_S)
            process.kill()
            process.wait()

    def output_tail(self, lines: int = 15) -> str:
        """The end of what it printed, for a report when it stops on its own."""
        return tail(self.log_path, lines) if self.log_path is not None else ""


def wall_screen(config: Path, log_path: Path) -> Child:
    """The demo's wall screen: the Kivy kiosk in a window, its output in ``log_path``."""
    return Child("wall screen", [sys.executable, "-m", "wallboard.cli", "kiosk", "--config",
                                 str(config), "--size", WALL_SIZE], log_path=log_path,
                 stdin=subprocess.DEVNULL)


def desk_panel(config: Path) -> Child:
    """The demo's virtual desk, on the demo's own terminal: its keys and its tower line."""
    return Child("desk panel", [sys.executable, "-m", "wallboard_desk.cli", "--virtual",
                                "--config", str(config), "--log-level", "WARNING"])


@contextlib.contextmanager
def terminal_restored(stream: IO[str] | None) -> Iterator[None]:
    """Put the terminal's modes back afterwards: a stopped desk panel may leave it in cbreak."""
    try:
        saved = termios.tcgetattr(stream) if stream is not None and stream.isatty() else None
    except (OSError, ValueError, termios.error):
        saved = None
    try:
        yield
    finally:
        if stream is not None and saved is not None:
            with contextlib.suppress(OSError, ValueError, termios.error):
                termios.tcsetattr(stream, termios.TCSADRAIN, saved)
