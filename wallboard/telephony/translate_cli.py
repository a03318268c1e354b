"""``wallboard asterisk translate FILE``: the contract messages a queue_log file becomes.

One JSON object per message on stdout, ``{"topic": ..., "payload": ...}``, with topics under
the configured root and site. Bad lines, events that could not be used and first-sight
warnings go to stderr with their line number; a one-line summary of counts per verb ends
stderr. Bad lines never change the exit status: only a file that cannot be read does. A
gzip-compressed file (a rotated ``queue_log.1.gz``) is read as it is.
"""

from __future__ import annotations

import gzip
import json
import math
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, TextIO

from wallboard.errors import one_line
from wallboard.messages import Envelope, encode
from wallboard.telephony.asterisk_core import BAD, VERBS, AsteriskCore
from wallboard.telephony.settings import TelephonyConfig
from wallboard.topics import Topic

GZIP_MAGIC = b"\x1f\x8b"


def open_log(path: Path) -> BinaryIO:
    """Open a queue_log file for reading bytes, gunzipping it if it is compressed."""
    raw = path.open("rb")
    if raw.read(2) == GZIP_MAGIC:
        raw.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    raw.seek(0)
    return raw


class JsonLines:
    """Writes envelopes as ``{"topic": ..., "payload": ...}`` lines, topics cached."""

    __slots__ = ("_out", "_topics", "written")

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._topics: dict[Topic, str] = {}
        self.written = 0

    def write(self, messages: Iterable[Envelope]) -> None:
        """Write each message as one line."""
        topics = self._topics
        for env in messages:
            topic = topics.get(env.topic)
            if topic is None:
                topic = topics[env.topic] = json.dumps(str(env.topic))
            self._out.write(f'{{"topic":{topic},"payload":{encode(env.message).decode()}}}\n')
            self.written += 1


def translate_lines(lines: Iterable[bytes], core: AsteriskCore, out: JsonLines, err: TextIO,
                    now: float | None) -> int:
    """Translate every line, then end the wrap-ups still open; return the lines read."""
    n = 0
    for n, raw in enumerate(lines, start=1):
        result = core.feed(raw, now)
        if result.messages:
            out.write(result.messages)
        if result.problem is not None:
            err.write(f"line {n}: {one_line(result.problem)}\n")
        for warning in result.warnings:
            err.write(f"line {n}: warning: {one_line(warning)}\n")
    out.write(core.due(math.inf))  # the file ended: each wrap-up ends when it was due to
    return n


def summary(core: AsteriskCore, lines: int, messages: int) -> str:
    """One line: lines and messages, then counts per known verb, unknown verb, bad lines."""
    known = [f"{v}={c}" for v, c in core.counts.items() if v in VERBS]
    unknown = [f"{v}={c}" for v, c in core.counts.items() if v not in VERBS and v != BAD]
    parts = [f"{lines} lines, {messages} messages", " ".join(known) or "no known verbs"]
    if unknown:
        parts.append("unknown verbs: " + " ".join(unknown))
    parts.append(f"bad lines: {core.counts.get(BAD, 0)}")
    return "; ".join(parts)


def translate_file(path: Path, telephony: TelephonyConfig, *, site: str, root: str,
                   out: TextIO, err: TextIO, now: float | None) -> int:
    """Run ``translate`` on one file; return the exit status (1 only if it cannot be read)."""
    core = AsteriskCore(telephony, site=site, root=root)
    writer = JsonLines(out)
    try:
        with open_log(path) as log:
            lines = translate_lines(log, core, writer, err, now)
    except (OSError, EOFError, zlib.error) as exc:  # EOFError: a gzip file cut short
        err.write(one_line(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}")
                  + "\n")
        return 1
    err.write(summary(core, lines, writer.written) + "\n")
    return 0
