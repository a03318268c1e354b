"""The Asterisk Manager Interface (AMI) wire format, with no I/O: bytes in, frames out.

AMI is a line protocol (Asterisk's ``main/manager.c``). On connect the server sends one
banner line, ``Asterisk Call Manager/X.Y.Z``. After that every message is a block of
``Key: Value`` lines ended by a blank line; lines end with CRLF, and LF alone is accepted
too. A message is a response (``Response: Success``/``Error``/``Follows``...) or an event
(``Event: QueueMember``...); list actions such as ``QueueStatus`` answer ``Response: Success``
with ``EventList: start`` and then events that carry the action's ``ActionID``, ended by a
``...Complete`` event with ``EventList: Complete``.

Older Asterisk (before 14) answers ``Action: Command`` with ``Response: Follows``, a few
header lines and then the command's raw output, which may hold blank lines, up to a line
``--END COMMAND--``; the raw lines go to ``AmiMessage.body``.

Decisions:
- Keys keep their case as sent; lookups ignore case (Asterisk has sent both ``Uniqueid``
  and ``UniqueID``). A key sent twice keeps every value in ``pairs`` and ``values_of()``;
  ``msg[key]`` gives the last one (Asterisk 14+ repeats ``Output:`` once per line).
- A value keeps everything after the first ``:`` (less the blanks that follow it), so
  ``Channel: SIP/1001-0000002a`` and ``Data: a:b:c`` stay whole.
- Bytes that are not UTF-8 (a caller name in Latin-1) are replaced, not refused; a line with
  control characters (binary garbage), a line over ``MAX_LINE_BYTES`` or a message over
  ``MAX_MESSAGE_BYTES`` gives a ``BadFrame`` with a one-line reason, and the parser skips to
  the next blank line and carries on. Nothing here raises on input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from wallboard.errors import WallboardError, one_line

MAX_LINE_BYTES = 64 * 1024  # far above any real AMI line; bounds memory on garbage
MAX_MESSAGE_BYTES = 1024 * 1024
END_COMMAND = "--END COMMAND--"
# "Asterisk Call Manager/5.0.2"; forks and proxies put their own product name first.
_BANNER = re.compile(r"^(?P<product>[^:]*\S) Call Manager/(?P<version>\S+)$")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # any C0 control but tab
# Header keys a Follows response sends before its raw body.
_FOLLOWS_HEADERS = frozenset({"response", "actionid", "privilege", "message"})
_OUTPUT = "Output: "  # Asterisk 13 prefixes the first body line (some builds every line)


class BadAction(WallboardError, ValueError):
    """An action that cannot be put on the wire; ``str()`` says which key or value."""


class AmiMessage(Mapping[str, str]):
    """One AMI message: its ``Key: Value`` pairs in order, and a Follows body if any.

    Read it as a mapping: ``msg["Queue"]`` ignores case and gives the last value sent.
    """

    __slots__ = ("_index", "body", "pairs")

    def __init__(self, pairs: Iterable[tuple[str, str]], body: Iterable[str] = ()) -> None:
        self.pairs: tuple[tuple[str, str], ...] = tuple(pairs)
        self.body: tuple[str, ...] = tuple(body)
        index: dict[str, tuple[str, str]] = {}
        for key, value in self.pairs:
            first = index.get(key.lower())
            index[key.lower()] = (first[0] if first else key, value)
        self._index = index

    def __getitem__(self, key: str) -> str:
        return self._index[key.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self._index.values())

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._index

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AmiMessage):
            return NotImplemented
        return self.pairs == other.pairs and self.body == other.body

    def __hash__(self) -> int:
        return hash((self.pairs, self.body))

    def __repr__(self) -> str:
        return f"AmiMessage({list(self.pairs)!r}, body={list(self.body)!r})"

    def values_of(self, key: str) -> list[str]:
        """Every value sent for ``key`` (any case), in order."""
        wanted = key.lower()
        return [value for k, value in self.pairs if k.lower() == wanted]

    @property
    def event(self) -> str | None:
        """The event name, or None for a response."""
        return self.get("Event")

    @property
    def response(self) -> str | None:
        """The response status (``Success``, ``Error``, ``Follows``...), or None for an event."""
        return self.get("Response")

    @property
    def action_id(self) -> str | None:
        """The ``ActionID`` echoed from the action this answers, if any."""
        return self.get("ActionID")


@dataclass(frozen=True, slots=True)
class Banner:
    """The line the server sends first, e.g. ``Asterisk Call Manager/5.0.2``."""

    text: str
    version: str


@dataclass(frozen=True, slots=True)
class BadFrame:
    """Input that is not AMI; ``reason`` is one line. The parser has skipped past it."""

    reason: str


Frame = AmiMessage | Banner | BadFrame


class AmiParser:
    """Incremental AMI parser: ``feed()`` bytes as they arrive, in pieces of any size."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._scanned = 0  # bytes of _buf already known to hold no newline
        self._skip_line = False  # inside an over-long line: drop bytes until its newline
        self._skipping = False  # after bad input: drop lines until a blank one
        self._reset()

    def _reset(self) -> None:
        self._pairs: list[tuple[str, str]] = []
        self._body: list[str] = []
        self._size = 0
        self._follows = False  # a "Response: Follows" message
        self._in_body = False  # its raw body has begun
        self._raw_body = False  # the body holds a line not prefixed "Output: "
        self._ended = False  # its "--END COMMAND--" has been seen

    def feed(self, data: bytes) -> list[Frame]:
        """The frames that ``data`` completes, in order."""
        out: list[Frame] = []
        buf = self._buf
        buf += data
        start = 0
        while True:
            newline = buf.find(b"\n", max(start, self._scanned))
            if newline < 0:
                break
            raw = bytes(buf[start:newline])
            start = newline + 1
            self._scanned = start
            if self._skip_line:
                self._skip_line = False
            elif len(raw) > MAX_LINE_BYTES:
                self._fail(out, f"line longer than {MAX_LINE_BYTES} bytes")
            else:
                self._line(raw, out)
        del buf[:start]
        self._scanned = len(buf)
        if len(buf) > MAX_LINE_BYTES:
            if not self._skip_line:
                self._fail(out, f"line longer than {MAX_LINE_BYTES} bytes")
                self._skip_line = True
            buf.clear()
            self._scanned = 0
        return out

    def finish(self) -> list[Frame]:
        """The stream has ended: the frames its unterminated tail still makes."""
        out: list[Frame] = []
        if self._buf and not self._skip_line:
            self._line(bytes(self._buf), out)
        self._buf.clear()
        self._scanned = 0
        self._skip_line = False
        if self._skipping:
            self._skipping = False
        elif self._follows and self._raw_body and not self._ended:
            out.append(BadFrame(f"stream ended inside a 'Response: Follows' body "
                                f"(no {END_COMMAND})"))
        elif self._pairs or self._body:
            out.append(AmiMessage(self._pairs, self._body))
        self._reset()
        return out

    def _fail(self, out: list[Frame], reason: str) -> None:
        """Report ``reason`` and drop the message it belongs to."""
        out.append(BadFrame(reason))
        self._skipping = True
        self._reset()

    def _line(self, raw: bytes, out: list[Frame]) -> None:
        text = raw.decode("utf-8", "replace")
        if text.endswith("\r"):
            text = text[:-1]
        if self._skipping:
            if not text:
                self._skipping = False
            return
        if not text:
            self._blank(out)
            return
        if _CONTROL.search(text):
            self._fail(out, f"control characters in a line ({_excerpt(text)})")
            return
        self._size += len(raw) + 1
        if self._size > MAX_MESSAGE_BYTES:
            self._fail(out, f"message longer than {MAX_MESSAGE_BYTES} bytes")
            return
        if not self._pairs and not self._body:
            banner = _BANNER.match(text)
            if banner:
                out.append(Banner(text, banner["version"]))
                self._size = 0
                return
        key, colon, value = text.partition(":")
        is_pair = bool(colon) and _valid_key(key)
        if self._follows and (self._in_body or not is_pair
                              or key.strip().lower() not in _FOLLOWS_HEADERS):
            self._body_line(text, is_pair, key, value)
            return
        if not is_pair:
            self._fail(out, f"line without 'Key: Value' ({_excerpt(text)})")
            return
        key, value = key.strip(), value.lstrip(" \t")
        self._pairs.append((key, value))
        if key.lower() == "response" and value.lower() == "follows":
            self._follows = True

    def _body_line(self, text: str, is_pair: bool, key: str, value: str) -> None:
        if self._ended:  # after the end marker only headers can follow
            if is_pair:
                self._pairs.append((key.strip(), value.lstrip(" \t")))
            return
        self._in_body = True
        if text.endswith(END_COMMAND):
            self._ended = True
            text = text[: -len(END_COMMAND)]
            if not text:
                return
        if text.startswith(_OUTPUT):
            text = text[len(_OUTPUT):]
        else:
            self._raw_body = True
        self._body.append(text)

    def _blank(self, out: list[Frame]) -> None:
        # Raw command output may hold blank lines: inside a Follows body they are text.
        if self._follows and self._raw_body and not self._ended:
            self._body.append("")
            self._size += 1
            return
        if self._pairs or self._body:
            out.append(AmiMessage(self._pairs, self._body))
        self._reset()


