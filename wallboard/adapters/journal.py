"""The controller's event journal: every message it folded, one append-only file per day.

On a restart the controller replays today's and yesterday's files, so today's counters and
the sliding window come back exactly. A line is flushed to the OS before the broker gets
its acknowledgement, so a killed process loses nothing; ``sync`` (called every second)
bounds what a power cut can take.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from wallboard.errors import ConfigError

log = logging.getLogger(__name__)

_NAME = re.compile(r"^journal-(\d{4}-\d{2}-\d{2})\.log$")

DateOf = Callable[[float], dt.date]  # epoch seconds -> the business day it belongs to


class Journal:
    """Append-only journal files named by business day, kept for today and yesterday."""

    def __init__(self, directory: Path, date_of: DateOf) -> None:
        self.directory = directory
        self.date_of = date_of
        self._file: TextIO | None = None
        self._date: dt.date | None = None

    def prepare(self) -> None:
        """Create the directory, or stop start-up saying why it cannot be used."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            probe = self.directory / ".writable"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise ConfigError("(state dir)", "controller.state_dir",
                              f"{self.directory}: {exc.strerror or exc}") from None

    def replay(self, now: float) -> Iterator[tuple[str, bytes]]:
        """Every (topic, payload) in the files for yesterday and today, oldest file first."""
        keep = self._oldest_kept(now)
        for date, path in self._files():
            if date < keep:
                continue
            with path.open("rb") as f:
                for number, line in enumerate(f, 1):
                    topic, sep, payload = line.rstrip(b"\n").partition(b" ")
                    if not sep or not line.endswith(b"\n"):
                        # Only the last line can be cut short, by a crash mid-write.
                        log.warning("journal %s:%d: incomplete line skipped", path.name, number)
                        continue
                    yield topic.decode("utf-8", "replace"), payload

    def append(self, now: float, topic: str, payload: bytes) -> None:
        """Add one message and hand it to the OS before returning."""
        date = self.date_of(now)
        if date != self._date or self._file is None:
            self._rotate(date, now)
        assert self._file is not None
        self._file.write(f"{topic} {payload.decode('utf-8')}\n")
        self._file.flush()

    def sync(self) -> None:
        """Force written lines to disk."""
        if self._file is not None:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        """Sync and close the current file."""
        if self._file is not None:
            self.sync()
            self._file.close()
            self._file = None

    def _rotate(self, date: dt.date, now: float) -> None:
        self.close()
        self._date = date
        self._file = (self.directory / f"journal-{date.isoformat()}.log").open(
            "a", encoding="utf-8")
        keep = self._oldest_kept(now)
        for old, path in self._files():
            if old < keep:
                path.unlink(missing_ok=True)

    def _oldest_kept(self, now: float) -> dt.date:
        today = self.date_of(now)
        # The day before today's start: the sliding window can reach back into it.
        return today - dt.timedelta(days=1)

    def _files(self) -> list[tuple[dt.date, Path]]:
        found = []
        for path in self.directory.iterdir():
            match = _NAME.match(path.name)
            if match:
                found.append((dt.date.fromisoformat(match.group(1)), path))
        return sorted(found)
