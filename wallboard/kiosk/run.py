"""``wallboard kiosk``: set Kivy up as a kiosk, wire the screen to the broker, and run it.

Kivy reads its settings when it is first imported, so ``prepare_kivy`` must run before any
Kivy import; ``run_kiosk`` does it first.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import wallboard.clock  # not its Clock by name: Kivy's Clock is used here too
from wallboard.config import WallboardConfig
from wallboard.kiosk.config import KioskConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Window:
    """How the window opens: full screen at the display's size, or a given size."""

    size: tuple[int, int] | None = None  # None: full screen


def prepare_kivy(cfg: KioskConfig, window: Window) -> None:
    """Environment and Kivy config for a kiosk: no cursor, no screensaver, capped frames."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")  # our argparse owns the command line
    os.environ.setdefault("KIVY_NO_CONFIG", "1")  # never write ~/.kivy on a read-only root
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")  # Kivy logs through our logging
    os.environ.setdefault("SDL_VIDEO_ALLOW_SCREENSAVER", "0")
    from kivy.config import Config

    kiosk = cfg.kiosk_mode
    Config.set("graphics", "maxfps", str(cfg.max_fps))
    Config.set("graphics", "allow_screensaver", "0")
    Config.set("graphics", "show_cursor", "0" if kiosk else "1")
    Config.set("graphics", "fullscreen", "auto" if window.size is None else "0")
    Config.set("graphics", "borderless", "1" if kiosk else "0")
    Config.set("graphics", "resizable", "0" if kiosk else "1")
    if window.size is not None:
        Config.set("graphics", "width", str(window.size[0]))
        Config.set("graphics", "height", str(window.size[1]))
    Config.set("kivy", "exit_on_escape", "0" if kiosk else "1")
    Config.set("input", "mouse", "mouse,disable_multitouch")  # a tap is a tap, no red dots
    Config.set("kivy", "keyboard_mode", "system")


def load_alarm(path: Path | None) -> Any:
    """A callable that plays the escalation sound, or None if none is set or it won't load."""
    if path is None:
        return None
    from kivy.core.audio import SoundLoader

    sound = SoundLoader.load(str(path))
    if sound is None:
        log.warning("kiosk: cannot play %s; escalations will be silent", path)
        return None
    return sound.play


def save_screenshot(target: Path) -> Path:
    """Save the window as a PNG at ``target`` (Kivy numbers its files, so save then move)."""
    from kivy.core.window import Window as KivyWindow

    with tempfile.TemporaryDirectory() as tmp:
        made = KivyWindow.screenshot(name=str(Path(tmp) / "shot.png"))
        if not made:
            raise RuntimeError("the window could not be captured")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(made, target)
    return target


def open_window(window: Window) -> Any:
    """Open Kivy's window; full screen, make sure it covers the display (see ``fullscreen``)."""
    from kivy.base import EventLoop

    EventLoop.ensure_window()
    kivy_window = EventLoop.window
    if kivy_window is None:
        raise RuntimeError("Kivy could not open a window")
    if window.size is None:
        from wallboard.kiosk.fullscreen import cover_display

        cover_display(kivy_window)
    log.info("kiosk: window %dx%d", *kivy_window.size)
    return kivy_window


def layout_boxes(kiosk: Any, kivy_window: Any) -> dict[str, Any]:
    """Where the screen's parts are, in screenshot pixels: [left, top, right, bottom], y down."""
    height = kivy_window.height

    def box(widget: Any) -> list[int]:
        x, y = widget.to_window(*widget.pos)
        return [round(x), round(height - y - widget.height), round(x + widget.width),
                round(height - y)]

    ids = kiosk.root.ids
    parts = {"root": kiosk.root, "header": ids.site.parent, "site": ids.site,
             "clock": ids.clock, "rows": ids.rows, "lower": ids.lower, "ticker": ids.ticker,
             "banner": ids.banner, "help_panel": kiosk.help_panel, "grid": kiosk.grid}
    return {
        "window": list(kivy_window.size),
        "boxes": {name: box(w) for name, w in parts.items() if w.get_root_window()},
        "rows": [{"title": row.title, "box": box(row), "tiles": [box(t) for t in tiles]}
                 for row, tiles in zip(kiosk.rows, kiosk.tiles, strict=True)],
    }


def run_kiosk(config: WallboardConfig, window: Window, screenshot: Path | None = None,
              after_s: float = 5.0, clock: wallboard.clock.Clock = time.time,
              layout: Path | None = None) -> int:
    """Run the wall screen until closed; with ``screenshot``, save one after ``after_s``.

    ``clock`` is the wall clock, except for screenshots of a simulated floor in the past.
    ``layout``, with ``screenshot``: also write where each part of the screen is, as JSON.
    """
    cfg = config.kiosk
    if screenshot is not None:
        cfg = cfg.model_copy(update={"kiosk_mode": False})
        config = config.model_copy(update={"kiosk": cfg})
    prepare_kivy(cfg, window)
    kivy_window = open_window(window)  # before any widget: they size to the real window
    from kivy.clock import Clock

    from wallboard.bootstrap import build_kiosk_link
    from wallboard.kiosk.app import Kiosk, KioskApp
    from wallboard.kiosk.feed import Feed
    from wallboard.kiosk.watchdog import Notifier

    feed = Feed(config.mqtt.topic_root, config.site.id, cfg.audience, clock=clock)
    link, send = build_kiosk_link(config, feed)
    kiosk = Kiosk(config, feed, send=send, clock=clock, alarm=load_alarm(cfg.alert_sound))
    result = {"code": 0}

    def started(app: KioskApp) -> None:
        if screenshot is None:
            return

        def shoot(_dt: float) -> None:
            kiosk.pump()
            kiosk.tick()
            Clock.schedule_once(lambda _d: finish(), 0.3)  # let the labels render

        def finish() -> None:
            try:
                path = save_screenshot(screenshot)
                print(f"saved {path}")
                if layout is not None:
                    layout.write_text(json.dumps(layout_boxes(kiosk, kivy_window), indent=1))
                    print(f"saved {layout}")
            except (OSError, RuntimeError) as exc:
                log.error("screenshot failed: %s", exc)
                result["code"] = 1
            app.stop()

        Clock.schedule_once(shoot, after_s)

    link.start(timeout=3.0)  # paho keeps retrying; the banner says so until it connects
    try:
        KioskApp(kiosk, Notifier(), on_started=started).run()
    finally:
        link.stop()
    return result["code"]
