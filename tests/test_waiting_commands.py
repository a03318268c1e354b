"""The real commands with nothing to show: ``wallboard kiosk --screenshot`` and ``wallboard
watch`` say what they are waiting for (broker unreachable, or no controller), never "none".
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from tests.live import require
from tests.screen import read_text, rgb255
from wallboard.devservices import Mosquitto, Xvfb, free_port
from wallboard.kiosk import theme

WALLBOARD = str(Path(sys.executable).with_name("wallboard"))
BANNER_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:() "


@pytest.fixture(scope="module")
def display() -> Iterator[str | None]:
    with Xvfb(require("Xvfb", "xvfb")) as server:
        yield server.display


def config_for(tmp_path: Path, host: str, port: int) -> Path:
    path = tmp_path / "wallboard.toml"
    path.write_text(f'[mqtt]\nhost = "{host}"\nport = {port}\n')
    return path


def yellow_band(image: Image.Image) -> tuple[int, int, int, int]:
    """The box of the rows that are mostly banner yellow."""
    r, g, b = rgb255(theme.BANNER)
    width, height = image.size
    rows = []
    for y in range(height):
        line = image.crop((0, y, width, y + 1)).tobytes()
        near = sum(1 for i in range(0, len(line), 3)
                   if abs(line[i] - r) < 30 and abs(line[i + 1] - g) < 30
                   and abs(line[i + 2] - b) < 30)
        if near > width * 0.5:
            rows.append(y)
    assert rows, "no banner on the screenshot"
    return 0, rows[0], width, rows[-1] + 1


def test_kiosk_screenshot_with_no_broker_shows_and_logs_the_address(display, tmp_path):
    port = free_port()  # nobody listens on it
    shot = tmp_path / "s.png"
    result = subprocess.run(
        [WALLBOARD, "kiosk", "--config", str(config_for(tmp_path, "127.0.0.1", port)),
         "--screenshot", str(shot), "--after", "3", "--size", "1280x720"],
        env=dict(os.environ, DISPLAY=str(display)), capture_output=True, text=True,
        timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"cannot reach broker 127.0.0.1:{port} (connection refused)" in result.stderr
    image = Image.open(shot).convert("RGB")
    # Black text on yellow: invert so read_text sees light text on dark.
    words = read_text(ImageOps.invert(image), yellow_band(image), BANNER_CHARS)
    assert f"cannot reach broker 127.0.0.1:{port}" in words, words


def run_watch(config: Path, seconds: float) -> tuple[str, str]:
    """``wallboard watch`` on a terminal (a pty) for a while, then Ctrl-C: screen, stderr."""
    master, slave = pty.openpty()
    process = subprocess.Popen([WALLBOARD, "watch", "--config", str(config)], stdin=slave,
                               stdout=slave, stderr=subprocess.PIPE, text=True)
    os.close(slave)
    chunks: list[bytes] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunks.append(os.read(master, 65536))
            except OSError:
                break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=15)
    os.close(master)
    assert process.returncode == 0, err[-2000:]
    return b"".join(chunks).decode(errors="replace"), err


def test_watch_with_an_unreachable_broker_says_why(tmp_path):
    port = free_port()
    screen, err = run_watch(config_for(tmp_path, "127.0.0.1", port), 3)
    assert f"!! NO DATA: cannot reach broker 127.0.0.1:{port} (connection refused)" in screen
    assert "waiting for the first snapshot" not in screen
    assert f"cannot reach broker 127.0.0.1:{port} (connection refused)" in err


def test_watch_with_a_broker_but_no_controller_says_so(tmp_path, mosquitto: Mosquitto):
    screen, err = run_watch(config_for(tmp_path, mosquitto.host, mosquitto.port), 3)
    assert "!! NO DATA: connected, waiting for the controller" in screen
    assert "cannot reach" not in err
