"""The one place that wires the desk unit's real parts together, from its config.

``wallboard-desk`` and the integration tests both build the unit here; only the pin
factory (gpiozero's ``MockFactory`` in tests and ``--virtual``) and the config differ.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from wallboard import __version__
from wallboard.adapters.mqtt import LinkSettings, MqttLink
from wallboard.clock import Clock
from wallboard.messages import DeskStatus, encode
from wallboard_desk.config import DeskConfig
from wallboard_desk.hardware import DeskButton, TowerPins
from wallboard_desk.store import RequestStore
from wallboard_desk.unit import DeskUnit, Topics

log = logging.getLogger(__name__)


@dataclass(slots=True)
class DeskRuntime:
    """A wired desk unit: its core shell, broker link, tower and button."""

    config: DeskConfig
    unit: DeskUnit
    link: MqttLink
    lamps: TowerPins
    button: DeskButton

    def run(self, stop: threading.Event, connect_timeout: float = 5.0) -> None:
        """Restore, connect and serve until ``stop``; then leave a defined state."""
        self.unit.restore()
        if not self.link.start(connect_timeout):
            log.warning("broker %s:%s not reachable yet; presses are kept and sent later",
                        self.config.mqtt.host, self.config.mqtt.port)
        try:
            self.unit.run(stop)
        finally:
            self.unit.shut_down()
            self.link.stop()
            self.button.close()
            self.lamps.close()


def link_settings(config: DeskConfig, topics: Topics, clock: Clock) -> LinkSettings:
    """The unit's broker settings: fixed client id, kept session, retained status and will."""
    m, now = config.mqtt, clock()
    return LinkSettings.for_broker(
        m, config.client_id, session_expiry_s=m.session_expiry_s, keepalive_s=m.keepalive_s,
        status_topic=topics.status,
        online_payload=encode(DeskStatus(ts=now, online=True, firmware=__version__)),
        offline_payload=encode(DeskStatus(ts=now, online=False, firmware=__version__)),
        subscriptions=((topics.cmd, 1), (topics.help, 1)),
    )


def build_desk(config: DeskConfig, *, pin_factory: Any = None,
               clock: Clock = time.time) -> DeskRuntime:
    """Wire the unit from config; ``pin_factory`` None means the Pi's own GPIO."""
    d, root = config.desk, config.mqtt.topic_root
    topics = Topics.of(root, d.site, d.id)
    link = MqttLink(link_settings(config, topics, clock))
    lamps = TowerPins(config.pins, pin_factory)
    unit = DeskUnit(link, lamps, RequestStore(d.state_dir), topics, root=root,
                    escalate_after_s=config.help.escalate_after_s,
                    bounce_s=config.button.bounce_s, agent=d.agent, clock=clock)
    try:
        button = DeskButton(config.pins, config.button, unit.press, unit.long_press,
                            pin_factory)
    except BaseException:
        lamps.close()
        raise
    return DeskRuntime(config, unit, link, lamps, button)
