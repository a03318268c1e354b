"""How every Wallboard process logs on stderr: each line starts with an ISO 8601 time with
its UTC offset (``2026-12-02T09:30:00.125+09:00``), so a hub in UTC and a reader in Tokyo
agree on when something happened.

Under systemd, journald stamps every line itself: a second time stamp would only crowd the
line, so it is left out when stderr is the journal (``JOURNAL_STREAM``, as systemd.exec(5)
describes). ``WALLBOARD_LOG_TIME=0`` leaves it out anywhere, ``=1`` keeps it anywhere.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Mapping
from typing import TextIO

WITH_TIME = "%(asctime)s %(levelname)s %(name)s: %(message)s"
WITHOUT_TIME = "%(levelname)s %(name)s: %(message)s"


class IsoTimeFormatter(logging.Formatter):
    """Times as ISO 8601 in the machine's zone, with the offset and milliseconds."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """The record's time, e.g. 2026-12-02T09:30:00.125+09:00."""
        local = dt.datetime.fromtimestamp(record.created).astimezone()
        return local.isoformat(timespec="milliseconds")


def to_journal(stream: TextIO, env: Mapping[str, str]) -> bool:
    """Whether ``stream`` is the journal systemd connected this process's stderr to."""
    device_inode = env.get("JOURNAL_STREAM", "")
    try:
        device, inode = (int(part) for part in device_inode.split(":"))
        stat = os.fstat(stream.fileno())
    except (ValueError, OSError):
        return False
    return (stat.st_dev, stat.st_ino) == (device, inode)


def with_time(stream: TextIO, env: Mapping[str, str]) -> bool:
    """Whether log lines on ``stream`` carry their own time stamp."""
    chosen = env.get("WALLBOARD_LOG_TIME", "")
    if chosen in ("0", "1"):
        return chosen == "1"
    return not to_journal(stream, env)


def configure(level: str | int, stream: TextIO, env: Mapping[str, str] | None = None) -> None:
    """Log at ``level`` and above on ``stream``, in Wallboard's format."""
    env = os.environ if env is None else env
    handler = logging.StreamHandler(stream)
    handler.setFormatter(IsoTimeFormatter(WITH_TIME if with_time(stream, env)
                                          else WITHOUT_TIME))
    logging.basicConfig(level=level, handlers=[handler])
