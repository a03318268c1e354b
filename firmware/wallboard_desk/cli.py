"""``wallboard-desk``: run the desk unit (``--virtual`` for mock pins drawn in the terminal)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from wallboard import log_setup
from wallboard.cli_help import PlainParser
from wallboard.errors import ConfigError
from wallboard_desk.bootstrap import build_desk
from wallboard_desk.config import (
    VIRTUAL_BROKER,
    VIRTUAL_DESK,
    DeskConfig,
    load_desk_config,
    virtual_desk_config,
)

DEFAULT_CONFIG = Path("/etc/wallboard/desk.toml")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, load the config (built in for --virtual alone) and run the unit."""
    parser = build_parser()
    args = parser.parse_args(argv)
    log_setup.configure(args.log_level, sys.stderr)
    with contextlib.ExitStack() as scratch:
        if args.virtual and args.config is None:
            # Nothing installed to read: a throwaway desk, its saved request in a temp dir.
            state_dir = scratch.enter_context(tempfile.TemporaryDirectory(
                prefix="wallboard-desk-virtual-"))
            config = virtual_desk_config(Path(state_dir))
            print(f"wallboard-desk: virtual desk {config.desk.id} of site {config.desk.site}, "
                  f"broker {config.mqtt.host}:{config.mqtt.port} (built-in; --config FILE "
                  "for another)", file=sys.stderr)
        else:
            try:
                config = load_desk_config(args.config or DEFAULT_CONFIG)
            except ConfigError as exc:
                print(f"wallboard-desk: {exc}", file=sys.stderr)
                return 2
        return _serve(config, virtual=args.virtual)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, exposed so tests can inspect it."""
    parser = PlainParser(prog="wallboard-desk", description=__doc__)
    parser.add_argument("--config", type=Path, default=None,
                        help=f"desk config file (default: {DEFAULT_CONFIG}; with --virtual, "
                             f"desk {VIRTUAL_DESK['id']} of site {VIRTUAL_DESK['site']} on a "
                             f"broker at {VIRTUAL_BROKER['host']}:{VIRTUAL_BROKER['port']})")
    parser.add_argument("--virtual", action="store_true",
                        help="gpiozero mock pins, the tower drawn in the terminal, keys: "
                             "space press, c cancel, q quit")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="how much to log on stderr (default: %(default)s)")
    return parser


def _serve(config: DeskConfig, *, virtual: bool) -> int:
    """Run the unit until SIGTERM, SIGINT (or, virtual, SIGHUP or q); the exit code."""
    factory: Any = None
    if virtual:
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
    if virtual:
        # Closing its terminal stops a virtual desk cleanly, temp dir and all.
        signal.signal(signal.SIGHUP, on_signal)
        from wallboard_desk.virtual import attach

        attach(runtime, factory, stop)
    runtime.run(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
