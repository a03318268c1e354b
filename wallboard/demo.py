"""``wallboard demo``: the whole system on one machine, with nothing to configure.

It starts a private mosquitto and influxd (free loopback ports, a temp dir), the controller,
the recorder (storing every message in that influxd) and the simulator: a 200-agent floor
90 minutes into a busy Monday morning, happening now (``wallboard.demo_floor`` explains how
the timestamps stay real and the first frame plausible).

Where a display is named (``DISPLAY`` or ``WAYLAND_DISPLAY``), the floor is on the wall
screen, a supervisor kiosk in a window, and the terminal becomes a virtual desk unit: space
presses its "supervisor needed" button, ``c`` cancels, and ``q`` (or closing the wall
screen) stops the demo. Without a display the terminal shows the live floor instead. Either
way it writes config files for its broker and database into its temp dir and prints the
commands that attach more screens, desks and a report.

Ctrl-C, SIGTERM and SIGHUP (a closed terminal) all stop it the same way: the desk and the
wall screen first, then the simulator, controller and recorder, then the database and
the broker, and the temp dir is deleted.

At ``--speed`` 1 (the default) the demo's clock is the wall clock. At other speeds the
demo's own parts share its faster clock, but a screen, desk or report attached from outside
runs on the wall clock and shows odd ages: the demo says so when it starts.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TextIO, cast
from zoneinfo import ZoneInfo

from wallboard.adapters.influx import InfluxHttp
from wallboard.adapters.mqtt import MqttLink
from wallboard.bootstrap import (
    Controller,
    build_controller,
    build_recorder,
    build_simulator_link,
    build_watch_link,
    controller_service,
    recorder_service,
)
from wallboard.clock import ScaledClock
from wallboard.config import WallboardConfig, load_config
from wallboard.demo_children import Child, desk_panel, has_display, terminal_restored, wall_screen
from wallboard.demo_files import SITE, attach_commands, local_zone, site_today, write_files
from wallboard.demo_floor import DEMO_PROFILE, WARM_UP, busy_zone, fold_warm_up, split_warm_up
from wallboard.devservices import Influxd, Mosquitto, ServiceError, find_binary
from wallboard.messages import Message, encode
from wallboard.services.database_setup import init_database
from wallboard.services.simulate import publish_paced
from wallboard.services.watch import Watcher, draw
from wallboard.sim.floor import SimSettings, simulate
from wallboard.topics import Kind, build

__all__ = ["WARM_UP", "run_demo", "warm_up"]

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0
JOIN_TIMEOUT_S = 15.0
FIRST_FRAME_WAIT_S = 5.0


class _WithFooter(io.TextIOBase):
    """A terminal that shows the same footer under everything written to it."""

    def __init__(self, out: TextIO, footer: str) -> None:
        super().__init__()
        self.out, self.footer = out, footer

    def write(self, text: str) -> int:
        """Write ``text``, then the footer."""
        self.out.write(text + "\n" + self.footer)
        return len(text)

    def flush(self) -> None:
        """Flush the terminal."""
        self.out.flush()

    def isatty(self) -> bool:
        """True: it wraps a terminal."""
        return True


class _LastPublish:
    """Publishes through a link and keeps the last message's receipt, to wait for it."""

    def __init__(self, link: MqttLink) -> None:
        self.link = link
        self.info: object = None

    def publish(self, topic: str, payload: bytes, *, retain: bool = False, qos: int = 1
                ) -> object:
        """Publish, remembering the receipt."""
        self.info = self.link.publish(topic, payload, retain=retain, qos=qos)
        return self.info

    def wait(self, timeout: float) -> None:
        """Until the broker has the last message (it handles one client's in order)."""
        wait_for_publish = getattr(self.info, "wait_for_publish", None)
        # paho raises if the link dropped meanwhile: the demo goes on, as after a timeout.
        with contextlib.suppress(RuntimeError, ValueError):
            if wait_for_publish is not None:
                wait_for_publish(timeout)


