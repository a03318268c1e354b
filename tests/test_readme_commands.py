"""Every command in README.md's ``sh`` blocks, run as written, so the README cannot drift.

The commands are read from the README itself: continuation lines joined, comments dropped.
``HOW`` says how each one is run and what it must do: long-running services run against
this test's own mosquitto and influxd, with the config ``wallboard init`` writes pointed at
them, until they show they work, then stop on SIGTERM; ``make`` targets are only dry-run
(``make -n``). A README command with no entry in ``HOW`` fails the suite: add one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.live import ROOT_DIR, Recorder, require
from wallboard.config import load_config
from wallboard.devservices import Influxd, Mosquitto, Xvfb, wait_for
from wallboard.init_config import set_values

README = ROOT_DIR / "README.md"
VENV = Path(sys.prefix)  # the venv running these tests: the README's .venv


# --- Reading the commands -----------------------------------------------------------------

def strip_comment(line: str) -> str:
    """``line`` without its shell comment: a ``#`` at the start of a word, outside quotes."""
    quote: str | None = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def shell_commands(markdown: str) -> list[str]:
    """Each command of the ```sh blocks: ``\\`` continuations joined, comments dropped."""
    commands: list[str] = []
    for block in re.findall(r"^```sh[ \t]*\n(.*?)^```", markdown, re.M | re.S):
        joined = re.sub(r"[ \t]*\\\n[ \t]*", " ", block)
        commands += [command for line in joined.splitlines()
                     if (command := strip_comment(line).strip())]
    return commands


README_COMMANDS = shell_commands(README.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("block", "commands"), [
    ("```sh\nmake demo   # a comment\n\n# a whole-line comment\nmake test\n```\n",
     ["make demo", "make test"]),
    ("```sh\nwallboard check-message t \\\n    '{\"a\": \"#1\"}'  # note\n```\n",
     ["wallboard check-message t '{\"a\": \"#1\"}'"]),
    ("```\nnot sh\n```\n```sh\nls a#b\n```\n", ["ls a#b"]),
], ids=["comments", "continuation", "sh-blocks-only"])
def test_shell_commands_are_read_as_a_shell_would(block, commands):
    assert shell_commands(block) == commands


# --- Running them ---------------------------------------------------------------------------

class Running:
    """A command started through bash (``exec``, so signals reach it), its output collected."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str], stdin: bool) -> None:
        self.command = command
        self.process = subprocess.Popen(
            ["bash", "-c", f"exec {command}"], cwd=cwd, env=env,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._out, self._err = bytearray(), bytearray()
        self._readers = [threading.Thread(target=self._read, args=(stream, into), daemon=True)
                         for stream, into in ((self.process.stdout, self._out),
                                              (self.process.stderr, self._err))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, into: bytearray) -> None:
        for chunk in iter(lambda: stream.read1(65536), b""):
            into.extend(chunk)

    @property
    def out(self) -> str:
        return self._out.decode(errors="replace")

    @property
    def err(self) -> str:
        return self._err.decode(errors="replace")

    def wait_output(self, text: str, timeout: float = 30.0) -> None:
        """Wait until stdout shows ``text``; fail with the output if the command ends first."""
        def shown() -> bool:
            assert self.process.poll() is None or text in self.out, (
                f"{self.command} ended with {self.process.returncode} before showing "
                f"{text!r}\nstdout: {self.out[-2000:]}\nstderr: {self.err[-2000:]}")
            return text in self.out
        wait_for(shown, timeout, what=f"{text!r} from {self.command}")

    def alive(self) -> None:
        """Fail, with its output, if the command has ended."""
        assert self.process.poll() is None, (
            f"{self.command} ended with {self.process.returncode}\n{self.err[-3000:]}")

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, as systemd or Ctrl-C would stop it; the exit code once it has ended."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"{self.command} ignored SIGTERM\n{self.err[-2000:]}") from None
        for reader in self._readers:
            reader.join(5)
        return code

    def finish(self, timeout: float = 20.0) -> int:
        """Wait for it to end by itself; its exit code."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"{self.command} did not end\n{self.err[-2000:]}") from None
        for reader in self._readers:
            reader.join(5)
        return code


