"""A real Kivy window on Xvfb for kiosk tests: one per test session, boards swapped per test.

Kivy allows one window per process, so the session opens it once at 1920x1080 and tests
resize it. ``Screen`` runs the event loop by hand until a condition holds, takes screenshots
and reads their pixels and text (tesseract), so checks look at what a person would see.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PIL import Image, ImageOps

from tests.live import require
from wallboard.devservices import Xvfb

T = TypeVar("T")
Rgb = tuple[int, int, int]


class Screen:
    """The test window, its event loop and what is on it."""

    def __init__(self, shots: Path) -> None:
        from kivy.base import EventLoop
        from kivy.core.window import Window

        self.loop, self.window, self.shots = EventLoop, Window, shots

    def run_until(self, check: Callable[[], T], timeout: float = 10.0, what: str = "") -> T:
        """Run frames until ``check`` returns something truthy; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            self.loop.idle()
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.01)

    def frames(self, seconds: float) -> None:
        """Run frames for a while (labels render on the next frame after a change)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.loop.idle()
            time.sleep(0.01)

    def resize(self, width: int, height: int) -> None:
        """Resize the window and wait until the layout has followed."""
        self.window.size = (width, height)
        self.run_until(lambda: tuple(self.window.size) == (width, height), 5, "the resize")
        self.frames(0.3)

    def screenshot(self, name: str) -> Image.Image:
        """Save the window as ``name``.png under the test's temp dir and open it."""
        self.frames(0.2)
        made = self.window.screenshot(name=str(self.shots / f"{name}.png"))
        path = Path(made)
        final = self.shots / f"{name}.png"
        path.rename(final)
        return Image.open(final).convert("RGB")

    def box(self, widget: Any) -> tuple[int, int, int, int]:
        """A widget's box in screenshot pixels (left, top, right, bottom; y down)."""
        x, y = widget.to_window(*widget.pos)
        h = self.window.height
        return int(x), int(h - y - widget.height), int(x + widget.width), int(h - y)


def colour_share(image: Image.Image, box: tuple[int, int, int, int], colour: Rgb,
                 tolerance: int = 30) -> float:
    """The share of pixels in ``box`` within ``tolerance`` of ``colour`` on every channel."""
    data = image.crop(box).tobytes()  # RGB, three bytes a pixel
    r, g, b = colour
    near = sum(1 for i in range(0, len(data), 3)
               if abs(data[i] - r) <= tolerance and abs(data[i + 1] - g) <= tolerance
               and abs(data[i + 2] - b) <= tolerance)
    return near / max(1, len(data) // 3)


def read_text(image: Image.Image, box: tuple[int, int, int, int], charset: str) -> str:
    """What tesseract reads in ``box``: light text on dark, so it is inverted first."""
    binary = require("tesseract", "tesseract-ocr")
    crop = ImageOps.invert(ImageOps.grayscale(image.crop(box)))
    crop = crop.point(lambda v: 0 if v < 160 else 255)  # text black, panel white
    result = subprocess.run(
        [binary, "stdin", "stdout", "--psm", "7", "-c", f"tessedit_char_whitelist={charset}"],
        input=_png(crop), capture_output=True, check=True, timeout=30)
    return result.stdout.decode().strip()


def _png(image: Image.Image) -> bytes:
    import io

    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def rgb255(rgba: tuple[float, ...]) -> Rgb:
    """A Kivy colour as 0-255 RGB."""
    return round(rgba[0] * 255), round(rgba[1] * 255), round(rgba[2] * 255)


_OPEN: list[Screen] = []  # the process's one window while a session fixture holds it


def open_window(tmp_root: Path) -> Iterator[Screen]:
    """Start Xvfb, point Kivy at it, open the window (the session fixture's body).

    Kivy has one window per process: a second module's session fixture shares the first's.
    """
    if _OPEN:
        yield Screen(tmp_root)
        return
    binary = require("Xvfb", "xvfb")
    with Xvfb(binary) as display:
        assert display.display is not None
        os.environ["DISPLAY"] = display.display
        from wallboard.kiosk.config import KioskConfig
        from wallboard.kiosk.run import Window, prepare_kivy

        prepare_kivy(KioskConfig(kiosk_mode=False), Window(size=(1920, 1080)))
        from kivy.base import EventLoop

        EventLoop.ensure_window()
        if EventLoop.window is None:
            pytest.fail("Kivy could not open a window on Xvfb")
        EventLoop.window.size = (1920, 1080)
        _OPEN.append(Screen(tmp_root))
        try:
            yield _OPEN[0]
        finally:
            _OPEN.clear()
        EventLoop.close()


def rendered_lines(label: Any) -> list[str]:
    """The lines Kivy laid a label's text out in, as drawn (after its own wrapping)."""
    label.texture_update()
    return ["".join(word.text for word in line.words) for line in label._label._cached_lines]


def text_overflows(root: Any) -> list[str]:
    """Every label under ``root`` whose text is wider or taller than its box, or that Kivy
    had to wrap (so inside a word) or cut: what a person would see spill or break."""
    from kivy.uix.label import Label

    problems = []
    for label in root.walk():
        if not isinstance(label, Label) or not label.text or label.opacity == 0:
            continue
        label.texture_update()
        tw, th = label.texture_size
        name = f"{type(label).__name__} {label.text!r} ({tw}x{th} in {label.width:.0f}x" \
               f"{label.height:.0f})"
        if tw > label.width + 1 or th > label.height + 1:
            problems.append(f"{name}: the texture is larger than the box")
        if label.text_size[0] is None:
            continue
        cw, ch = label._label._internal_size  # the text laid out, with the label's padding
        box_w, box_h = label.text_size
        if cw > box_w + 1 or (box_h is not None and ch > box_h + 1):
            problems.append(f"{name}: the text ({cw:.0f}x{ch:.0f}) overflows its text box")
        drawn = rendered_lines(label)
        if drawn != label.text.split("\n"):
            problems.append(f"{name}: drawn as {drawn}")
    return problems
