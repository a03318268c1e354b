"""Prove the service fixtures run real brokers and databases."""

from __future__ import annotations

import queue
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import paho.mqtt.client as mqtt

# The public `from influxdb_client import Point` is not an explicit re-export for mypy.
from influxdb_client.client.write.point import Point
from paho.mqtt.enums import CallbackAPIVersion

from tests.live import require
from wallboard.devservices import Influxd, Mosquitto, wait_for


@contextmanager
def connected_client(broker: Mosquitto, name: str) -> Iterator[mqtt.Client]:
    """A paho 2.x client with its network loop running, connected to broker."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{name}-{uuid.uuid4().hex[:8]}")
    client.connect(broker.host, broker.port, keepalive=10)
    client.loop_start()
    try:
        wait_for(client.is_connected, what=f"{name} to connect")
        yield client
    finally:
        client.disconnect()
        client.loop_stop()


def subscribe(client: mqtt.Client, topic: str, qos: int = 1) -> queue.Queue[mqtt.MQTTMessage]:
    """Subscribe and wait for the SUBACK, so later publishes cannot race the subscription."""
    inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
    acked = threading.Event()
    client.on_message = lambda _c, _u, message: inbox.put(message)
    client.on_subscribe = lambda *_args: acked.set()
    client.subscribe(topic, qos=qos)
    assert acked.wait(5.0), f"no SUBACK for {topic}"
    return inbox


def publish(client: mqtt.Client, topic: str, payload: bytes, retain: bool = False) -> None:
    """Publish at QoS 1 and wait until the broker has acknowledged it."""
    info = client.publish(topic, payload, qos=1, retain=retain)
    info.wait_for_publish(timeout=5.0)
    assert info.is_published(), f"publish to {topic} not acknowledged"


def test_qos1_message_reaches_subscriber(mosquitto: Mosquitto) -> None:
    with connected_client(mosquitto, "sub") as sub, connected_client(mosquitto, "pub") as pub:
        inbox = subscribe(sub, "wallboard/test/qos1")
        publish(pub, "wallboard/test/qos1", b"hello")
        message = inbox.get(timeout=5.0)
    assert (message.topic, message.payload, message.qos) == ("wallboard/test/qos1", b"hello", 1)
    assert not message.retain


def test_retained_message_reaches_later_subscriber(mosquitto: Mosquitto) -> None:
    with connected_client(mosquitto, "pub") as pub:
        publish(pub, "wallboard/test/retained", b"state-1", retain=True)
    with connected_client(mosquitto, "late") as late:
        message = subscribe(late, "wallboard/test/retained").get(timeout=5.0)
    assert (message.payload, message.retain) == (b"state-1", True)


def test_retained_message_survives_broker_restart(mosquitto: Mosquitto) -> None:
    port = mosquitto.port
    with connected_client(mosquitto, "pub") as pub:
        publish(pub, "wallboard/test/persist", b"kept", retain=True)
    mosquitto.restart()
    assert mosquitto.port == port
    assert (mosquitto.data_dir / "mosquitto.db").is_file()
    with connected_client(mosquitto, "after") as after:
        message = subscribe(after, "wallboard/test/persist").get(timeout=5.0)
    assert (message.payload, message.retain) == (b"kept", True)


def test_mosquitto_cli_tools(mosquitto: Mosquitto) -> None:
    pub_bin = require("mosquitto_pub", "mosquitto-clients")
    sub_bin = require("mosquitto_sub", "mosquitto-clients")
    target = f"-h {mosquitto.host} -p {mosquitto.port} -t wallboard/test/cli".split()
    # Retained, so the subscriber gets it however late it subscribes.
    subprocess.run([pub_bin, *target, "-m", "from-cli", "-q", "1", "-r"], check=True, timeout=10)
    result = subprocess.run(
        [sub_bin, *target, "-C", "1", "-W", "5", "-v"],
        check=True,
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.stdout.strip() == "wallboard/test/cli from-cli"


# influxdb-client's Point is unannotated, so strict mypy flags calls into it.
_CALL = Point("call").tag("queue", "sales")  # type: ignore[no-untyped-call]
CALL_LINE: str = (
    _CALL.field("wait_s", 12.5).time(1700000000, write_precision="s").to_line_protocol()
)


def test_influx_write_and_query(influxd: Influxd, influx_db: str) -> None:
    influxd.write(influx_db, CALL_LINE, precision="s")
    series = influxd.query("SELECT * FROM call", db=influx_db)["results"][0]["series"]
    assert len(series) == 1
    assert series[0]["name"] == "call"
    rows = [dict(zip(series[0]["columns"], values, strict=True)) for values in series[0]["values"]]
    assert len(rows) == 1
    assert rows[0]["queue"] == "sales"
    assert rows[0]["wait_s"] == 12.5
    when = datetime.fromisoformat(rows[0]["time"].replace("Z", "+00:00"))
    assert when == datetime.fromtimestamp(1700000000, tz=UTC)


def test_influx_same_point_twice_is_one_point(influxd: Influxd, influx_db: str) -> None:
    influxd.write(influx_db, CALL_LINE)
    influxd.write(influx_db, CALL_LINE.encode())
    result = influxd.query("SELECT COUNT(wait_s) FROM call", db=influx_db)
    assert result["results"][0]["series"][0]["values"][0][1] == 1


def test_influx_db_fixture_is_created_and_isolated(influxd: Influxd, influx_db: str) -> None:
    databases = influxd.query("SHOW DATABASES")["results"][0]["series"][0]["values"]
    assert [influx_db] in databases
    assert influxd.query("SHOW MEASUREMENTS", db=influx_db)["results"][0] == {"statement_id": 0}
