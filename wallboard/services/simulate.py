"""``wallboard simulate``: publish a simulated floor on the contract topics, paced by a clock.

Each message goes out when the clock reaches its ``ts``, with the QoS and retain flag the
topic table gives it, exactly as a telephony adapter and the desk units would send it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from wallboard.clock import ScaledClock
from wallboard.messages import Message, encode
from wallboard.services.controller import Publisher
from wallboard.topics import SPECS, parse

log = logging.getLogger(__name__)

LAG_WARN_S = 5.0  # wall seconds behind schedule before saying the machine cannot keep up


def publish_paced(events: Iterable[tuple[str, Message]], publisher: Publisher,
                  clock: ScaledClock, stop: threading.Event, root: str) -> int:
    """Publish each event when ``clock`` reaches its ts; return how many were published."""
    retained: dict[str, bool] = {}
    sent = 0
    on_time, warned = False, False
    for topic, msg in events:
        delay = clock.wall_delay(msg.ts)
        if delay > 0 and stop.wait(delay):
            break
        if stop.is_set():
            break
        # Events before the clock's start (a warm-up) go out at once; only lag after the
        # first on-time event means the machine cannot keep up.
        on_time = on_time or delay >= 0
        if on_time and -delay > LAG_WARN_S and not warned:
            log.warning("simulator is %.0f s behind schedule: lower --speed", -delay)
            warned = True
        retain = retained.get(topic)
        if retain is None:
            retain = retained[topic] = SPECS[parse(topic, root=root).kind].retained
        publisher.publish(topic, encode(msg), retain=retain, qos=1)
        sent += 1
    return sent
