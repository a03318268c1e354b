"""A one-line progress bar on stderr while the report queries InfluxDB; silent when piped."""

from __future__ import annotations

from typing import TextIO


def bar_text(done: int, total: int, label: str, width: int = 24) -> str:
    """``[#########...............] 3/8 label``."""
    filled = width * done // total if total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label}"


class Progress:
    """Redraws one terminal line per step; draws nothing unless the stream is a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.drawing = stream.isatty()
        self._width = 0

    def show(self, done: int, total: int, label: str) -> None:
        """Show ``done`` of ``total`` steps finished, and what is being done now."""
        self._draw(bar_text(done, total, label))

    def finish(self) -> None:
        """Clear the line."""
        self._draw("")

    def _draw(self, text: str) -> None:
        if not self.drawing:
            return
        # Pad over the previous, possibly longer, line: \r alone would leave its tail.
        self.stream.write("\r" + text.ljust(self._width) + ("" if text else "\r"))
        self.stream.flush()
        self._width = len(text)
