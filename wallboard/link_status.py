"""What a screen with nothing live to show is waiting for: the broker, or the controller.

``waiting_for`` is pure, and both the wall screen and ``wallboard watch`` show its words, so
they never disagree about what is wrong and never show "none open" or "0" as a fact before
they have heard. ``LinkTracker`` holds the broker connection's state as the MQTT link's hooks
report it (from paho's thread), and warns once for each new reason it cannot connect.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from wallboard.clock import Clock

log = logging.getLogger(__name__)

WAITING_FOR_CONTROLLER = "connected, waiting for the controller"
SAME_DAY_S = 12 * 3600.0  # older than this, "offline since" names the day too


@dataclass(frozen=True, slots=True)
class LinkState:
    """The broker connection as a screen knows it."""

    broker: str  # host:port, as the config names it
    connected: bool = False
    error: str | None = None  # why the last attempt failed; None: no attempt has failed yet
    down_since: float | None = None  # when the link went down, or the first attempt began


@dataclass(frozen=True, slots=True)
class ControllerSeen:
    """What a screen has heard from the controller."""

    heard: bool  # a floor snapshot has arrived
    online: bool | None = None  # its retained status; None: no status heard
    last_alive: float | None = None  # its latest snapshot or status: it was up then


def waiting_for(link: LinkState | None, controller: ControllerSeen, now: float,
                tz: ZoneInfo | None = None) -> str | None:
    """What the screen is waiting for, in words; None when the broker and controller are up.

    ``link`` None: the caller does not track the connection, so only the controller counts.
    """
    if link is not None and not link.connected:
        if link.error is None:
            return f"connecting to broker {link.broker}"
        return f"cannot reach broker {link.broker} ({link.error})"
    if controller.online is False:
        if controller.last_alive is None:
            return "controller offline"
        return f"controller offline since {_when(controller.last_alive, now, tz)}"
    if not controller.heard:
        return WAITING_FOR_CONTROLLER
    return None


def _when(ts: float, now: float, tz: ZoneInfo | None) -> str:
    local = dt.datetime.fromtimestamp(ts, tz or dt.UTC)
    return local.strftime("%H:%M:%S" if now - ts < SAME_DAY_S else "%a %d %b %H:%M")


class LinkTracker:
    """The broker connection's state, kept from the MQTT link's hooks (paho's thread)."""

    def __init__(self, broker: str, what: str, clock: Clock = time.time) -> None:
        self.broker, self.what, self.clock = broker, what, clock  # broker: "host:port"
        self._lock = threading.Lock()
        self._state = LinkState(self.broker, down_since=clock())
        self._warned: str | None = None

    def state(self) -> LinkState:
        """The connection as of now."""
        with self._lock:
            return self._state

    def on_connected(self) -> None:
        """The link is up."""
        with self._lock:
            self._state = LinkState(self.broker, connected=True)
        if self._warned is not None:
            log.warning("%s: connected to broker %s", self.what, self.broker)
        self._warned = None

    def on_disconnected(self) -> None:
        """The link went down; paho reconnects with backoff."""
        with self._lock:
            self._state = LinkState(self.broker, error="connection lost",
                                    down_since=self.clock())

    def on_connect_failed(self, reason: str) -> None:
        """An attempt failed: say so on stderr once for each new reason."""
        with self._lock:
            old = self._state
            since = old.down_since if old.down_since is not None else self.clock()
            self._state = LinkState(self.broker, error=reason, down_since=since)
        if reason != self._warned:
            self._warned = reason
            log.warning("%s: cannot reach broker %s (%s); retrying", self.what, self.broker,
                        reason)

    def attach(self, link: Linkable) -> None:
        """Take the connection state from ``link``'s hooks."""
        link.on_connected = self.on_connected
        link.on_disconnected = self.on_disconnected
        link.on_connect_failed = self.on_connect_failed


class Linkable(Protocol):
    """What ``LinkTracker.attach`` sets on an MQTT link (``MqttLink`` has these hooks)."""

    on_connected: Callable[[], None] | None
    on_disconnected: Callable[[], None] | None
    on_connect_failed: Callable[[str], None] | None