def warm_up(controller: Controller, link: MqttLink, settings: SimSettings, now: float,
            clock: ScaledClock, stop: threading.Event) -> Iterator[tuple[str, Message]]:
    """Fold the floor's last ``WARM_UP`` into the controller before it runs, publish those
    events, and return the floor from ``now`` on, still to be published as it happens.

    Call it before ``controller.run``. The warm-up goes to the broker (retained states for
    the screens, history for the recorder) before the controller subscribes: it has folded
    them already, so nothing counts twice and the first snapshot is already a plausible floor.
    """
    root = settings.root
    past, live = split_warm_up(simulate(settings, now - WARM_UP.total_seconds()), now)
    help_now = fold_warm_up(controller.service.core, past, root)
    sent = _LastPublish(link)
    publish_paced(past, sent, clock, stop, root)
    for desk, help_status in help_now.items():
        sent.publish(build(Kind.HELP, root=root, site=settings.site, desk=desk),
                     encode(help_status), retain=True)
    sent.wait(START_TIMEOUT_S)
    return live


def _missing_binaries() -> str | None:
    """Why the demo cannot start here, or None."""
    for binary, package in (("mosquitto", "mosquitto"), ("influxd", "influxdb")):
        if find_binary(binary) is None:
            return f"{binary} not found: install the {package} package (make demo does)"
    return None


def run_demo(*, agents: int = 200, queues: int = 6, speed: float = 1.0, seed: int = 1,
             duration_s: float | None = None, stop: threading.Event | None = None,
             out: TextIO = sys.stdout, env: Mapping[str, str] | None = None) -> int:
    """Run the demo until ``stop`` is set, ``duration_s`` wall seconds pass, or (with a
    display) the desk panel or the wall screen closes."""
    stop = stop or threading.Event()
    missing = _missing_binaries()
    if missing:
        print(missing, file=sys.stderr)
        return 2
    window = has_display(os.environ if env is None else env)
    now = time.time()
    clock = ScaledClock(now, speed, wall=time.time)
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="wallboard-demo-")))
        try:
            broker = stack.enter_context(Mosquitto())
            influx = stack.enter_context(Influxd())
        except ServiceError as exc:
            print(f"demo: {exc}", file=sys.stderr)
            return 1
        files = write_files(tmp, mqtt_host=broker.host, mqtt_port=broker.port,
                            influx_url=influx.url, timezone=local_zone(), agents=agents)
        config = load_config(files.wallboard)
        print(f"demo: mosquitto on {broker.host}:{broker.port}, influxd on {influx.url},"
              f" site {SITE!r}, {agents} agents, {queues} queues, {speed:g}x time"
              f" (Ctrl-C stops everything)", file=sys.stderr, flush=True)
        if speed != 1:
            print("demo: note: above or below --speed 1, screens, desks and reports attached"
                  " from outside run on the wall clock and show odd ages", file=sys.stderr)
        demo = _Demo(config, clock, stop, out)
        stack.enter_context(terminal_restored(sys.stdin))
        try:
            settings = SimSettings(agents=agents, queues=queues, site=SITE,
                                   root=config.mqtt.topic_root, seed=seed,
                                   timezone=busy_zone(now), profile=DEMO_PROFILE)
            if not demo.start(settings, now):
                return 1 if not stop.is_set() else 0
            commands = attach_commands(files, site_today(now, config.site.timezone))
            print("demo: config files for this demo are in " + str(tmp) + " while it runs;"
                  " attach more with:\n" + "\n".join(f"  {c}" for c in commands),
                  file=sys.stderr, flush=True)
            timer = threading.Timer(duration_s, stop.set) if duration_s is not None else None
            if timer is not None:
                timer.daemon = True
                timer.start()
            if window:
                demo.show_window(wall_screen(files.own_wall, tmp / "wall-screen.log"),
                                 desk_panel(files.own_desk))
            else:
                demo.show_terminal(["", "attach more while the demo runs:",
                                    *(f"  {c}" for c in commands)])
            if timer is not None:
                timer.cancel()
        finally:
            demo.shut_down()
    # After SIGHUP the terminal may be gone: everything is down, so there is no one to tell.
    with contextlib.suppress(OSError):
        out.write("\ndemo stopped: controller, recorder, simulator, broker and database are "
                  "down\n")
        out.flush()
    return 0


