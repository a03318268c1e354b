"""`wallboard demo` as people run it: over SSH without a display, or with one (the wall screen
and a desk panel), attached to from other terminals, and stopped by Ctrl-C, SIGTERM or a
closed terminal (SIGHUP)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageOps

from tests.live import ROOT_DIR, require
from wallboard.demo_files import local_zone
from wallboard.devservices import Xvfb, wait_for
from wallboard.sim.floor import SimSettings

QUEUES = ("sales", "support", "billing", "retention", "tech", "general")
PLAUSIBLE_S = 15 * 60  # no wait, hold or help age on a first frame should be older
ALARMING = re.compile(r"WARNING|ERROR|Traceback|disconnected|refused", re.I)
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture
def demo_env():
    require("mosquitto", "mosquitto")
    require("influxd", "influxdb")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return {**env, "PYTHONUNBUFFERED": "1"}


class Demo:
    """A `wallboard demo` process in a session of its own, as a terminal would run it."""

    def __init__(self, args: list[str], env: dict[str, str], tmp: Path) -> None:
        self.err_path = tmp / "err.txt"
        with self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "wallboard.cli", "demo", *args], cwd=ROOT_DIR,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env,
                start_new_session=True)
        assert self.proc.stdout is not None
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.out = bytearray()

    def stderr(self) -> str:
        return self.err_path.read_text()

    def read(self) -> str:
        """Everything it printed on stdout so far."""
        assert self.proc.stdout is not None
        self.out.extend(self.proc.stdout.read() or b"")
        return self.out.decode(errors="replace")

    def wait_out(self, text: str, timeout: float = 60) -> None:
        wait_for(lambda: text in self.read() or self.proc.poll() is not None, timeout,
                 what=repr(text))
        assert text in self.read(), self.stderr()

    def attach(self, timeout: float = 60) -> tuple[Path, list[str]]:
        """The config dir and the attach commands it printed."""
        found = wait_for(lambda: re.search(r"config files for this demo are in (\S+) while "
                                           r"it runs; attach more with:\n((?:  .+\n){4})",
                                           self.stderr()) or self.proc.poll() is not None,
                         timeout, what="the attach commands")
        assert isinstance(found, re.Match), self.stderr()
        return Path(found.group(1)), [line.strip() for line in found.group(2).splitlines()]

    def ports(self) -> tuple[int, int]:
        found = re.search(r"mosquitto on [\d.]+:(\d+), influxd on http://[\d.]+:(\d+)",
                          self.stderr())
        assert found, self.stderr()
        return int(found.group(1)), int(found.group(2))

    def children(self) -> dict[int, str]:
        """Its child processes: pid -> command line."""
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                found[int(entry.name)] = cmdline
        return found

    def stop(self, sig: signal.Signals, group: bool) -> tuple[int, str]:
        """Send ``sig`` (to its process group, as a terminal does); its exit code and what it
        wrote on stderr from then on."""
        before = len(self.stderr())
        if group:
            os.killpg(self.proc.pid, sig)
        else:
            self.proc.send_signal(sig)
        code = self.proc.wait(30)
        return code, self.stderr()[before:]

    def kill(self) -> None:
        """After a failed test: the demo, and its children in their own sessions, at once."""
        if self.proc.poll() is not None:
            return
        children = self.children()
        dirs = []
        for pid in children:
            with contextlib.suppress(OSError):
                dirs.append(Path(os.readlink(f"/proc/{pid}/cwd")))
        os.killpg(self.proc.pid, signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()
        own = re.search(r"config files for this demo are in (\S+) ", self.stderr())
        for directory in [*dirs, *([Path(own.group(1))] if own else [])]:
            if directory.name.startswith("wallboard-"):
                shutil.rmtree(directory, ignore_errors=True)


def _closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _influx(port: int, query: str) -> list[dict[str, Any]]:
    """Rows of one InfluxQL query on the demo's database, as dicts."""
    url = f"http://127.0.0.1:{port}/query?" + urllib.parse.urlencode(
        {"db": "wallboard", "q": query, "epoch": "s"})
    with _HTTP.open(url, timeout=10) as response:
        result = json.loads(response.read())
    series = result["results"][0].get("series", [])
    return [dict(zip(s["columns"], row, strict=True)) for s in series for row in s["values"]]


