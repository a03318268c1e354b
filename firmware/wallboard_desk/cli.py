"""``wallboard-desk``: run the desk unit (``--virtual`` for mock pins drawn in the terminal)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from wallboard.errors import ConfigError
from wallboard_desk.bootstrap import build_desk
from wallboard_desk.config import load_desk_config

DEFAULT_CONFIG = Path("/etc/wallboard/desk.toml")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, load the config and run until SIGTERM, SIGINT or ``q``."""
    parser = argparse.ArgumentParser(prog="wallboard-desk", description=__doc__)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG,
                        help=f"desk config file (default {DEFAULT_CONFIG})")
    parser.add_argument("--virtual", action="store_true",
                        help="gpiozero mock pins, the tower drawn in the terminal, keys: "
                             "space press, c cancel, q quit")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_desk_config(args.config)
    except ConfigError as exc:
        print(f"wallboard-desk: {exc}", file=sys.stderr)
        return 2
    factory: Any = None
    if args.virtual:
        from gpiozero.pins.mock import MockFactory

        factory = MockFactory()
    try:
        runtime = build_desk(config, pin_factory=factory)
    except Exception as exc:  # gpiozero: no usable GPIO here, or a pin already in use
        print(f"wallboard-desk: cannot set up the GPIO pins: {exc} "
              "(on a machine without GPIO, try --virtual)", file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()
        runtime.unit.wake()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.virtual:
        from wallboard_desk.virtual import attach

        attach(runtime, factory, stop)
    runtime.run(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