def parse_all(data: bytes) -> list[Frame]:
    """Every frame in a whole recorded session (a transcript file's bytes)."""
    parser = AmiParser()
    return parser.feed(data) + parser.finish()


def _valid_key(key: str) -> bool:
    key = key.rstrip(" \t")
    return bool(key) and not key[0].isspace() and len(key) <= 256


def _excerpt(text: str, limit: int = 40) -> str:
    shown = one_line(text[:limit])
    return shown + ("..." if len(text) > limit else "")


def encode_action(action: str, action_id: str,
                  fields: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> bytes:
    """The wire bytes of ``Action: action`` with ``ActionID`` and ``fields``, CRLF-ended.

    Raises ``BadAction`` if a key or value would break the framing (a line break, say, in a
    password taken from the environment), rather than send a different action.
    """
    pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
    lines = [("Action", action), ("ActionID", action_id), *pairs]
    out = []
    for key, value in lines:
        if not key or ":" in key or _CONTROL.search(key) or key != key.strip():
            raise BadAction(f"AMI action {action!r}: bad key {one_line(key)!r}")
        if "\r" in value or "\n" in value or "\x00" in value:
            raise BadAction(f"AMI action {action!r}: {key}: value holds a line break")
        out.append(f"{key}: {value}\r\n")
    out.append("\r\n")
    return "".join(out).encode("utf-8")
