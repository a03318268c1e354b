"""``wallboard watch``: follow the retained snapshots and redraw the terminal view each second."""

from __future__ import annotations

import logging
import shutil
import sys
import threading
import time
from typing import TextIO
from zoneinfo import ZoneInfo

from wallboard.clock import Clock
from wallboard.errors import BadMessage
from wallboard.link_status import LinkTracker
from wallboard.messages import (
    Alert,
    Cleared,
    Envelope,
    FloorKpi,
    QueueKpi,
    RecorderHealth,
    ServiceStatus,
    decode,
)
from wallboard.terminal_view import FloorView, render
from wallboard.topics import Kind, subscription

log = logging.getLogger(__name__)

WATCHED = (Kind.KPI_FLOOR, Kind.KPI_QUEUE, Kind.ALERT, Kind.SERVICE_STATUS,
           Kind.RECORDER_HEALTH)


def watch_subscriptions(root: str, site: str) -> list[tuple[str, int]]:
    """What the view follows: snapshots, alerts, services and recorders, all retained."""
    return [(subscription(kind, root=root, site=site), 1) for kind in WATCHED]


class Watcher:
    """Keeps the latest snapshot of each kind, for ``render``."""

    def __init__(self, root: str, site: str, clock: Clock = time.time) -> None:
        self.root, self.site, self.clock = root, site, clock
        self.view = FloorView()
        self.link: LinkTracker | None = None  # the broker connection, when the shell tracks it
        self.names: dict[str, str] = {}  # agents' display names, from the config
        self.bad = 0
        self.lock = threading.Lock()

    def handle(self, topic: str, payload: bytes, retained: bool = False) -> None:
        """Fold one message into the view; bad ones are counted and skipped."""
        try:
            item = decode(topic, payload, now=self.clock(), root=self.root)
        except BadMessage as exc:
            self.bad += 1
            log.debug("watch: %s", exc)
            return
        with self.lock:
            if isinstance(item, Cleared):
                self.view.alerts.pop(item.topic.id("alert"), None)
                return
            self._fold(item)

    def _fold(self, item: Envelope) -> None:
        msg = item.message
        if isinstance(msg, FloorKpi):
            self.view.floor = msg
        elif isinstance(msg, QueueKpi):
            self.view.queues[msg.queue] = msg
        elif isinstance(msg, Alert):
            self.view.alerts[item.topic.id("alert")] = msg
        elif isinstance(msg, ServiceStatus) and item.topic.id("service") == "controller":
            self.view.controller_online, self.view.controller_ts = msg.online, msg.ts
        elif isinstance(msg, RecorderHealth):
            self.view.recorders[item.topic.id("recorder")] = msg

    def lines(self, tz: ZoneInfo | None = None) -> list[str]:
        """The view as of now."""
        width = shutil.get_terminal_size((100, 40)).columns
        link = self.link.state() if self.link is not None else None
        with self.lock:
            return render(self.view, self.clock(), self.site, tz, width, link, self.names)


def draw(watcher: Watcher, stop: threading.Event, out: TextIO = sys.stdout,
         every_s: float = 1.0, tz: ZoneInfo | None = None) -> None:
    """Redraw until ``stop`` is set: in place on a terminal, as appended frames otherwise."""
    tty = out.isatty()
    while not stop.is_set():
        frame = "\n".join(watcher.lines(tz))
        out.write(("\x1b[H\x1b[2J" + frame) if tty else (frame + "\n" + "-" * 40) + "\n")
        out.flush()
        stop.wait(every_s)
