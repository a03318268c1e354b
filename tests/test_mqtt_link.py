"""The MQTT link on a real broker: buffered reads keep every message, in order, and a
handler that raises never stops the network thread; manual acknowledgements stay with
their connection; plain messages and those paho handles itself arrive alike."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.live import Recorder
from wallboard.adapters.mqtt import Delivery, LinkSettings, MqttLink
from wallboard.devservices import wait_for


def test_thousands_of_small_messages_arrive_complete_and_in_order(mosquitto):
    got: list[bytes] = []
    lock = threading.Lock()

    def handler(topic: str, payload: bytes, retained: bool) -> None:
        if payload == b"boom":
            raise RuntimeError("a handler bug")
        with lock:
            got.append(payload)

    link = MqttLink(LinkSettings(mosquitto.host, mosquitto.port, "link-test",
                                 subscriptions=[("t/#", 1)]), on_message=handler)
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
        mosquitto):
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
        mosquitto):
    deliveries: list[Delivery] = []
    lock = threading.Lock()

    def keep(delivery: Delivery) -> None:
        with lock:
            deliveries.append(delivery)

    link = MqttLink(LinkSettings(mosquitto.host, mosquitto.port, "manual-acker",
                                 session_expiry_s=600, subscriptions=(("t/#", 1),)),
                    manual_ack=True)
    link.on_delivery = keep
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


def test_every_kind_of_publish_arrives_intact_by_the_fast_path_or_paho_s_own(mosquitto):
    # Plain QoS 0 and 1 messages skip paho's message objects; QoS 2 and messages with
    # properties take paho's own path. Each must arrive whole either way.
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
    paho_path = link.client.on_message
    assert paho_path is not None

    def through_paho(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        by_paho.append(message.topic)
        paho_path(client, userdata, message)

    link.client.on_message = through_paho
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
    assert sorted(by_paho) == ["k/props", "k/two"]
    assert link.handler_errors == 0
    sender.disconnect()
    sender.loop_stop()
    link.stop()
