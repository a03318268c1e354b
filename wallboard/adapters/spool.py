"""The recorder's on-disk spool: batches InfluxDB could not take yet, oldest first.

SQLite with a rollback journal (``journal_mode=TRUNCATE``) and ``synchronous=FULL``: once
``push`` returns, the batch survives a killed process and a power cut, so the recorder may
acknowledge its messages to the broker. A rollback journal holds only the few pages a
change overwrites, where a WAL file would hold a second copy of every batch until a
checkpoint: on a small disk that halves what fits, and on a full one a checkpoint cannot
even run.

A full disk must never stop the spool from draining, since draining is what frees it.
Removing a batch still needs a few pages of journal (``secure_delete=FAST``: not a copy of
the batch), so the spool keeps a small reserve
file beside it and gives that space up when a removal finds the disk full. A batch written
to InfluxDB that still cannot be removed is remembered and not written again by this
process; removing it is retried. After a restart it would be written once more, which is
harmless: the same point lands on itself.

One connection, used by the recorder's threads in turn (a lock). A file lock keeps a second
recorder with the same id away from the file.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from wallboard.errors import ConfigError

log = logging.getLogger(__name__)

RESERVE_BYTES = 256 * 1024  # journal room for removals on a full disk: ~60 pages
SMALL_FILE_BYTES = 64 * 1024  # an empty spool bigger than this is made afresh

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS batch (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        received REAL NOT NULL,   -- when its oldest message arrived
        messages INTEGER NOT NULL,
        lines BLOB NOT NULL       -- line protocol, one point per line
    )""",
    # Oldest first by arrival: a batch whose direct write failed is spooled after batches
    # that arrived while it was tried, and must still drain before them.
    "CREATE INDEX IF NOT EXISTS batch_age ON batch (received, id)",
)


@dataclass(frozen=True, slots=True)
class Spooled:
    """One stored batch."""

    id: int
    received: float
    messages: int
    lines: bytes


def disk_full(exc: BaseException) -> bool:
    """Whether an SQLite or OS error says the disk (or a quota) is full."""
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


