"""``wallboard demo``: the whole system on one machine, with nothing to configure.

It starts a private mosquitto and influxd (free loopback ports, temp dirs), the controller,
the recorder (storing every message in that influxd) and the simulator (a 200-agent floor
on a busy Monday morning), all on one shared simulated clock, and shows the live terminal
view until Ctrl-C, which stops everything cleanly. The wall screen is a window of its own,
so it is not started here: `make screenshots` renders it for the same simulated floor.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sys
import tempfile
import threading
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from wallboard.adapters.influx import InfluxHttp
from wallboard.adapters.mqtt import MqttLink
from wallboard.bootstrap import build_controller, build_recorder, link_settings
from wallboard.clock import ScaledClock
from wallboard.config import WallboardConfig, parse_config
from wallboard.devservices import Influxd, Mosquitto, ServiceError, find_binary
from wallboard.services.database_setup import init_database
from wallboard.services.simulate import publish_paced
from wallboard.services.watch import Watcher, draw, watch_subscriptions
from wallboard.sim.floor import SimSettings, simulate

log = logging.getLogger(__name__)

SITE = "demo"
WARM_UP = dt.timedelta(minutes=90)  # the floor opens at 08:00; the demo joins at 09:30


def busy_moment(today: dt.date, tz: ZoneInfo) -> dt.datetime:
    """09:30 on a Monday at least a week back: the busiest time, safely in the past."""
    monday = today - dt.timedelta(days=today.weekday() + 7)
    return dt.datetime.combine(monday, dt.time(9, 30), tzinfo=tz)


def demo_config(broker: Mosquitto, influx: Influxd, state_dir: Path) -> WallboardConfig:
    """The config every demo part shares: the private broker and database, state in a temp
    dir; the recorder reports every second, so the view's storage line keeps up."""
    return parse_config(f"""
[site]
id = "{SITE}"
[mqtt]
host = "{broker.host}"
port = {broker.port}
[influx]
url = "{influx.url}"
[controller]
state_dir = "{state_dir}"
[recorder]
spool_dir = "{state_dir.parent / "recorder"}"
health_interval_s = 1.0
""", "(demo)")


def run_demo(*, agents: int = 200, queues: int = 6, speed: float = 5.0, seed: int = 1,
             duration_s: float | None = None, stop: threading.Event | None = None,
             out: TextIO = sys.stdout) -> int:
    """Run the demo until ``stop`` is set or ``duration_s`` wall seconds pass."""
    stop = stop or threading.Event()
    for binary, package in (("mosquitto", "mosquitto"), ("influxd", "influxdb")):
        if find_binary(binary) is None:
            print(f"{binary} not found: install the {package} package (make demo does)",
                  file=sys.stderr)
            return 2
    tz = ZoneInfo("UTC")
    joined = busy_moment(dt.date.today(), tz)
    clock = ScaledClock(joined.timestamp(), speed)
    with contextlib.ExitStack() as services:
        tmp = services.enter_context(tempfile.TemporaryDirectory(prefix="wallboard-demo-"))
        try:
            broker = services.enter_context(Mosquitto())
            influx = services.enter_context(Influxd())
        except ServiceError as exc:
            print(f"demo: {exc}", file=sys.stderr)
            return 1
        threads: list[threading.Thread] = []
        links: list[MqttLink] = []
        try:
            config = demo_config(broker, influx, Path(tmp) / "controller")
            print(f"demo: mosquitto on {broker.host}:{broker.port}, influxd on {influx.url},"
                  f" site {SITE!r}, {agents} agents, {queues} queues, {speed:g}x time"
                  " (Ctrl-C stops everything)", file=sys.stderr, flush=True)
            controller = build_controller(config, clock=clock)
            threads.append(threading.Thread(target=controller.run, args=(stop,),
                                            name="controller"))
            database = InfluxHttp.from_config(config.influx)
            init_database(database, config.recorder.retention)
            database.close()
            recorder = build_recorder(config, clock=clock)
            threads.append(threading.Thread(target=recorder.run, args=(stop,), name="recorder"))
            root = config.mqtt.topic_root
            sim_link = MqttLink(link_settings(config, "wallboard-simulator-demo", None,
                                              clock=clock))
            watcher = Watcher(root, SITE, clock)
            view_link = MqttLink(link_settings(config, "wallboard-watch-demo", None,
                                               clock=clock,
                                               subscriptions=watch_subscriptions(root, SITE)),
                                 on_message=watcher.handle)
            links += [sim_link, view_link]
            settings = SimSettings(agents=agents, queues=queues, site=SITE, root=root,
                                   seed=seed, timezone=tz.key)
            events = simulate(settings, (joined - WARM_UP).timestamp())
            threads.append(threading.Thread(
                target=publish_paced, args=(events, sim_link, clock, stop, root),
                name="simulator"))
            for link in links:
                link.start()
            for thread in threads:
                thread.start()
            if duration_s is not None:
                threading.Timer(duration_s, stop.set).start()
            draw(watcher, stop, out, tz=tz)
        finally:
            stop.set()
            for thread in threads:
                thread.join(15)
            for link in links:
                link.stop()
    out.write("\ndemo stopped: controller, recorder, simulator, broker and database are down\n")
    return 0
