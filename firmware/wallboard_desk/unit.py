"""The desk unit's shell: one worker thread that owns the state.

The button's thread, paho's thread and the timers only put events on a queue; the worker
steps the pure core (``desk.py``), then publishes, saves and drives the tower. So the state
has one writer and needs no lock, and no callback ever blocks on the network or the disk.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from wallboard.clock import Clock
from wallboard.errors import BadMessage
from wallboard.log_limit import LogLimiter
from wallboard.messages import (
    DeskCommand,
    DeskHelp,
    DeskLight,
    Envelope,
    HelpState,
    decode,
    encode,
)
from wallboard.topics import Kind, build
from wallboard_desk.desk import (
    BrokerCopy,
    Command,
    Connected,
    Delivered,
    Desk,
    Disconnected,
    Event,
    LongPressed,
    Pressed,
    Request,
    Stepped,
    restore,
    step,
)
from wallboard_desk.store import RequestStore, SaveBehind
from wallboard_desk.tower import DARK, Tower, next_change, tower

log = logging.getLogger(__name__)

IDLE_WAKE_S = 1.0  # re-check the tower at least this often, whatever the timers say


class Link(Protocol):
    """What the unit needs from ``MqttLink``."""

    handler: Callable[[str, bytes, bool], None] | None
    on_connected: Callable[[], None] | None
    on_disconnected: Callable[[], None] | None
    on_published: Callable[[int], None] | None
    connected: threading.Event

    def publish(self, topic: str, payload: bytes, *, retain: bool = False,
                qos: int = 1) -> object: ...


class Lamps(Protocol):
    """What the unit needs from ``TowerPins``."""

    shown: Tower

    def show(self, tower: Tower) -> None: ...


@dataclass(frozen=True, slots=True)
class _Received:
    topic: str
    payload: bytes
    retained: bool


@dataclass(frozen=True, slots=True)
class _Published:
    mid: int


@dataclass(frozen=True, slots=True)
class Topics:
    """This desk's topics."""

    help: str
    light: str
    cmd: str
    status: str

    @classmethod
    def of(cls, root: str, site: str, desk: str) -> Topics:
        """The topics of ``desk`` at ``site``."""
        return cls(*(build(k, root=root, site=site, desk=desk) for k in (
            Kind.DESK_HELP, Kind.DESK_LIGHT, Kind.DESK_CMD, Kind.DESK_STATUS)))


