"""The systemd units in kiosk/systemd/: `systemd-analyze verify` accepts each, and the hardening,
restart and watchdog settings are what kiosk/systemd/README.md says.

verify runs with ``--root`` on a scratch tree: the units in its /etc/systemd/system, this
machine's own unit directory copied in (for sysinit.target, multi-user.target and the rest),
and empty executables at every ExecStart path. verify checks that an ExecStart binary exists
and is executable, inside the root, so nothing is rewritten in the units themselves.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest

from tests.live import ROOT_DIR, require
from wallboard.cli import build_parser
from wallboard.config import ControllerConfig
from wallboard.kiosk.watchdog import Notifier
from wallboard.recorder.config import RecorderConfig
from wallboard_desk.config import load_desk_config

UNIT_DIR = ROOT_DIR / "kiosk" / "systemd"
UNIT_SUFFIXES = (".service", ".timer", ".path")
HOST_UNIT_DIRS = (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system"))
STATE_ROOT = PurePosixPath("/var/lib/wallboard")
DESK_STATE = PurePosixPath("/var/lib/wallboard-desk")  # firmware/desk.example.toml
# Exit code of a bad config or option, for `wallboard` and `wallboard-desk` alike.
BAD_CONFIG_EXIT = "2"


# --- a tiny unit-file parser: systemd allows a key many times, so no configparser -----------

Unit = dict[str, list[tuple[str, str]]]


def parse_unit(text: str) -> Unit:
    """Sections to (key, value) pairs in file order; continuation lines joined."""
    unit: Unit = {}
    section: list[tuple[str, str]] | None = None
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip() if pending else raw.strip()
        pending = ""
        if not line or line[0] in "#;":
            continue
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], [])
            continue
        assert section is not None, f"{line!r} before any [section]"
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {line!r}"
        section.append((key.strip(), value.strip()))
    return unit


def values(unit: Unit, section: str, key: str) -> list[str]:
    """Every value of ``key``, as systemd reads a list: an empty assignment clears it."""
    found: list[str] = []
    for k, v in unit.get(section, []):
        if k == key:
            found = [] if v == "" else [*found, v]
    return found


def value(unit: Unit, section: str, key: str) -> str | None:
    """The last value of ``key`` (the one systemd uses for a single-valued setting)."""
    found = [v for k, v in unit.get(section, []) if k == key]
    return found[-1] if found else None


def words(unit: Unit, section: str, key: str) -> list[str]:
    """A space-separated list setting, every line of it."""
    return [w for v in values(unit, section, key) for w in v.split()]


def load(name: str) -> Unit:
    """The unit file ``name`` from kiosk/systemd/, parsed."""
    return parse_unit((UNIT_DIR / name).read_text())


def test_parser_keeps_repeated_keys_and_clears_on_empty() -> None:
    unit = parse_unit("[Service]\n# c\nEnvironment=A=1\nEnvironment=B=2\\\n  C=3\n"
                      "ReadWritePaths=/a\nReadWritePaths=\nReadWritePaths=/b\n")
    assert values(unit, "Service", "Environment") == ["A=1", "B=2 C=3"]
    assert values(unit, "Service", "ReadWritePaths") == ["/b"]
    assert value(unit, "Service", "Missing") is None


# --- what each unit should be --------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """What kiosk/systemd/README.md promises for one service."""

    type: str
    user: str | None  # None: root
    writable: tuple[str, ...] = ()
    restart: str | None = "always"
    gives_up: bool = False  # a start limit, instead of retrying forever
    groups: tuple[str, ...] = ()
    needs_devices: bool = False  # /dev/dri, /dev/input, /dev/gpiochip*, /dev/cec*
    wants: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)


SERVICES: dict[str, Expect] = {
    "wallboard-kiosk.service": Expect(
        "notify", "wallboard", gives_up=True, groups=("video", "render", "input"),
        needs_devices=True, wants=("network-online.target",),
        extra={"NotifyAccess": "main"}),
    "wallboard-desk.service": Expect(
        "simple", "wallboard", writable=(str(DESK_STATE),), groups=("gpio",),
        needs_devices=True, wants=("network-online.target",)),
    "wallboard-controller.service": Expect(
        "simple", "wallboard", writable=(str(STATE_ROOT / "controller"),),
        wants=("mosquitto.service",), extra={"PrivateDevices": "yes"}),
    "wallboard-recorder.service": Expect(
        "simple", "wallboard", writable=(str(STATE_ROOT / "recorder"),),
        wants=("mosquitto.service", "influxdb.service"), extra={"PrivateDevices": "yes"}),
    "wallboard-telephony.service": Expect(
        "simple", "wallboard", writable=(str(STATE_ROOT / "telephony"),),
        wants=("network-online.target",), extra={"PrivateDevices": "yes"}),
    "wallboard-display-on.service": Expect("oneshot", None, restart=None, needs_devices=True),
    "wallboard-display-off.service": Expect("oneshot", None, restart=None, needs_devices=True),
    "wallboard-display-sync.service": Expect(
        "oneshot", None, restart=None, needs_devices=True, extra={"RemainAfterExit": "yes"}),
}
TIMERS = {
    "wallboard-display-on.timer": "Mon..Fri 07:00",
    "wallboard-display-off.timer": "Mon..Fri 19:00",
}
PATHS = {"wallboard-display-sync.path": "wallboard-display-sync.service"}

# On every service, whatever it does.
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "ProtectHostname": "yes",
    "RestrictSUIDSGID": "yes",
    "RestrictRealtime": "yes",
    "RestrictNamespaces": "yes",
    "LockPersonality": "yes",
    "SystemCallArchitectures": "native",
}
# On the long-running programs (not the root one-shots, which write to sysfs).
PROGRAM_HARDENING = {
    "ProtectKernelTunables": "yes",
    "ProtectProc": "invisible",
    "RemoveIPC": "yes",
    "CapabilityBoundingSet": "",
}


def unit_files() -> list[str]:
    """Names of the unit files in kiosk/systemd/ (not the drop-in or the README)."""
    return sorted(p.name for p in UNIT_DIR.iterdir() if p.suffix in UNIT_SUFFIXES)


def test_every_unit_is_described_here() -> None:
    assert unit_files() == sorted([*SERVICES, *TIMERS, *PATHS])


# --- systemd-analyze verify ----------------------------------------------------------------


def exec_paths(unit: Unit) -> Iterator[str]:
    """The binary of every Exec*= line, without systemd's prefixes (-, @, +, !, :)."""
    for key, line in unit.get("Service", []):
        if key.startswith("Exec") and line:
            yield shlex.split(line)[0].lstrip("-@+!:")


