"""The kiosk as a process: systemd's notify protocol, kiosk settings, and ``--screenshot``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.live import Recorder, require
from tests.screen import colour_share, rgb255
from wallboard.devservices import Mosquitto, Xvfb
from wallboard.kiosk import theme
from wallboard.kiosk.sample import SampleFloor
from wallboard.kiosk.watchdog import Notifier

WALLBOARD = str(Path(sys.executable).with_name("wallboard"))


@pytest.fixture
def notify_socket(tmp_path):
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.2)
    yield path, sock
    sock.close()


def received(sock: socket.socket, until: float) -> list[str]:
    lines: list[str] = []
    while time.monotonic() < until:
        try:
            lines.append(sock.recv(256).decode())
        except TimeoutError:
            continue
    return lines


@pytest.mark.parametrize(("env", "ping_every_s"), [
    ({}, None),
    ({"NOTIFY_SOCKET": "/run/x"}, None),
    ({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "20000000"}, 10.0),
    ({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "0"}, None),
    ({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "oops"}, None),
    ({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"}, None),
], ids=["not-systemd", "no-watchdog", "watchdog", "zero", "garbage", "other-pid"])
def test_watchdog_interval_from_the_environment(env, ping_every_s):
    assert Notifier(env).ping_every_s == ping_every_s


def test_notify_without_systemd_does_nothing():
    assert Notifier({}).notify("READY=1") is False


def test_notify_sends_a_datagram(notify_socket):
    path, sock = notify_socket
    assert Notifier({"NOTIFY_SOCKET": str(path)}).notify("WATCHDOG=1")
    assert sock.recv(64) == b"WATCHDOG=1"


def test_kiosk_mode_settings():
    """Read back what Kivy will use, in a fresh process (Kivy reads its config once)."""
    code = """
import json
from wallboard.kiosk.config import KioskConfig
from wallboard.kiosk.run import Window, prepare_kivy
prepare_kivy(KioskConfig(max_fps=12), Window())
from kivy.config import Config
print(json.dumps({k: Config.get(s, k) for s, k in [("graphics", "show_cursor"),
    ("graphics", "fullscreen"), ("graphics", "maxfps"), ("graphics", "allow_screensaver"),
    ("kivy", "exit_on_escape")]}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60, env=dict(os.environ, KIVY_NO_CONSOLELOG="1"))
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "show_cursor": "0", "fullscreen": "auto", "maxfps": "12", "allow_screensaver": "0",
        "exit_on_escape": "0"}


@pytest.fixture(scope="module")
def display():
    with Xvfb(require("Xvfb", "xvfb")) as server:
        yield server.display


def test_screenshot_command_renders_live_data_and_pings_the_watchdog(
        display, mosquitto: Mosquitto, tmp_path, notify_socket):
    path, sock = notify_socket
    floor = SampleFloor()
    client = Recorder(mosquitto)
    now = time.time()
    client.publish(*floor.floor(now + 4, ["sales"], waiting=12, longest=95), retain=True)
    config = tmp_path / "wallboard.toml"
    config.write_text(f'[mqtt]\nhost = "{mosquitto.host}"\nport = {mosquitto.port}\n'
                      '[kiosk]\nrows_per_page = 2\n')
    shot = tmp_path / "wall.png"
    env = dict(os.environ, DISPLAY=display, NOTIFY_SOCKET=str(path), WATCHDOG_USEC="1000000")
    process = subprocess.Popen(
        [WALLBOARD, "kiosk", "--config", str(config), "--size", "1280x720",
         "--screenshot", str(shot), "--after", "3"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        lines += received(sock, time.monotonic() + 0.5)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err[-2000:]
    assert f"saved {shot}" in out
    assert lines[0] == "READY=1"
    assert lines.count("WATCHDOG=1") >= 4  # every 0.5 s for 3 s and more
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 720)
    # Waiting 12 and longest wait 1:35 are both past red; the data is live, so no banner.
    top = (0, 0, 1280, 360)
    assert colour_share(image, top, rgb255(theme.LEVEL_COLOURS["alert"])) > 0.01
    assert colour_share(image, top, rgb255(theme.BANNER)) < 0.001
    client.client.disconnect()


def test_after_needs_screenshot():
    result = subprocess.run([WALLBOARD, "kiosk", "--after", "3"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "--after needs --screenshot" in result.stderr
