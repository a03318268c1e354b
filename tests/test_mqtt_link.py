"""The MQTT link on a real broker: buffered reads keep every message, in order, and a
handler that raises never stops the network thread; manual acknowledgements stay with
their connection; plain messages and those paho handles itself arrive alike. Every test
that connects runs twice (``paho_path``): on the fast receive path and on stock paho."""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.live import Recorder
from wallboard.adapters.mqtt import Delivery, LinkSettings, MqttLink, fast_path_wanted
from wallboard.adapters.mqtt_fast import BufferedSocket, FastClient, shape_problems
from wallboard.devservices import wait_for


def test_thousands_of_small_messages_arrive_complete_and_in_order(mosquitto, paho_path):
    got: list[bytes] = []
    lock = threading.Lock()

    def handler(topic: str, payload: bytes, retained: bool) -> None:
        if payload == b"boom":
            raise RuntimeError("a handler bug")
        with lock:
            got.append(payload)

    link = MqttLink(LinkSettings(mosquitto.host, mosquitto.port, "link-test",
                                 subscriptions=[("t/#", 1)]), on_message=handler)
    assert link.fast is (paho_path == "fast")
    assert link.start(10)
    sender = Recorder(mosquitto, "nothing/#")
    sent = [f"m{i:05d}".encode() * (1 + i % 40) for i in range(5000)]  # sizes straddle reads
    sender.publish("t/a", b"boom")
    for payload in sent:
        sender.client.publish("t/a", payload, qos=1)
    sender.publish("t/a", b"end")
    wait_for(lambda: got and got[-1] == b"end", 30, what="the last message")
    assert got[:-1] == sent
    assert link.handler_errors == 1
    sender.close()
    link.stop()


def test_replies_published_from_the_handler_go_out_and_every_message_is_acknowledged(
        mosquitto, paho_path):
    # The handler publishes from paho's own thread, which queues without waking the loop:
    # the replies must still go out, and every PUBACK too, or the broker would send the
    # unacknowledged messages again when the session resumes.
    settings = LinkSettings(mosquitto.host, mosquitto.port, "link-acks", session_expiry_s=300,
                            subscriptions=[("in/#", 1)])
    received: list[bytes] = []
    link = MqttLink(settings)

    def reply(topic: str, payload: bytes, retained: bool) -> None:
        received.append(payload)
        link.publish("out/" + topic.split("/", 1)[1], payload)

    link.handler = reply
    assert link.fast is (paho_path == "fast")
    assert link.start(10)
    watcher = Recorder(mosquitto, "out/#")
    sender = Recorder(mosquitto, "nothing/#")
    sent = [f"{i:04d}".encode() for i in range(2000)]
    for payload in sent:
        sender.client.publish("in/a", payload, qos=1)
    wait_for(lambda: len(watcher.on("out/a")) == len(sent), 30, what="every reply")
    assert watcher.on("out/a") == sent
    link.stop()

    again: list[bytes] = []
    resumed = MqttLink(settings, on_message=lambda t, p, r: again.append(p))
    assert resumed.start(10)
    sender.publish("in/a", b"after")  # QoS 1: arrives after anything the broker re-sends
    wait_for(lambda: b"after" in again, 10, what="the message sent after resuming")
    assert again == [b"after"], "messages delivered before the restart were not acknowledged"
    assert received == sent
    resumed.stop()
    sender.close()
    watcher.close()


def test_manual_acks_skip_deliveries_of_an_old_connection_and_the_broker_sends_them_again(
        mosquitto, paho_path):
    deliveries: list[Delivery] = []
    lock = threading.Lock()

    def keep(delivery: Delivery) -> None:
        with lock:
            deliveries.append(delivery)

    link = MqttLink(LinkSettings(mosquitto.host, mosquitto.port, "manual-acker",
                                 session_expiry_s=600, subscriptions=(("t/#", 1),)),
                    manual_ack=True)
    link.on_delivery = keep
    assert link.fast is (paho_path == "fast")
    assert link.start()
    sender = Recorder(mosquitto, "nothing/#")
    for i in range(5):
        sender.publish(f"t/{i}", f"m{i}".encode())
    wait_for(lambda: len(deliveries) == 5, 5, what="five deliveries")
    first = list(deliveries)
    mosquitto.restart()  # nothing was acknowledged: the session keeps all five in flight
    wait_for(lambda: len(deliveries) == 10, 15, what="the five again after the reconnect")
    assert link.ack_all(first) == 0  # their packet ids belong to the old connection
    again = deliveries[5:]
    assert sorted(d.payload for d in again) == [f"m{i}".encode() for i in range(5)]
    assert link.ack_all(again) == 5
    wait_for(lambda: not link.client.want_write(), 5, what="the PUBACKs to go out")
    time.sleep(0.5)
    mosquitto.restart()
    wait_for(link.connected.is_set, 15, what="the link to reconnect")
    time.sleep(1.0)
    assert len(deliveries) == 10, "acknowledged messages came back"
    sender.close()
    link.stop()


