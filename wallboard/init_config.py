"""``wallboard init``: write a commented starter ``wallboard.toml`` for services on this machine.

The starter is ``docs/wallboard.example.toml`` (every section and key, each with its comment)
with the few values that point elsewhere replaced: the site id and time zone, a broker and
InfluxDB on this machine, and state directories the user can write. Deriving it from the
example, instead of keeping a second copy, means the two cannot drift: ``starter_config``
fails if a key it sets has left the example, and checks that the result is a valid config.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wallboard.config import parse_config
from wallboard.errors import ConfigError

# The example ships in the source tree, beside the package (the README runs from a clone).
EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "wallboard.example.toml"
DATA_DIR_NAME = "wallboard-data"

_SECTION = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^(\s*)([A-Za-z0-9_-]+)\s*=")
_HEADER = (
    "# wallboard.toml: a starter written by `wallboard init`, for a broker and InfluxDB on\n"
    "# this machine. It is docs/wallboard.example.toml with [site] id and timezone, [mqtt]\n"
    "# host, port, topic_root and tls, [influx] url and the two state directories set for\n"
    "# here; every other value is the example's. Edit it freely.\n")

Value = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Starter:
    """Where the services this config serves will find each other and keep their state."""

    data_dir: Path
    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    influx_url: str = "http://127.0.0.1:8086"
    timezone: str = "UTC"
    site: str = "main"

    def values(self) -> dict[str, dict[str, Value]]:
        """The keys the starter sets, by section; every other key keeps the example's value."""
        return {
            "site": {"id": self.site, "timezone": self.timezone},
            "mqtt": {"host": self.broker_host, "port": self.broker_port,
                     "topic_root": "wallboard", "tls": False},
            "influx": {"url": self.influx_url},
            "controller": {"state_dir": str(self.data_dir / "controller")},
            "recorder": {"spool_dir": str(self.data_dir / "recorder")},
        }


def toml_value(value: Value) -> str:
    """A TOML literal: JSON's string escapes are valid TOML basic-string escapes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def set_values(text: str, values: dict[str, dict[str, Value]], source: str) -> str:
    """``text`` with each ``key = ...`` line of each section set, comments and order kept.

    A key that is not set in its section (absent, or only commented out) raises
    ``ConfigError``: the example changed, and the starter must follow it on purpose.
    """
    lines = text.splitlines()
    section: str | None = None
    done: set[tuple[str, str]] = set()
    for i, line in enumerate(lines):
        header = _SECTION.match(line)
        if header:
            section = header.group(1)
            continue
        key = _KEY.match(line)
        if section in values and key and key.group(2) in values[section]:
            name = key.group(2)
            lines[i] = f"{key.group(1)}{name} = {toml_value(values[section][name])}"
            done.add((section, name))
    for section_name, keys in values.items():
        for name in keys:
            if (section_name, name) not in done:
                raise ConfigError(source, f"{section_name}.{name}",
                                  "not set in the example, so the starter cannot set it")
    return "\n".join(lines) + "\n"


def starter_config(example: str, starter: Starter, source: str = str(EXAMPLE)) -> str:
    """The starter's text from the example's; ``ConfigError`` if it would not be valid."""
    body = example
    if body.startswith("# wallboard.toml:"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
    text = _HEADER + set_values(body, starter.values(), source)
    parse_config(text, "(starter)")  # raises ConfigError naming the key
    data = tomllib.loads(text)
    for section, keys in starter.values().items():
        for name, value in keys.items():
            if data.get(section, {}).get(name) != value:
                raise ConfigError("(starter)", f"{section}.{name}", "not set as intended")
    return text


def local_timezone(environ: dict[str, str] | None = None,
                   localtime: Path = Path("/etc/localtime")) -> str | None:
    """This machine's IANA time zone, from $TZ or /etc/localtime, if it can tell."""
    env = os.environ if environ is None else environ
    candidates = [env.get("TZ", "").removeprefix(":")]
    try:
        target = str(localtime.resolve(strict=True))
        candidates.append(target.partition("/zoneinfo/")[2])
    except OSError:
        pass
    for name in candidates:
        if not name or name.startswith("/"):
            continue
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            continue
        return name
    return None


def broker_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` as a pair; ``ValueError`` with the reason if it is not one."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"must be HOST:PORT with a port from 1 to 65535, got {text!r}")
    return host.strip("[]"), int(port)


def write_starter(path: Path, starter: Starter, *, example: Path = EXAMPLE,
                  err: TextIO | None = None) -> int:
    """The ``init`` command: write the starter at ``path``, never over a file; exit code."""
    err = err or sys.stderr
    try:
        example_text = example.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"cannot read the example config {example}: {exc.strerror or exc} "
              "(wallboard init runs from a Wallboard source tree)", file=err)
        return 1
    try:
        text = starter_config(example_text, starter, str(example))
    except ConfigError as exc:
        print(f"cannot make a starter config: {exc}", file=err)
        return 1
    try:
        with path.open("x", encoding="utf-8") as out:  # "x": never replace a file
            out.write(text)
    except FileExistsError:
        print(f"not overwriting {path}: it already exists (remove it, or name another FILE)",
              file=err)
        return 2
    except OSError as exc:
        print(f"cannot write {path}: {exc.strerror or exc}", file=err)
        return 1
    print(f"wrote {path}: broker {starter.broker_host}:{starter.broker_port}, InfluxDB "
          f"{starter.influx_url}, state under {starter.data_dir}, site {starter.site!r} in "
          f"{starter.timezone}; check it with "
          f"`wallboard check-config {path}`", file=err)
    return 0


def starter_for(path: Path, broker: tuple[str, int] | None, influx_url: str | None) -> Starter:
    """The starter for a file at ``path``: state beside it, this machine's time zone."""
    host, port = broker or ("127.0.0.1", 1883)
    return Starter(data_dir=path.parent.resolve() / DATA_DIR_NAME, broker_host=host,
                   broker_port=port, influx_url=influx_url or "http://127.0.0.1:8086",
                   timezone=local_timezone() or "UTC")
