"""The desk unit on mock pins and a real mosquitto: press-to-help and ack-to-amber latency.

The unit is built by the same ``build_desk`` that runs on a Pi, with gpiozero's
``MockFactory`` for the pins, and runs in this process; the broker is a private mosquitto on
loopback. Each of ``--samples`` rounds:

- presses the button (the mock pin goes low, then high 20 ms later: a press counts on
  release) and times from the release until another client receives the ``help`` message
  in state ``requested``;
- publishes ``ack`` for that request on the desk's ``cmd`` topic and times from just before
  the publish until the amber pin goes high (the pin's own change log, so no polling delay);
- presses again to resolve, so the next round starts idle.

Reference, measured in the same run because these machines are noisy: the broker round trip,
a QoS 1 publish from the observing client to a topic it subscribes to. Target: p99 ≤ 50 ms
for each. Run with ``make bench``; ``--write docs/benchmarks.md`` records the result.
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from doc_section import replace_section
from gpiozero.pins.mock import MockFactory
from paho.mqtt.enums import CallbackAPIVersion

from wallboard.devservices import Mosquitto, wait_for
from wallboard.topics import DEFAULT_ROOT
from wallboard_desk.bootstrap import build_desk
from wallboard_desk.config import parse_desk_config
from wallboard_desk.desk import Request

BEGIN, END = "<!-- desk_latency:begin -->", "<!-- desk_latency:end -->"
TARGET_MS = 50.0
SITE, DESK = "bench", "d1"
BASE = f"{DEFAULT_ROOT}/{SITE}/desk/{DESK}"
PRESS_S = 0.02
GAP_S = 0.06  # between presses: longer than the unit's 50 ms debounce


class Observer:
    """A plain paho client with Nagle off that timestamps what it receives."""

    def __init__(self, broker: Mosquitto) -> None:
        self.arrived: dict[tuple[str, str], float] = {}
        self.lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="desk-bench-observer")
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_connect = lambda c, *a: c.socket().setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.client.subscribe([(f"{BASE}/help", 1), ("bench/echo", 1)])
        if not subscribed.wait(5):
            raise RuntimeError("the observer's subscription was not acknowledged")

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        now = time.perf_counter()
        if msg.topic == "bench/echo":
            key = ("echo", msg.payload.decode())
        else:
            body = json.loads(msg.payload)
            key = (body["request"], body["state"])
        with self.lock:
            self.arrived.setdefault(key, now)

    def wait(self, key: tuple[str, str]) -> float:
        """The arrival time of ``key``, waiting up to 5 s for it."""
        at = wait_for(lambda: self.arrived.get(key), 5, 0.0005, what=str(key))
        assert at is not None
        return at

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def _open_request(request: Request | None) -> Request | None:
    return request if request is not None and request.state == "requested" else None


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(samples: int) -> dict[str, Any]:
    """Start a broker and a unit, take the samples, return milliseconds per measure."""
    with Mosquitto() as broker, tempfile.TemporaryDirectory() as tmp:
        config = parse_desk_config(
            f'[desk]\nid = "{DESK}"\nsite = "{SITE}"\nstate_dir = "{tmp}"\n'
            f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n')
        factory = MockFactory()
        runtime = build_desk(config, pin_factory=factory)
        stop = threading.Event()
        worker = threading.Thread(target=runtime.run, args=(stop,), daemon=True)
        worker.start()
        observer = Observer(broker)
        button = factory.pin(config.pins.button.pin)
        amber = factory.pin(config.pins.amber.pin)
        press_ms: list[float] = []
        ack_ms: list[float] = []
        echo_ms: list[float] = []
        try:
            wait_for(runtime.link.connected.is_set, 10, what="the unit to connect")
            for i in range(samples):
                button.drive_low()
                time.sleep(PRESS_S)
                button.drive_high()
                released = time.perf_counter()
                request = wait_for(lambda: _open_request(runtime.unit.desk.request), 5, 0.0005,
                                   what="the request")
                assert request is not None
                press_ms.append((observer.wait((request.id, "requested")) - released) * 1e3)

                amber.clear_states()
                cmd = json.dumps({"ts": time.time(), "cmd": "ack", "request": request.id})
                observer.client.publish(f"{BASE}/cmd", cmd, qos=1)
                wait_for(lambda: len(amber.states) > 1, 5, 0.0005, what="amber")
                ack_ms.append(amber.states[1].timestamp * 1e3)

                observer.wait((request.id, "acknowledged"))
                time.sleep(GAP_S)
                button.drive_low()
                time.sleep(PRESS_S)
                button.drive_high()
                observer.wait((request.id, "resolved"))
                time.sleep(GAP_S)

                sent = time.perf_counter()
                observer.client.publish("bench/echo", str(i), qos=1)
                echo_ms.append((observer.wait(("echo", str(i))) - sent) * 1e3)
        finally:
            observer.close()
            stop.set()
            runtime.unit.wake()
            worker.join(10)
            factory.reset()
    result: dict[str, Any] = {"samples": samples, "python": platform.python_version(),
                              "machine": platform.machine()}
    for name, values in (("echo", echo_ms), ("press", press_ms), ("ack", ack_ms)):
        result[f"{name}_p50"] = round(statistics.median(values), 2)
        result[f"{name}_p99"] = round(_pct(values, 99), 2)
    return result


def markdown(r: dict[str, Any]) -> str:
    """The section for docs/benchmarks.md."""
    def verdict(p99: float) -> str:
        return f"target p99 ≤ {TARGET_MS:.0f} ms: {'meets' if p99 <= TARGET_MS else 'MISSES'}"

    return "\n".join([
        BEGIN,
        "## Desk unit latency (`benchmarks/desk_latency.py`)",
        "",
        f"The desk unit (`build_desk`, gpiozero `MockFactory` pins) and a private mosquitto "
        f"on loopback; {r['samples']} samples of each. Python {r['python']} on "
        f"{r['machine']}.",
        "",
        "| measure | p50 ms | p99 ms | note |",
        "|---|---:|---:|---|",
        f"| reference: broker round trip (QoS 1 publish → the same client) | "
        f"{r['echo_p50']} | {r['echo_p99']} | measured in the same run |",
        f"| button released (mock pin) → `help` `requested` at another client | "
        f"{r['press_p50']} | {r['press_p99']} | {verdict(r['press_p99'])} |",
        f"| `ack` published → amber pin high | {r['ack_p50']} | {r['ack_p99']} | "
        f"{verdict(r['ack_p99'])} |",
        "",
        "A press travels: gpiozero's release callback, the unit's event queue, one step of "
        "the pure core, a QoS 1 publish, the broker, the observer. The file that keeps an "
        "undelivered press is written by its own thread, so the disk is not on this path.",
        END,
    ])


def main() -> int:
    """Run the benchmark, print the result, optionally record it."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--write", type=Path, help="record the result in this Markdown file")
    args = parser.parse_args()
    if args.samples < 20:
        parser.error("use at least 20 samples")
    result = run(args.samples)
    section = markdown(result)
    print(section)
    if args.write:
        replace_section(args.write, BEGIN, END, section)
    return 0 if max(result["press_p99"], result["ack_p99"]) <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
