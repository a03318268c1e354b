"""The one place that wires real adapters to the core, from the validated config.

Services and integration tests both start here, so a test exercises the same wiring that
runs on the floor; only the config (a loopback broker, a temp state dir) differs. Every
broker link of the ``wallboard`` commands is built here, and every service gets its status
name here, from ``service_names`` (which the broker ACL reads too).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from wallboard import __version__
from wallboard.adapters.influx import InfluxHttp
from wallboard.adapters.journal import Journal
from wallboard.adapters.mqtt import LinkSettings, MessageHandler, MqttLink
from wallboard.adapters.spool import Spool
from wallboard.clock import Clock
from wallboard.config import WallboardConfig
from wallboard.config_base import fit_id
from wallboard.floor.core import FloorCore
from wallboard.kiosk.feed import Feed, SendCommand, kiosk_subscriptions
from wallboard.link_status import LinkTracker
from wallboard.messages import DeskCommand, ServiceStatus, encode
from wallboard.service_names import Role, service_name
from wallboard.services.controller import ControllerService, Pacing, input_subscriptions
from wallboard.services.recorder import RecorderService
from wallboard.services.recorder import Settings as RecorderSettings
from wallboard.services.watch import Watcher, watch_subscriptions
from wallboard.topics import Kind, build

log = logging.getLogger(__name__)


def controller_service(config: WallboardConfig) -> str:
    """The controller's ``{service}`` in ``service/{service}/status``."""
    return service_name(Role.CONTROLLER, config.site.id)


def recorder_service(config: WallboardConfig) -> str:
    """This config's recorder's ``{service}``: each recorder of a site has its own."""
    return service_name(Role.RECORDER, config.recorder.id)


def telephony_service(adapter_id: str) -> str:
    """A telephony adapter's ``{service}``, from its id (its broker login's id)."""
    return service_name(Role.TELEPHONY, adapter_id)


def link_settings(config: WallboardConfig, client_id: str, service: str | None, *,
                  clock: Clock = time.time, session_expiry_s: int | None = None,
                  subscriptions: list[tuple[str, int]] | None = None,
                  receive_maximum: int | None = None) -> LinkSettings:
    """Broker settings for one client; a named ``service`` gets a retained status and will."""
    m = config.mqtt
    now = clock()
    return LinkSettings.for_broker(
        m, client_id, session_expiry_s=session_expiry_s,
        status_topic=None if service is None else build(
            Kind.SERVICE_STATUS, root=m.topic_root, site=config.site.id, service=service),
        online_payload=encode(ServiceStatus(ts=now, online=True, version=__version__)),
        offline_payload=encode(ServiceStatus(ts=now, online=False, version=__version__)),
        subscriptions=tuple(subscriptions or ()),
        receive_maximum=receive_maximum,
    )


@dataclass(slots=True)
class Controller:
    """A wired controller: the service, its broker link and its journal."""

    service: ControllerService
    link: MqttLink
    journal: Journal

    def run(self, stop: threading.Event, connect_timeout: float = 10.0) -> None:
        """Restore, connect, and serve until ``stop`` is set; then shut down cleanly."""
        self.journal.prepare()
        self.service.restore()
        if not self.link.start(connect_timeout):
            log.warning("broker not reachable yet; retrying in the background")
        try:
            self.service.run(stop)
        finally:
            self.link.stop()
            self.journal.close()


def build_controller(config: WallboardConfig, *, state_dir: Path | None = None,
                     clock: Clock = time.time) -> Controller:
    """Wire the controller from config: core, journal, MQTT link with a persistent session."""
    core = FloorCore(config.floor_settings())
    calendar = core.model.calendar
    journal = Journal(state_dir or config.controller.state_dir,
                      lambda ts: calendar.day_of(ts).date)
    c = config.controller
    root, site = config.mqtt.topic_root, config.site.id
    link = MqttLink(link_settings(config, config.controller_client_id, controller_service(config),
                                  clock=clock, session_expiry_s=c.session_expiry_s,
                                  subscriptions=input_subscriptions(root, site)))
    service = ControllerService(
        core, link, root=root, site=site, clock=clock, journal=journal,
        pacing=Pacing(c.publish_min_interval_s, c.publish_max_interval_s))
    link.handler = service.handle
    return Controller(service, link, journal)


