"""Parse one line of Asterisk's ``queue_log`` into a ``QueueLogLine``, or say why it is bad.

A line is ``epoch|callid|queuename|agent|event|data1|data2|...`` (Asterisk ``apps/app_queue.c``,
``ast_queue_log`` in ``main/logger.c``). Real files hold binary garbage from rotation, NUL
bytes, half-written lines and vendor verbs, so ``parse_line`` takes bytes and never raises:
a bad line becomes a ``BadLine`` with a one-line reason. The first five fields must be UTF-8;
the data fields are decoded with replacement characters, because a caller name in another
encoding should not cost the call. Verbs are not checked against a list here: the
translation core decides what a verb means, and counts the ones it does not know.
"""

from __future__ import annotations

from dataclasses import dataclass

# Lines dated before 2000 or from 2100 on are a broken clock or garbage, not a call centre.
MIN_EPOCH = 946_684_800
MAX_EPOCH = 4_102_444_800
MAX_LINE = 8192  # Asterisk's own queue_log lines are far shorter; longer is garbage
MAX_FIELD = 200  # callid, queue, agent and verb: Asterisk keeps these to tens of characters
HEAD_FIELDS = 5
MAX_DURATION = 7 * 86_400.0  # no wait or call lasts a week: a bigger number is garbage
_NUL = b"\x00"


@dataclass(frozen=True, slots=True)
class QueueLogLine:
    """One queue_log event, split into its fields."""

    ts: float
    callid: str
    queue: str
    agent: str
    verb: str
    data: tuple[str, ...]

    def field(self, n: int) -> str:
        """``data{n}`` (1-based), or "" when the line has fewer fields."""
        return self.data[n - 1] if 0 < n <= len(self.data) else ""


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that cannot be used, with a one-line reason."""

    reason: str


def parse_line(raw: bytes) -> QueueLogLine | BadLine:
    """Split one queue_log line (with or without its newline); never raises."""
    if raw.endswith(b"\n"):
        raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
    if not raw:
        return BadLine("empty line")
    if len(raw) > MAX_LINE:
        return BadLine(f"{len(raw)} bytes, over the {MAX_LINE}-byte limit")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _parse_mixed(raw)
    if not text.isprintable():  # NUL or control characters: the careful path says where
        return _parse_mixed(raw)
    parts = text.split("|")
    if len(parts) < HEAD_FIELDS:
        return _too_few(len(parts))
    return _checked(parts[0], parts[1], parts[2], parts[3], parts[4], tuple(parts[5:]))


def _parse_mixed(raw: bytes) -> QueueLogLine | BadLine:
    """The slow path: a line with bytes that are not UTF-8 or not printable."""
    if _NUL in raw:
        return BadLine(f"NUL byte at byte {raw.index(_NUL)}")
    parts = raw.split(b"|")
    if len(parts) < HEAD_FIELDS:
        return _too_few(len(parts))
    try:
        head = [p.decode("utf-8") for p in parts[:HEAD_FIELDS]]
    except UnicodeDecodeError:
        return BadLine("not UTF-8 in the first five fields")
    for name, value in zip(("callid", "queue", "agent", "event"), head[1:], strict=True):
        if not value.isprintable():
            return BadLine(f"{name} {value[:40]!r} has control characters")
    data = tuple(p.decode("utf-8", "replace") for p in parts[HEAD_FIELDS:])
    return _checked(head[0], head[1], head[2], head[3], head[4], data)


def _too_few(n: int) -> BadLine:
    return BadLine(f"{n} fields, need at least {HEAD_FIELDS} (epoch|callid|queue|agent|event)")


def _checked(epoch: str, callid: str, queue: str, agent: str, verb: str,
             data: tuple[str, ...]) -> QueueLogLine | BadLine:
    """The line from its fields, once the epoch, names and verb are checked."""
    ts = _epoch(epoch)
    if ts is None:
        return BadLine(f"epoch {epoch[:40]!r} is not a number of seconds")
    if not MIN_EPOCH <= ts < MAX_EPOCH:
        return BadLine(f"epoch {epoch[:40]} is outside 2000-2099")
    if len(callid) > MAX_FIELD or len(queue) > MAX_FIELD or len(agent) > MAX_FIELD:
        return BadLine(f"callid, queue or agent over {MAX_FIELD} characters")
    if not verb or len(verb) > 64 or " " in verb:
        return BadLine(f"event {verb[:40]!r} is not a name")
    return QueueLogLine(ts, callid, queue, agent, verb, data)


def _epoch(text: str) -> float | None:
    """Seconds since 1970 as Asterisk writes them (digits; a fraction is accepted)."""
    if text.isdigit() and text.isascii():
        return float(text)
    whole, dot, frac = text.partition(".")
    if dot and whole.isdigit() and whole.isascii() and frac.isdigit() and frac.isascii():
        return float(text)
    return None


def number(text: str) -> float | None:
    """A duration from a data field: a number of seconds from 0 to a week, else None."""
    text = text.strip()
    if not text.isascii():  # float() takes other scripts' digits; Asterisk writes ASCII
        return None
    if text.isdigit():
        value = float(text)
        return value if value <= MAX_DURATION else None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0 <= value <= MAX_DURATION else None  # also refuses nan and inf
