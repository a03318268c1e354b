"""The controller service: MQTT messages in, the pure core in the middle, snapshots out.

``handle`` runs in the MQTT network thread for each message: it decodes, folds, journals
and carries out the core's immediate effects (help states, alerts, desk commands) before
returning, which is when paho acknowledges the message to the broker. ``run`` loops on the
main thread: it runs the time rules and publishes the coalesced, retained KPI snapshots.

Two clocks: the wall clock dates what the core folds and publishes; a monotonic one paces
publishing and the timers, so NTP stepping the wall clock neither silences nor floods them.
Each reading of the two feeds a ``StepDetector``: a step is logged, counted, and the core
rebased onto the stepped clock (``FloorCore.rebase``), so what it measured keeps its age.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

from wallboard.adapters.journal import Journal
from wallboard.clock import Clock, steady_for
from wallboard.clock_steps import StepDetector
from wallboard.errors import BadMessage
from wallboard.floor.core import FloorCore, Folded
from wallboard.floor.effects import (
    ClearAlert,
    Effect,
    PublishHelp,
    PublishTeamWellbeing,
    PublishWellbeing,
    RaiseAlert,
    SendDeskCommand,
)
from wallboard.log_limit import LogLimiter
from wallboard.messages import Alert, DeskCommand, Envelope, Message, decode, encode
from wallboard.topics import Kind, build, subscription

log = logging.getLogger(__name__)

# Inputs that change the floor; only these are journaled and replayed after a restart.
JOURNALED = frozenset({Kind.CALL, Kind.AGENT_STATE, Kind.AGENT_SIGNAL, Kind.DESK_HELP})
# Alerts and wellbeing are its own retained outputs, read back to clear what a stopped run
# left behind.
INPUTS = (Kind.CALL, Kind.AGENT_STATE, Kind.AGENT_SIGNAL, Kind.DESK_HELP, Kind.ALERT,
          Kind.AGENT_WELLBEING, Kind.TEAM_WELLBEING)
TICK_S = 0.2  # how often time rules run: escalation and hold reminders are in whole seconds
STATS_EVERY_S = 60.0
FLOOR = "floor"  # the snapshot key for kpi/floor; queue keys are queue ids


def input_subscriptions(root: str, site: str) -> list[tuple[str, int]]:
    """The controller's input topic filters for one site, all QoS 1."""
    return [(subscription(kind, root=root, site=site), 1) for kind in INPUTS]


class Publisher(Protocol):
    """What the service needs from an MQTT connection."""

    def publish(self, topic: str, payload: bytes, *, retain: bool = False, qos: int = 1
                ) -> object:
        """Queue one message for the broker."""
        ...


@dataclass(frozen=True, slots=True)
class Pacing:
    """How often each snapshot topic is published."""

    min_interval_s: float = 1.0
    max_interval_s: float = 5.0


