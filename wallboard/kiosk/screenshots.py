"""``make screenshots``: the default wall screen for a simulated 200-agent floor, as PNGs.

Like ``wallboard demo``, it starts a private mosquitto, the controller and the simulator: a
busy Monday morning happening now, its warm-up folded before the controller publishes, so the
first snapshot is already a plausible floor, and the agents have display names. Then it
renders ``wallboard kiosk`` once per audience on a private Xvfb, each in its own process
(Kivy allows one window per process), on the wall clock like any screen.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from wallboard.bootstrap import build_controller, build_simulator_link
from wallboard.clock import ScaledClock
from wallboard.config import parse_config
from wallboard.demo import warm_up
from wallboard.demo_floor import DEMO_PROFILE, busy_zone
from wallboard.devservices import Mosquitto, Xvfb
from wallboard.services.simulate import publish_paced
from wallboard.sim.floor import SimSettings
from wallboard.sim.names import agents_toml

SITE = "demo"
AUDIENCES = {
    "floor": 'audience = "floor"\nmask_names = "initials"',
    "supervisor": 'audience = "supervisor"',
}


def kiosk_toml(broker: Mosquitto, audience: str, state_dir: Path, agents: int) -> str:
    """The demo floor's config with one audience's kiosk section and the agents' names."""
    return (f'[site]\nid = "{SITE}"\n[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
            f'[controller]\nstate_dir = "{state_dir}"\n'
            f'[kiosk]\nid = "wall-{audience}"\n{AUDIENCES[audience]}\n'
            + agents_toml(agents))


def main(argv: list[str] | None = None) -> int:
    """Run the floor, then shoot each audience's screen into ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--after", type=float, default=6.0,
                        help="seconds each screen collects data before its screenshot")
    parser.add_argument("--shoot", choices=sorted(AUDIENCES), help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    if args.shoot:  # the child: one screen, one window
        from wallboard.config import load_config
        from wallboard.kiosk.run import Window, run_kiosk

        return run_kiosk(load_config(args.config), Window(size=(width, height)),
                         screenshot=args.out / f"kiosk-{args.shoot}.png", after_s=args.after)
    return _shoot_all(args)


def _shoot_all(args: argparse.Namespace) -> int:
    now = time.time()
    clock = ScaledClock(now, wall=time.time)
    stop = threading.Event()
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="wallboard-shots-")))
        broker = stack.enter_context(Mosquitto())
        display = stack.enter_context(Xvfb())
        config = parse_config(kiosk_toml(broker, "floor", tmp / "controller", args.agents))
        controller = build_controller(config, clock=clock)
        sim_link = build_simulator_link(config, "shots", clock=clock)
        settings = SimSettings(agents=args.agents, queues=6, site=SITE,
                               root=config.mqtt.topic_root, seed=7, timezone=busy_zone(now),
                               profile=DEMO_PROFILE)
        threads: list[threading.Thread] = []
        try:
            sim_link.start()
            live = warm_up(controller, sim_link, settings, now, clock, stop)
            threads = [threading.Thread(target=controller.run, args=(stop,)),
                       threading.Thread(target=publish_paced,
                                        args=(live, sim_link, clock, stop,
                                              config.mqtt.topic_root))]
            for thread in threads:
                thread.start()
            code = 0
            for audience in AUDIENCES:
                path = tmp / f"{audience}.toml"
                path.write_text(kiosk_toml(broker, audience, tmp / "controller", args.agents))
                env = dict(os.environ, DISPLAY=display.display or "")
                result = subprocess.run(
                    [sys.executable, "-m", "wallboard.kiosk.screenshots", "--shoot", audience,
                     "--config", str(path), "--out", str(args.out), "--size", args.size,
                     "--after", str(args.after)],
                    env=env, timeout=180, check=False)
                code = code or result.returncode
            return code
        finally:
            stop.set()
            for thread in threads:
                thread.join(15)
            sim_link.stop()


if __name__ == "__main__":
    sys.exit(main())
