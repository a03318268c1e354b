"""Headless Chromium, to check a report renders offline and to screenshot it.

It talks the Chrome DevTools Protocol over a pipe (``--remote-debugging-pipe``): Chromium
reads commands on its fd 3 and writes replies and events on its fd 4, each one JSON message
ended by a NUL byte. So no websocket library is needed, and no port is opened. Every request
the page makes (``Network.requestWillBeSent``) and every console error, uncaught exception
and browser-logged error (a refused request, a CSP violation) is collected.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wallboard.errors import WallboardError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
         "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-extensions",
         "--mute-audio", "--hide-scrollbars")
# Body attribute page.py's script sets once every chart is drawn.
RENDERED = "document.body !== null && document.body.dataset.rendered === 'true'"
# Per chart element: every drawn text (titles, ticks, annotations), and the tick labels of
# its first y axis, as a reader sees them.
DRAWN_TEXT = """Object.fromEntries(Array.from(document.querySelectorAll('.chart'), (el) => [
  el.id, {text: Array.from(el.querySelectorAll('text'), (t) => t.textContent).join(' | '),
          yticks: Array.from(el.querySelectorAll('.subplot.xy .ytick text'),
                             (t) => t.textContent)}]))"""


class BrowserError(WallboardError, RuntimeError):
    """Chromium could not be started, or did not answer in time."""


@dataclass(frozen=True, slots=True)
class PageCheck:
    """What loading a page showed."""

    url: str
    requests: tuple[str, ...]  # every URL the page asked for, its own included
    errors: tuple[str, ...]  # console errors, uncaught exceptions, browser-logged errors
    rendered: bool  # the page said it had drawn every chart
    svgs: int  # plotly's drawn charts: <svg class="main-svg"> elements (two per chart)
    texts: dict[str, str] = field(default_factory=dict)  # chart element id -> drawn text
    y_ticks: dict[str, tuple[str, ...]] = field(default_factory=dict)  # first y axis' labels

    def outside_requests(self) -> tuple[str, ...]:
        """Requests for anything but the page itself and inline data."""
        return tuple(u for u in self.requests
                     if u != self.url and not u.startswith(("data:", "blob:")))


def find_chromium() -> str | None:
    """The path of an installed Chromium or Chrome, if any."""
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


@dataclass
class _Session:
    """One Chromium process and the messages it has sent."""

    process: subprocess.Popen[bytes]
    to_browser: int
    inbox: queue.Queue[dict[str, Any]]
    events: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 0

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout_s: float = 30.0) -> dict[str, Any]:
        """Send one command and return its result; events meanwhile are kept."""
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                reply = self.inbox.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise BrowserError(f"chromium did not answer {method} in {timeout_s} s") from None
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise BrowserError(f"chromium: {method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            if "method" in reply:
                self.events.append(reply)

    def evaluate(self, expression: str, session: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True}, session)
        return result.get("result", {}).get("value")


def _high_fd(fd: int) -> int:
    """A copy of ``fd`` numbered 10 or more, so it cannot collide with fds 3 and 4."""
    copy = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return copy


def _start(binary: str, profile: Path, log: Path) -> _Session:
    to_read, to_write = (_high_fd(fd) for fd in os.pipe())
    from_read, from_write = (_high_fd(fd) for fd in os.pipe())
    # bash (dash takes single-digit fds only) hands Chromium our pipe ends as fds 3 and 4.
    shell = f'exec "$0" "$@" 3<&{to_read} 4>&{from_write} {to_read}<&- {from_write}>&-'
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            ["/bin/bash", "-c", shell, binary, *FLAGS, f"--user-data-dir={profile}",
             "about:blank"], pass_fds=(to_read, from_write), stdin=subprocess.DEVNULL,
            stdout=log_file, stderr=subprocess.STDOUT)
    os.close(to_read)
    os.close(from_write)
    inbox: queue.Queue[dict[str, Any]] = queue.Queue()

    def read() -> None:
        buffer = b""
        with os.fdopen(from_read, "rb", buffering=0) as stream:
            while chunk := stream.read(65536):
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                for message in messages:
                    inbox.put(json.loads(message))

    threading.Thread(target=read, daemon=True, name="chromium-devtools").start()
    return _Session(process, to_write, inbox)


def _stop(browser: _Session) -> None:
    with contextlib.suppress(BrowserError, OSError):  # it may already have gone
        browser.call("Browser.close", timeout_s=5)
    try:
        browser.process.wait(10)
    except subprocess.TimeoutExpired:
        browser.process.kill()
        browser.process.wait(5)
    os.close(browser.to_browser)


def _problems(events: list[dict[str, Any]]) -> list[str]:
    """Console errors, uncaught exceptions and browser-logged errors, as text."""
    found = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                                for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            found.append("exception: " + str(details.get("exception", {}).get(
                "description", details.get("text", ""))))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            found.append(f"log: {entry.get('text', '')} {entry.get('url', '')}".strip())
    return found


def check_page(path: Path, *, screenshot: Path | None = None, width: int = 1400,
               timeout_s: float = 30.0, binary: str | None = None) -> PageCheck:
    """Load ``path`` from disk in headless Chromium, wait for the charts, and report; with
    ``screenshot``, also save the whole page there as a PNG."""
    binary = binary or find_chromium()
    if binary is None:
        raise BrowserError("chromium is not installed (apt-get install chromium)")
    url = path.resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="wallboard-chromium-") as work:
        browser = _start(binary, Path(work) / "profile", Path(work) / "chromium.log")
        try:
            target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.call("Target.attachToTarget",
                                   {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Network", "Runtime", "Log"):
                browser.call(f"{domain}.enable", session=session)
            browser.call("Emulation.setDeviceMetricsOverride", {
                "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                session)
            browser.call("Page.navigate", {"url": url}, session)
            deadline = time.monotonic() + timeout_s
            rendered = False
            while not rendered and time.monotonic() < deadline:
                rendered = bool(browser.evaluate(RENDERED, session))
                if not rendered:
                    time.sleep(0.1)
            svgs = int(browser.evaluate("document.querySelectorAll('svg.main-svg').length",
                                        session) or 0)
            drawn = browser.evaluate(DRAWN_TEXT, session) or {}
            if screenshot is not None:
                _shoot(browser, session, width, screenshot)
        finally:
            _stop(browser)
    requests = tuple(e["params"]["request"]["url"] for e in browser.events
                     if e.get("method") == "Network.requestWillBeSent")
    return PageCheck(url, requests, tuple(_problems(browser.events)), rendered, svgs,
                     {key: value["text"] for key, value in drawn.items()},
                     {key: tuple(value["yticks"]) for key, value in drawn.items()})


def _shoot(browser: _Session, session: str, width: int, png: Path) -> None:
    """The whole page, not just the first screen, as a PNG."""
    height = int(browser.evaluate("document.documentElement.scrollHeight", session) or 900)
    browser.call("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session)
    time.sleep(0.5)  # plotly redraws on resize (responsive); let it settle
    shot = browser.call("Page.captureScreenshot", {"format": "png"}, session)
    png.parent.mkdir(parents=True, exist_ok=True)
    png.write_bytes(base64.b64decode(shot["data"]))
