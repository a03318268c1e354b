"""Follow Asterisk's queue_log file: complete lines, each with the position after it.

The caller publishes a line's messages and only then saves ``line.position`` (``save_position``);
a restart resumes from the saved position (``load_position``), so nothing is skipped and
nothing is sent twice. The follower copes with what real log files do:

- rotation by rename-and-create (Asterisk's ``logger rotate``, logrotate's ``create``): the
  old file stays open and is read to its end; the follower switches to the new file once the
  new file has data (so the writer has reopened) and the old one has been quiet for a grace
  period;
- rotation by copytruncate: the file shrinks below the position, or its first bytes change;
  the rest of the old content is read from the copy when a sibling with the same start is
  found, then the file is read from 0. Lines written between logrotate's copy and its truncate
  are in neither file and are lost: a limit of copytruncate itself;
- a partial last line is held back until its newline arrives, and handed out without one only
  when its file is finished (rotated away);
- lines are bytes, never decoded here; a line longer than ``max_line`` bytes is cut to that
  length and marked with how many bytes were dropped, so garbage cannot eat memory;
- a missing file is waited for (logged once per absence), and nothing here raises on I/O.

A restart that finds the saved file rotated away reads its rest from the rotated sibling
(``queue_log.0``, ``queue_log.1``, ``queue_log.<epoch>``, ``queue_log-YYYYMMDD``, also
``.gz``), found by the fingerprint; if the file was rotated more than once while stopped,
only that sibling and the current file are read. If it is found nowhere, a warning says lines
may have been missed and the current file is read from its start.
"""

from __future__ import annotations

