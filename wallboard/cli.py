"""The ``wallboard`` command line: one sub-command per job, thin over the core and adapters."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from wallboard.config import load_config
from wallboard.errors import BadMessage, ConfigError
from wallboard.messages import Cleared, decode
from wallboard.topics import DEFAULT_ROOT


def _check_message(args: argparse.Namespace) -> int:
    """Validate one message the way every Wallboard service will."""
    payload: bytes = sys.stdin.buffer.read() if args.payload == "-" else args.payload.encode(
        "utf-8", "surrogateescape")
    if args.payload == "-":
        # Shells and editors add a final newline; a payload of only newlines stays as sent.
        payload = payload.rstrip(b"\r\n") or payload
    now = args.now if args.now is not None else time.time()
    try:
        result = decode(args.topic, payload, now=now, root=args.root)
    except BadMessage as exc:
        print(f"bad message: {exc}", file=sys.stderr)
        return 1
    ids = " ".join(f"{k}={v}" for k, v in (("site", result.topic.site), *result.topic.ids))
    if isinstance(result, Cleared):
        print(f"ok: {result.topic.kind} {ids}: cleared (empty retained payload)")
    else:
        body = json.dumps(result.message.model_dump(mode="json", exclude_none=True))
        print(f"ok: {result.topic.kind} {ids}: {type(result.message).__name__} {body}")
    return 0


def _check_config(args: argparse.Namespace) -> int:
    """Validate a config file and print the settings in force."""
    try:
        config = load_config(Path(args.file))
    except ConfigError as exc:
        print(f"bad config: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(config.model_dump(mode="json"), indent=2))
    return 0


def _preview(args: argparse.Namespace) -> int:
    """Replay a simulated floor through the floor model and print its KPIs."""
    from wallboard.sim.preview import preview

    start = dt.datetime.combine(dt.date.today(), dt.time(8), tzinfo=dt.UTC).timestamp()
    preview(start, args.hours, args.every_min, args.agents)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, exposed so tests and docs can inspect it."""
    parser = argparse.ArgumentParser(prog="wallboard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser(
        "check-message", help="validate one MQTT message against the contract",
        description="Exit 0 and print the parsed message, or exit 1 with one line naming "
                    "the topic, the field and the reason.")
    check.add_argument("topic", help="full topic, e.g. wallboard/hq/queue/sales/call")
    check.add_argument("payload", help="JSON payload, or - to read it from stdin")
    check.add_argument("--root", default=DEFAULT_ROOT, help="topic root (default: %(default)s)")
    check.add_argument("--now", type=float, default=None,
                       help="epoch seconds to judge 'ts' against (default: the clock)")
    check.set_defaults(func=_check_message)

    cfg = sub.add_parser("check-config", help="validate a wallboard.toml")
    cfg.add_argument("file", help="path to wallboard.toml")
    cfg.set_defaults(func=_check_config)

    prev = sub.add_parser("preview", help="print KPIs of a simulated floor (no services needed)")
    prev.add_argument("--agents", type=int, default=500)
    prev.add_argument("--hours", type=float, default=8.0)
    prev.add_argument("--every-min", type=float, default=60.0, help="print interval")
    prev.set_defaults(func=_preview)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wallboard`` console script."""
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