class Spool:
    """A FIFO of line-protocol batches in one SQLite file; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.reserve_path = path.with_name(f"{path.name}.reserve")
        self._lock = threading.Lock()
        self._file_lock: IO[bytes] | None = None
        self._db: sqlite3.Connection | None = None
        self._unremoved: dict[int, float] = {}  # written to InfluxDB, not yet deleted
        self.messages = 0  # messages waiting to be written, kept in step with the table
        self.batches = 0
        self.oldest: float | None = None

    def open(self) -> None:
        """Open (or create) the spool, or stop start-up saying why it cannot be used."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file_lock = (self.path.parent / f"{self.path.name}.lock").open("wb")
        except OSError as exc:
            raise ConfigError("(spool)", "recorder.spool_dir",
                              f"{self.path.parent}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(self._file_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file_lock.close()
            self._file_lock = None
            raise ConfigError("(spool)", "recorder.id",
                              f"another recorder is using {self.path}: give each its own id"
                              ) from None
        try:
            db = self._connect()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise ConfigError("(spool)", "recorder.spool_dir", f"{self.path}: {exc}") from None
        with self._lock:
            self._db = db
            self._recount(db)
            self._make_reserve()

    def push(self, received: float, messages: int, lines: bytes) -> None:
        """Store a batch durably; raises ``sqlite3.Error`` (e.g. disk full) if it could not."""
        with self._lock:
            db = self._conn()
            self._retry_removals(db)
            db.execute("INSERT INTO batch (received, messages, lines) VALUES (?, ?, ?)",
                       (received, messages, lines))
            self.batches += 1
            self.messages += messages
            self.oldest = received if self.oldest is None else min(self.oldest, received)

    def peek(self) -> Spooled | None:
        """The oldest batch not yet written, or None when there is none."""
        with self._lock:
            db, skip = self._conn(), tuple(self._unremoved)
            where = f"WHERE id NOT IN ({','.join('?' * len(skip))}) " if skip else ""
            row = db.execute("SELECT id, received, messages, lines FROM batch "
                             f"{where}ORDER BY received, id LIMIT 1", skip).fetchone()
        return None if row is None else Spooled(row[0], row[1], row[2], bytes(row[3]))

    def remove(self, batch: Spooled) -> bool:
        """Forget a batch once InfluxDB has it; False if the disk is too full to delete it
        yet (it is not handed out again, and deleting it is retried)."""
        with self._lock:
            db = self._conn()
            self._unremoved[batch.id] = batch.received
            self.batches -= 1
            self.messages -= batch.messages
            self._retry_removals(db)
            removed = batch.id not in self._unremoved
            self.oldest = self._oldest(db)
            if self.batches == 0 and not self._unremoved:
                self._shrink(db)
            return removed

    def close(self) -> None:
        """Close the database and release the lock."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
            if self._file_lock is not None:
                self._file_lock.close()
                self._file_lock = None

    @property
    def unremoved(self) -> int:
        """Batches written to InfluxDB that the full disk has not let the spool delete yet."""
        return len(self._unremoved)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            if self._file_lock is None:
                raise RuntimeError("spool is not open")
            self._db = self._connect()  # renewed while the disk was full: try again
        return self._db

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self._journal_mode(db)
            db.execute("PRAGMA synchronous=FULL")
            # Debian builds SQLite to zero every freed page, which journals a whole batch
            # to delete it; FAST zeroes only what costs no extra writing, so a removal
            # needs a few pages whatever the batch's size.
            db.execute("PRAGMA secure_delete=FAST")
            for statement in _SCHEMA:
                db.execute(statement)
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _journal_mode(self, db: sqlite3.Connection) -> None:
        """A rollback journal; a spool from an older recorder (in WAL mode) is converted
        when there is room to, and kept as it is until then."""
        try:
            mode = db.execute("PRAGMA journal_mode=TRUNCATE").fetchone()[0]
        except sqlite3.OperationalError as exc:
            mode = str(exc)
        if mode != "truncate":
            log.warning("spool: %s keeps its old journal for now: %s", self.path, mode)

    def _recount(self, db: sqlite3.Connection) -> None:
        row = db.execute("SELECT COUNT(*), COALESCE(SUM(messages), 0), MIN(received) "
                         "FROM batch").fetchone()
        self.batches, self.messages, self.oldest = row[0], row[1], row[2]

    def _retry_removals(self, db: sqlite3.Connection) -> None:
        """Delete the written batches still in the table, giving up the reserve if the disk
        is full; those that still cannot go stay remembered."""
        for batch_id in list(self._unremoved):
            try:
                self._delete(db, batch_id)
            except sqlite3.Error as exc:
                if not (disk_full(exc) and self._release_reserve()):
                    return
                try:
                    self._delete(db, batch_id)
                except sqlite3.Error:
                    return
            del self._unremoved[batch_id]
        self._make_reserve()

    @staticmethod
    def _delete(db: sqlite3.Connection, batch_id: int) -> None:
        db.execute("DELETE FROM batch WHERE id = ?", (batch_id,))

    def _oldest(self, db: sqlite3.Connection) -> float | None:
        if self.batches == 0:
            return None
        skip = tuple(self._unremoved)
        where = f" WHERE id NOT IN ({','.join('?' * len(skip))})" if skip else ""
        row = db.execute(f"SELECT MIN(received) FROM batch{where}", skip).fetchone()
        return None if row[0] is None else float(row[0])

    def _shrink(self, db: sqlite3.Connection) -> None:
        """Give an empty spool's room back to the disk (an outage leaves no big file).

        The file is deleted and made afresh: VACUUM would need room to do it, and the file
        lock, not this file, keeps other recorders away.
        """
        try:
            if self.path.stat().st_size <= SMALL_FILE_BYTES:
                return
            db.close()
            self._db = None
            self.path.unlink()
            self.path.with_name(f"{self.path.name}-journal").unlink(missing_ok=True)
            self._db = self._connect()
        except (OSError, sqlite3.Error) as exc:
            log.info("spool: cannot renew %s yet: %s", self.path, exc)

    def _make_reserve(self) -> None:
        """Set the reserve aside if it is missing and there is room (best effort)."""
        try:
            if self.reserve_path.exists() and self.reserve_path.stat().st_size >= RESERVE_BYTES:
                return
            with self.reserve_path.open("wb") as reserve:
                reserve.write(b"\0" * RESERVE_BYTES)  # written out: tmpfs and ext4 alike
                reserve.flush()
        except OSError:
            self.reserve_path.unlink(missing_ok=True)

    def _release_reserve(self) -> bool:
        """Free the reserve's room; False if there was none to free."""
        try:
            size = self.reserve_path.stat().st_size
            self.reserve_path.unlink()
        except OSError:
            return False
        log.warning("spool: disk full; released the %d KiB reserve to remove a written batch",
                    size // 1024)
        return size > 0

    @staticmethod
    def file_for(directory: Path, recorder_id: str) -> Path:
        """The spool file of recorder ``recorder_id`` in ``directory``."""
        return directory / f"spool-{recorder_id}.sqlite3"