import gzip
import logging
import os
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from wallboard.log_limit import LogLimiter
from wallboard.telephony.follow_core import (
    FINGERPRINT_BYTES,
    MAX_LINE_BYTES,
    Candidate,
    Cut,
    LineSplitter,
    Position,
    Resume,
    decode_position,
    holds,
    is_sibling,
    plan_resume,
    position_in,
)

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
# What reading a damaged rotated file can raise (a truncated or corrupt gzip among them).
_UNREADABLE = (OSError, EOFError, zlib.error)


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the followed file, without its newline, and the position just after it."""

    data: bytes
    position: Position
    dropped: int = 0  # bytes cut off a line longer than the cap; the caller counts it as bad


def load_position(state: Path) -> Position | None:
    """The saved position, or None if there is none or it cannot be read (logged)."""
    try:
        data = state.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("queue_log state %s: cannot read (%s); starting from the file's start",
                    state, exc.strerror or exc)
        return None
    try:
        return decode_position(data)
    except ValueError as exc:
        log.warning("queue_log state %s: %s; starting from the file's start", state, exc)
        return None


def save_position(state: Path, position: Position) -> None:
    """Replace the state file in one step and force it to disk."""
    fd, name = tempfile.mkstemp(dir=state.parent, prefix=f".{state.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(position.encode())
            out.flush()
            os.fsync(out.fileno())
        os.replace(name, state)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    # The rename itself must reach the disk too, or a power cut could bring back the old file.
    dir_fd = os.open(state.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class _Reading:
    """One open file being read: its descriptor, where reading got to, its first bytes."""

    def __init__(self, file: BinaryIO, inode: int, offset: int, head: bytes,
                 max_line: int) -> None:
        self.file = file
        self.inode = inode
        self.read_at = offset  # bytes read from the file, the unfinished line included
        self.head = head  # the file's first bytes, up to FINGERPRINT_BYTES
        self.splitter = LineSplitter(offset, max_line)
        self.last_growth = time.monotonic()

    def restart_at_zero(self) -> None:
        """Read the same (truncated) file again from its start."""
        self.file.seek(0)
        self.read_at = 0
        self.head = b""
        self.splitter = LineSplitter(0, self.splitter.max_line)
        self.last_growth = time.monotonic()

    def read(self) -> bytes:
        """What the file has beyond ``read_at`` now (at most one chunk)."""
        self.file.seek(self.read_at)
        chunk = self.file.read(CHUNK)
        if chunk:
            if len(self.head) < FINGERPRINT_BYTES and self.read_at == len(self.head):
                self.head = (self.head + chunk)[:FINGERPRINT_BYTES]
            self.read_at += len(chunk)
            self.last_growth = time.monotonic()
        return chunk

    def lines(self, cuts: list[Cut]) -> list[Line]:
        """Wrap the splitter's cuts as lines with this file's positions."""
        return [Line(cut.data, position_in(self.inode, cut.end, self.head), cut.dropped)
                for cut in cuts]


class QueueLogFollower:
    """Follows one queue_log path through rotations; ``lines()`` yields until ``stop`` is set."""

    def __init__(self, path: Path, *, poll_s: float = 0.5, grace_s: float = 2.0,
                 max_line: int = MAX_LINE_BYTES, limiter: LogLimiter | None = None) -> None:
        self.path = path
        self.poll_s = poll_s
        self.grace_s = grace_s  # how long a rotated-away file must stay quiet before it is left
        self.max_line = max_line
        self.limiter = limiter or LogLimiter()
        self.long_lines = 0  # lines cut to ``max_line``
        self._missing_logged = False

    def lines(self, stop: threading.Event, start: Position | None = None) -> Iterator[Line]:
        """Every complete line from ``start`` (or the file's start) on, until ``stop`` is set."""
        current: _Reading | None = None
        following: _Reading | None = None  # the file the path names after a rename
        try:
            plan = self._resume(start)
            if plan.finish_first is not None and start is not None:
                yield from self._read_rest(self.path.parent / plan.finish_first, start.offset,
                                           stop)
            offset = plan.current_offset
            while not stop.is_set():
                if current is None:
                    current = self._open(offset)
                    if current is None:
                        stop.wait(self.poll_s)
                        continue
                    offset = 0  # a file opened after a rotation is read from its start
                yield from self._drain(current, stop)
                if stop.is_set():
                    break
                if self._truncated(current):
                    yield from self._after_truncation(current, stop)
                    continue
                if following is None and self._rotated_away(current):
                    # Opened at once, so a second rotation before the switch cannot hide it.
                    following = self._open(0)
                if following is not None and self._ready_to_switch(current, following):
                    yield from self._drain(current, stop)
                    if stop.is_set():
                        break
                    yield from self._flush(current)
                    current.file.close()
                    current, following = following, None
                    continue
                stop.wait(self.poll_s)
        finally:
            for reading in (current, following):
                if reading is not None:
                    reading.file.close()

    # -- start and restart ------------------------------------------------------------------

    def _resume(self, start: Position | None) -> Resume:
        """Where to start: the saved file's rest first if it was rotated away, then the path."""
        if start is None:
            return plan_resume(None, None, [])
        current = self._candidate(self.path, start.fingerprint_len)
        # Only look at the siblings when the followed file is not the saved one.
        siblings = ([] if current is not None and holds(start, current)
                    else self._siblings(start.fingerprint_len))
        plan = plan_resume(start, current, siblings)
        if plan.missed:
            log.warning("queue_log %s: the file of the saved position (inode %d, offset %d) is "
                        "neither there nor among its rotated siblings; lines may have been "
                        "missed; reading the current file from its start",
                        self.path, start.inode, start.offset)
        if plan.finish_first is not None:
            log.info("queue_log %s was rotated while stopped: reading the rest of %s first",
                     self.path, plan.finish_first)
        return plan

    def _read_rest(self, path: Path, offset: int, stop: threading.Event) -> Iterator[Line]:
        """Every line of a finished file from ``offset`` on, its unfinished last line included."""
        try:
            file = _open_any(path)
            inode = os.fstat(file.fileno()).st_ino
        except OSError as exc:
            log.warning("queue_log %s: cannot read (%s); lines may have been missed",
                        path, exc.strerror or exc)
            return
        with file:
            try:
                head = file.read(FINGERPRINT_BYTES)
                file.seek(offset)
            except _UNREADABLE as exc:
                log.warning("queue_log %s: cannot read (%s); lines may have been missed", path, exc)
                return
            reading = _Reading(file, inode, offset, head, self.max_line)
            while not stop.is_set():
                try:
                    chunk = reading.read()
                except _UNREADABLE as exc:
                    log.warning("queue_log %s: read failed (%s); the rest is skipped", path, exc)
                    return
                if not chunk:
                    break
                yield from self._counted(reading.lines(reading.splitter.feed(chunk)))
            if not stop.is_set():
                yield from self._flush(reading)

    def _candidate(self, path: Path, prefix_len: int) -> Candidate | None:
        """What the resume plan needs to know about one file, or None if it cannot be read."""
        try:
            st = path.stat()
            with _open_any(path) as f:
                prefix = f.read(prefix_len)
        except _UNREADABLE:
            return None
        size = None if _is_gzip(path) else st.st_size
        return Candidate(path.name, st.st_ino, size, prefix, st.st_mtime)

    def _siblings(self, prefix_len: int) -> list[Candidate]:
        """The rotated copies of the followed file that can be read."""
        try:
            names = sorted(os.listdir(self.path.parent))
        except OSError:
            return []
        found = []
        for name in names:
            if is_sibling(self.path.name, name):
                candidate = self._candidate(self.path.parent / name, prefix_len)
                if candidate is not None:
                    found.append(candidate)
        return found

    # -- following ---------------------------------------------------------------------------

    def _open(self, offset: int) -> _Reading | None:
        """Open the followed path at ``offset``, or None (logged once) while it cannot be."""
        try:
            file = open(self.path, "rb", buffering=0)  # noqa: SIM115 - lines() closes it
        except OSError as exc:
            if not self._missing_logged:
                log.warning("queue_log %s: cannot open (%s); waiting for it",
                            self.path, exc.strerror or exc)
                self._missing_logged = True
            return None
        if self._missing_logged:
            log.info("queue_log %s: there now", self.path)
            self._missing_logged = False
        try:
            st = os.fstat(file.fileno())
            head = os.pread(file.fileno(), min(offset, FINGERPRINT_BYTES), 0)
        except OSError:
            file.close()
            return None
        return _Reading(file, st.st_ino, min(offset, st.st_size), head, self.max_line)

    def _drain(self, reading: _Reading, stop: threading.Event) -> Iterator[Line]:
        """Every complete line the file has now, checked against a truncation under our feet."""
        while not stop.is_set():
            try:
                chunk = reading.read()
            except OSError as exc:
                self._problem("queue_log %s: read failed (%s); retrying", self.path, exc)
                return
            if not chunk:
                return
            # The bytes were read before this check: if the start is still ours, they were too.
            if self._truncated(reading):
                return
            yield from self._counted(reading.lines(reading.splitter.feed(chunk)))

    def _flush(self, reading: _Reading) -> Iterator[Line]:
        """The unfinished last line of a file that will not grow any more."""
        cut = reading.splitter.flush()
        if cut is not None:
            yield from self._counted(reading.lines([cut]))

    def _counted(self, lines: list[Line]) -> Iterator[Line]:
        for line in lines:
            if line.dropped:
                self.long_lines += 1
                self._problem("queue_log %s: a line of %d bytes cut to %d", self.path,
                              len(line.data) + line.dropped, len(line.data))
            yield line

    def _truncated(self, reading: _Reading) -> bool:
        """True if the file was cut shorter or its first bytes changed (copytruncate)."""
        try:
            size = os.fstat(reading.file.fileno()).st_size
            start = os.pread(reading.file.fileno(), len(reading.head), 0)
        except OSError:
            return False
        return size < reading.read_at or start != reading.head

    def _after_truncation(self, reading: _Reading, stop: threading.Event) -> Iterator[Line]:
        """Read the rest from the copy logrotate made, then the truncated file from its start."""
        done = reading.splitter.offset
        position = position_in(reading.inode, done, reading.head)
        # With nothing read yet there is no start to recognise the copy by, and nothing to miss.
        copies = [] if done == 0 else [c for c in self._siblings(position.fingerprint_len)
                                       if c.inode != reading.inode and holds(position, c)]
        copies.sort(key=lambda c: -c.mtime)
        if copies:
            log.info("queue_log %s was truncated (copytruncate): reading the rest of %s first",
                     self.path, copies[0].name)
            yield from self._read_rest(self.path.parent / copies[0].name, done, stop)
        elif done > 0:
            log.warning("queue_log %s was truncated and no copy starting like it was found; "
                        "lines after offset %d may have been missed", self.path, done)
        reading.restart_at_zero()

    def _rotated_away(self, reading: _Reading) -> bool:
        """True if the path now names another file, or none (the open one was renamed)."""
        try:
            return self.path.stat().st_ino != reading.inode
        except OSError:
            return True

    def _ready_to_switch(self, old: _Reading, new: _Reading) -> bool:
        """True once the writer has moved on: the new file has data (or the old one is
        deleted), and the old one has been quiet for the grace period."""
        try:
            new_has_data = os.fstat(new.file.fileno()).st_size > 0
            deleted = os.fstat(old.file.fileno()).st_nlink == 0
        except OSError:
            return False
        quiet = time.monotonic() - old.last_growth >= self.grace_s
        return (new_has_data or deleted) and quiet

    def _problem(self, message: str, *args: object) -> None:
        if self.limiter.allow(time.monotonic()):
            log.warning(message, *args)


def _is_gzip(path: Path) -> bool:
    return path.name.endswith(".gz")


def _open_any(path: Path) -> BinaryIO:
    """A rotated file opened for reading, decompressed if it is gzip."""
    if _is_gzip(path):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb", buffering=0)
