"""The ``wallboard`` command line: one sub-command per job, thin over the core and adapters."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from wallboard import log_setup
from wallboard.cli_help import PlainParser
from wallboard.config import WallboardConfig, load_config, parse_config
from wallboard.errors import BadMessage, ConfigError
from wallboard.messages import Cleared, decode
from wallboard.security.acl import Role
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


def _init(args: argparse.Namespace) -> int:
    """Write a commented starter config for services on this machine; never overwrite one."""
    from wallboard.init_config import starter_for, write_starter

    return write_starter(args.file, starter_for(args.file, args.broker, args.influx))


def _preview(args: argparse.Namespace) -> int:
    """Replay a simulated floor through the floor model and print its KPIs."""
    from wallboard.sim.preview import preview

    start = dt.datetime.combine(dt.date.today(), dt.time(8), tzinfo=dt.UTC).timestamp()
    preview(start, args.hours, args.every_min, args.agents)
    return 0


def _config(path: str | None) -> WallboardConfig:
    """The config at ``path``, or every default when no file is given."""
    return load_config(Path(path)) if path else parse_config("", "(defaults)")


def _until_signalled() -> threading.Event:
    """An event set by SIGTERM or SIGINT, so a service stops cleanly on either."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _controller(args: argparse.Namespace) -> int:
    """Run the controller until SIGTERM or Ctrl-C."""
    from wallboard.bootstrap import build_controller

    config = _config(args.config)
    controller = build_controller(config, state_dir=args.state_dir)
    try:
        controller.run(_until_signalled())  # checks the state dir before anything starts
    except ConfigError as exc:
        if args.state_dir:
            print(f"bad option: --state-dir: {exc.reason}", file=sys.stderr)
        else:
            print(f"bad config: {args.config or '(defaults)'}: {exc.key}: {exc.reason}",
                  file=sys.stderr)
        return 2
    return 0


def _recorder(args: argparse.Namespace) -> int:
    """Set up InfluxDB (--init-db), or record every message until SIGTERM or Ctrl-C."""
    from pydantic import ValidationError

    from wallboard.recorder.config import RecorderConfig
    from wallboard.validation import field_and_reason

    config = _config(args.config)
    changes = {key: value for key, value in (("id", args.id), ("share_group", args.share),
                                             ("spool_dir", args.spool_dir)) if value is not None}
    if changes:
        try:
            recorder = RecorderConfig.model_validate({**config.recorder.model_dump(), **changes})
        except ValidationError as exc:
            name, reason = field_and_reason(exc, whole="option", options={"share_group": "--share"})
            print(f"bad option: {name}: {reason}", file=sys.stderr)
            return 2
        config = config.model_copy(update={"recorder": recorder})
    if args.init_db:
        return _init_db(config)
    from wallboard.bootstrap import build_recorder

    try:
        build_recorder(config).run(_until_signalled())  # opens the spool before connecting
    except ConfigError as exc:
        where = "--spool-dir" if args.spool_dir else f"{args.config or '(defaults)'}: {exc.key}"
        print(f"bad config: {where}: {exc.reason}", file=sys.stderr)
        return 2
    return 0


