"""The one MQTT connection type every Wallboard service uses (paho-mqtt 2.x, MQTT 5).

It sets a retained last will before connecting and publishes a retained "online" status on
every connect, re-subscribes on every connect (so retained state is delivered again), and
reconnects with backoff. A refused connection is logged and not treated as connected. The
message handler runs in paho's network thread: any exception it raises is logged and
counted here, never allowed to kill that thread.

Receiving runs on one of two paths that behave alike: the fast path
(``wallboard/adapters/mqtt_fast.py``, which overrides private parts of paho) when the installed
paho still has the shape it was tested with, or stock paho. ``WALLBOARD_MQTT_FAST=0`` chooses
stock paho.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from wallboard.adapters.mqtt_fast import BufferedSocket, FastClient, shape_problems

if TYPE_CHECKING:
    from wallboard.config import MqttConfig

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes, bool], None]  # topic, payload, retained
DeliveryHandler = Callable[["Delivery"], None]  # with manual_ack: hand it to ack_all()
Hook = Callable[[], None]
FailHook = Callable[[str], None]  # why a connection attempt failed, in a few words
PublishedHook = Callable[[int], None]  # the mid the broker acknowledged

FAST_ENV = "WALLBOARD_MQTT_FAST"  # 0 (or false, no, off): stock paho; unset or 1: fast if it fits
MAX_INFLIGHT = 100  # our QoS 1 publishes awaiting PUBACK, unless the broker allows fewer
# Stock paho cannot lower its in-flight limit on a live connection, so on that path it
# starts at Mosquitto's default Receive Maximum (the site config's max_inflight_messages).
STOCK_INFLIGHT = 20


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """How to reach the broker, and who this client is."""

    host: str
    port: int
    client_id: str
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    # None: a clean session. A number: resume the session, which the broker keeps (and
    # queues QoS 1 messages for) this many seconds after a disconnect.
    session_expiry_s: int | None = None
    status_topic: str | None = None  # retained; payloads below
    online_payload: bytes = b""
    offline_payload: bytes = b""
    keepalive_s: int = 30
    # MQTT 5 Receive Maximum: how many QoS 1 messages the broker sends before we acknowledge
    # any. None leaves the protocol's default (65,535).
    receive_maximum: int | None = None
    subscriptions: Sequence[tuple[str, int]] = field(default_factory=tuple)

    @classmethod
    def for_broker(cls, mqtt_config: MqttConfig, client_id: str, **rest: Any) -> LinkSettings:
        """Settings for the broker in a config's ``[mqtt]``; the password from its env var."""
        m = mqtt_config
        return cls(host=m.host, port=m.port, client_id=client_id, username=m.username,
                   password=password_from_env(m.password_env), tls=m.tls,
                   ca_file=str(m.ca_file) if m.ca_file else None, **rest)


@dataclass(slots=True)  # not frozen: one per message, and a frozen __init__ costs 3x
class Delivery:
    """A message received with manual acknowledgement; ``MqttLink.ack_all`` takes it back."""

    topic: str
    payload: bytes
    retained: bool
    mid: int
    qos: int
    connection: int  # which connection it came on: only that one may acknowledge it


def fast_path_wanted(env: Mapping[str, str] = os.environ) -> bool:
    """False if ``WALLBOARD_MQTT_FAST`` asks for stock paho."""
    return env.get(FAST_ENV, "").strip().lower() not in {"0", "false", "no", "off"}


@functools.cache
def fast_path_fits(client_class: type[mqtt.Client]) -> bool:
    """Whether paho's ``client_class`` has what the fast path needs; warns once if not."""
    problems = shape_problems(client_class)
    if problems:
        log.warning("mqtt: paho-mqtt %s differs from what the fast receive path was tested "
                    "with (%s): using stock paho", _paho_version(), "; ".join(problems))
    return not problems


def _paho_version() -> str:
    """The installed paho-mqtt's version, for log lines."""
    try:
        return metadata.version("paho-mqtt")
    except metadata.PackageNotFoundError:
        return "(unknown version)"


@functools.cache
def _announce(path: str) -> None:
    """Log which receive path this process connects with, once per path."""
    log.info("mqtt: paho-mqtt %s, %s receive path", _paho_version(), path)