def build_kiosk_link(config: WallboardConfig, feed: Feed) -> tuple[MqttLink, SendCommand]:
    """The kiosk's broker link, feeding ``feed``, and the function that sends desk commands."""
    root, site, kiosk = config.mqtt.topic_root, config.site.id, config.kiosk
    link = MqttLink(link_settings(config, fit_id(f"wallboard-kiosk-{kiosk.id}"), None,
                                  subscriptions=kiosk_subscriptions(root, site, kiosk.audience)),
                    on_message=feed.handle)
    feed.link = LinkTracker(f"{config.mqtt.host}:{config.mqtt.port}", "kiosk", feed.clock)
    feed.link.attach(link)

    def send(desk: str, cmd: DeskCommand) -> None:
        link.publish(build(Kind.DESK_CMD, root=root, site=site, desk=desk), encode(cmd))

    return link, send


def build_simulator_link(config: WallboardConfig, name: str, *, clock: Clock = time.time,
                         subscriptions: list[tuple[str, int]] | None = None,
                         on_message: MessageHandler | None = None) -> MqttLink:
    """A simulator's publishing link (no service status): ``name`` tells runs apart."""
    return MqttLink(link_settings(config, fit_id(f"wallboard-simulator-{name}"), None,
                                  clock=clock, subscriptions=subscriptions),
                    on_message=on_message)


def build_watch_link(config: WallboardConfig, watcher: Watcher, name: str,
                     what: str = "watch") -> MqttLink:
    """The terminal view's link, feeding ``watcher``, which says why nothing arrives
    (``what`` names the view in that line) and shows the agents' names."""
    link = MqttLink(link_settings(config, fit_id(f"wallboard-watch-{name}"), None,
                                  clock=watcher.clock,
                                  subscriptions=watch_subscriptions(watcher.root, watcher.site)),
                    on_message=watcher.handle)
    watcher.link = LinkTracker(f"{config.mqtt.host}:{config.mqtt.port}", what)
    watcher.link.attach(link)
    watcher.names = {agent: info.name for agent, info in config.agents.items()}
    return link


def build_telephony_link(config: WallboardConfig, adapter_id: str, *,
                         clock: Clock = time.time) -> MqttLink:
    """A telephony adapter's publishing link, with the retained status its login may write."""
    return MqttLink(link_settings(
        config, fit_id(f"wallboard-telephony-{config.site.id}-{adapter_id}"),
        telephony_service(adapter_id), clock=clock))


@dataclass(slots=True)
class Recorder:
    """A wired recorder: the service, its broker link, its database and its spool."""

    service: RecorderService
    link: MqttLink
    database: InfluxHttp
    spool: Spool

    def run(self, stop: threading.Event, connect_timeout: float = 10.0) -> None:
        """Open the spool, connect, and record until ``stop`` is set; then shut down cleanly."""
        self.spool.open()  # a ConfigError here stops start-up before anything connects
        try:
            if not self.link.start(connect_timeout):
                log.warning("broker not reachable yet; retrying in the background")
            try:
                self.service.run(stop)
            finally:
                self.link.stop()
        finally:
            self.spool.close()
            self.database.close()


def recorder_subscriptions(root: str, share_group: str | None) -> list[tuple[str, int]]:
    """Every topic under the root, for every site; shared by the group if there is one."""
    topic = f"{root}/+/#"
    return [(f"$share/{share_group}/{topic}" if share_group else topic, 1)]


def build_recorder(config: WallboardConfig, *, clock: Clock = time.time) -> Recorder:
    """Wire the recorder from config: a persistent session with manual acknowledgement."""
    r = config.recorder
    root, site = config.mqtt.topic_root, config.site.id
    link = MqttLink(
        link_settings(config, config.recorder_client_id, recorder_service(config), clock=clock,
                      session_expiry_s=r.session_expiry_s, receive_maximum=r.receive_maximum,
                      subscriptions=recorder_subscriptions(root, r.share_group)),
        manual_ack=True)
    database = InfluxHttp.from_config(config.influx, timeout_s=r.write_timeout_s)
    spool = Spool(Spool.file_for(r.spool_dir, r.id))
    service = RecorderService(
        link, database, spool, root=root, site=site, recorder_id=r.id, clock=clock,
        settings=RecorderSettings(batch_lines=r.batch_lines, linger_s=r.linger_s,
                                  retry_s=r.retry_s, health_interval_s=r.health_interval_s))
    link.on_delivery = service.handle
    return Recorder(service, link, database, spool)