@dataclass
class Site:
    """A folder laid out as the README assumes (``.venv``, ``wallboard.toml`` from
    ``wallboard init``), its config pointed at this test's broker and database."""

    directory: Path
    broker: Mosquitto
    influxd: Influxd
    database: str
    env: dict[str, str]
    stack: contextlib.ExitStack
    running: list[Running] = field(default_factory=list)
    _display: str | None = None

    def run(self, command: str, timeout: float = 60.0, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command to its end, as a shell in the site's folder would."""
        return subprocess.run(["bash", "-c", command], cwd=cwd or self.directory,
                              env=env or self.env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def start(self, command: str, *, stdin: bool = False,
              env: dict[str, str] | None = None) -> Running:
        """Start a long-running command; it is stopped at the end of the test if still up."""
        running = Running(command, self.directory, env or self.env, stdin)
        self.running.append(running)
        return running

    def display(self) -> str:
        """An X display (Xvfb, 1920x1080), started on first use."""
        if self._display is None:
            xvfb = self.stack.enter_context(Xvfb(require("Xvfb", "xvfb"), width=1920,
                                                 height=1080))
            assert xvfb.display is not None
            self._display = xvfb.display
        return self._display

    def floor_snapshot(self, client: Recorder, timeout: float = 20.0) -> dict[str, object]:
        """The controller's retained floor snapshot for the site ``wallboard init`` names."""
        return client.wait_json("wallboard/main/kpi/floor", lambda data: True, timeout)

    def measurements(self) -> set[str]:
        """What the recorder has stored so far."""
        result = self.influxd.query("SHOW MEASUREMENTS", db=self.database)
        series = result["results"][0].get("series", [])
        return {row[0] for s in series for row in s["values"]}


@pytest.fixture
def site(tmp_path, mosquitto, influxd, influx_db) -> Iterator[Site]:
    wallboard = VENV / "bin" / "wallboard"
    assert wallboard.is_file(), f"run the tests from the project's venv: no {wallboard}"
    directory = tmp_path / "site"
    directory.mkdir()
    (directory / ".venv").symlink_to(VENV, target_is_directory=True)
    # Nothing here may open a window on the desktop running the tests, nor read its session.
    env = {key: value for key, value in os.environ.items()
           if key not in {"DISPLAY", "WAYLAND_DISPLAY", "NOTIFY_SOCKET", "WATCHDOG_USEC"}}
    env["PYTHONUNBUFFERED"] = "1"  # output reaches the pipe as it is printed
    made = subprocess.run(
        [str(wallboard), "init", "--broker", f"{mosquitto.host}:{mosquitto.port}",
         "--influx", influxd.url], cwd=directory, env=env, capture_output=True, text=True,
        timeout=60)
    assert made.returncode == 0, made.stderr
    config = directory / "wallboard.toml"
    config.write_text(set_values(config.read_text(), {"influx": {"database": influx_db}},
                                 str(config)))
    with contextlib.ExitStack() as stack:
        site = Site(directory, mosquitto, influxd, influx_db, env, stack)
        try:
            yield site
        finally:
            for running in site.running:
                if running.process.poll() is None:
                    running.process.kill()
                    running.process.wait(10)


def succeeded(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """``result``, having checked it exited 0 and wrote no traceback."""
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result


def stopped_cleanly(running: Running) -> None:
    """SIGTERM stops it with exit code 0 and no traceback."""
    code = running.stop()
    assert code == 0, f"{running.command}: exit {code}\n{running.err[-3000:]}"
    assert "Traceback" not in running.err, running.err[-3000:]


# --- What each command must do --------------------------------------------------------------

INIT_DB = ".venv/bin/wallboard recorder --config wallboard.toml --init-db"
CONTROLLER = ".venv/bin/wallboard controller --config wallboard.toml"


def dry_run_make(expected: str) -> Callable[[Site, str], None]:
    """``make TARGET`` exists and would run ``expected``: checked with ``make -n``, not run."""
    def check(site: Site, command: str) -> None:
        target = command.removeprefix("make ").strip()
        result = succeeded(site.run(f"make -n {target}", cwd=ROOT_DIR))
        assert expected in result.stdout, result.stdout[-2000:]
    return check


def init(site: Site, command: str) -> None:
    """Writes a valid starter for a broker and InfluxDB on this machine; never overwrites."""
    fresh = site.directory / "fresh"
    fresh.mkdir()
    (fresh / ".venv").symlink_to(VENV, target_is_directory=True)
    result = succeeded(site.run(command, cwd=fresh))
    written = fresh / "wallboard.toml"
    assert f"wrote {written.name}" in result.stderr
    config = load_config(written)
    assert (config.mqtt.host, config.mqtt.port) == ("127.0.0.1", 1883)
    assert config.influx.url == "http://127.0.0.1:8086"
    assert config.controller.state_dir == fresh.resolve() / "wallboard-data" / "controller"
    text = written.read_text()
    again = site.run(command, cwd=fresh)
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "not overwriting wallboard.toml" in again.stderr
    assert written.read_text() == text


def check_config(site: Site, command: str) -> None:
    """Prints the settings in force, as JSON: the ones ``wallboard init`` wrote."""
    result = succeeded(site.run(command))
    settings = json.loads(result.stdout)
    assert settings["mqtt"]["port"] == site.broker.port
    assert settings["influx"]["database"] == site.database


def init_db(site: Site, command: str) -> None:
    """Creates the database's retention policies, then exits."""
    result = succeeded(site.run(command))
    assert "change(s)" in result.stderr
    policies = site.influxd.query(f'SHOW RETENTION POLICIES ON "{site.database}"')
    names = {row[0] for row in policies["results"][0]["series"][0]["values"]}
    assert {"raw", "agg_1m", "agg_15m"} <= names


def controller(site: Site, command: str) -> None:
    """Publishes the site's floor snapshot; stops cleanly on SIGTERM."""
    client = Recorder(site.broker, "wallboard/main/#")
    running = site.start(command)
    snapshot = site.floor_snapshot(client)
    assert "today" in snapshot and "sliding" in snapshot
    running.alive()
    stopped_cleanly(running)
    client.close()


def recorder(site: Site, command: str) -> None:
    """Stores what reaches the broker in InfluxDB."""
    succeeded(site.run(INIT_DB))
    client = Recorder(site.broker, "wallboard/main/#")
    running = site.start(command)
    wait_for(lambda: "service_status" in site.measurements(), 30,
             what="the recorder to store its own status")
    client.publish("wallboard/main/queue/sales/call",
                   {"ts": time.time(), "call": "c-readme", "event": "offered"})
    wait_for(lambda: "call" in site.measurements(), 30, what="the call event in InfluxDB")
    stopped_cleanly(running)
    client.close()


def simulate(site: Site, command: str) -> None:
    """Publishes a simulated floor's agent states and calls."""
    client = Recorder(site.broker, "wallboard/main/#")
    running = site.start(command)
    wait_for(lambda: any(re.fullmatch(r"wallboard/main/agent/[^/]+/state", topic)
                         for topic, _, _ in list(client.messages)), 30,
             what="simulated agent states")
    stopped_cleanly(running)
    sent = re.search(r"published (\d+) messages", running.err)
    assert sent and int(sent.group(1)) > 0, running.err[-2000:]
    client.close()


def watch(site: Site, command: str) -> None:
    """Draws the floor the controller publishes."""
    client = Recorder(site.broker, "wallboard/main/#")
    site.start(CONTROLLER)
    site.floor_snapshot(client)
    running = site.start(command)
    running.wait_output("FLOOR")
    running.alive()
    stopped_cleanly(running)
    client.close()


@contextlib.contextmanager
def notify_socket(directory: Path) -> Iterator[tuple[Path, socket.socket]]:
    """A socket standing in for systemd's, to hear the kiosk say READY=1."""
    path = directory / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.5)
    try:
        yield path, sock
    finally:
        sock.close()


def kiosk(site: Site, command: str) -> None:
    """Opens the wall screen on the display and tells systemd it is up; stops on SIGTERM."""
    with notify_socket(site.directory) as (path, sock):
        env = {**site.env, "DISPLAY": site.display(), "NOTIFY_SOCKET": str(path)}
        running = site.start(command, env=env)
        heard: list[bytes] = []

        def ready() -> bool:
            running.alive()
            with contextlib.suppress(TimeoutError):
                heard.append(sock.recv(256))
            return b"READY=1" in heard
        wait_for(ready, 90, what="the kiosk's READY=1")
    running.alive()
    stopped_cleanly(running)


def kiosk_screenshot(site: Site, command: str) -> None:
    """Renders the wall screen into a PNG and exits."""
    from PIL import Image

    env = {**site.env, "DISPLAY": site.display()}
    result = succeeded(site.run(command, timeout=120, env=env))
    shot = site.directory / "shot.png"
    assert "saved shot.png" in result.stdout
    with Image.open(shot) as image:
        assert image.width >= 640 and image.height >= 480
        colours = image.convert("RGB").getcolors(1 << 24)
        assert colours is not None and len(colours) > 10  # drawn, not a blank frame


def desk_virtual(site: Site, command: str) -> None:
    """Runs with no config file: draws the tower, and quits on q."""
    running = site.start(command, stdin=True)
    running.wait_output("help:")
    assert running.process.stdin is not None
    running.process.stdin.write(b"q")
    running.process.stdin.flush()
    assert running.finish() == 0, running.err[-2000:]
    assert "virtual desk d-virtual of site main, broker 127.0.0.1:1883" in running.err
    assert "No such file" not in running.err and "Traceback" not in running.err


def report(site: Site, command: str) -> None:
    """Writes the week's HTML report from InfluxDB."""
    succeeded(site.run(INIT_DB))
    result = succeeded(site.run(command, timeout=180))
    assert "wrote week.html" in result.stderr
    assert "<html" in (site.directory / "week.html").read_text(encoding="utf-8").lower()


def staffing(site: Site, command: str) -> None:
    """Erlang C's published example: 14 agents, 20 to schedule at 30 % shrinkage."""
    plan = json.loads(succeeded(site.run(command)).stdout)
    assert (plan["agents_required"], plan["agents_scheduled"]) == (14, 20)


def check_message(site: Site, command: str) -> None:
    """Accepts the example message and prints it parsed."""
    result = succeeded(site.run(command))
    assert result.stdout.startswith("ok: call site=hq queue=sales: CallEvent"), result.stdout


HOW: dict[str, Callable[[Site, str], None]] = {
    "make demo": dry_run_make("bin/wallboard demo"),
    "make test": dry_run_make("bin/pytest"),
    ".venv/bin/wallboard init": init,
    ".venv/bin/wallboard check-config wallboard.toml": check_config,
    INIT_DB: init_db,
    CONTROLLER: controller,
    ".venv/bin/wallboard recorder --config wallboard.toml": recorder,
    ".venv/bin/wallboard simulate --config wallboard.toml": simulate,
    ".venv/bin/wallboard watch --config wallboard.toml": watch,
    ".venv/bin/wallboard kiosk --config wallboard.toml": kiosk,
    ".venv/bin/wallboard kiosk --config wallboard.toml --screenshot shot.png --after 5":
        kiosk_screenshot,
    ".venv/bin/wallboard-desk --virtual": desk_virtual,
    ".venv/bin/wallboard report --from 2026-11-16 --to 2026-11-22 --config wallboard.toml "
    "--out week.html": report,
    ".venv/bin/wallboard staffing --calls 100 --period-s 1800 --aht-s 180 --shrinkage 0.3":
        staffing,
    ".venv/bin/wallboard check-message wallboard/hq/queue/sales/call "
    "'{\"ts\": 1795420800, \"call\": \"c-1001\", \"event\": \"answered\", \"wait_s\": 12.5, "
    "\"agent\": \"a17\"}'": check_message,
}


def test_every_readme_command_has_a_way_to_run():
    """A new README command needs an entry in HOW; an entry for a removed one goes too."""
    missing = [command for command in README_COMMANDS if command not in HOW]
    stale = [command for command in HOW if command not in README_COMMANDS]
    assert not missing, f"README commands with no entry in HOW: {missing}"
    assert not stale, f"HOW entries for commands no longer in the README: {stale}"


def test_the_readme_has_commands_in_every_section():
    assert {"make demo", CONTROLLER, ".venv/bin/wallboard init"} <= set(README_COMMANDS)


@pytest.mark.parametrize("command", README_COMMANDS,
                         ids=[re.sub(r"[^\w.-]+", "-", c.removeprefix(".venv/bin/"))[:70]
                              for c in README_COMMANDS])
def test_readme_command(command, site):
    if command not in HOW:
        pytest.fail(f"no entry in HOW for the README command {command!r}: say how to run it")
    HOW[command](site, command)