def _init_db(config: WallboardConfig) -> int:
    from wallboard.adapters.influx import InfluxHttp, InfluxRefused, InfluxUnavailable
    from wallboard.services.database_setup import init_database

    db = InfluxHttp.from_config(config.influx)
    try:
        statements = init_database(db, config.recorder.retention)
    except (InfluxUnavailable, InfluxRefused) as exc:
        print(f"cannot set up InfluxDB: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()
    for statement in statements:
        print(statement)
    where = f"{config.influx.url} database {config.influx.database}"
    print(f"{where}: {len(statements)} change(s)" if statements else
          f"{where}: already set up, nothing changed", file=sys.stderr)
    return 0


def _simulate(args: argparse.Namespace) -> int:
    """Publish a simulated floor to the broker until Ctrl-C or the end of --hours."""
    from wallboard.bootstrap import build_simulator_link
    from wallboard.clock import ScaledClock
    from wallboard.services.simulate import publish_paced
    from wallboard.sim.floor import SimSettings, simulate

    config = _config(args.config)
    site = args.site or config.site.id
    tz = ZoneInfo(config.site.timezone)
    start: dt.datetime = args.start or dt.datetime.now(tz)
    if start.tzinfo is None:
        start = start.replace(tzinfo=tz)
    clock = ScaledClock(start.timestamp(), args.speed)
    if args.speed > 1 and start.timestamp() + 86_400 > time.time():
        print("note: at --speed above 1, event times run ahead of the wall clock; a controller"
              " on the wall clock refuses calls and states over a minute ahead. Use --start"
              " in the past"
              " (to fill history) or `wallboard demo`, which shares one clock.",
              file=sys.stderr)
    settings = SimSettings(agents=args.agents, queues=args.queues, site=site,
                           root=config.mqtt.topic_root, seed=args.seed,
                           timezone=config.site.timezone,
                           id_prefix=f"s{args.seed}-{int(start.timestamp())}-")
    end = start.timestamp() + args.hours * 3600 if args.hours else None
    link = build_simulator_link(config, site, clock=clock)
    stop = _until_signalled()
    link.start()
    try:
        sent = publish_paced(simulate(settings, start.timestamp(), end), link, clock, stop,
                             config.mqtt.topic_root)
    finally:
        link.stop()
    print(f"published {sent} messages", file=sys.stderr)
    return 0


def _asterisk(args: argparse.Namespace) -> int:
    """The telephony adapter (issue 19): its place, until the adapter is wired in here."""
    print("wallboard asterisk: the telephony adapter is not wired in yet", file=sys.stderr)
    return 1


def _asterisk_translate(args: argparse.Namespace) -> int:
    """Print the contract messages a queue_log file becomes, one JSON object per line."""
    from wallboard.telephony.settings import TelephonyConfig
    from wallboard.telephony.translate_cli import translate_file

    config = _config(args.config)
    return translate_file(Path(args.file), config.telephony or TelephonyConfig(),
                          site=config.site.id, root=config.mqtt.topic_root, out=sys.stdout,
                          err=sys.stderr, now=time.time())


def _add_asterisk_commands(ast: argparse.ArgumentParser) -> None:
    """Register ``asterisk translate``; ``asterisk`` alone runs the adapter."""
    commands = ast.add_subparsers(dest="asterisk_command", metavar="COMMAND")
    tra = commands.add_parser(
        "translate", help="print the contract messages a queue_log file becomes",
        description="Read a queue_log file (gzip-compressed or not) and print each contract "
                    "message it becomes as one JSON object per line, {\"topic\": ..., "
                    "\"payload\": ...}, with topics under the configured root and site. Bad "
                    "lines go to stderr with their line number and reason, and a one-line "
                    "summary of counts per verb ends stderr. Exits 0 even when some lines were "
                    "bad; 1 only if the file cannot be read (docs/asterisk.md).")
    tra.add_argument("file", metavar="FILE", help="the queue_log file to translate")
    # SUPPRESS: "asterisk --config F translate X" keeps the F given before the command.
    tra.add_argument("--config", default=argparse.SUPPRESS,
                     help="wallboard.toml (default: built-in defaults)")
    tra.set_defaults(func=_asterisk_translate)


def _demo(args: argparse.Namespace) -> int:
    """Run the whole system locally: the wall screen and a desk, or the live terminal view."""
    from wallboard.demo import run_demo

    stop = _until_signalled()
    # A closed terminal (or tmux kill-session) hangs up: clean up as for Ctrl-C.
    signal.signal(signal.SIGHUP, lambda *_: stop.set())
    return run_demo(agents=args.agents, queues=args.queues, speed=args.speed, seed=args.seed,
                    duration_s=args.duration, stop=stop)


def _watch(args: argparse.Namespace) -> int:
    """Show the live terminal view of a running site."""
    from wallboard.bootstrap import build_watch_link
    from wallboard.services.watch import Watcher, draw

    config = _config(args.config)
    watcher = Watcher(config.mqtt.topic_root, config.site.id)
    link = build_watch_link(config, watcher, str(os.getpid()))
    stop = _until_signalled()
    link.start(timeout=0)  # draw at once: the view says what it is waiting for
    try:
        draw(watcher, stop, tz=ZoneInfo(config.site.timezone))
    finally:
        link.stop()
    return 0


def _kiosk(args: argparse.Namespace) -> int:
    """Run the wall screen, or render it once to a PNG."""
    from wallboard.kiosk.run import Window, run_kiosk

    config = _config(args.config)
    for option, value in (("--after", args.after), ("--layout-json", args.layout_json)):
        if value is not None and args.screenshot is None:
            print(f"bad option: {option} needs --screenshot", file=sys.stderr)
            return 2
    return run_kiosk(config, Window(size=args.size), screenshot=args.screenshot,
                     after_s=args.after if args.after is not None else 5.0,
                     layout=args.layout_json)


def _provision_device(args: argparse.Namespace) -> int:
    """Give a device a new broker password and its ACL block; print its config."""
    from wallboard.security.provision import run_provision

    return run_provision(role=args.role, device_id=args.id, site=args.site, root=args.root,
                         password_file=args.password_file, acl_file=args.acl_file,
                         broker_host=args.broker_host, broker_port=args.broker_port,
                         as_json=args.json)


def _staffing(args: argparse.Namespace) -> int:
    """Print Erlang C's agents required and to schedule, with the forecast, as one JSON object."""
    from pydantic import ValidationError

    from wallboard.errors import one_line
    from wallboard.staffing import StaffingRequest, plan_staffing
    from wallboard.validation import field_and_reason

    given = {name: getattr(args, name) for name in StaffingRequest.model_fields
             if getattr(args, name) is not None}
    try:
        request = StaffingRequest.model_validate(given)
    except ValidationError as exc:
        # Options arrive as text: show the value as it was typed.
        option, reason = field_and_reason(exc, whole="option", options={}, show_input=str)
        print(one_line(f"bad option: {option}: {reason}"), file=sys.stderr)
        return 2
    print(json.dumps(plan_staffing(request).as_json(), indent=2, allow_nan=False))
    return 0


def _add_staffing(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``staffing``; its options and help come from StaffingRequest, so they agree."""
    from wallboard.staffing import StaffingRequest

    sta = sub.add_parser(
        "staffing", help="agents needed to meet a service-level target (Erlang C)",
        description="Print, as one JSON object, the fewest agents that answer --sl-target of "
                    "calls within --sl-threshold-s with occupancy at most --max-occupancy "
                    "(agents_required), the agents to schedule after --shrinkage "
                    "(agents_scheduled), and for those agents (or --agents) the Erlang C "
                    "forecast: p_wait, service_level, asa_s (null when the agents cannot keep "
                    "up) and occupancy. A bad value exits 2 with one line naming the option.")
    for name, field in StaffingRequest.model_fields.items():
        # Options stay text here: the model parses them, so every bad value gets one line.
        default = "" if field.is_required() or field.default is None else (
            f" (default: {field.default})")
        sta.add_argument("--" + name.replace("_", "-"), required=field.is_required(),
                         help=f"{field.description}{default}".replace("%", "%%"))
    sta.set_defaults(func=_staffing)


def _report(args: argparse.Namespace) -> int:
    """Write the HTML report of a site over a date range, with a progress bar on stderr."""
    from wallboard.adapters.influx import InfluxRefused, InfluxUnavailable
    from wallboard.errors import one_line
    from wallboard.report.period import BadPeriod, period_of
    from wallboard.report.progress import Progress
    from wallboard.report.run import write_report
    from wallboard.topics import is_id

    config = _config(args.config)
    if args.site is not None and not is_id(args.site):
        print(f"bad option: --site: not a site id: {args.site!r}", file=sys.stderr)
        return 2
    try:
        period = period_of(args.from_, args.to, ZoneInfo(config.site.timezone))
    except BadPeriod as exc:
        print(f"bad option: {exc}", file=sys.stderr)
        return 2
    progress = Progress(sys.stderr)
    try:
        write_report(config, period, args.out, now=time.time(), site=args.site,
                     on_query=progress.show)
    except InfluxUnavailable as exc:
        print(one_line(f"cannot reach InfluxDB at {config.influx.url}: {exc}"), file=sys.stderr)
        return 1
    except InfluxRefused as exc:
        print(one_line(f"InfluxDB at {config.influx.url} refused a report query: {exc}"),
              file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        progress.finish()
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _add_report(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``report``."""
    rep = sub.add_parser(
        "report", help="write an offline HTML report of a site's history from InfluxDB",
        description="Query InfluxDB's aggregates for the range and write one self-contained "
                    "HTML file (plotly.js inlined, nothing fetched): service level per "
                    "interval, calls by weekday and hour, abandon rate and AHT, help response "
                    "times, Erlang C staffing, and team wellbeing. Exits 2 on a bad option, 1 "
                    "if InfluxDB cannot be reached or refuses a query.")
    rep.add_argument("--from", dest="from_", required=True, type=_report_when, metavar="DATE",
                     help="first day (or date and time), site time, e.g. 2026-11-16")
    rep.add_argument("--to", required=True, type=_report_when, metavar="DATE",
                     help="last day, included (or a date and time, excluded), site time")
    rep.add_argument("--site", default=None, help="site id (default: site.id from the config)")
    rep.add_argument("--config", help="wallboard.toml (default: built-in defaults)")
    rep.add_argument("--out", type=Path, default=Path("report.html"),
                     help="HTML file to write (default: %(default)s)")
    rep.set_defaults(func=_report)


def _report_when(text: str) -> dt.date | dt.datetime:
    from wallboard.report.period import parse_when

    try:
        return parse_when(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, exposed so tests and docs can inspect it."""
    parser: argparse.ArgumentParser = PlainParser(prog="wallboard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    ini = sub.add_parser(
        "init", help="write a commented starter wallboard.toml for a broker and InfluxDB here",
        description="Write a starter config: docs/wallboard.example.toml, every key with its "
                    "comment, set for a broker and InfluxDB on this machine, this machine's "
                    "time zone and state directories beside the file. Never overwrites a "
                    "file: exits 2 if FILE exists.")
    ini.add_argument("file", nargs="?", type=Path, default=Path("wallboard.toml"),
                     metavar="FILE", help="the file to write (default: %(default)s)")
    ini.add_argument("--broker", type=_broker, default=None, metavar="HOST:PORT",
                     help="the broker (default: 127.0.0.1:1883)")
    ini.add_argument("--influx", type=_influx_url, default=None, metavar="URL",
                     help="InfluxDB's HTTP API (default: http://127.0.0.1:8086)")
    ini.set_defaults(func=_init)

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

    ctl = sub.add_parser(
        "controller", help="fold the live floor and publish KPI snapshots, help and alerts")
    ctl.add_argument("--config", help="wallboard.toml (default: built-in defaults)")
    ctl.add_argument("--state-dir", type=Path, default=None,
                     help="journal directory (default: controller.state_dir from the config)")
    _log_level(ctl)
    ctl.set_defaults(func=_controller)

    rec = sub.add_parser(
        "recorder", help="store every message in InfluxDB, spooling to disk while it is down",
        description="Store every contract message (and every rejected one) in InfluxDB. "
                    "With --init-db, create the database, retention policies and continuous "
                    "queries instead, changing only what differs, and exit.")
    rec.add_argument("--config", help="wallboard.toml (default: built-in defaults)")
    rec.add_argument("--init-db", action="store_true",
                     help="set up the database, retention and downsampling, then exit")
    rec.add_argument("--id", default=None,
                     help="this recorder's id (default: recorder.id from the config)")
    rec.add_argument("--share", default=None, metavar="GROUP",
                     help="split messages with the other recorders of GROUP ($share/GROUP/...)")
    rec.add_argument("--spool-dir", type=Path, default=None,
                     help="spool directory (default: recorder.spool_dir from the config)")
    _log_level(rec)
    rec.set_defaults(func=_recorder)

    ast = sub.add_parser(
        "asterisk", help="the telephony adapter: Asterisk's queue_log and AMI to the floor",
        description="Follow the queue_log file named in the config's [telephony] section "
                    "(and AMI, where configured) and publish calls and agent states, logged "
                    "in as a telephony device (docs/security.md).")
    ast.add_argument("--config", help="wallboard.toml (default: built-in defaults)")
    _log_level(ast)
    ast.set_defaults(func=_asterisk)
    _add_asterisk_commands(ast)

    sim = sub.add_parser("simulate", help="publish a realistic simulated floor to the broker")
    sim.add_argument("--config", help="wallboard.toml (default: built-in defaults)")
    _floor_options(sim)
    sim.add_argument("--speed", type=_positive, default=1.0,
                     help="simulated seconds per wall second, 1 to 1000 and more")
    sim.add_argument("--site", help="site id (default: site.id from the config)")
    sim.add_argument("--start", type=_when,
                     help="simulated start, ISO 8601; site time if no offset (default: now)")
    sim.add_argument("--hours", type=_positive, default=None,
                     help="simulated hours to run (default: until Ctrl-C)")
    _log_level(sim)
    sim.set_defaults(func=_simulate)

    dem = sub.add_parser("demo", help="run broker, database, controller and simulator locally"
                                      " and show the live floor")
    _floor_options(dem)
    dem.add_argument("--speed", type=_positive, default=1.0,
                     help="simulated seconds per wall second (default: %(default)s; only 1 "
                          "keeps screens, desks and reports attached from outside in step)")
    dem.add_argument("--duration", type=_positive, default=None,
                     help="stop after this many wall seconds (default: at Ctrl-C)")
    _log_level(dem, "WARNING")
    dem.set_defaults(func=_demo)

    wat = sub.add_parser("watch", help="live terminal view of a running site")
    wat.add_argument("--config", help="wallboard.toml (default: built-in defaults)")
    _log_level(wat, "WARNING")
    wat.set_defaults(func=_watch)

    kio = sub.add_parser("kiosk", help="the full-screen wall screen (Kivy)")
    kio.add_argument("--config", help="wallboard.toml (default: built-in defaults)")
    kio.add_argument("--size", type=_size, default=None,
                     help="open a window of this size, e.g. 1920x1080 (default: full screen)")
    kio.add_argument("--screenshot", type=Path, default=None,
                     help="render, save a PNG here and exit")
    kio.add_argument("--after", type=_positive, default=None,
                     help="seconds to collect data before the screenshot (default: 5)")
    kio.add_argument("--layout-json", type=Path, default=None, metavar="FILE",
                     help="with --screenshot: also write the window size and each part's "
                          "box (header, rows, tiles, panels, ticker) in its pixels, as JSON")
    _log_level(kio, "WARNING")
    kio.set_defaults(func=_kiosk)

    pro = sub.add_parser(
        "provision-device", help="create or rotate a device's broker login and ACL block",
        description="Set a new random password for the device's user with mosquitto_passwd, "
                    "write its block in the ACL file (replacing an older one), and print "
                    "its config; the password goes to stderr, once (with --json, into the one "
                    "JSON object on stdout). See docs/security.md.")
    pro.add_argument("--role", required=True, choices=[role.value for role in Role],
                     help="what the device is; it decides the topics its ACL block allows")
    pro.add_argument("--id", required=True, help="the desk, kiosk, recorder or adapter id")
    pro.add_argument("--site", default="main", help="site id (default: %(default)s)")
    pro.add_argument("--root", default=DEFAULT_ROOT, help="topic root (default: %(default)s)")
    pro.add_argument("--password-file", type=Path,
                     default=Path("/etc/mosquitto/wallboard.passwd"),
                     help="mosquitto password file (default: %(default)s)")
    pro.add_argument("--acl-file", type=Path, default=Path("/etc/mosquitto/wallboard.acl"),
                     help="mosquitto ACL file (default: %(default)s)")
    pro.add_argument("--broker-host", default=None,
                     help="host the device connects to (default: 127.0.0.1 for the "
                          "controller and recorder, else this machine's name)")
    pro.add_argument("--broker-port", type=int, default=None,
                     help="default: 1883 for the controller and recorder on 127.0.0.1, "
                          "else 8883 (TLS)")
    pro.add_argument("--json", action="store_true",
                     help="print one JSON object on stdout instead: the role, id, user name, "
                          "password, broker, files written and config (what kiosk/install.sh "
                          "--device-config reads)")
    pro.set_defaults(func=_provision_device)

    prev = sub.add_parser("preview", help="print KPIs of a simulated floor (no services needed)")
    prev.add_argument("--agents", type=int, default=500,
                      help="agents on the simulated floor (default: %(default)s)")
    prev.add_argument("--hours", type=float, default=8.0,
                      help="simulated hours from 08:00 UTC today (default: %(default)s)")
    prev.add_argument("--every-min", type=float, default=60.0, help="print interval")
    prev.set_defaults(func=_preview)

    _add_staffing(sub)
    _add_report(sub)
    return parser


def _broker(text: str) -> tuple[str, int]:
    from wallboard.init_config import broker_address

    try:
        return broker_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _influx_url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"must start with http:// or https://, got {text!r}")
    return text


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text!r}")
    return value


def _size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if not (sep and width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
        raise argparse.ArgumentTypeError(f"must be WIDTHxHEIGHT in pixels, got {text!r}")
    return int(width), int(height)


def _when(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 date and time: {text!r} (e.g. 2026-11-16T09:00)") from None


def _floor_options(parser: argparse.ArgumentParser) -> None:
    """The simulated floor's size and seed, alike for ``simulate`` and ``demo``."""
    parser.add_argument("--agents", type=int, default=200,
                        help="agents on the simulated floor (default: %(default)s)")
    parser.add_argument("--queues", type=int, default=6,
                        help="queues: sales, support, billing, retention, tech, general, then "
                             "q7, q8, ... (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1,
                        help="same seed, same floor (default: %(default)s)")


def _log_level(parser: argparse.ArgumentParser, default: str = "INFO") -> None:
    parser.add_argument("--log-level", default=default,
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="how much to log on stderr (default: %(default)s)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wallboard`` console script."""
    args = build_parser().parse_args(argv)
    if hasattr(args, "log_level"):
        log_setup.configure(args.log_level, sys.stderr)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"bad config: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