class ControllerService:
    """Feeds the core from the broker and publishes what it says, under one lock."""

    def __init__(self, core: FloorCore, publisher: Publisher, *, root: str, site: str,
                 clock: Clock = time.time, monotonic: Clock | None = None,
                 journal: Journal | None = None, pacing: Pacing = Pacing()) -> None:
        """``monotonic``: the clock that paces; by default the one that never steps and runs
        at ``clock``'s rate (``steady_for``), which is ``clock`` itself for simulated time."""
        self.core = core
        self.publisher = publisher
        self.root, self.site = root, site
        self.clock = clock
        self.monotonic = monotonic or steady_for(clock)
        self._steps = StepDetector()
        self.journal = journal
        self.pacing = pacing
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._dirty: set[str] = set()
        # Pacing and timer deadlines below are monotonic readings, never wall-clock times.
        self._published: dict[str, float] = {}
        # Earliest next publish of a dirty topic: its last publish plus the minimum interval,
        # or later once, to join the next round (see _publish_due).
        self._not_before: dict[str, float] = {}
        self._deferred: set[str] = set()
        self._limiter = LogLimiter()
        self._next_tick = float("-inf")
        self._next_stats = float("-inf")
        self._next_sync = float("-inf")

    # -- start-up --------------------------------------------------------------------------

    def restore(self) -> int:
        """Replay the journal into the core; returns how many messages were folded again."""
        if self.journal is None:
            return 0
        now = self.clock()
        replayed = 0
        with self._lock:
            for topic, payload in self.journal.replay(now):
                try:
                    item = decode(topic, payload, now=now, root=self.root)
                except BadMessage as exc:
                    log.warning("journal: skipped %s", exc)
                    continue
                if self.core.fold(item, now).outcome in ("applied", "held"):
                    replayed += 1
            self._dirty.update([FLOOR, *self.core.model.queues])
        log.info("restored %d journaled messages", replayed)
        return replayed

    # -- network thread --------------------------------------------------------------------

    def handle(self, topic: str, payload: bytes, retained: bool = False) -> None:
        """Decode, fold, journal and act on one message; never raises for bad input."""
        try:
            item = decode(topic, payload, now=self.clock(), root=self.root)
        except BadMessage as exc:
            with self._lock:
                self.counts["bad"] += 1
            self._problem("rejected %s", exc)
            return
        with self._lock:
            if item.topic.site != self.site:
                self.counts["other_site"] += 1
                return
            # Read under the lock, so readings reach the step detector in order.
            now, _ = self._observe(self.clock(), self.monotonic())
            folded = self.core.fold(item, now)
            self.counts[folded.outcome] += 1
            if folded.reason is not None:
                self._problem("%s %s: %s", folded.outcome, topic, folded.reason)
            if (self.journal is not None and isinstance(item, Envelope)
                    and folded.outcome in ("applied", "held") and item.topic.kind in JOURNALED):
                # The payload as received, unless a line break would split the journal line.
                line = payload if b"\n" not in payload else encode(item.message)
                self.journal.append(now, topic, line)
            self._changed(folded)
            self._carry_out(folded.effects, now)

    def _changed(self, folded: Folded) -> None:
        keys = {*folded.queues, FLOOR} if folded.floor else set(folded.queues)
        if not keys <= self._dirty:
            # Only a newly dirty topic can move the next publish earlier; waking the main
            # thread for every message would cost the receive thread its lock.
            self._dirty.update(keys)
            self._wake.notify()

    def _problem(self, fmt: str, *args: object) -> None:
        if self._limiter.allow(self.monotonic()):
            log.warning(fmt, *args)

    def _observe(self, now: float, mono: float) -> tuple[float, float]:
        """Feed one reading of both clocks to the step detector; on a step, log it once,
        count it and rebase the core onto the stepped clock (called under the lock)."""
        step = self._steps.feed(now, mono)
        if step is not None:
            self.counts["clock_steps"] += 1
            log.warning("wall clock stepped %+.1f s (NTP or an operator set it): open calls, "
                        "help requests, agents' states and the sliding window keep their "
                        "age; \"today\" is the day the clock now says", step)
            self.core.rebase(step)
            self._changed(Folded("applied", queues=frozenset(self.core.model.queues),
                                 floor=True))
        return now, mono

    # -- effects ---------------------------------------------------------------------------

    def _carry_out(self, effects: tuple[Effect, ...] | list[Effect], now: float) -> None:
        for effect in effects:
            if isinstance(effect, PublishHelp):
                self._send(build(Kind.HELP, root=self.root, site=self.site, desk=effect.desk),
                           effect.status, retain=True)
            elif isinstance(effect, RaiseAlert):
                alert = Alert(ts=now, level=effect.level, kind=effect.kind, text=effect.text,
                              desk=effect.desk, agent=effect.agent, request=effect.request,
                              since=effect.since)
                self._send(self._alert_topic(effect.alert), alert, retain=True)
                self.counts["alerts_raised"] += 1
            elif isinstance(effect, ClearAlert):
                self.publisher.publish(self._alert_topic(effect.alert), b"", retain=True)
                self.counts["alerts_cleared"] += 1
            elif isinstance(effect, PublishWellbeing):
                self._retain_or_clear(build(Kind.AGENT_WELLBEING, root=self.root,
                                            site=self.site, agent=effect.agent), effect.message)
            elif isinstance(effect, PublishTeamWellbeing):
                self._retain_or_clear(build(Kind.TEAM_WELLBEING, root=self.root,
                                            site=self.site, team=effect.team), effect.message)
            elif isinstance(effect, SendDeskCommand):
                self._send(build(Kind.DESK_CMD, root=self.root, site=self.site,
                                 desk=effect.desk), DeskCommand(ts=now, cmd=effect.cmd))
                self.counts[effect.cmd] += 1

    def _alert_topic(self, alert: str) -> str:
        return build(Kind.ALERT, root=self.root, site=self.site, alert=alert)

    def _send(self, topic: str, message: Message, retain: bool = False) -> None:
        self.publisher.publish(topic, encode(message), retain=retain)

    def _retain_or_clear(self, topic: str, message: Message | None) -> None:
        """The retained message, or an empty one that removes it."""
        self.publisher.publish(topic, b"" if message is None else encode(message), retain=True)
        self.counts["wellbeing" if message is not None else "wellbeing_cleared"] += 1

    # -- main thread -----------------------------------------------------------------------

    def step(self, now: float | None = None, mono: float | None = None) -> float:
        """Run due time rules and publish due snapshots; return seconds until the next step.

        ``now`` None: read the wall and monotonic clocks (the live service). ``now`` alone:
        a clock that never steps (simulated time), which then paces too. Both: a reading of
        each, as a test of a stepping clock gives them.
        """
        with self._lock:
            if now is None:
                now, mono = self._observe(self.clock(), self.monotonic())
            else:
                now, mono = self._observe(now, now if mono is None else mono)
            if mono >= self._next_tick:
                self._carry_out(self.core.tick(now), now)
                self._next_tick = mono + TICK_S
            self._publish_due(now, mono)
            if self.journal is not None and mono >= self._next_sync:
                self.journal.sync()
                self._next_sync = mono + 1.0
            wait = self._next_tick - mono
            for key in self._dirty:
                wait = min(wait, self._ready_at(key) - mono)
            counts = dict(sorted(self.counts.items())) if mono >= self._next_stats else None
            if counts is not None:
                self._next_stats = mono + STATS_EVERY_S
        if counts is not None:
            log.info("controller counts: %s", counts or "none yet")
        return max(0.0, wait)

    def _ready_at(self, key: str) -> float:
        """When ``key`` may (if dirty) or must (if not) be published next (monotonic)."""
        last = self._published.get(key, float("-inf"))
        if key in self._dirty:
            return self._not_before.get(key, last + self.pacing.min_interval_s)
        return last + self.pacing.max_interval_s

    def _publish_due(self, now: float, mono: float) -> None:
        due = {k for k in (FLOOR, *self.core.model.queues) if self._ready_at(k) <= mono}
        if not due:
            return
        per_queue, floor = self.core.snapshots(now)
        if FLOOR in due:
            self._send(build(Kind.KPI_FLOOR, root=self.root, site=self.site), floor, True)
        for snap in per_queue:
            if snap.queue in due:
                self._send(build(Kind.KPI_QUEUE, root=self.root, site=self.site,
                                 queue=snap.queue), snap, True)
        min_s = self.pacing.min_interval_s
        for key in due:
            self._published[key] = mono
            self._not_before[key] = mono + min_s
            self._dirty.discard(key)
            self._deferred.discard(key)
        self.counts["snapshots"] += len(due)
        # Every computation builds every snapshot, so a busy topic not yet allowed waits once
        # for the next round instead of forcing a computation of its own; topics that change
        # at staggered times then share one computation a second. Still at most one publish
        # per min interval, and at most two min intervals apart.
        for key in self._dirty - self._deferred:
            self._not_before[key] = max(self._ready_at(key), mono + min_s)
            self._deferred.add(key)

    def run(self, stop: threading.Event) -> None:
        """Step until ``stop`` is set, waking early when a message changes a snapshot."""
        while not stop.is_set():
            wait = self.step()
            with self._wake:
                if not self._wake_pending():
                    self._wake.wait(timeout=min(wait, TICK_S))

    def _wake_pending(self) -> bool:
        """True if a dirty snapshot may be published right now (called under the lock)."""
        mono = self.monotonic()
        return any(self._ready_at(k) <= mono for k in self._dirty)