def test_every_kind_of_publish_arrives_intact_by_the_fast_path_or_paho_s_own(
        mosquitto, paho_path):
    # On the fast path plain QoS 0 and 1 messages skip paho's message objects; QoS 2 and
    # messages with properties take paho's own path. Each must arrive whole either way.
    sender = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="link-kinds-sender",
                         protocol=mqtt.MQTTv5)
    sender.connect(mosquitto.host, mosquitto.port)
    sender.loop_start()
    sender.publish("k/retained", b"kept", qos=1, retain=True).wait_for_publish(5)

    got: list[tuple[str, bytes, bool]] = []
    link = MqttLink(LinkSettings(mosquitto.host, mosquitto.port, "link-kinds",
                                 subscriptions=[("k/#", 2)]),
                    on_message=lambda t, p, r: got.append((t, p, r)))
    by_paho: list[str] = []
    paho_s_own = link.client.on_message
    assert paho_s_own is not None

    def through_paho(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        by_paho.append(message.topic)
        paho_s_own(client, userdata, message)

    link.client.on_message = through_paho
    assert link.fast is (paho_path == "fast")
    assert link.start(10)
    wait_for(lambda: got, 10, what="the retained message")
    with_properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    with_properties.UserProperty = ("source", "test")
    with_properties.MessageExpiryInterval = 60
    big = bytes(range(256)) * 400  # 100 KiB: a remaining length of three bytes
    sent = [("k/zero", b"q0", 0, None), ("k/one", b"q1", 1, None), ("k/two", b"q2", 2, None),
            ("k/props", b"p", 1, with_properties), ("k/caf\u00e9/\u00fc", b"utf8", 1, None),
            ("k/empty", b"", 1, None), ("k/big", big, 1, None)]
    for topic, payload, qos, props in sent:
        sender.publish(topic, payload, qos=qos, properties=props).wait_for_publish(5)
    wait_for(lambda: len(got) == len(sent) + 1, 10, what="every message")
    assert sorted(got) == sorted([("k/retained", b"kept", True),
                                  *[(t, p, False) for t, p, _, _ in sent]])
    if link.fast:
        assert sorted(by_paho) == ["k/props", "k/two"]
    else:
        assert sorted(by_paho) == sorted(t for t, _, _ in got)
    assert link.handler_errors == 0
    sender.disconnect()
    sender.loop_stop()
    link.stop()


def test_a_burst_of_publishes_goes_out_whole_and_in_order(mosquitto, paho_path):
    # Each path has its own limit on unacknowledged publishes (the broker's Receive Maximum
    # on the fast path, 20 on stock paho): a burst far beyond it must stall, never drop.
    watcher = Recorder(mosquitto, "burst/#")
    dropped: list[str] = []
    link = MqttLink(LinkSettings(mosquitto.host, mosquitto.port, "link-burst"))
    link.on_disconnected = lambda: dropped.append("disconnected")
    assert link.fast is (paho_path == "fast")
    assert link.start(10)
    sent = [f"{i:05d}".encode() for i in range(3000)]
    for payload in sent:
        link.publish("burst/a", payload)
    wait_for(lambda: len(watcher.on("burst/a")) >= len(sent), 30, what="the whole burst")
    assert watcher.on("burst/a") == sent
    assert dropped == []
    link.stop()
    watcher.close()


def test_nagle_is_off_on_the_link_s_socket(mosquitto, paho_path):
    link = MqttLink(LinkSettings(mosquitto.host, mosquitto.port, "link-nodelay"))
    assert link.start(10)
    sock: Any = link.client.socket()
    assert isinstance(sock, BufferedSocket) is (paho_path == "fast")
    raw = sock.raw if isinstance(sock, BufferedSocket) else sock
    assert raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    link.stop()


@pytest.mark.parametrize(("value", "fast"), [
    (None, True), ("", True), ("1", True), ("yes", True),
    ("0", False), ("false", False), (" OFF ", False), ("no", False),
])
def test_wallboard_mqtt_fast_chooses_the_path(value, fast):
    env = {} if value is None else {"WALLBOARD_MQTT_FAST": value}
    assert fast_path_wanted(env) is fast


def test_the_installed_paho_has_the_shape_the_fast_path_was_tested_with():
    # Fails when a paho release changes what the fast path overrides: the services would
    # still run (on stock paho, with a warning), but the pin in pyproject.toml is wrong.
    assert shape_problems(mqtt.Client) == []


# paho clients changed in one way each, as a new release might change them.

class NoHandlePublish(mqtt.Client):
    _handle_publish = None  # type: ignore[assignment]


class QueueTakesAnotherArgument(mqtt.Client):
    # Still works as a client (paho never passes ``wake``): the link can run on it.
    def _packet_queue(self, command, packet, mid, qos, info=None, *, wake=True):
        return super()._packet_queue(command, packet, mid, qos, info)


class SocketTakesATimeout(mqtt.Client):
    def _create_socket(self, timeout=None):
        return super()._create_socket()


class NoManualAck(mqtt.Client):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self._manual_ack


class InPacketRenamed(mqtt.Client):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._in_packet = {"command": 0, "payload": bytearray()}  # type: ignore[typeddict-item]


class QueueOfTuples(mqtt.Client):
    def _packet_queue(self, command, packet, mid, qos, info=None):
        self._out_packet.append((command, packet, mid, qos, info))  # type: ignore[arg-type]
        return MQTTErrorCode.MQTT_ERR_SUCCESS


@pytest.mark.parametrize(("changed", "named"), [
    (NoHandlePublish, "no method _handle_publish"),
    (QueueTakesAnotherArgument, "_packet_queue(command, packet, mid, qos, info, wake)"),
    (SocketTakesATimeout, "_create_socket(timeout) instead of _create_socket()"),
    (NoManualAck, "no attribute _manual_ack"),
    (InPacketRenamed, "_in_packet is not a dict with command, packet"),
    (QueueOfTuples, "_packet_queue queues tuple"),
], ids=lambda v: v.__name__ if isinstance(v, type) else "")
def test_a_changed_paho_gets_stock_paho_and_one_warning_naming_the_change(
        monkeypatch, caplog, changed, named):
    monkeypatch.delenv("WALLBOARD_MQTT_FAST", raising=False)
    monkeypatch.setattr(mqtt, "Client", changed)  # what the link finds as paho's client
    with caplog.at_level(logging.WARNING, logger="wallboard.adapters.mqtt"):
        links = [MqttLink(LinkSettings("localhost", 1883, f"changed-{i}")) for i in range(3)]
    assert all(type(link.client) is changed and not link.fast for link in links)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert named in warnings[0] and "using stock paho" in warnings[0]


def test_a_link_on_the_fallback_works_and_forcing_stock_paho_skips_the_check(
        mosquitto, monkeypatch, caplog):
    monkeypatch.delenv("WALLBOARD_MQTT_FAST", raising=False)
    monkeypatch.setattr(mqtt, "Client", QueueTakesAnotherArgument)
    got: list[bytes] = []
    link = MqttLink(LinkSettings(mosquitto.host, mosquitto.port, "fallback",
                                 subscriptions=[("f/#", 1)]), on_message=lambda t, p, r:
                    got.append(p))
    assert not link.fast and not isinstance(link.client, FastClient)
    assert link.start(10)
    for i in range(50):
        link.publish("f/x", b"%d" % i)
    wait_for(lambda: len(got) == 50, 10, what="the link's own messages")
    assert got == [b"%d" % i for i in range(50)]
    link.stop()

    caplog.clear()
    monkeypatch.setenv("WALLBOARD_MQTT_FAST", "0")
    monkeypatch.setattr(mqtt, "Client", NoHandlePublish)  # not checked, so no warning
    with caplog.at_level(logging.WARNING, logger="wallboard.adapters.mqtt"):
        forced = MqttLink(LinkSettings(mosquitto.host, mosquitto.port, "forced"))
    assert type(forced.client) is NoHandlePublish and not forced.fast
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