def _assert_stopped_cleanly(demo: Demo, code: int, said: str, children: dict[int, str],
                            dirs: list[Path]) -> None:
    assert code == 0, demo.stderr()
    assert not ALARMING.search(said), said
    survivors = {pid: cmd for pid, cmd in children.items() if _alive(pid)}
    assert not survivors, survivors
    for directory in dirs:
        assert not directory.exists(), f"{directory} left behind"
    for port in demo.ports():
        assert _closed(port), f"port {port} still open after the demo stopped"


def _service_dirs(children: dict[int, str]) -> list[Path]:
    """The temp dirs the demo's mosquitto and influxd run in (their working dirs)."""
    dirs = []
    for pid, cmd in children.items():
        if "mosquitto" in cmd or "influxd" in cmd:
            dirs.append(Path(os.readlink(f"/proc/{pid}/cwd")))
    assert len(dirs) == 2, children
    return dirs


def test_demo_without_a_display_shows_the_live_floor_and_stops_everything(demo_env, tmp_path):
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.run(
            [sys.executable, "-m", "wallboard.cli", "demo", "--duration", "8", "--agents", "80"],
            stdout=o, stderr=e, env=demo_env, timeout=120, check=False)
    text, log = out.read_text(), err.read_text()
    assert proc.returncode == 0, log
    first = text.split("WALLBOARD  demo")[1]  # the first frame: a plausible floor already
    assert "NO DATA" not in first and "STALE" not in first, first
    longest = re.search(r"^FLOOR  waiting \d+ \(longest (\d+):\d\d\)", first, re.M)
    assert longest and int(longest.group(1)) < PLAUSIBLE_S / 60, first
    last = text.rsplit("WALLBOARD  demo", 1)[-1]  # the final frame
    for queue in QUEUES:
        assert re.search(rf"^{queue}\s+\d+\s+\d+:\d\d\s", last, re.M), (queue, last)
    assert re.search(r"^FLOOR  waiting \d+ \(longest \d+:\d\d\)  SL\s+\d+%", last, re.M), last
    assert re.search(r"^HELP  open \d+   today \d+ requests", last, re.M), last
    assert "STALE" not in last and "OFFLINE" not in last
    # The recorder stores the floor in the demo's InfluxDB as it goes.
    stored = re.search(r"^STORAGE  recorder main: ([\d,]+) stored, 0 spooled, 0 rejected, "
                       r"lag [\d.]+ s, InfluxDB up$", last, re.M)
    assert stored and int(stored.group(1).replace(",", "")) > 0, last
    assert "demo stopped" in text
    assert SimSettings().agents == 200  # the default floor `make demo` runs
    assert "wall screen" not in log  # headless: no window was tried


