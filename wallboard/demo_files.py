"""The config files the demo writes for its parts and for anything a person attaches to it.

All of them point at the demo's private broker and database, and live in the demo's temp
dir, so they work while the demo runs and are gone when it stops:

* ``wallboard.toml``: for ``wallboard kiosk``, ``watch``, ``report`` and the rest (its
  kiosk is a supervisor screen in a window, named apart from the demo's own);
* ``desk.toml``: for ``wallboard-desk --virtual``, a desk of its own;
* ``wall.toml`` and ``demo-desk.toml``: the demo's own wall screen and desk panel, named
  apart so an attached screen or desk never takes over their broker session.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

from wallboard.sim.names import agents_toml

SITE = "demo"
OWN_KIOSK, ATTACHED_KIOSK = "demo-wall", "attached-wall"
OWN_DESK, ATTACHED_DESK = "demo-desk", "my-desk"
REPORT_FILE = "demo-report.html"
_ZONEINFO = "zoneinfo/"


@dataclass(frozen=True, slots=True)
class DemoFiles:
    """Where the demo's config files are."""

    wallboard: Path
    desk: Path
    own_wall: Path
    own_desk: Path


def local_zone() -> str:
    """This machine's IANA time zone (``TZ`` or ``/etc/localtime``), or UTC if unknown."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        target = os.readlink("/etc/localtime")
        candidates.append(target.split(_ZONEINFO, 1)[1] if _ZONEINFO in target else "")
    except OSError:
        pass
    known = available_timezones()
    return next((name for name in candidates if name in known), "UTC")


def wallboard_toml(*, mqtt_host: str, mqtt_port: int, influx_url: str, state_dir: Path,
                   timezone: str, kiosk_id: str, agents: int) -> str:
    """A wallboard.toml for the demo's site; its kiosk is a supervisor screen in a window,
    and its simulated agents have display names."""
    return f"""\
# Written by `wallboard demo` for its private broker and database; gone when it stops.
[site]
id = "{SITE}"
timezone = "{timezone}"

[mqtt]
host = "{mqtt_host}"
port = {mqtt_port}

[influx]
url = "{influx_url}"

[controller]
state_dir = "{state_dir / "controller"}"

[recorder]
spool_dir = "{state_dir / "recorder"}"
# Every second, so the demo's STORAGE line keeps up.
health_interval_s = 1.0

[kiosk]
id = "{kiosk_id}"
audience = "supervisor"
kiosk_mode = false

# The simulated agents' display names: supervisor screens show them in place of ids.
{agents_toml(agents)}"""


def desk_toml(*, mqtt_host: str, mqtt_port: int, desk_id: str, state_dir: Path) -> str:
    """A desk.toml for a virtual desk unit on the demo's broker."""
    return f"""\
# Written by `wallboard demo` for its private broker; gone when it stops.
[desk]
id = "{desk_id}"
site = "{SITE}"
state_dir = "{state_dir}"

[mqtt]
host = "{mqtt_host}"
port = {mqtt_port}
"""


def write_files(directory: Path, *, mqtt_host: str, mqtt_port: int, influx_url: str,
                timezone: str, agents: int) -> DemoFiles:
    """Write every demo config file into ``directory``."""
    files = DemoFiles(directory / "wallboard.toml", directory / "desk.toml",
                      directory / "wall.toml", directory / "demo-desk.toml")
    state = directory / "state"
    for path, kiosk in ((files.wallboard, ATTACHED_KIOSK), (files.own_wall, OWN_KIOSK)):
        path.write_text(wallboard_toml(mqtt_host=mqtt_host, mqtt_port=mqtt_port,
                                       influx_url=influx_url, state_dir=state,
                                       timezone=timezone, kiosk_id=kiosk, agents=agents))
    for path, desk in ((files.desk, ATTACHED_DESK), (files.own_desk, OWN_DESK)):
        path.write_text(desk_toml(mqtt_host=mqtt_host, mqtt_port=mqtt_port, desk_id=desk,
                                  state_dir=state / desk))
    return files


def program(name: str) -> str:
    """How to run one of this install's commands from here: the venv's script if it has one."""
    script = Path(sys.executable).parent / name
    if not script.exists():
        return name
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def attach_commands(files: DemoFiles, today: dt.date) -> list[str]:
    """The commands that attach more screens, desks and reports to the running demo."""
    config = shlex.quote(str(files.wallboard))
    wallboard = program("wallboard")
    day = today.isoformat()
    return [
        f"{wallboard} kiosk --config {config} --size 1280x720",
        f"{wallboard} watch --config {config}",
        f"{program('wallboard-desk')} --virtual --config {shlex.quote(str(files.desk))}",
        f"{wallboard} report --from {day} --to {day} --config {config} --out {REPORT_FILE}",
    ]


def site_today(now: float, timezone: str) -> dt.date:
    """The site's date at ``now``."""
    return dt.datetime.fromtimestamp(now, ZoneInfo(timezone)).date()
