"""What a screen waits for: the pure words, the tracker, and real failed connections.

The reasons come from real attempts: a port nobody listens on, a name that cannot resolve,
and a real mosquitto that refuses anonymous clients.
"""

from __future__ import annotations

import logging
import os
import signal
import time

import pytest

from wallboard.adapters.mqtt import LinkSettings, MqttLink
from wallboard.devservices import Mosquitto, free_port
from wallboard.link_status import ControllerSeen, LinkState, LinkTracker, waiting_for

T0 = 1_795_420_800.0  # Mon 23 Nov 2026 08:00 UTC
BROKER = "mq.floor:1883"
UP = LinkState(BROKER, connected=True)

WAITING: list[tuple[str, LinkState | None, ControllerSeen, float, str | None]] = [
    ("connecting", LinkState(BROKER), ControllerSeen(False), T0,
     "connecting to broker mq.floor:1883"),
    ("refused", LinkState(BROKER, error="connection refused"), ControllerSeen(True, True, T0),
     T0, "cannot reach broker mq.floor:1883 (connection refused)"),
    ("connected-nothing-heard", UP, ControllerSeen(False), T0,
     "connected, waiting for the controller"),
    ("status-online-no-snapshot", UP, ControllerSeen(False, True, T0), T0,
     "connected, waiting for the controller"),
    ("offline", UP, ControllerSeen(True, False, T0 - 30), T0,
     "controller offline since 07:59:30"),
    ("offline-days-ago", UP, ControllerSeen(False, False, T0 - 3 * 86400), T0,
     "controller offline since Fri 20 Nov 08:00"),
    ("offline-time-unknown", UP, ControllerSeen(False, False, None), T0, "controller offline"),
    ("live", UP, ControllerSeen(True, True, T0), T0, None),
    ("untracked-link-live", None, ControllerSeen(True, None, T0), T0, None),
]


@pytest.mark.parametrize(("link", "controller", "now", "text"),
                         [pytest.param(*w[1:], id=w[0]) for w in WAITING])
def test_waiting_for(link, controller, now, text):
    assert waiting_for(link, controller, now) == text


def test_tracker_follows_the_hooks_and_warns_once_per_reason(caplog):
    clock = iter([100.0, 105.0, 200.0, 300.0]).__next__
    tracker = LinkTracker(BROKER, "kiosk", clock)
    assert tracker.state() == LinkState(BROKER, down_since=100.0)
    with caplog.at_level(logging.WARNING, logger="wallboard.link_status"):
        tracker.on_connect_failed("connection refused")
        tracker.on_connect_failed("connection refused")
        tracker.on_connect_failed("name not resolved")
    assert tracker.state() == LinkState(BROKER, error="name not resolved", down_since=100.0)
    assert [r.getMessage() for r in caplog.records] == [
        "kiosk: cannot reach broker mq.floor:1883 (connection refused); retrying",
        "kiosk: cannot reach broker mq.floor:1883 (name not resolved); retrying"]
    tracker.on_connected()
    assert tracker.state() == UP
    tracker.on_disconnected()
    assert tracker.state() == LinkState(BROKER, error="connection lost", down_since=105.0)


def reason_from(host: str, port: int) -> str:
    """Start a real link to ``host:port`` and return the reason its tracker records."""
    tracker = LinkTracker(f"{host}:{port}", "test")
    link = MqttLink(LinkSettings(host=host, port=port, client_id=f"probe-{port}"))
    tracker.attach(link)
    try:
        assert not link.start(timeout=0.1)
        deadline = time.monotonic() + 10
        while tracker.state().error is None:
            assert time.monotonic() < deadline, "no failure reported"
            time.sleep(0.05)
        return tracker.state().error or ""
    finally:
        link.stop()


def test_a_port_nobody_listens_on_is_connection_refused():
    assert reason_from("127.0.0.1", free_port()) == "connection refused"


def test_a_name_that_does_not_resolve():
    assert reason_from("no-such-broker.invalid", 1883) == "name not resolved"


def test_a_broker_that_refuses_the_client_is_not_authorised(mosquitto: Mosquitto):
    # Started open (its readiness probe is anonymous), then closed as a site broker is.
    assert mosquitto.pid is not None
    mosquitto.config_path.write_text(
        mosquitto.config_path.read_text().replace("allow_anonymous true",
                                                  "allow_anonymous false"))
    os.kill(mosquitto.pid, signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "allow_anonymous" not in mosquitto.logs() and "Reloading" not in mosquitto.logs():
        assert time.monotonic() < deadline, "mosquitto did not reload"
        time.sleep(0.05)
    assert reason_from(mosquitto.host, mosquitto.port) == "not authorised"