def test_tools_attached_to_the_demo_see_now_and_a_plausible_first_frame(demo_env, tmp_path):
    """Point 10: attached tools show real times; point 11: no phantom emergencies at first."""
    demo = Demo([], demo_env, tmp_path)
    try:
        config_dir, commands = demo.attach()
        kiosk, watch, desk, report = commands
        assert kiosk.split()[1:3] == ["kiosk", "--config"] and "--size" in kiosk
        assert desk.split()[1:4] == ["--virtual", "--config", str(config_dir / "desk.toml")]
        demo.wait_out("QUEUE")
        watched = subprocess.Popen(shlex.split(watch), cwd=ROOT_DIR, env=demo_env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert watched.stdout is not None
        os.set_blocking(watched.stdout.fileno(), False)
        seen = bytearray()

        def frames_with_queues() -> bool:
            seen.extend(watched.stdout.read() or b"")  # type: ignore[union-attr]
            return seen.count(b"QUEUE") >= 2 or watched.poll() is not None
        wait_for(frames_with_queues, 60, what="the attached view's frames")
        watched.send_signal(signal.SIGINT)
        rest, view_err = watched.communicate(timeout=15)
        assert watched.returncode == 0, view_err.decode()
        frame = (seen + rest).decode().rsplit("WALLBOARD", 1)[-1]
        assert re.search(r"^FLOOR  waiting \d+ \(longest \d:\d\d\)", frame, re.M), frame
        assert "STALE" not in frame and "NO DATA" not in frame, frame
        shown = re.search(r"(\d\d):(\d\d):(\d\d)", frame)
        assert shown, frame
        now = dt.datetime.now(ZoneInfo(local_zone()))
        seconds = int(shown[1]) * 3600 + int(shown[2]) * 60 + int(shown[3])
        apart = (seconds - (now.hour * 3600 + now.minute * 60 + now.second)) % 86_400
        assert min(apart, 86_400 - apart) < 30, (frame, now)
        # The attached view's clock and the floor it shows are today's, to the second.
        _, influx_port = demo.ports()
        latest = _influx(influx_port, "SELECT last(waiting) FROM kpi_floor")[0]["time"]
        assert abs(latest - time.time()) < 30, latest
        # The first snapshots and alerts the controller published: a floor already staffed,
        # no call, hold or help request older than plausible, no alert from the warm-up.
        first = _influx(influx_port, "SELECT * FROM kpi_floor ORDER BY time ASC LIMIT 3")
        assert first and first[0]["agents_logged_in"] > 50, first
        for row in first:
            assert abs(row["time"] - time.time()) < 60, row
            for key in ("longest_wait_s", "long_holds_max_s", "help_open_oldest_s"):
                assert (row.get(key) or 0) < PLAUSIBLE_S, (key, row)
        for alert in _influx(influx_port, "SELECT * FROM alert WHERE text =~ /waited/"):
            waited = re.search(r"waited (\d+) min", alert["text"])
            assert waited and int(waited.group(1)) < PLAUSIBLE_S / 60, alert
        args = shlex.split(report)
        args[args.index("--out") + 1] = str(tmp_path / "report.html")
        written = subprocess.run(args, cwd=ROOT_DIR, env=demo_env, capture_output=True,
                                 timeout=120, check=False)
        assert written.returncode == 0, written.stderr.decode()
        assert (tmp_path / "report.html").stat().st_size > 10_000
        code, said = demo.stop(signal.SIGTERM, group=False)
        assert code == 0 and not ALARMING.search(said), said
        assert not config_dir.exists()
    finally:
        demo.kill()


@pytest.mark.parametrize("sig, group", [(signal.SIGINT, True), (signal.SIGHUP, True),
                                        (signal.SIGTERM, False)],
                         ids=["ctrl-c", "terminal-closed", "sigterm"])
def test_every_stop_signal_cleans_up_like_ctrl_c(demo_env, tmp_path, sig, group):
    """SIGINT and SIGHUP go to the terminal's process group, SIGTERM to the demo alone."""
    demo = Demo(["--agents", "40"], demo_env, tmp_path)
    try:
        config_dir, _ = demo.attach()
        demo.wait_out("QUEUE")
        children = demo.children()
        dirs = [config_dir, *_service_dirs(children)]
        started = time.monotonic()
        code, said = demo.stop(sig, group)
        assert time.monotonic() - started < 30
        _assert_stopped_cleanly(demo, code, said, children, dirs)
        assert "demo stopped" in demo.read()
    finally:
        demo.kill()


class TerminalDemo(Demo):
    """A demo on a real terminal (a pty), which can be closed under it."""

    def __init__(self, args: list[str], env: dict[str, str], tmp: Path) -> None:
        self.err_path = tmp / "err.txt"
        self.master, slave = os.openpty()
        with self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "wallboard.cli", "demo", *args], cwd=ROOT_DIR,
                stdin=slave, stdout=slave, stderr=err, env=env, start_new_session=True)
        os.close(slave)
        os.set_blocking(self.master, False)
        self.out = bytearray()

    def read(self) -> str:
        with contextlib.suppress(BlockingIOError, OSError):
            self.out.extend(os.read(self.master, 1 << 16))
        return self.out.decode(errors="replace")

    def hang_up(self) -> tuple[int, str]:
        """Close the terminal, as closing its window does, then SIGHUP its process group."""
        before = len(self.stderr())
        os.close(self.master)
        os.killpg(self.proc.pid, signal.SIGHUP)
        code = self.proc.wait(30)
        return code, self.stderr()[before:]


