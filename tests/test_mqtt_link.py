"""The MQTT link on a real broker: buffered reads keep every message, in order, and a
handler that raises never stops the network thread."""

from __future__ import annotations

import threading

from tests.live import Recorder
from wallboard.adapters.mqtt import LinkSettings, MqttLink
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
