"""The one MQTT connection type every Wallboard service uses (paho-mqtt 2.x, MQTT 5).

It sets a retained last will before connecting and publishes a retained "online" status on
every connect, re-subscribes on every connect (so retained state is delivered again), and
reconnects with backoff. A refused connection is logged and not treated as connected. The
message handler runs in paho's network thread: any exception it raises is logged and
counted here, never allowed to kill that thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import ssl
import struct
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt.client import PUBACK
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

if TYPE_CHECKING:
    from wallboard.config import MqttConfig

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes, bool], None]  # topic, payload, retained
DeliveryHandler = Callable[["Delivery"], None]  # with manual_ack: hand it to ack_all()
Hook = Callable[[], None]
FailHook = Callable[[str], None]  # why a connection attempt failed, in a few words
PublishedHook = Callable[[int], None]  # the mid the broker acknowledged
PlainHandler = Callable[[str, bytes, bool, int, int], None]  # topic, payload, retained, mid, qos


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


class _BufferedSocket:
    """A socket that answers paho's many tiny reads from one large ``recv``.

    paho reads each packet a byte or a few at a time; reading 64 KiB at a time and reporting
    the buffered bytes through ``pending()`` (which paho already asks of TLS sockets, and
    then skips waiting in ``select``) removes most of those system calls.
    """

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._data = b""
        self._pos = 0
        # Bound once: paho calls these on every loop, and __getattr__ is slow.
        self.send = sock.send
        self.fileno = sock.fileno

    def recv(self, size: int) -> bytes:
        """Up to ``size`` bytes, from the buffer first."""
        if self._pos >= len(self._data):
            data = self._sock.recv(65_536)  # BlockingIOError and TLS wants reach paho as-is
            if not data:
                return b""
            self._data, self._pos = data, 0
        start = self._pos
        self._pos = start + size
        return self._data[start:start + size]

    def pending(self) -> int:
        """Bytes readable without waiting: ours, plus what TLS has decrypted."""
        inner = getattr(self._sock, "pending", None)
        return len(self._data) - self._pos + (inner() if inner is not None else 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


_MAX_READ_BATCH = 64  # packets handled before queued replies are written
_U16 = struct.Struct("!H")
_PUBACK = struct.Struct("!BBH")  # fixed header, remaining length 2, packet id
MAX_INFLIGHT = 100  # our QoS 1 publishes awaiting PUBACK, unless the broker allows fewer


class _Client(mqtt.Client):
    """paho's client, with a receive path about three times as fast at QoS 1.

    Stock paho handles one packet per pass of its loop, and every PUBACK it queues from its
    own thread also writes a wake-up byte to itself and costs another ``select``. Here one
    pass handles every packet already buffered (up to ``_MAX_READ_BATCH``), queues replies
    without the wake-up, and writes them all at the end of the pass. A plain PUBLISH skips
    paho's per-message objects (see ``_handle_publish``). These override private parts of
    paho 2.x (pinned below 3 in pyproject.toml); tests/test_mqtt_link.py covers them.
    """

    _reading = False
    # Takes (topic, payload, retained, mid, qos) of a plain PUBLISH; None: paho's on_message.
    on_plain_publish: PlainHandler | None = None

    def _create_socket(self) -> Any:
        return _BufferedSocket(super()._create_socket())

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """Handle the buffered packets, then write what they queued."""
        self._reading = True
        try:
            rc = super().loop_read(max_packets)
            handled = 1
            while (rc == MQTTErrorCode.MQTT_ERR_SUCCESS and handled < _MAX_READ_BATCH
                   and isinstance(self._sock, _BufferedSocket) and self._sock.pending() > 0):
                rc = super().loop_read(max_packets)
                handled += 1
        finally:
            self._reading = False
        if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self.want_write():
            rc = self.loop_write()
        return rc

    def _handle_publish(self) -> MQTTErrorCode:
        """A QoS 0 or 1 PUBLISH without properties goes straight to ``on_plain_publish``.

        For each message paho builds a ``Properties`` object, an ``MQTTMessage`` with its own
        ``Condition``, and matches the topic against per-topic callbacks: half of what
        receiving costs. QoS 2, properties (a topic alias among them), an invalid topic and
        a malformed packet all take paho's own path, which handles or reports them.
        """
        handler = self.on_plain_publish
        command = self._in_packet["command"]
        qos = (command & 0x06) >> 1
        if handler is None or qos == 2 or self._protocol != mqtt.MQTTv5:
            return super()._handle_publish()
        packet = self._in_packet["packet"]
        try:
            (length,) = _U16.unpack_from(packet, 0)
            pos, mid = 2 + length, 0
            if qos:
                (mid,) = _U16.unpack_from(packet, pos)
                pos += 2
            if length == 0 or (qos and mid == 0) or packet[pos] != 0:
                return super()._handle_publish()
            topic = packet[2:2 + length].decode("utf-8")
        except (struct.error, IndexError, UnicodeDecodeError):
            return super()._handle_publish()
        handler(topic, bytes(packet[pos + 1:]), bool(command & 0x01), mid, qos)
        if qos == 1 and not self._manual_ack:
            return self._send_puback(mid)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _packet_queue(self, command: int, packet: bytes | bytearray, mid: int, qos: int,
                      info: mqtt.MQTTMessageInfo | None = None) -> MQTTErrorCode:
        if not (self._reading and threading.current_thread() is self._thread):
            return super()._packet_queue(command, packet, mid, qos, info)
        # Inside loop_read on paho's own thread: loop_read writes it before returning.
        self._out_packet.append({"command": command, "mid": mid, "qos": qos, "pos": 0,
                                 "to_process": len(packet), "packet": packet, "info": info})
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def limit_inflight(self, count: int) -> None:
        """Send at most ``count`` unacknowledged QoS 1 messages; the broker's limit.

        paho does not read the broker's MQTT 5 Receive Maximum, and Mosquitto (2.0.12 and
        later) drops a client that sends more than that. Set in on_connect, before paho
        sends anything on the new connection.
        """
        self._max_inflight_messages = count

    def queue_pubacks(self, mids: Sequence[int]) -> None:
        """Queue a PUBACK for each QoS 1 message id, as one write, and wake paho's thread once.

        ``ack`` from another thread wakes paho's thread for every message, and the two then
        trade the GIL thousands of times for one batch; paho also sends each queued packet
        with a system call of its own.
        """
        if not mids:
            return
        packet = b"".join([_PUBACK.pack(PUBACK, 2, mid) for mid in mids])
        self._out_packet.append({"command": PUBACK, "mid": mids[-1], "qos": 1, "pos": 0,
                                 "to_process": len(packet), "info": None, "packet": packet})
        if self._sockpairW is not None:
            with contextlib.suppress(BlockingIOError):
                self._sockpairW.send(b"0")


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
        client = _Client(CallbackAPIVersion.VERSION2, client_id=settings.client_id,
                             protocol=mqtt.MQTTv5, manual_ack=manual_ack)
        client.max_queued_messages_set(0)  # never drop our own publishes while reconnecting
        client.max_inflight_messages_set(MAX_INFLIGHT)
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
        client.on_plain_publish = self._plain
        client.on_publish = self._published
        self.client = client

    def start(self, timeout: float = 10.0) -> bool:
        """Connect and start the network thread; True once connected within ``timeout``.

        If the broker is down, paho keeps retrying in the background with backoff.
        """
        s = self.settings
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
            self.client.queue_pubacks(mids)
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
        if isinstance(client, _Client):
            client.limit_inflight(min(MAX_INFLIGHT, allowed) if allowed else MAX_INFLIGHT)
        sock = getattr(client.socket(), "_sock", None)
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
        """What ``_Client`` leaves to paho: QoS 2, and messages with properties."""
        try:
            topic = message.topic
        except UnicodeDecodeError:  # a broker should refuse such a topic; never crash on it
            self.handler_errors += 1
            log.error("mqtt: topic is not UTF-8: %r", message._topic[:200])
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