class MqttLink:
    """A connected paho client running its network loop in a background thread."""

    def __init__(self, settings: LinkSettings, on_message: MessageHandler | None = None,
                 manual_ack: bool = False) -> None:
        self.settings = settings
        self.connected = threading.Event()
        self._stopping = False
        self.handler_errors = 0
        self.handler = on_message  # may be set after construction, before start()
        # With manual_ack, messages go here instead, to be acknowledged once stored.
        self.on_delivery: DeliveryHandler | None = None
        self._connection = 0  # counts disconnects; see ack_all()
        self._ack_lock = threading.Lock()
        # Optional hooks, run in paho's thread like the handler (keep them short):
        self.on_connected: Hook | None = None  # after subscribing and the online status
        self.on_disconnected: Hook | None = None
        self.on_connect_failed: FailHook | None = None  # refused, unreachable, unresolved...
        self.on_published: PublishedHook | None = None  # a QoS 1 publish was acknowledged
        # Which receive path: checked when the first link is built, then the same for all.
        self.fast = fast_path_wanted() and fast_path_fits(mqtt.Client)
        client = (FastClient if self.fast else mqtt.Client)(
            CallbackAPIVersion.VERSION2, client_id=settings.client_id, protocol=mqtt.MQTTv5,
            manual_ack=manual_ack)
        client.max_queued_messages_set(0)  # never drop our own publishes while reconnecting
        client.max_inflight_messages_set(MAX_INFLIGHT if self.fast else STOCK_INFLIGHT)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        if settings.username is not None:
            client.username_pw_set(settings.username, settings.password)
        if settings.tls:
            client.tls_set(ca_certs=settings.ca_file, cert_reqs=ssl.CERT_REQUIRED)
        if settings.status_topic is not None:
            client.will_set(settings.status_topic, settings.offline_payload, qos=1, retain=True)
        client.on_connect = self._connected
        client.on_disconnect = self._disconnected
        client.on_connect_fail = self._connect_failed
        client.on_message = self._message
        if isinstance(client, FastClient):
            client.on_plain_publish = self._plain
        client.on_publish = self._published
        self.client = client

    def start(self, timeout: float = 10.0) -> bool:
        """Connect and start the network thread; True once connected within ``timeout``.

        If the broker is down, paho keeps retrying in the background with backoff.
        """
        s = self.settings
        _announce("fast" if self.fast else "stock paho")
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho
        clean = s.session_expiry_s is None
        if not clean:
            props.SessionExpiryInterval = s.session_expiry_s
        if s.receive_maximum is not None:
            props.ReceiveMaximum = s.receive_maximum
        try:
            self.client.connect_async(s.host, s.port, s.keepalive_s, clean_start=clean,
                                      properties=props)
        except (OSError, ValueError) as exc:
            log.error("mqtt %s:%s: cannot connect: %s", s.host, s.port, exc)
            self._run_fail_hook(failure_reason(exc))
            return False
        self.client.loop_start()
        return self.connected.wait(timeout)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False, qos: int = 1
                ) -> mqtt.MQTTMessageInfo:
        """Queue a message; paho sends it now, or after reconnecting."""
        return self.client.publish(topic, payload, qos=qos, retain=retain)

    def ack_all(self, deliveries: Sequence[Delivery]) -> int:
        """Acknowledge stored messages (``manual_ack=True``), in order; return how many.

        Packet ids belong to one connection. After a reconnect the broker sends unacknowledged
        messages again and may reuse their ids for others, so acknowledging an old delivery
        could acknowledge a message nobody has stored. Those are skipped: their second copy
        is acknowledged instead, when it is stored. QoS 0 messages need no acknowledgement.
        """
        with self._ack_lock:
            mids = [d.mid for d in deliveries if d.connection == self._connection and d.qos == 1]
            client = self.client
            if isinstance(client, FastClient):
                client.queue_pubacks(mids)
            else:
                for mid in mids:
                    client.ack(mid, 1)
            return len(mids)

    def stop(self, timeout: float = 5.0) -> None:
        """Publish the retained offline status, then disconnect cleanly and stop the thread."""
        s = self.settings
        self._stopping = True
        if s.status_topic is not None and self.connected.is_set():
            info = self.client.publish(s.status_topic, s.offline_payload, qos=1, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError):
                log.warning("mqtt: offline status not confirmed before disconnect")
        self.client.disconnect()
        self.client.loop_stop()
        self.connected.clear()

    # -- paho callbacks (network thread) ---------------------------------------------------

    def _connected(self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags,
                   reason: Any, properties: Properties | None) -> None:
        s = self.settings
        if reason.is_failure:
            log.error("mqtt %s:%s refused the connection: %s", s.host, s.port, reason)
            self._run_fail_hook(refusal_reason(reason))
            return
        log.info("mqtt connected to %s:%s as %s (session %s)", s.host, s.port, s.client_id,
                 "resumed" if flags.session_present else "new")
        allowed = getattr(properties, "ReceiveMaximum", None)
        if isinstance(client, FastClient):
            client.limit_inflight(min(MAX_INFLIGHT, allowed) if allowed else MAX_INFLIGHT)
        elif allowed and allowed < client.max_inflight_messages:
            log.warning("mqtt %s:%s allows %s unacknowledged publishes, fewer than stock paho's "
                        "%s: raise max_inflight_messages on the broker", s.host, s.port, allowed,
                        client.max_inflight_messages)
        sock = client.socket()
        if isinstance(sock, BufferedSocket):
            sock = sock.raw
        if isinstance(sock, socket.socket):  # ssl.SSLSocket is one too
            # A PUBACK then a publish are two small writes: with Nagle on, the second waits
            # for the broker's delayed ACK (tens of ms), which a help request cannot afford.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if s.subscriptions:
            client.subscribe(list(s.subscriptions))
        if s.status_topic is not None:
            client.publish(s.status_topic, s.online_payload, qos=1, retain=True)
        self.connected.set()
        self._run_hook(self.on_connected)

    def _disconnected(self, client: mqtt.Client, userdata: Any, flags: mqtt.DisconnectFlags,
                      reason: Any, properties: Properties | None) -> None:
        with self._ack_lock:  # before paho reconnects: see ack_all()
            self._connection += 1
        if self.connected.is_set() and not self._stopping:
            log.warning("mqtt disconnected: %s; reconnecting", reason)
        was_connected = self.connected.is_set()
        self.connected.clear()
        if was_connected:
            self._run_hook(self.on_disconnected)

    def _connect_failed(self, client: mqtt.Client, userdata: Any) -> None:
        # paho calls this inside its ``except OSError``: the exception is the reason.
        self._run_fail_hook(failure_reason(sys.exc_info()[1]))

    def _run_fail_hook(self, reason: str) -> None:
        hook = self.on_connect_failed
        if hook is None:
            return
        try:
            hook(reason)
        except Exception:  # as for handlers: never let it stop the network thread
            self.handler_errors += 1
            log.exception("mqtt: connect-failure hook failed")

    def _published(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any,
                   properties: Properties | None) -> None:
        hook = self.on_published
        if hook is not None:
            try:
                hook(mid)
            except Exception:
                self.handler_errors += 1
                log.exception("mqtt: publish hook failed for mid %s", mid)

    def _run_hook(self, hook: Hook | None) -> None:
        if hook is None:
            return
        try:
            hook()
        except Exception:  # as for handlers: never let it stop the network thread
            self.handler_errors += 1
            log.exception("mqtt: connection hook failed")

    def _message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        """Every message on stock paho; on the fast path QoS 2 and those with properties."""
        try:
            topic = message.topic
        except UnicodeDecodeError as exc:  # a broker should refuse such a topic; never crash
            self.handler_errors += 1
            log.error("mqtt: topic is not UTF-8: %r", exc.object[:200])
            return
        self._plain(topic, bytes(message.payload), bool(message.retain), message.mid,
                    message.qos)

    def _plain(self, topic: str, payload: bytes, retained: bool, mid: int, qos: int) -> None:
        try:
            if self.on_delivery is not None:
                self.on_delivery(Delivery(topic, payload, retained, mid, qos, self._connection))
            elif self.handler is not None:
                self.handler(topic, payload, retained)
        except Exception:  # a bug in a handler must not stop the network thread
            self.handler_errors += 1
            log.exception("mqtt: handler failed on %s (payload %r)", topic[:200], payload[:120])


def failure_reason(exc: BaseException | None) -> str:
    """A failed connection attempt in a few words a screen can show."""
    if isinstance(exc, socket.gaierror):
        return "name not resolved"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "TLS certificate not trusted"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}".lower()
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc).lower() if exc is not None else "unknown error"


def refusal_reason(reason: Any) -> str:
    """The broker's refusal (a CONNACK reason code) in a few words."""
    text = str(reason).lower()
    if "authori" in text:
        return "not authorised"
    return f"refused: {text}"


def password_from_env(name: str) -> str | None:
    """The secret held in environment variable ``name``, if it is set."""
    return os.environ.get(name) or None
