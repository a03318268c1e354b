"""Pure parts of the queue_log follower: positions, fingerprints, the resume plan, line cutting.

A saved ``Position`` names a file by its inode and a fingerprint of its first bytes (at most
``FINGERPRINT_BYTES`` of what had been read), so a restart can tell whether the file at the
configured path is still the one it was reading, or whether that file was rotated away while
the follower was stopped and must be found among its rotated siblings. Nothing here does I/O:
the shell (``follow.py``) reads files and hands the bytes in.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

# Asterisk appends to queue_log, so once a file has this many bytes its start never changes.
FINGERPRINT_BYTES = 64
# Asterisk formats a queue_log line in an 8192-byte buffer (main/logger.c, ast_queue_log);
# anything longer is garbage, and the cap keeps a file without newlines from eating memory.
MAX_LINE_BYTES = 64 * 1024
STATE_VERSION = 1


def fingerprint(prefix: bytes) -> str:
    """The hex digest that identifies a file by its first bytes."""
    return hashlib.sha256(prefix).hexdigest()


@dataclass(frozen=True, slots=True)
class Position:
    """Where reading stopped: after ``offset`` bytes of the file with this inode and start."""

    inode: int
    offset: int
    fingerprint: str  # sha256 hex of the file's first ``fingerprint_len`` bytes
    fingerprint_len: int

    def encode(self) -> bytes:
        """The state file's contents for this position."""
        return json.dumps({"version": STATE_VERSION, "inode": self.inode, "offset": self.offset,
                           "fingerprint": self.fingerprint,
                           "fingerprint_len": self.fingerprint_len}).encode() + b"\n"


def decode_position(data: bytes) -> Position:
    """A position read back from a state file; ValueError with a one-line reason if it is bad."""
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    if raw.get("version") != STATE_VERSION:
        raise ValueError(f"version: expected {STATE_VERSION}, got {raw.get('version')!r}")
    for key in ("inode", "offset", "fingerprint_len"):
        value = raw.get(key)
        if type(value) is not int or value < 0:
            raise ValueError(f"{key}: expected a non-negative integer, got {value!r}")
    digest = raw.get("fingerprint")
    if not isinstance(digest, str) or len(digest) != 64 or not _is_hex(digest):
        raise ValueError(f"fingerprint: expected 64 hex digits, got {digest!r}")
    if raw["fingerprint_len"] > min(raw["offset"], FINGERPRINT_BYTES):
        raise ValueError(f"fingerprint_len: {raw['fingerprint_len']} is more than the offset "
                         f"or {FINGERPRINT_BYTES}")
    return Position(raw["inode"], raw["offset"], digest, raw["fingerprint_len"])


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def position_in(inode: int, offset: int, head: bytes) -> Position:
    """The position after ``offset`` bytes of a file whose first bytes are ``head``."""
    n = min(offset, FINGERPRINT_BYTES, len(head))
    return Position(inode, offset, fingerprint(head[:n]), n)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file that may hold the saved position: the followed path or a rotated sibling."""

    name: str
    inode: int
    size: int | None  # None when unknown without reading it all (a compressed sibling)
    prefix: bytes  # its first ``Position.fingerprint_len`` bytes (fewer if it is shorter)
    mtime: float = 0.0


def holds(position: Position, candidate: Candidate) -> bool:
    """True if ``candidate`` starts like the saved file and is long enough to hold the offset."""
    if len(candidate.prefix) != position.fingerprint_len:
        return False
    if candidate.size is not None and candidate.size < position.offset:
        return False
    return fingerprint(candidate.prefix) == position.fingerprint


@dataclass(frozen=True, slots=True)
class Resume:
    """What to read on start: first the rest of a rotated sibling, then the followed file."""

    finish_first: str | None  # a sibling's name, read from the saved offset to its end
    current_offset: int  # where to start in the followed file
    missed: bool  # the saved file was found nowhere: lines may have been missed


def plan_resume(position: Position | None, current: Candidate | None,
                siblings: list[Candidate]) -> Resume:
    """Decide where a restart continues so nothing is skipped and nothing is read twice."""
    if position is None:
        return Resume(None, 0, missed=False)
    if current is not None and holds(position, current):
        return Resume(None, position.offset, missed=False)
    if position.offset == 0:
        return Resume(None, 0, missed=False)  # nothing was read yet, so nothing can be missed
    found = [c for c in siblings if holds(position, c)]
    if not found:
        return Resume(None, 0, missed=True)
    # A rename keeps the inode, so that sibling is certainly the file; else the newest copy.
    found.sort(key=lambda c: (c.inode != position.inode, -c.mtime, c.name))
    return Resume(found[0].name, 0, missed=False)


def is_sibling(base: str, name: str) -> bool:
    """True if ``name`` is how Asterisk or logrotate names a rotated ``base``.

    Asterisk's ``rotatestrategy`` gives ``base.N`` or ``base.<epoch>`` (main/logger.c,
    rotate_file); logrotate gives ``base.N`` or ``base-YYYYMMDD``; either may add ``.gz``.
    """
    return name != base and (name.startswith(base + ".") or name.startswith(base + "-"))


@dataclass(frozen=True, slots=True)
class Cut:
    """One line cut from the stream: its bytes, how many were dropped, where it ends."""

    data: bytes  # without the newline, at most ``max_line`` bytes
    dropped: int  # bytes beyond ``max_line`` that were thrown away (0 for a normal line)
    end: int  # file offset just after the line's newline (or its last byte at a file's end)


class LineSplitter:
    """Cuts a byte stream into lines, keeping at most ``max_line`` bytes of any one line."""

    def __init__(self, offset: int, max_line: int = MAX_LINE_BYTES) -> None:
        self.offset = offset  # just after the last complete line handed out
        self.max_line = max_line
        self._buf = bytearray()
        self._raw = 0  # bytes of the unfinished line seen so far, dropped ones included

    @property
    def held(self) -> int:
        """Bytes of the unfinished line kept in memory (never more than ``max_line``)."""
        return len(self._buf)

    @property
    def pending(self) -> int:
        """Bytes of an unfinished line (no newline yet) held or dropped so far."""
        return self._raw

    def feed(self, chunk: bytes) -> list[Cut]:
        """The lines that ``chunk`` completes, in order."""
        out: list[Cut] = []
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            if nl < 0:
                self._keep(chunk, start, len(chunk))
                return out
            self._keep(chunk, start, nl)
            out.append(self._finish(1))
            start = nl + 1

    def flush(self) -> Cut | None:
        """The unfinished last line of a file that will not grow any more, if there is one."""
        return self._finish(0) if self._raw else None

    def _keep(self, chunk: bytes, start: int, stop: int) -> None:
        room = self.max_line - len(self._buf)
        if room > 0:
            self._buf += chunk[start:min(stop, start + room)]
        self._raw += stop - start

    def _finish(self, newline: int) -> Cut:
        data = bytes(self._buf)
        self.offset += self._raw + newline
        cut = Cut(data, self._raw - len(data), self.offset)
        self._buf.clear()
        self._raw = 0
        return cut