def test_a_closed_terminal_stops_the_demo_cleanly_though_nothing_can_be_written(
        demo_env, tmp_path):
    """After the hang-up, writing to the terminal fails (EIO): the demo still exits 0."""
    demo = TerminalDemo(["--agents", "20"], demo_env, tmp_path)
    try:
        config_dir, _ = demo.attach()
        demo.wait_out("QUEUE")
        children = demo.children()
        dirs = [config_dir, *_service_dirs(children)]
        code, said = demo.hang_up()
        assert "Traceback" not in said, said
        _assert_stopped_cleanly(demo, code, said, children, dirs)
    finally:
        demo.kill()


def _grab(display: str) -> Image.Image:
    from PIL import ImageGrab

    return ImageGrab.grab(xdisplay=display).convert("RGB")


def _screen_text(image: Image.Image) -> str:
    """What tesseract reads on the whole screen: light text on dark, so inverted first."""
    binary = require("tesseract", "tesseract-ocr")
    page = ImageOps.invert(ImageOps.grayscale(image)).point(lambda v: 0 if v < 160 else 255)
    png = io.BytesIO()
    page.save(png, format="PNG")
    result = subprocess.run([binary, "stdin", "stdout", "--psm", "11"], input=png.getvalue(),
                            capture_output=True, check=True, timeout=60)
    return result.stdout.decode()


def test_with_a_display_a_desk_press_shows_on_the_wall_screen_within_a_second(
        demo_env, tmp_path):
    """Point 9: the wall screen and the desk panel open; a press shows on the screen."""
    with Xvfb(require("Xvfb", "xvfb"), width=1600, height=900) as display:
        assert display.display is not None
        demo = Demo(["--agents", "20"], {**demo_env, "DISPLAY": display.display}, tmp_path)
        try:
            config_dir, _ = demo.attach()
            demo.wait_out("help: none")  # the desk panel is online, on the demo's stdout

            def wall_screen_up() -> bool:
                lit = _grab(display.display or "").convert("L").point(
                    lambda v: 255 if v > 60 else 0)
                return lit.histogram()[255] > lit.width * 50
            wait_for(wall_screen_up, 60, interval=0.5, what="the wall screen's window")
            time.sleep(3)  # let it hear the retained floor
            before = _grab(display.display)
            shots: list[tuple[float, Image.Image]] = []
            assert demo.proc.stdin is not None
            demo.proc.stdin.write(b" ")  # space: the desk's button
            demo.proc.stdin.flush()
            pressed = None
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and (pressed is None
                                                  or time.monotonic() < pressed + 1.3):
                if pressed is None and "help: requested" in demo.read():
                    pressed = time.monotonic()  # the press reached the unit: its red lamp
                shots.append((time.monotonic(), _grab(display.display)))
                time.sleep(0.05)
            assert pressed is not None, demo.read()
            within = next(image for at, image in shots if at >= pressed + 1.0)
            assert "demo-desk" not in _screen_text(before)
            assert "demo-desk" in _screen_text(within), "the press is not on the wall screen"
            children = demo.children()
            commands = " ".join(children.values())
            assert " kiosk " in commands and "wallboard_desk.cli --virtual" in commands
            dirs = [config_dir, *_service_dirs(children)]
            code, said = demo.stop(signal.SIGHUP, group=True)  # the terminal is closed
            _assert_stopped_cleanly(demo, code, said, children, dirs)
        finally:
            demo.kill()
