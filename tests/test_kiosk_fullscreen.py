"""Full screen fills the display: ``wallboard kiosk`` with no ``--size`` on X with no window
manager (a private Xvfb), landscape and portrait, checked in its widget boxes
(``--layout-json``) and in the pixels of its screenshot; and the layout follows a resize.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.live import require
from tests.screen import Screen, colour_share, open_window, rgb255
from wallboard.config import parse_config
from wallboard.devservices import Xvfb
from wallboard.kiosk import theme

WALLBOARD = str(Path(sys.executable).with_name("wallboard"))
UNDRAWN = (0, 0, 0)  # X's black where no window is: the screen paints near-black, never 0


def closed_port() -> int:
    """A loopback port nothing listens on: the layout needs no broker."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def shoot_full_screen(tmp_path: Path, width: int, height: int) -> tuple[Image.Image, Any]:
    """Run ``wallboard kiosk --screenshot`` with no ``--size`` on a display of this size."""
    config = tmp_path / "wallboard.toml"
    config.write_text(f'[mqtt]\nhost = "127.0.0.1"\nport = {closed_port()}\n'
                      '[queues.support]\nname = "Technical Support"\n'
                      '[kiosk]\nqueues = ["sales", "support"]\n')
    shot, layout = tmp_path / "wall.png", tmp_path / "wall.json"
    with Xvfb(require("Xvfb", "xvfb"), width=width, height=height) as display:
        assert display.display is not None
        result = subprocess.run(
            [WALLBOARD, "kiosk", "--config", str(config), "--screenshot", str(shot),
             "--after", "2", "--layout-json", str(layout)],
            env=dict(os.environ, DISPLAY=display.display), capture_output=True, text=True,
            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"saved {layout}" in result.stdout
    return Image.open(shot).convert("RGB"), json.loads(layout.read_text())


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1080, 1920)],
                         ids=["landscape", "portrait"])
def test_full_screen_fills_the_display_without_a_window_manager(tmp_path, width, height):
    image, layout = shoot_full_screen(tmp_path, width, height)
    boxes = layout["boxes"]
    # The widget tree: laid out for the whole display, header on top, ticker at the bottom.
    assert layout["window"] == [width, height]
    assert boxes["root"] == [0, 0, width, height]
    assert boxes["header"][:3] == [0, 0, width]
    assert boxes["rows"][0] == 0 and boxes["rows"][2] == width
    assert boxes["ticker"][3] == height and boxes["ticker"][2] == width
    assert [row["title"] for row in layout["rows"]] == ["ALL QUEUES", "SALES",
                                                        "TECHNICAL SUPPORT"]
    for row in layout["rows"]:
        tiles = row["tiles"]
        assert len({t[0] for t in tiles}) == (2 if height > width else 4)  # columns
        assert max(t[2] for t in tiles) >= width - 1  # tiles reach the right edge
    # The pixels: the same picture, drawn over the whole display.
    assert image.size == (width, height)
    for part in ("header", "rows", "ticker"):
        assert colour_share(image, tuple(boxes[part]), UNDRAWN, tolerance=2) < 0.001, part
    assert colour_share(image, tuple(boxes["site"]), rgb255(theme.TEXT), tolerance=60) > 0.01
    for row in layout["rows"]:
        for left, top, right, bottom in row["tiles"]:  # each tile's panel is painted
            inner = (left + 8, top + 8, right - 8, bottom - 8)
            assert colour_share(image, inner, rgb255(theme.BACKGROUND), tolerance=3) < 0.5
    right_edge = (width - 40, boxes["rows"][1], width, boxes["rows"][3])
    assert colour_share(image, right_edge, UNDRAWN, tolerance=2) < 0.001


@pytest.fixture(scope="session")
def screen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Screen]:
    yield from open_window(tmp_path_factory.mktemp("screenshots"))


def test_the_layout_follows_a_resize(screen):
    from wallboard.kiosk.app import Kiosk
    from wallboard.kiosk.feed import Feed

    config = parse_config('[kiosk]\nqueues = ["sales", "support"]\n')
    kiosk = Kiosk(config, Feed(config.mqtt.topic_root, config.site.id, "floor"))
    screen.resize(1920, 1080)
    screen.window.add_widget(kiosk.root)
    kiosk.start()
    try:
        for width, height in [(1920, 1080), (1080, 1920), (3840, 2160)]:
            screen.resize(width, height)
            root = kiosk.root
            assert tuple(root.size) == (width, height)
            assert root.portrait is (height > width)
            rows = root.ids.rows
            assert rows.width == width and rows.top == height - root.ids.site.parent.height
            cols = {t.x for t in kiosk.tiles[0]}
            assert len(cols) == (2 if height > width else 4)
            assert max(t.right for t in kiosk.tiles[0]) == pytest.approx(width, abs=1)
            assert root.ids.ticker.y == 0 and root.ids.ticker.width == width
    finally:
        kiosk.stop()
        screen.window.remove_widget(kiosk.root)


def test_layout_json_needs_screenshot(tmp_path):
    result = subprocess.run([WALLBOARD, "kiosk", "--layout-json", str(tmp_path / "x.json")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--layout-json needs --screenshot" in result.stderr
    assert not (tmp_path / "x.json").exists()