class DeskUnit:
    """Runs one desk: feed it events, call ``run`` in a thread, ``stop`` to shut down."""

    def __init__(self, link: Link, lamps: Lamps, store: RequestStore, topics: Topics, *,
                 root: str, escalate_after_s: float, bounce_s: float,
                 agent: str | None = None, clock: Clock = time.time) -> None:
        self.link, self.lamps, self.store, self.topics = link, lamps, store, topics
        self.root = root
        self.escalate_after_s, self.bounce_s = escalate_after_s, bounce_s
        self.agent = agent
        self.clock = clock
        self.desk = Desk()
        self.counts: Counter[str] = Counter()
        self._events: queue.Queue[Event | _Received | _Published | None] = queue.Queue()
        self._sent: dict[int, tuple[str, HelpState]] = {}  # mid -> the help state it carried
        self._limiter = LogLimiter()
        self._light: Tower | None = None  # last published on desk/{desk}/light
        self._saver = SaveBehind(store, lambda exc: self._problem(
            "save_failed", "cannot save the request: %s", exc))
        link.handler = lambda t, p, r: self._events.put(_Received(t, p, r))
        link.on_connected = lambda: self._events.put(Connected(self.clock()))
        link.on_disconnected = lambda: self._events.put(Disconnected(self.clock()))
        link.on_published = lambda mid: self._events.put(_Published(mid))

    # -- inputs, from any thread -----------------------------------------------------------

    def press(self) -> None:
        """The button was pressed and released before the long-press time."""
        self._events.put(Pressed(self.clock(), uuid.uuid4().hex))

    def long_press(self) -> None:
        """The button has been held for the long-press time."""
        self._events.put(LongPressed(self.clock()))

    # -- the worker ------------------------------------------------------------------------

    def restore(self) -> None:
        """Take the request kept on disk; resend it if it was never delivered."""
        self._after(restore(self.store.load()), saved=self.desk.request)
        self._refresh()

    def run(self, stop: threading.Event) -> None:
        """Handle events until ``stop`` is set."""
        while not stop.is_set():
            now = self.clock()
            due = next_change(self.desk, now, self.escalate_after_s)
            wait = IDLE_WAKE_S if due is None else min(IDLE_WAKE_S, max(0.0, due - now))
            try:
                item = self._events.get(timeout=wait)
            except queue.Empty:
                item = None
            if item is not None:
                self._handle(item)
            self._refresh()

    def wake(self) -> None:
        """Let ``run`` notice ``stop`` at once."""
        self._events.put(None)

    def shut_down(self) -> None:
        """The defined state on a clean stop: tower dark, and ``light`` says so."""
        self.lamps.show(DARK)
        if self.link.connected.is_set():
            self._publish_light(DARK)
        self._saver.close()

    def _handle(self, item: Event | _Received | _Published) -> None:
        if isinstance(item, _Received):
            event = self._decode(item)
            if event is None:
                return
        elif isinstance(item, _Published):
            sent = self._sent.pop(item.mid, None)
            if sent is None:
                return  # a status or light publish
            event = Delivered(*sent)
        else:
            event = item
        if isinstance(event, Connected):
            self._light = None  # publish the light again: it may have changed while away
        before = self.desk.request
        self._after(step(self.desk, event, self.bounce_s), saved=before)

    def _decode(self, item: _Received) -> Event | None:
        now = self.clock()
        if item.topic == self.topics.help and (not item.retained or not item.payload):
            return None  # our own publish coming back, or a cleared topic
        try:
            envelope = decode(item.topic, item.payload, now=now, root=self.root)
        except BadMessage as exc:
            self._problem("bad", "rejected %s", exc)
            return None
        message = envelope.message if isinstance(envelope, Envelope) else None
        if isinstance(message, DeskCommand) and item.topic == self.topics.cmd:
            return Command(now, message)
        if isinstance(message, DeskHelp) and item.topic == self.topics.help:
            return BrokerCopy(now, message)
        self._problem("bad", "ignored %s: not this desk's cmd or help", item.topic)
        return None

    def _after(self, stepped: Stepped, saved: Request | None) -> None:
        self.desk = stepped.desk
        if stepped.kind == "refused":
            self._problem("refused", "refused: %s", stepped.reason)
        elif stepped.kind == "ignored":
            self.counts["ignored"] += 1
            log.info("ignored: %s", stepped.reason)
        for message in stepped.publish:
            if self.agent is not None and message.agent is None:
                message = message.model_copy(update={"agent": self.agent})
            info = self.link.publish(self.topics.help, encode(message), retain=True)
            mid = getattr(info, "mid", None)
            if isinstance(mid, int):
                self._sent[mid] = (message.request, message.state)
        self._refresh()
        if self.desk.request != saved:
            self._saver.save(self.desk.request)

    def _refresh(self) -> None:
        shown = tower(self.desk, self.clock(), self.escalate_after_s)
        if shown != self.lamps.shown:
            self.lamps.show(shown)
        if shown != self._light and self.link.connected.is_set():
            self._publish_light(shown)

    def _publish_light(self, shown: Tower) -> None:
        self._light = shown
        light = DeskLight(ts=self.clock(), red=shown.red, amber=shown.amber,
                          green=shown.green, buzzer=shown.buzzer)
        self.link.publish(self.topics.light, encode(light), retain=True)

    def _problem(self, counter: str, fmt: str, *args: object) -> None:
        self.counts[counter] += 1
        if self._limiter.allow(self.clock()):
            log.warning(fmt, *args)