class _Demo:
    """The demo's running parts, started in order and stopped in reverse."""

    def __init__(self, config: WallboardConfig, clock: ScaledClock, stop: threading.Event,
                 out: TextIO) -> None:
        self.config, self.clock, self.stop, self.out = config, clock, stop, out
        self.root = config.mqtt.topic_root
        self.children: list[Child] = []
        self.threads: list[threading.Thread] = []  # stopped in reverse order
        self.links: list[MqttLink] = []
        # Each service's retained status topic -> set once it says online.
        self.online: dict[str, threading.Event] = {}

    def _thread(self, name: str, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name)  # type: ignore[arg-type]
        self.threads.append(thread)
        thread.start()

    def _status_topic(self, service: str) -> str:
        """A service's status topic, watched from now on."""
        topic = build(Kind.SERVICE_STATUS, root=self.root, site=SITE, service=service)
        self.online[topic] = threading.Event()
        return topic

    def _on_status(self, topic: str, payload: bytes, retained: bool = False) -> None:
        """A service says online only after subscribing, so from then on it hears everything."""
        with contextlib.suppress(ValueError, AttributeError):
            if json.loads(payload or b"{}").get("online") is True and topic in self.online:
                self.online[topic].set()

    def start(self, settings: SimSettings, now: float) -> bool:
        """Recorder, warm-up, controller, then the live simulator; False if stopped early."""
        config = self.config
        database = InfluxHttp.from_config(config.influx)
        try:
            init_database(database, config.recorder.retention)
        finally:
            database.close()
        recorder_up = self._status_topic(recorder_service(config))
        controller_up = self._status_topic(controller_service(config))
        sim_link = build_simulator_link(config, "demo", clock=self.clock,
                                        subscriptions=[(t, 1) for t in self.online],
                                        on_message=self._on_status)
        self.links.append(sim_link)
        recorder = build_recorder(config, clock=self.clock)
        self._thread("recorder", recorder.run, self.stop)
        if not (sim_link.start(START_TIMEOUT_S) and self._came_online(recorder_up)):
            return False
        controller = build_controller(config, clock=self.clock)
        live = warm_up(controller, sim_link, settings, now, self.clock, self.stop)
        self._thread("controller", controller.run, self.stop)
        if not self._came_online(controller_up):
            return False
        self._thread("simulator", publish_paced, live, sim_link, self.clock, self.stop,
                     self.root)
        return not self.stop.is_set()

    def _came_online(self, topic: str) -> bool:
        """Wait until the service on ``topic`` says online; False if stopped or too slow."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.online[topic].wait(0.1):
            if self.stop.is_set():
                return False
            if time.monotonic() > deadline:
                print(f"demo: {topic} did not come online within {START_TIMEOUT_S:.0f} s",
                      file=sys.stderr)
                return False
        return True

    def show_terminal(self, footer: list[str]) -> None:
        """The live floor in the terminal, until stopped; on a terminal, which redraws in
        place, ``footer`` stays under every frame."""
        watcher = Watcher(self.root, SITE, self.clock)
        # Like `wallboard watch`: the view says why nothing arrives.
        view_link = build_watch_link(self.config, watcher, "demo", "demo")
        self.links.append(view_link)
        view_link.start()
        # The controller's snapshots are retained and on their way: the first frame shows
        # them, not a moment of "waiting for the controller".
        deadline = time.monotonic() + FIRST_FRAME_WAIT_S
        while watcher.view.floor is None and time.monotonic() < deadline:
            if self.stop.wait(0.05):
                return
        out = self.out
        if out.isatty():
            out = cast(TextIO, _WithFooter(out, "\n".join(footer)))
        draw(watcher, self.stop, out, tz=ZoneInfo(self.config.site.timezone))

    def show_window(self, wall: Child, desk: Child) -> None:
        """The wall screen in a window and the desk panel on this terminal, until stopped."""
        print("demo: the floor is on the wall screen; this terminal is a desk unit: space"
              " asks for a supervisor, c cancels, q stops the demo", file=sys.stderr,
              flush=True)
        for child in (wall, desk):
            self.children.append(child)
            child.start()
        while not self.stop.wait(0.2):
            for child in self.children:
                code = child.exit_code
                if code is None:
                    continue
                print(f"demo: the {child.name} closed"
                      + ("" if code == 0 else f" with exit code {code}:\n{child.output_tail()}")
                      + "; stopping the demo", file=sys.stderr, flush=True)
                self.stop.set()
                break

    def shut_down(self) -> None:
        """Stop everything that started, clients before what they talk to."""
        self.stop.set()
        for child in reversed(self.children):
            child.stop()
        for thread in reversed(self.threads):
            thread.join(JOIN_TIMEOUT_S)
            if thread.is_alive():
                log.warning("demo: %s did not stop within %.0f s", thread.name, JOIN_TIMEOUT_S)
        for link in self.links:
            link.stop()
