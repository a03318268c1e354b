"""Helpers for tests against a live broker: a recording MQTT client and a controller process."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from wallboard.devservices import Mosquitto, find_binary, tail, wait_for

ROOT_DIR = Path(__file__).resolve().parents[1]


def require(binary: str, package: str) -> str:
    """The binary's path, or skip saying how to get it (CI mode turns the skip into a failure)."""
    path = find_binary(binary)
    if path is None:
        pytest.skip(f"{package} not installed: run `make test`, which installs it")
    return path


class Recorder:
    """A plain MQTT client that keeps every message it receives, in order, per topic."""

    def __init__(self, broker: Mosquitto, topic_filter: str = "wallboard/#",
                 persistent_id: str | None = None, *, login: tuple[str, str] | None = None,
                 tls_port: int | None = None, ca_file: Path | None = None) -> None:
        """``persistent_id``: keep the session, so messages wait for it across broker restarts.
        ``login``: user name and password; ``tls_port`` and ``ca_file``: connect with TLS."""
        self.lock = threading.Lock()
        self.messages: list[tuple[str, bytes, bool]] = []
        self.latest: dict[str, bytes] = {}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=persistent_id or f"test-{uuid.uuid4().hex[:10]}",
                                  clean_session=persistent_id is None)
        self.client.reconnect_delay_set(1, 2)
        self.client.on_message = self._on_message
        if login is not None:
            self.client.username_pw_set(*login)
        if tls_port is not None:
            self.client.tls_set(ca_certs=str(ca_file) if ca_file else None)
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.connect(broker.host, tls_port or broker.port, keepalive=30)
        self.client.loop_start()
        self.client.subscribe(topic_filter, qos=1)
        assert subscribed.wait(5), "subscription not acknowledged"

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))
            self.latest[msg.topic] = bytes(msg.payload)

    def publish(self, topic: str, payload: dict[str, Any] | bytes, retain: bool = False) -> None:
        """Publish with QoS 1 and wait until the broker has it."""
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.client.publish(topic, data, qos=1, retain=retain).wait_for_publish(5)

    def json(self, topic: str) -> dict[str, Any] | None:
        """The latest payload on ``topic`` as JSON, or None if none (or empty) arrived."""
        with self.lock:
            raw = self.latest.get(topic)
        return json.loads(raw) if raw else None

    def on(self, topic: str) -> list[bytes]:
        """Every payload received on ``topic``, in order."""
        with self.lock:
            return [p for t, p, _ in self.messages if t == topic]

    def wait_json(self, topic: str, check: Callable[[dict[str, Any]], bool],
                  timeout: float = 10.0) -> dict[str, Any]:
        """Wait until the latest payload on ``topic`` passes ``check``; return it."""
        def ready() -> dict[str, Any] | None:
            data = self.json(topic)
            return data if data is not None and check(data) else None
        found = wait_for(ready, timeout, what=f"{topic} to pass the check")
        assert found is not None
        return found

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def write_config(path: Path, broker: Mosquitto, state_dir: Path, *, site: str = "hq",
                 extra: str = "") -> Path:
    """A wallboard.toml for a controller on the test broker, with fast snapshot pacing.

    The site's day starts 12 hours before now, so events a few minutes old are never on
    yesterday's side of the line, whenever the suite runs (CI once ran at 00:05 UTC)."""
    path.write_text(f"""
[site]
id = "{site}"
day_start = {half_a_day_ago()}

[mqtt]
host = "{broker.host}"
port = {broker.port}

[controller]
state_dir = "{state_dir}"
publish_min_interval_s = 0.2
publish_max_interval_s = 1.0
{extra}
""")
    return path


def half_a_day_ago() -> str:
    """The UTC clock time 12 hours ago, as a TOML local time (the test site runs on UTC)."""
    then = dt.datetime.now(dt.UTC) - dt.timedelta(hours=12)
    return then.strftime("%H:%M:00")


class ServiceProcess:
    """A ``wallboard`` service (the controller unless told) as a real subprocess, so a test
    can SIGKILL it."""

    def __init__(self, config: Path, log_path: Path, command: str = "controller",
                 args: Sequence[str] = (), prefix: Sequence[str] = ()) -> None:
        """``prefix``: a command the service runs under (nsenter into a test's namespace)."""
        self.config, self.log_path = config, log_path
        self.command, self.args, self.prefix = command, list(args), list(prefix)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        """Start it and return once it has said it is connected."""
        with self.log_path.open("ab") as log:
            start = log.tell()
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            self.process = subprocess.Popen(
                [*self.prefix, sys.executable, "-m", "wallboard.cli", self.command, "--config",
                 str(self.config), "--log-level", "DEBUG", *self.args],
                cwd=ROOT_DIR, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env)

        def connected() -> bool:
            assert self.process is not None and self.process.poll() is None, self.logs()
            with self.log_path.open("rb") as f:
                f.seek(start)
                return b"mqtt connected" in f.read()
        wait_for(connected, 20, what=f"the {self.command} to connect")
        return self

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        """SIGTERM and wait; return the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.terminate()
        try:
            return self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"{self.command} ignored SIGTERM\n" + self.logs()) from None

    def logs(self) -> str:
        """The tail of the service's log."""
        return tail(self.log_path, 40)