def make_root(tmp_path: Path) -> Path:
    """A scratch root: this machine's units, ours, and a stub for every ExecStart binary."""
    host = next((d for d in HOST_UNIT_DIRS if (d / "multi-user.target").exists()), None)
    if host is None:
        pytest.fail(f"no systemd unit directory with multi-user.target in {HOST_UNIT_DIRS}")
    root = tmp_path / "root"
    shutil.copytree(host, root / "usr/lib/systemd/system", symlinks=True)
    (root / "lib").symlink_to("usr/lib")  # absolute links in there point to /lib/systemd/...
    etc = root / "etc/systemd/system"
    etc.mkdir(parents=True)
    for name in unit_files():
        shutil.copy(UNIT_DIR / name, etc / name)
        for binary in exec_paths(parse_unit((UNIT_DIR / name).read_text())):
            stub = root / binary.lstrip("/")
            stub.parent.mkdir(parents=True, exist_ok=True)
            stub.write_text("#!/bin/sh\nexit 0\n")
            stub.chmod(0o755)
    return root


def verify(root: Path, *names: str) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify` on units installed in the scratch root."""
    analyze = require("systemd-analyze", "systemd")
    paths = [str(root / "etc/systemd/system" / n) for n in names]
    return subprocess.run([analyze, "verify", f"--root={root}", "--man=no", *paths],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def scratch_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One scratch root for the module: copying the host's units takes a moment."""
    return make_root(tmp_path_factory.mktemp("systemd"))


@pytest.mark.parametrize("name", unit_files())
def test_systemd_analyze_verify_accepts(scratch_root: Path, name: str) -> None:
    result = verify(scratch_root, name)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, output
    # verify exits 0 after warnings too (an unknown key, a bad value "ignoring"): none at all.
    assert output == "", output


def test_verify_would_catch_a_missing_binary_and_a_bad_line(tmp_path: Path) -> None:
    """The check above means something: verify looks inside the root, and speaks up."""
    root = make_root(tmp_path)
    (root / "opt/wallboard/venv/bin/wallboard").unlink()
    missing = verify(root, "wallboard-controller.service")
    assert missing.returncode != 0
    assert "/opt/wallboard/venv/bin/wallboard" in missing.stdout + missing.stderr
    unit = root / "etc/systemd/system/wallboard-desk.service"
    unit.write_text(unit.read_text().replace("Type=simple", "Type=simpel"))
    typo = verify(root, "wallboard-desk.service")
    assert "simpel" in typo.stdout + typo.stderr


# --- hardening and behaviour, unit by unit --------------------------------------------------


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_is_hardened(name: str) -> None:
    unit, expect = load(name), SERVICES[name]
    wanted = {**HARDENING, **(PROGRAM_HARDENING if expect.user else {}), **expect.extra}
    got = {key: value(unit, "Service", key) for key in wanted}
    assert got == wanted


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_writes_only_its_state(name: str) -> None:
    unit, expect = load(name), SERVICES[name]
    writable = words(unit, "Service", "ReadWritePaths")
    assert tuple(writable) == expect.writable
    for path in map(PurePosixPath, writable):
        assert path.is_relative_to(STATE_ROOT) or path == DESK_STATE, path
    # systemd creates each (owned by the service user) before it mounts the file system
    # read-only: ReadWritePaths= on a missing directory would fail the start.
    assert ["/var/lib/" + d for d in words(unit, "Service", "StateDirectory")] == writable
    assert value(unit, "Service", "ProtectSystem") == "strict"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_type_user_and_restart(name: str) -> None:
    unit, expect = load(name), SERVICES[name]
    assert value(unit, "Service", "Type") == expect.type
    assert value(unit, "Service", "User") == expect.user
    assert value(unit, "Service", "Group") == expect.user
    assert value(unit, "Service", "Restart") == expect.restart
    if expect.restart:
        assert value(unit, "Service", "RestartSec") is not None
        assert words(unit, "Service", "RestartPreventExitStatus") == [BAD_CONFIG_EXIT]
    if expect.user is None:
        return
    # Start limits belong in [Unit]: in [Service] systemd 252 ignores StartLimitIntervalSec=.
    assert value(unit, "Service", "StartLimitBurst") is None
    assert value(unit, "Service", "StartLimitIntervalSec") is None
    interval = value(unit, "Unit", "StartLimitIntervalSec")
    if expect.gives_up:
        assert interval not in (None, "0", "infinity")
        burst = value(unit, "Unit", "StartLimitBurst")
        assert burst is not None and int(burst) >= 3
    else:
        assert interval == "0", "the hub's services and the desk unit never give up"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_devices_stay_open_only_where_needed(name: str) -> None:
    unit, expect = load(name), SERVICES[name]
    assert set(expect.groups) <= set(words(unit, "Service", "SupplementaryGroups"))
    if expect.needs_devices:
        # Any DeviceAllow= closes every device not listed; ProtectClock=yes implies one.
        for key in ("PrivateDevices", "DeviceAllow", "DevicePolicy", "ProtectClock"):
            assert value(unit, "Service", key) is None, key
    else:
        assert value(unit, "Service", "PrivateDevices") == "yes"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_dependencies(name: str) -> None:
    unit, expect = load(name), SERVICES[name]
    wants, after = words(unit, "Unit", "Wants"), words(unit, "Unit", "After")
    for dependency in expect.wants:
        assert dependency in wants and dependency in after, dependency
    # A restart of the broker or the database must not take the services down with it.
    assert words(unit, "Unit", "Requires") == []
    assert words(unit, "Unit", "BindsTo") == []


def test_kiosk_runs_on_kms_with_a_watchdog_its_pings_keep_alive() -> None:
    unit = load("wallboard-kiosk.service")
    environment = words(unit, "Service", "Environment")
    assert "SDL_VIDEODRIVER=kmsdrm" in environment  # docs/kiosk.md
    assert "KIVY_WINDOW=sdl2" in environment
    watchdog = value(unit, "Service", "WatchdogSec")
    assert watchdog is not None and watchdog.isdigit()
    # What the kiosk does with the WATCHDOG_USEC systemd hands it.
    notifier = Notifier({"NOTIFY_SOCKET": "/run/systemd/notify",
                         "WATCHDOG_USEC": str(int(watchdog) * 1_000_000)})
    assert notifier.ping_every_s == int(watchdog) / 2
    assert value(unit, "Service", "NotifyAccess") == "main"  # the pings come from its PID
    assert "getty@tty1.service" in words(unit, "Unit", "Conflicts")


def test_desk_unit_can_write_where_lgpio_and_the_request_file_need() -> None:
    unit = load("wallboard-desk.service")
    # lgpio makes its .lgd-nfy* pipes in the working directory: a private, writable one.
    assert words(unit, "Service", "RuntimeDirectory") == ["wallboard-desk"]
    assert value(unit, "Service", "WorkingDirectory") == "/run/wallboard-desk"
    example = tomllib.loads((ROOT_DIR / "firmware/desk.example.toml").read_text())
    assert example["desk"]["state_dir"] == str(DESK_STATE)


def test_desk_state_dir_default_is_the_units(tmp_path: Path) -> None:
    path = tmp_path / "desk.toml"
    path.write_text('[desk]\nid = "d1"\nsite = "s1"\n')
    assert str(load_desk_config(path).desk.state_dir) == str(DESK_STATE)


def test_hub_units_pass_the_directory_the_sandbox_allows() -> None:
    """The command line names the writable directory, which is also the config's default."""
    for name, option, default in [
        ("wallboard-controller.service", "--state-dir", ControllerConfig().state_dir),
        ("wallboard-recorder.service", "--spool-dir", RecorderConfig().spool_dir),
    ]:
        unit = load(name)
        argv = shlex.split(value(unit, "Service", "ExecStart") or "")
        directory = argv[argv.index(option) + 1]
        assert [directory] == words(unit, "Service", "ReadWritePaths") == [str(default)]


# The command each unit runs, where it is not the unit's own name.
COMMANDS = {"wallboard-telephony.service": "asterisk"}


@pytest.mark.parametrize("name", ["wallboard-kiosk.service", "wallboard-controller.service",
                                  "wallboard-recorder.service", "wallboard-telephony.service"])
def test_wallboard_command_lines_parse(name: str) -> None:
    argv = shlex.split(value(load(name), "Service", "ExecStart") or "")
    assert argv[0] == "/opt/wallboard/venv/bin/wallboard"
    args = build_parser().parse_args(argv[1:])  # an unknown option exits 2 here
    # The hub's services and the adapter log in as themselves: each reads a config of its own.
    own = {"wallboard-controller.service": "controller", "wallboard-recorder.service": "recorder",
           "wallboard-telephony.service": "telephony"}
    assert args.config == f"/etc/wallboard/{own.get(name, 'wallboard')}.toml"
    service = name.removeprefix("wallboard-").removesuffix(".service")
    assert args.func.__name__ == "_" + COMMANDS.get(name, service)


def test_telephony_unit_may_write_where_the_adapter_keeps_its_position() -> None:
    """The default state file lies in the one directory the sandbox leaves writable."""
    from wallboard.telephony.settings import TelephonyConfig

    state = PurePosixPath(str(TelephonyConfig().state_file))
    (writable,) = words(load("wallboard-telephony.service"), "Service", "ReadWritePaths")
    assert state.is_relative_to(writable)


def test_desk_command_line_uses_real_options() -> None:
    argv = shlex.split(value(load("wallboard-desk.service"), "Service", "ExecStart") or "")
    assert argv[0] == "/opt/wallboard/venv/bin/wallboard-desk"
    assert argv[1:] == ["--config", "/etc/wallboard/desk.toml"]
    help_text = subprocess.run([sys.executable, "-m", "wallboard_desk.cli", "--help"],
                               capture_output=True, text=True, timeout=60, check=True).stdout
    assert "--config" in help_text


@pytest.mark.parametrize("name", sorted(TIMERS))
def test_timer_schedule_and_target(name: str) -> None:
    unit = load(name)
    assert values(unit, "Timer", "OnCalendar") == [TIMERS[name]]
    # Its service is the one of the same name, which exists.
    assert value(unit, "Timer", "Unit") in (None, name.replace(".timer", ".service"))
    assert (UNIT_DIR / name.replace(".timer", ".service")).exists()
    assert value(unit, "Timer", "Persistent") is None  # see the comment in the timer
    assert words(unit, "Install", "WantedBy") == ["timers.target"]


def test_display_services_run_the_script_the_readme_installs() -> None:
    for name, action in [("wallboard-display-on.service", "on"),
                         ("wallboard-display-off.service", "off"),
                         ("wallboard-display-sync.service", "sync")]:
        unit = load(name)
        assert value(unit, "Service", "ExecStart") == f"/usr/local/sbin/wallboard-display {action}"
        assert values(unit, "Service", "EnvironmentFile") == ["-/etc/wallboard/display.env"]
    sync = load("wallboard-display-sync.path")
    assert value(sync, "Path", "Unit") == PATHS["wallboard-display-sync.path"]
    assert value(sync, "Path", "PathExists") == "/run/systemd/timesync/synchronized"


def test_hardware_watchdog_drop_in() -> None:
    conf = parse_unit((UNIT_DIR / "system.conf.d/wallboard-watchdog.conf").read_text())
    assert set(conf) == {"Manager"}
    assert value(conf, "Manager", "RuntimeWatchdogSec") == "15"  # bcm2835-wdt's maximum
    assert value(conf, "Manager", "RebootWatchdogSec") == "2min"
    config_txt = (ROOT_DIR / "kiosk/display/config.txt.append").read_text().splitlines()
    assert config_txt[-2:] == ["[all]", "dtparam=watchdog=on"]
    assert (ROOT_DIR / "kiosk/display/cmdline.txt.append").read_text() == "consoleblank=0\n"
