"""The MQTT link's fast receive path: paho's client with some private members overridden.

Everything here leans on parts of paho-mqtt that are not its public API, so ``shape_problems``
checks, before the first link is built, that those parts still look as they did in the paho
versions this was tested with (pyproject.toml pins them). If anything differs, the link uses
stock paho instead (``wallboard/adapters/mqtt.py``); the tests run every link test both ways.
"""

from __future__ import annotations

import contextlib
import inspect
import struct
import threading
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.client import PUBACK
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

PlainHandler = Callable[[str, bytes, bool, int, int], None]  # topic, payload, retained, mid, qos


class BufferedSocket:
    """A socket that answers paho's many tiny reads from one large ``recv``.

    paho reads each packet a byte or a few at a time; reading 64 KiB at a time and reporting
    the buffered bytes through ``pending()`` (which paho already asks of TLS sockets, and
    then skips waiting in ``select``) removes most of those system calls.
    """

    def __init__(self, sock: Any) -> None:
        self.raw = sock  # what paho created: a TCP or TLS socket
        self._data = b""
        self._pos = 0
        # Bound once: paho calls these on every loop, and __getattr__ is slow.
        self.send = sock.send
        self.fileno = sock.fileno

    def recv(self, size: int) -> bytes:
        """Up to ``size`` bytes, from the buffer first."""
        if self._pos >= len(self._data):
            data = self.raw.recv(65_536)  # BlockingIOError and TLS wants reach paho as-is
            if not data:
                return b""
            self._data, self._pos = data, 0
        start = self._pos
        self._pos = start + size
        return self._data[start:start + size]

    def pending(self) -> int:
        """Bytes readable without waiting: ours, plus what TLS has decrypted."""
        inner = getattr(self.raw, "pending", None)
        return len(self._data) - self._pos + (inner() if inner is not None else 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


_MAX_READ_BATCH = 64  # packets handled before queued replies are written
_U16 = struct.Struct("!H")
_PUBACK = struct.Struct("!BBH")  # fixed header, remaining length 2, packet id


class FastClient(mqtt.Client):
    """paho's client, with a receive path about three times as fast at QoS 1.

    Stock paho handles one packet per pass of its loop, and every PUBACK it queues from its
    own thread also writes a wake-up byte to itself and costs another ``select``. Here one
    pass handles every packet already buffered (up to ``_MAX_READ_BATCH``), queues replies
    without the wake-up, and writes them all at the end of the pass. A plain PUBLISH skips
    paho's per-message objects (see ``_handle_publish``). Used only when ``shape_problems``
    finds nothing; tests/test_mqtt_link.py runs every test on this path and on stock paho.
    """

    _reading = False
    # Takes (topic, payload, retained, mid, qos) of a plain PUBLISH; None: paho's on_message.
    on_plain_publish: PlainHandler | None = None

    def _create_socket(self) -> Any:
        return BufferedSocket(super()._create_socket())

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """Handle the buffered packets, then write what they queued."""
        self._reading = True
        try:
            rc = super().loop_read(max_packets)
            handled = 1
            while (rc == MQTTErrorCode.MQTT_ERR_SUCCESS and handled < _MAX_READ_BATCH
                   and isinstance(self._sock, BufferedSocket) and self._sock.pending() > 0):
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
        sends anything on the new connection (paho's public setter refuses once connected).
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


# -- what FastClient needs of paho, as paho-mqtt 2.1 and 2.2 have it --------------------------

# Methods it overrides or calls, with their parameters after ``self``.
METHODS: dict[str, tuple[str, ...]] = {
    "_create_socket": (),
    "_handle_publish": (),
    "_packet_queue": ("command", "packet", "mid", "qos", "info"),
    "_send_puback": ("mid",),
    "loop_read": ("max_packets",),
    "loop_write": (),
    "want_write": (),
}
# Attributes paho's __init__ sets, which FastClient reads or writes.
ATTRIBUTES = ("_sock", "_thread", "_protocol", "_manual_ack", "_sockpairW",
              "_max_inflight_messages", "_in_packet", "_out_packet")
IN_PACKET_KEYS = ("command", "packet")  # read by _handle_publish
# An entry of paho's outgoing queue, as FastClient writes them itself.
OUT_PACKET_KEYS = frozenset({"command", "mid", "qos", "pos", "to_process", "packet", "info"})


def shape_problems(client_class: type[mqtt.Client]) -> list[str]:
    """What in ``client_class`` differs from what ``FastClient`` relies on; empty if nothing."""
    problems: list[str] = []
    for name, expected in METHODS.items():
        method = getattr(client_class, name, None)
        if not callable(method):
            problems.append(f"no method {name}")
            continue
        try:
            params = tuple(inspect.signature(method).parameters)[1:]  # after self
        except (TypeError, ValueError):
            problems.append(f"{name} has no readable signature")
            continue
        if params != expected:
            problems.append(f"{name}({', '.join(params)}) instead of "
                            f"{name}({', '.join(expected)})")
    try:
        problems += _instance_problems(client_class)
    except Exception as exc:  # whatever a changed paho raises, fall back rather than crash
        problems.append(f"probing a client failed: {exc!r}"[:200])
    return problems


def _instance_problems(client_class: type[mqtt.Client]) -> list[str]:
    """The attributes a fresh, unconnected client has, and the entry it queues for a PUBACK."""
    probe = client_class(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    missing = [name for name in ATTRIBUTES if not hasattr(probe, name)]
    if missing:
        return [f"no attribute {name}" for name in missing]
    problems: list[str] = []
    in_packet = probe._in_packet
    if not isinstance(in_packet, dict) or not all(k in in_packet for k in IN_PACKET_KEYS):
        problems.append(f"_in_packet is not a dict with {', '.join(IN_PACKET_KEYS)}")
    if not isinstance(probe._max_inflight_messages, int):
        problems.append("_max_inflight_messages is not an int")
    # Queued on a client that never connected: paho only appends it (no socket to write to).
    probe._packet_queue(PUBACK, _PUBACK.pack(PUBACK, 2, 1), 1, 1)
    queued = probe._out_packet[-1] if len(probe._out_packet) else None
    if not isinstance(queued, dict) or set(queued) != OUT_PACKET_KEYS:
        keys = sorted(queued) if isinstance(queued, dict) else type(queued).__name__
        problems.append(f"_packet_queue queues {keys} instead of {sorted(OUT_PACKET_KEYS)}")
    return problems
