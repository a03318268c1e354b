"""The recorder's on-disk spool: batches InfluxDB could not take yet, oldest first.

SQLite in WAL mode with ``synchronous=FULL``: once ``push`` returns, the batch survives a
killed process and a power cut, so the recorder may acknowledge its messages to the broker.
A file lock keeps a second recorder with the same id away from it.
"""

from __future__ import annotations

import fcntl
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from wallboard.errors import ConfigError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batch (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received REAL NOT NULL,   -- when its oldest message arrived
    messages INTEGER NOT NULL,
    lines BLOB NOT NULL       -- line protocol, one point per line
)
"""


@dataclass(frozen=True, slots=True)
class Spooled:
    """One stored batch."""

    id: int
    received: float
    messages: int
    lines: bytes


class Spool:
    """A FIFO of line-protocol batches in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock: IO[bytes] | None = None
        self._db: sqlite3.Connection | None = None
        self.messages = 0  # messages waiting, kept in step with the table
        self.batches = 0
        self.oldest: float | None = None

    def open(self) -> None:
        """Open (or create) the spool, or stop start-up saying why it cannot be used."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock = (self.path.parent / f"{self.path.name}.lock").open("wb")
        except OSError as exc:
            raise ConfigError("(spool)", "recorder.spool_dir",
                              f"{self.path.parent}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            self._lock = None
            raise ConfigError("(spool)", "recorder.id",
                              f"another recorder is using {self.path}: give each its own id"
                              ) from None
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute(_SCHEMA)
            row = db.execute("SELECT COUNT(*), COALESCE(SUM(messages), 0), MIN(received) "
                             "FROM batch").fetchone()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise ConfigError("(spool)", "recorder.spool_dir", f"{self.path}: {exc}") from None
        self._db = db
        self.batches, self.messages, self.oldest = row[0], row[1], row[2]

    def push(self, received: float, messages: int, lines: bytes) -> None:
        """Store a batch durably; raises ``sqlite3.Error`` (e.g. disk full) if it could not."""
        db = self._conn()
        db.execute("INSERT INTO batch (received, messages, lines) VALUES (?, ?, ?)",
                   (received, messages, lines))
        self.batches += 1
        self.messages += messages
        if self.oldest is None:
            self.oldest = received

    def peek(self) -> Spooled | None:
        """The oldest batch, or None when the spool is empty."""
        row = self._conn().execute(
            "SELECT id, received, messages, lines FROM batch ORDER BY id LIMIT 1").fetchone()
        return None if row is None else Spooled(row[0], row[1], row[2], bytes(row[3]))

    def remove(self, batch: Spooled) -> None:
        """Forget a batch once InfluxDB has it."""
        db = self._conn()
        db.execute("DELETE FROM batch WHERE id = ?", (batch.id,))
        self.batches -= 1
        self.messages -= batch.messages
        row = db.execute("SELECT MIN(received) FROM batch").fetchone()
        self.oldest = row[0]
        if self.batches == 0:
            # An empty WAL file is truncated, so an outage leaves no big file behind.
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        """Close the database and release the lock."""
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("spool is not open")
        return self._db

    @staticmethod
    def file_for(directory: Path, recorder_id: str) -> Path:
        """The spool file of recorder ``recorder_id`` in ``directory``."""
        return directory / f"spool-{recorder_id}.sqlite3"

