"""From paho's thread to Kivy's: decode on arrival, keep the latest per topic, hand over in bulk.

The kiosk shows state, not history, so a burst of updates to one topic collapses to its last
value before the screen sees it. Bad messages are counted and logged here, in paho's thread,
and never reach the board: the screen keeps the last good values, which age into STALE DATA.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from wallboard.clock import Clock
from wallboard.errors import BadMessage
from wallboard.link_status import LinkTracker
from wallboard.log_limit import LogLimiter
from wallboard.messages import Cleared, DeskCommand, Envelope, decode
from wallboard.topics import Kind, subscription

log = logging.getLogger(__name__)

SendCommand = Callable[[str, DeskCommand], None]  # desk, command: a supervisor's tap goes out

FLOOR_KINDS = (Kind.KPI_FLOOR, Kind.KPI_QUEUE, Kind.AGENT_STATE, Kind.DESK_LIGHT,
               Kind.DESK_STATUS, Kind.HELP, Kind.ALERT, Kind.SERVICE_STATUS)
# Individual strain goes to supervisor screens only; a floor kiosk never subscribes to it.
SUPERVISOR_KINDS = (*FLOOR_KINDS, Kind.AGENT_WELLBEING)


def kiosk_subscriptions(root: str, site: str, audience: str) -> list[tuple[str, int]]:
    """The retained topics this audience's screen follows."""
    kinds = SUPERVISOR_KINDS if audience == "supervisor" else FLOOR_KINDS
    return [(subscription(kind, root=root, site=site), 1) for kind in kinds]


class Feed:
    """The inbox between the MQTT link and the screen, plus the connection state."""

    def __init__(self, root: str, site: str, audience: str,
                 clock: Clock = time.time) -> None:
        self.root, self.site, self.clock = root, site, clock
        self.kinds = frozenset(SUPERVISOR_KINDS if audience == "supervisor" else FLOOR_KINDS)
        self._lock = threading.Lock()
        self._pending: dict[str, Envelope | Cleared] = {}
        self.received = 0
        self.rejected = 0
        # The broker connection; build_kiosk_link replaces it with one naming the broker.
        self.link = LinkTracker("the broker", "kiosk", clock)
        self._limiter = LogLimiter()

    def handle(self, topic: str, payload: bytes, retained: bool = False) -> None:
        """Decode one message (paho's thread); keep it if good, count and log it if not."""
        now = self.clock()
        try:
            item = decode(topic, payload, now=now, root=self.root)
            if item.topic.site != self.site or item.topic.kind not in self.kinds:
                raise BadMessage(topic[:200], "topic", "not a topic this screen follows")
        except BadMessage as exc:
            with self._lock:
                self.rejected += 1
            if self._limiter.allow(now):
                log.warning("kiosk rejected a message: %s", exc)
            return
        with self._lock:
            self.received += 1
            self._pending[topic] = item

    def drain(self) -> list[Envelope | Cleared]:
        """Everything that arrived since the last call, latest per topic (Kivy's thread)."""
        with self._lock:
            items = list(self._pending.values())
            self._pending.clear()
        return items

    @property
    def connected(self) -> bool:
        """Whether the broker link is up now."""
        return self.link.state().connected
