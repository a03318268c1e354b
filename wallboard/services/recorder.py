"""The recorder service: every message from the broker into InfluxDB, none lost on the way.

Three threads, none waiting on another's slow work:

- ``handle`` runs in paho's network thread: it turns each message into one line of line
  protocol (a rejected one too) and adds it to the current batch (at most ``batch_lines``,
  at most ``linger_s`` old).
- ``run`` loops on the main thread and never waits on InfluxDB. It hands each batch to the
  writer while InfluxDB keeps up; otherwise (InfluxDB down, or a write hanging longer than
  ``retry_s``) it commits the batch to the on-disk spool and acknowledges it. It publishes
  health on time, whatever InfluxDB and the disk are doing.
- The writer thread writes handed batches to InfluxDB and acknowledges them, and drains
  the spool oldest first, trying every ``retry_s`` while InfluxDB does not answer.

A message is acknowledged only once it is in InfluxDB or the spool, so a killed recorder
loses nothing: the broker sends the rest again. Storing a message twice is harmless,
because the same message always becomes the same point.

**A full disk.** A batch the spool cannot take stays in memory, unacknowledged ("held"):
the broker stops sending once ``receive_maximum`` messages are unacknowledged, which bounds
it. The writer writes held batches straight to InfluxDB when it answers, the spool drains
as usual (which frees room in it), and pushing to the spool is tried again every
``retry_s``. Health says ``disk_full`` meanwhile.

Each point goes to its measurement's retention policy (``routing``): individual wellbeing
is kept apart, for as long as the site's privacy policy allows.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from wallboard.adapters.influx import InfluxRefused, InfluxUnavailable, Written
from wallboard.adapters.mqtt import Delivery
from wallboard.adapters.spool import Spool, disk_full
from wallboard.clock import Clock
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

QUEUED_MAX = 2  # batches handed to the writer ahead of the one it writes; more are spooled
STOP_WAIT_S = 5.0  # at shutdown, how long a write in flight may still take
DISK_LOG_S = 60.0  # while the disk stays full, say so this often


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


Batch = list[Received]


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
        self.disk_full = False
        self.spool_error: str | None = None  # why the last push failed, until one succeeds
        self._batcher: Batcher[Received] = Batcher(settings.batch_lines, settings.linger_s)
        # All under _wake. Batches, oldest first: full ones from paho's thread, ones handed
        # to the writer, and ones in neither InfluxDB nor the spool (unacknowledged).
        self._wake = threading.Condition()
        self._full: deque[Batch] = deque()
        self._queued: deque[Batch] = deque()
        self._held: deque[Batch] = deque()
        self._writing: Batch | None = None
        self._writing_since: float | None = None
        self._retry_at = 0.0  # next InfluxDB attempt after a failed one
        self._spool_retry_at = 0.0  # next push after a failed one
        self._disk_logged_at = float("-inf")
        self._problems = LogLimiter()
        self._writer_stop = threading.Event()

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
                self._wake.notify_all()

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
        """Route batches as they fill or age, spool what waits, report; until ``stop``."""
        writer = threading.Thread(target=self._write_loop, name="recorder-writer", daemon=True)
        writer.start()
        next_health = self.clock()
        try:
            while not stop.is_set():
                for batch in self._next_batches(next_health, stop):
                    self._route(batch)
                self._spool_stalled()
                self._spool_held()
                now = self.clock()
                if now >= next_health:
                    self.publish_health(now)
                    next_health = now + self.settings.health_interval_s
        finally:
            self._stop_writer(writer)
        self.flush(direct=not writer.is_alive())
        self.publish_health(self.clock())

    def flush(self, *, direct: bool = True) -> None:
        """Store whatever is waiting now (on shutdown, the writer stopped): in InfluxDB if it
        is up and nothing is spooled (``direct``), else in the spool."""
        with self._wake:
            batches = [*self._held, *self._queued, *self._full]
            self._held.clear()
            self._queued.clear()
            self._full.clear()
            last = self._batcher.flush()
        for batch in [*batches, *([last] if last else [])]:
            if direct and self.database_up and self.spool.batches == 0:
                written = self._write(_lines(batch), self.clock())
                if written is not None:
                    self._written(len(batch), written)
                    self._ack(batch)
                    continue
            self._push(batch)  # if not, it stays unacknowledged: the broker sends it again

    def publish_health(self, now: float) -> None:
        """Publish the counters, retained."""
        health = RecorderHealth(
            ts=now, received=self.received, written=self.written,
            spooled=self.spool.messages, rejected=self.rejected, dropped=self.dropped,
            lag_s=max(0.0, now - self._oldest_unwritten(now)), database_up=self.database_up,
            disk_full=self.disk_full, spool_error=self.spool_error)
        self.link.publish(self.health_topic, encode(health), retain=True, qos=1)

    def _next_batches(self, next_health: float, stop: threading.Event) -> list[Batch]:
        """Wait for full batches, an aged one, the health report or a retry; take batches."""
        with self._wake:
            while not self._full and not stop.is_set():
                now = self.clock()
                due = self._batcher.due(now)
                if due is not None:
                    return [due]
                deadlines = [next_health, self._batcher.deadline or float("inf")]
                if self._held:
                    deadlines.append(self._spool_retry_at)
                wait = min(deadlines) - now
                if wait <= 0:
                    break
                # Wakes for stop, and to see a stalled write, within 0.25 s.
                self._wake.wait(min(wait, 0.25))
            batches = list(self._full)
            self._full.clear()
            return batches

    def _route(self, batch: Batch) -> None:
        """Hand a batch to the writer if InfluxDB keeps up and nothing older waits; else
        spool it."""
        now = self.clock()
        with self._wake:
            if (self.database_up and now >= self._retry_at and not self._held
                    and self.spool.batches == 0 and not self._stalled(now)
                    and len(self._queued) < QUEUED_MAX):
                self._queued.append(batch)
                self._wake.notify_all()
                return
        self._spool(batch)

    def _stalled(self, now: float) -> bool:
        """Whether the write in flight has taken longer than ``retry_s``."""
        since = self._writing_since
        return since is not None and now - since > self.settings.retry_s

    def _spool_stalled(self) -> None:
        """Spool the batches waiting behind a write that hangs, so they are stored now."""
        with self._wake:
            if not self._queued or not self._stalled(self.clock()):
                return
            batches = list(self._queued)
            self._queued.clear()
        for batch in batches:
            self._spool(batch)

    def _spool(self, batch: Batch) -> None:
        """Push a batch to the spool and acknowledge it; hold it if the spool cannot take it
        now (behind the others held, so the order stays)."""
        with self._wake:
            wait = bool(self._held) or self.clock() < self._spool_retry_at
            if wait:
                self._held.append(batch)
                self._wake.notify_all()
                return
        if not self._push(batch):
            with self._wake:
                self._held.append(batch)
                self._wake.notify_all()

    def _spool_held(self) -> None:
        """Push held batches, oldest first, once the retry time has come."""
        while True:
            with self._wake:
                if not self._held or self.clock() < self._spool_retry_at:
                    return
                batch = self._held.popleft()
            if not self._push(batch):
                with self._wake:
                    self._held.appendleft(batch)
                return

    def _push(self, batch: Batch) -> bool:
        """Commit a batch to the spool and acknowledge it; False (and why, in health) if the
        spool cannot take it."""
        try:
            self.spool.push(batch[0].at, len(batch), _lines(batch))
        except (sqlite3.Error, OSError) as exc:
            self._spool_failed(exc, len(batch))
            return False
        self._ack(batch)
        if self.spool_error is not None:
            log.info("recorder: the spool takes batches again")
            self.disk_full, self.spool_error = False, None
        return True

    def _spool_failed(self, exc: BaseException, messages: int) -> None:
        now = self.clock()
        full = disk_full(exc)
        if full and (not self.disk_full or now - self._disk_logged_at >= DISK_LOG_S):
            log.error("recorder: spool disk is full (%s): %d messages wait unacknowledged, "
                      "in memory or at the broker; whatever InfluxDB takes is written and "
                      "frees the spool", exc, self._held_messages() + messages)
            self._disk_logged_at = now
        elif not full and self._problems.allow(now):
            log.error("recorder: cannot spool %d messages: %s", messages, exc)
        self.disk_full, self.spool_error = full, str(exc)[:200]
        self._spool_retry_at = now + self.settings.retry_s

    def _held_messages(self) -> int:
        with self._wake:
            return sum(len(batch) for batch in self._held)

    def _stop_writer(self, writer: threading.Thread) -> None:
        """Let the write in flight finish, for up to ``STOP_WAIT_S``; its messages stay
        unacknowledged if it does not, and the broker sends them again."""
        with self._wake:
            self._writer_stop.set()
            self._wake.notify_all()
        writer.join(STOP_WAIT_S)
        if writer.is_alive():
            log.warning("recorder: a write to InfluxDB is still hanging; stopping without it")

    # -- the writer thread ------------------------------------------------------------------

    def _write_loop(self) -> None:
        """Write handed batches and drain the spool and the held batches, until stopped."""
        while True:
            job = self._next_job()
            if job is None:
                return
            batch, started = job  # no batch: the oldest spooled one
            try:
                if batch is not None:
                    self._write_batch(batch, started)
                else:
                    self._write_spooled(started)
            except Exception:  # a bug or a broken spool must not stop the writing for good
                log.exception("recorder: writing failed; trying again in %.1f s",
                              self.settings.retry_s)
                if batch is not None:
                    self._give_back(batch)
                with self._wake:
                    self._retry_at = self.clock() + self.settings.retry_s
            finally:
                with self._wake:
                    self._writing = self._writing_since = None
                    if not self._held and not self.spool.batches:
                        # Nothing waits for the spool now (and an emptied spool has given
                        # its room back): the next push says again if the disk is full.
                        self.disk_full, self.spool_error = False, None
                    self._wake.notify_all()

    def _next_job(self) -> tuple[Batch | None, float] | None:
        """Wait for the next write: a handed batch, else the oldest spooled or held batch
        once the retry time has come; None once stopped."""
        with self._wake:
            while not self._writer_stop.is_set():
                now = self.clock()
                batch: Batch | None = None
                if self._queued:
                    batch = self._queued.popleft()
                elif now >= self._retry_at and (self.spool.batches or self._held):
                    oldest = self.spool.oldest if self.spool.batches else None
                    if self._held and (oldest is None or self._held[0][0].at < oldest):
                        batch = self._held.popleft()
                else:
                    wait = self._retry_at - now if self.spool.batches or self._held else 0.25
                    self._wake.wait(min(max(wait, 0.01), 0.25))
                    continue
                self._writing, self._writing_since = batch, now
                return batch, now
        return None

    def _write_batch(self, batch: Batch, started: float) -> None:
        """Write a batch not in the spool; acknowledge it, or give it back to be spooled."""
        written = self._write(_lines(batch), started)
        if written is None:
            self._give_back(batch)
            return
        self._written(len(batch), written)
        self._ack(batch)

    def _give_back(self, batch: Batch) -> None:
        """Return an unwritten batch, and those handed after it, to be spooled first."""
        with self._wake:
            self._held.extendleft(reversed([batch, *self._queued]))
            self._queued.clear()
            self._wake.notify_all()

    def _write_spooled(self, started: float) -> None:
        """Write the oldest spooled batch; remove it once InfluxDB has it."""
        spooled = self.spool.peek()
        if spooled is None:
            return
        written = self._write(spooled.lines, started)
        if written is None:
            return
        removed = self.spool.remove(spooled)
        self._written(spooled.messages, written)
        if not removed and self._problems.allow(self.clock()):
            log.warning("recorder: disk full: a batch InfluxDB has stays in the spool "
                        "until there is room to delete it (it is not written again)")
        if not self.spool.batches:
            log.info("recorder: spool drained")

    def _write(self, lines: bytes, started: float) -> Written | None:
        """Write to InfluxDB; None (and a retry time) if it is unreachable."""
        try:
            written = self._write_policies(lines)
        except InfluxUnavailable as exc:
            if self.database_up:
                log.warning("recorder: %s; keeping messages in the spool until it answers",
                            exc)
            self.database_up = False
            # From the attempt's start: a write that hung for its whole time limit is
            # followed at once by the next, not a retry_s later.
            self._retry_at = started + self.settings.retry_s
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

    # -- either thread ----------------------------------------------------------------------

    def _written(self, messages: int, written: Written) -> None:
        if written.dropped and self._problems.allow(self.clock()):
            log.warning("recorder: InfluxDB dropped %d of %d points: %s", written.dropped,
                        messages, written.reason)
        with self._wake:
            self.dropped += written.dropped
            self.written += messages - written.dropped

    def _ack(self, batch: Batch) -> None:
        self.link.ack_all([received.delivery for received in batch])

    def _oldest_unwritten(self, now: float) -> float:
        with self._wake:
            waiting = [b[0].at for b in (*self._full, *self._queued, *self._held)]
            if self._writing is not None:
                waiting.append(self._writing[0].at)
            if self._batcher.deadline is not None:
                waiting.append(self._batcher.deadline - self.settings.linger_s)
        if self.spool.oldest is not None:
            waiting.append(self.spool.oldest)
        return min(waiting, default=now)


def _lines(batch: Batch) -> bytes:
    return b"\n".join(received.line for received in batch)
