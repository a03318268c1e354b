"""The recorder service: every message from the broker into InfluxDB, none lost on the way.

``handle`` runs in paho's network thread: it turns each message into one line of line
protocol (a rejected one too) and adds it to the current batch. ``run`` loops on the main
thread: it writes each batch (at most ``batch_lines``, at most ``linger_s`` old) to
InfluxDB, or, while InfluxDB cannot take it, commits it to the on-disk spool, and only then
acknowledges its messages to the broker. A killed recorder therefore loses nothing: what
it had not stored was not acknowledged, and the broker sends it again. Storing a message
twice is harmless, because the same message always becomes the same point.

Each point goes to its measurement's retention policy (``routing``): individual wellbeing
is kept apart, for as long as the site's privacy policy allows.

The spool drains oldest first once InfluxDB answers again; while anything is in it, new
batches join the end of it, so points reach InfluxDB in the order they arrived.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from wallboard.adapters.influx import InfluxRefused, InfluxUnavailable, Written
from wallboard.adapters.mqtt import Delivery
from wallboard.adapters.spool import Spool, Spooled
from wallboard.errors import BadMessage
from wallboard.log_limit import LogLimiter
from wallboard.messages import Cleared, RecorderHealth, decode, encode
from wallboard.recorder.batching import Batcher
from wallboard.recorder.routing import by_policy
from wallboard.recorder.schema import (
    cleared_row,
    internal_error_row,
    message_row,
    rejected_row,
)
from wallboard.topics import Kind, build

log = logging.getLogger(__name__)

Clock = Callable[[], float]
DRAIN_SLICE_S = 0.5  # drain the spool in slices, so new batches are never held up long


class Database(Protocol):
    """What the recorder needs from InfluxDB."""

    def write(self, lines: bytes, *, policy: str | None = None) -> Written:
        """Write line protocol; raise InfluxUnavailable or InfluxRefused."""
        ...


class Link(Protocol):
    """What the recorder needs from its broker connection."""

    def ack_all(self, deliveries: list[Delivery]) -> int:
        """Acknowledge stored messages, in order."""
        ...

    def publish(self, topic: str, payload: bytes, *, retain: bool = False, qos: int = 1
                ) -> object:
        """Queue one message for the broker."""
        ...


@dataclass(slots=True)  # not frozen: one per message, and a frozen __init__ costs 3x
class Received:
    """One message on its way to InfluxDB: its line of line protocol, and when it came."""

    line: bytes
    delivery: Delivery
    at: float


@dataclass(frozen=True, slots=True)
class Settings:
    """How the recorder batches, retries and reports."""

    batch_lines: int = 5_000
    linger_s: float = 1.0
    retry_s: float = 2.0
    health_interval_s: float = 10.0


class RecorderService:
    """Batches messages, stores them in InfluxDB or the spool, then acknowledges them."""

    def __init__(self, link: Link, database: Database, spool: Spool, *, root: str, site: str,
                 recorder_id: str, settings: Settings = Settings(),
                 clock: Clock = time.time) -> None:
        self.link, self.database, self.spool = link, database, spool
        self.root = root
        self.settings = settings
        self.clock = clock
        self.health_topic = build(Kind.RECORDER_HEALTH, root=root, site=site,
                                  recorder=recorder_id)
        self.received = self.written = self.rejected = self.dropped = 0
        self.database_up = True
        self._batcher: Batcher[Received] = Batcher(settings.batch_lines, settings.linger_s)
        self._full: deque[list[Received]] = deque()  # batches ready to store, oldest first
        self._wake = threading.Condition()
        self._retry_at = 0.0
        self._problems = LogLimiter()
        self._stop = threading.Event()

    # -- paho's thread ----------------------------------------------------------------------

    def handle(self, delivery: Delivery) -> None:
        """Turn one message into a line and queue it; never raises."""
        now = self.clock()
        line = self._line(delivery, now)
        with self._wake:
            self.received += 1
            batch = self._batcher.add(Received(line, delivery, now), now)
            if batch is not None:
                self._full.append(batch)
                self._wake.notify()

    def _line(self, delivery: Delivery, now: float) -> bytes:
        topic, payload = delivery.topic, delivery.payload
        try:
            try:
                result = decode(topic, payload, now=now, root=self.root)
            except BadMessage as exc:
                self.rejected += 1
                if self._problems.allow(now):
                    log.warning("rejected %s", exc)
                return rejected_row(topic, payload, exc, now, root=self.root).line()
            if isinstance(result, Cleared):
                return cleared_row(result, now).line()
            return message_row(result, payload, topic).line()
        except Exception as exc:  # a bug here must not lose the message: keep it as rejected
            log.exception("recorder: cannot store %s", topic[:200])
            self.rejected += 1
            return internal_error_row(topic, payload, exc, now).line()

    # -- the main thread --------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Store batches as they fill or age, drain the spool, report; until ``stop``."""
        self._stop = stop
        next_health = self.clock()
        while not stop.is_set():
            batches = self._next_batches(next_health, stop)
            for batch in batches:
                self._store(batch)
            self._drain()
            now = self.clock()
            if now >= next_health:
                self.publish_health(now)
                next_health = now + self.settings.health_interval_s
        self.flush()
        self.publish_health(self.clock())

    def flush(self) -> None:
        """Store whatever is waiting now (on shutdown)."""
        with self._wake:
            batches = list(self._full)
            self._full.clear()
            last = self._batcher.flush()
        for batch in [*batches, *([last] if last else [])]:
            self._store(batch)

    def publish_health(self, now: float) -> None:
        """Publish the counters, retained."""
        health = RecorderHealth(
            ts=now, received=self.received, written=self.written,
            spooled=self.spool.messages, rejected=self.rejected, dropped=self.dropped,
            lag_s=max(0.0, now - self._oldest_unwritten(now)), database_up=self.database_up)
        self.link.publish(self.health_topic, encode(health), retain=True, qos=1)

    def _next_batches(self, next_health: float, stop: threading.Event) -> list[list[Received]]:
        """Wait for full batches, an aged one, the health report or a retry; take batches."""
        with self._wake:
            while not self._full and not stop.is_set():
                now = self.clock()
                due = self._batcher.due(now)
                if due is not None:
                    return [due]
                deadlines = [next_health, self._batcher.deadline or float("inf")]
                if self.spool.batches:
                    deadlines.append(self._retry_at)
                wait = min(deadlines) - now
                if wait <= 0:
                    break
                self._wake.wait(min(wait, 0.25))  # also notices stop within 0.25 s
            batches = list(self._full)
            self._full.clear()
            return batches

    def _store(self, batch: list[Received]) -> None:
        """Write or spool one batch, then acknowledge its messages."""
        lines = b"\n".join(r.line for r in batch)
        now = self.clock()
        if self.spool.batches == 0 and now >= self._retry_at:
            written = self._write(lines)
            if written is not None:
                self._written(len(batch), written)
                self._ack(batch)
                return
        while True:
            try:
                self.spool.push(batch[0].at, len(batch), lines)
                break
            except sqlite3.Error as exc:  # disk full, say: nothing acknowledged, try again
                if self._problems.allow(self.clock()):
                    log.error("recorder: cannot spool %d messages: %s", len(batch), exc)
                if self._stop.wait(self.settings.retry_s):
                    return  # unacknowledged: the broker sends them again after a restart
        self._ack(batch)

    def _drain(self) -> None:
        """Write spooled batches, oldest first, for up to ``DRAIN_SLICE_S``."""
        start = self.clock()
        while self.spool.batches and self.clock() >= self._retry_at:
            spooled: Spooled | None = self.spool.peek()
            if spooled is None:
                break
            written = self._write(spooled.lines)
            if written is None:
                break
            self.spool.remove(spooled)
            self._written(spooled.messages, written)
            if not self.spool.batches:
                log.info("recorder: spool drained")
            if self.clock() - start >= DRAIN_SLICE_S or self._full:
                break

    def _write(self, lines: bytes) -> Written | None:
        """Write to InfluxDB; None (and a retry time) if it is unreachable."""
        try:
            written = self._write_policies(lines)
        except InfluxUnavailable as exc:
            if self.database_up:
                log.warning("recorder: %s; keeping messages in the spool until it answers",
                            exc)
            self.database_up = False
            self._retry_at = self.clock() + self.settings.retry_s
            return None
        if not self.database_up:
            log.info("recorder: InfluxDB answers again; draining %d spooled messages",
                     self.spool.messages)
        self.database_up = True
        return written

    def _write_policies(self, lines: bytes) -> Written:
        """Write each policy's lines; all again if one is unreachable (a point written twice
        is still one point)."""
        dropped, reason = 0, ""
        for policy, part in by_policy(lines):
            written = self._write_refusable(part, policy)
            dropped, reason = dropped + written.dropped, reason or written.reason
        return Written(dropped, reason)

    def _write_refusable(self, lines: bytes, policy: str) -> Written:
        """Write; if InfluxDB refuses the batch, write halves, so one bad line costs only it."""
        try:
            return self.database.write(lines, policy=policy)
        except InfluxRefused as exc:
            if b"\n" not in lines:
                if self._problems.allow(self.clock()):
                    log.error("recorder: InfluxDB refused a point: %s: %r", exc, lines[:200])
                return Written(1, str(exc))
            parts = lines.split(b"\n")
            half = len(parts) // 2
            first = self._write_refusable(b"\n".join(parts[:half]), policy)
            second = self._write_refusable(b"\n".join(parts[half:]), policy)
            return Written(first.dropped + second.dropped, first.reason or second.reason)

    def _written(self, messages: int, written: Written) -> None:
        if written.dropped and self._problems.allow(self.clock()):
            log.warning("recorder: InfluxDB dropped %d of %d points: %s", written.dropped,
                        messages, written.reason)
        self.dropped += written.dropped
        self.written += messages - written.dropped

    def _ack(self, batch: list[Received]) -> None:
        self.link.ack_all([received.delivery for received in batch])

    def _oldest_unwritten(self, now: float) -> float:
        with self._wake:
            waiting = [b[0].at for b in self._full]
            if self._batcher.deadline is not None:
                waiting.append(self._batcher.deadline - self.settings.linger_s)
        if self.spool.oldest is not None:
            waiting.append(self.spool.oldest)
        return min(waiting, default=now)

