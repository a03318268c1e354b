"""kiosk/install.sh, run with ``--dry-run --root DIR``: the tree it lays out for each role,
the commands it lists, idempotence, what it refuses, the login that
``wallboard provision-device --json`` prints landing in /etc/wallboard, and the upgrade's plan.

A dry run writes only under DIR and runs nothing: every run here has stand-ins for apt-get,
systemctl, useradd and the rest first on PATH, which record a call, and each test checks
that none was made. The logins come from the real provision-device command.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live import ROOT_DIR, require
from wallboard.config import load_config
from wallboard_desk.config import load_desk_config

INSTALL = ROOT_DIR / "kiosk" / "install.sh"
UNIT_DIR = ROOT_DIR / "kiosk" / "systemd"
VERSION = tomllib.loads((ROOT_DIR / "pyproject.toml").read_text())["project"]["version"]
PLAN = "install-plan.txt"
# Commands a dry run must never run; stand-ins for them record any call.
FORBIDDEN = ("apt-get", "dpkg-query", "systemctl", "useradd", "groupadd", "usermod", "chown",
             "pip", "mosquitto_sub", "mosquitto_pub", "influx")


@dataclass(frozen=True)
class Role:
    """What one role's dry run should lay out and list."""

    name: str
    packages: tuple[str, ...]
    extras: str
    groups: tuple[str, ...]
    config: str
    services: tuple[str, ...]
    # Files beyond the config, units and venv: path -> mode.
    extra_files: dict[str, int]
    device_role: str  # the provision-device role whose login runs here
    device_id: str


def display_units() -> set[str]:
    """The wall screen's display units, whatever kiosk/systemd/ holds now."""
    return {p.name for p in UNIT_DIR.glob("wallboard-display*")}


ROLES = [
    Role("hub", ("mosquitto", "mosquitto-clients", "influxdb", "python3-venv"),
         "influx,reports", (), "/etc/wallboard/controller.toml",
         ("wallboard-controller.service", "wallboard-recorder.service"),
         {"/etc/mosquitto/conf.d/wallboard.conf": 0o644, "/etc/mosquitto/wallboard.acl": 0o600,
          # Each hub service logs in as itself: a config file of its own.
          "/etc/wallboard/recorder.toml": 0o640,
          "/var/lib/wallboard/influxdb-set-up": 0o644},  # --init-db ran (once)
         "controller", "hq"),
    Role("wallboard", ("python3-venv", "libmtdev1", "libegl1", "libgles2", "libgbm1",
                       "libgl1-mesa-dri", "v4l-utils"),
         "kiosk", ("render", "video", "input"), "/etc/wallboard/wallboard.toml",
         ("wallboard-kiosk.service",),
         {"/usr/local/sbin/wallboard-display": 0o755, "/etc/wallboard/display.env": 0o644,
          "/etc/systemd/system.conf.d/wallboard-watchdog.conf": 0o644},
         "floor-kiosk", "wall-1"),
    Role("desk", ("python3-venv", "python3-lgpio"), "desk", ("gpio",),
         "/etc/wallboard/desk.toml", ("wallboard-desk.service",),
         {"/etc/systemd/system.conf.d/wallboard-watchdog.conf": 0o644},
         "desk", "d-017"),
    # The asterisk group reads Asterisk's queue_log; no extras: the core dependencies only.
    Role("telephony", ("python3-venv",), "", ("asterisk",), "/etc/wallboard/telephony.toml",
         ("wallboard-telephony.service",), {}, "telephony", "pbx"),
]
BY_NAME = {role.name: role for role in ROLES}


def pip_spec(source: Path | str, role: Role) -> str:
    """What the plan's pip install line names: the source with the role's extras, if any."""
    spec = f"{source}[{role.extras}]" if role.extras else str(source)
    return f"'{spec}'" if "[" in spec else spec


def units_of(role: Role) -> set[str]:
    """Every unit file the role installs."""
    return set(role.services) | (display_units() if role.name == "wallboard" else set())


def enabled_of(role: Role) -> set[str]:
    """The units `systemctl enable --now` gets: services, timers and path units."""
    return {u for u in units_of(role) if not u.startswith("wallboard-display")
            or u.endswith((".timer", ".path"))}


# --- running it -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Run:
    """One run of install.sh."""

    code: int
    out: str
    err: str
    root: Path

    @property
    def plan(self) -> list[str]:
        """The plan file's lines."""
        return (self.root / PLAN).read_text().splitlines()

    @property
    def commands(self) -> list[str]:
        """The commands it would run (the plan without its notes)."""
        return [line for line in self.plan if not line.startswith("#")]


@pytest.fixture
def stand_ins(tmp_path: Path) -> Iterator[Path]:
    """A bin directory of stand-ins that record any call; yields the record file."""
    bin_dir, record = tmp_path / "stand-ins", tmp_path / "calls.log"
    bin_dir.mkdir()
    for name in FORBIDDEN:
        tool = bin_dir / name
        tool.write_text(f'#!/bin/sh\necho "{name} $*" >> {record}\nexit 1\n')
        tool.chmod(0o755)
    yield record
    assert not record.exists(), f"a dry run ran: {record.read_text()}"


def install(root: Path, *args: str, script: Path = INSTALL, record: Path | None = None,
            check: bool = True) -> Run:
    """Run install.sh with these arguments, the stand-ins (if any) first on PATH."""
    env = dict(os.environ)
    if record is not None:
        env["PATH"] = f"{record.parent / 'stand-ins'}:{env['PATH']}"
    done = subprocess.run(["bash", str(script), *args], capture_output=True, text=True,
                          timeout=60, env=env, check=False)
    run = Run(done.returncode, done.stdout, done.stderr, root)
    if check:
        assert run.code == 0, run.err
    return run


def dry_run(root: Path, role: str, *args: str, record: Path | None = None,
            script: Path = INSTALL, check: bool = True) -> Run:
    """A dry run for one role under root."""
    return install(root, "--dry-run", "--root", str(root), "--role", role, *args,
                   script=script, record=record, check=check)


def tree(root: Path) -> dict[str, tuple[int, str]]:
    """Every path under root but the plan: its mode and its content or link target."""
    found: dict[str, tuple[int, str]] = {}
    for path in sorted(root.rglob("*")):
        name = "/" + path.relative_to(root).as_posix()
        if name == f"/{PLAN}":
            continue
        mode = path.lstat().st_mode
        if path.is_symlink():
            found[name] = (mode, "-> " + os.readlink(path))
        elif path.is_dir():
            found[name] = (mode, "")
        else:
            found[name] = (mode, path.read_text())
    return found


def files(root: Path) -> dict[str, int]:
    """The regular files and links under root but the plan, with their permission bits."""
    return {name: stat.S_IMODE(mode) for name, (mode, _) in tree(root).items()
            if not stat.S_ISDIR(mode)}


# --- provision-device's output --------------------------------------------------------------

@dataclass(frozen=True)
class Provisioned:
    """What provision-device --json printed for one device, saved as a site would."""

    login: Path  # `provision-device ... --json > file`
    without_password: Path  # the same object with its password taken out by hand
    config: str  # the TOML in it
    password: str
    username: str


# name -> provision-device --role and --id
DEVICES = {"controller": ("controller", "hq"), "recorder": ("recorder", "main"),
           "floor-kiosk": ("floor-kiosk", "wall-1"), "desk": ("desk", "d-017"),
           "desk-other": ("desk", "d-099"), "telephony": ("telephony", "pbx")}


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Provisioned]:
    """Logins from real provision-device runs, as a site would save them, by DEVICES name."""
    where = tmp_path_factory.mktemp("provisioned")
    found: dict[str, Provisioned] = {}
    for name, (role, device_id) in DEVICES.items():
        done = provision_device(where, role, device_id, "--json")
        login, without = where / f"{name}.login", where / f"{name}-no-password.login"
        login.write_text(done.stdout)  # provision-device ... --json > login
        printed = json.loads(done.stdout)
        without.write_text(json.dumps({k: v for k, v in printed.items() if k != "password"}))
        found[name] = Provisioned(login, without, printed["config"], printed["password"],
                                  printed["username"])
    return found


def provision_device(where: Path, role: str, device_id: str, *args: str
                     ) -> subprocess.CompletedProcess[str]:
    """Run the real `wallboard provision-device` on a password file and ACL in where."""
    require("mosquitto_passwd", "mosquitto")
    argv = [sys.executable, "-m", "wallboard.cli", "provision-device", "--role", role,
            "--id", device_id, "--site", "hq", "--password-file", str(where / "passwd"),
            "--acl-file", str(where / "acl"), *args]
    if role not in ("controller", "recorder"):  # they default to the hub's loopback
        argv += ["--broker-host", "hub.floor.example"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)


def unit_config(unit: str) -> str:
    """The --config path in a unit's ExecStart."""
    match = re.search(r"^ExecStart=.*--config[= ](\S+)", (UNIT_DIR / unit).read_text(), re.M)
    assert match, unit
    return match.group(1)


def unit_env(unit: str) -> str:
    """A unit's first EnvironmentFile, where install.sh puts its MQTT password."""
    match = re.search(r"^EnvironmentFile=-?(\S+)", (UNIT_DIR / unit).read_text(), re.M)
    assert match, unit
    return match.group(1)


def hub_services_share_a_config() -> bool:
    """Do the controller's and recorder's units read one config (and so one login)?"""
    return unit_config("wallboard-controller.service") == unit_config(
        "wallboard-recorder.service")


# --- layout, plan, idempotence --------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_dry_run_lays_out_the_role(tmp_path, stand_ins, role):
    run = dry_run(tmp_path / "root", role.name, record=stand_ins)
    laid_out = files(run.root)
    expected = {
        role.config: 0o640,
        "/opt/wallboard/venv": 0o777,  # a link: releases/<version>
        f"/opt/wallboard/releases/{VERSION}/DRY-RUN": 0o644,
        **{f"/etc/systemd/system/{unit}": 0o644 for unit in units_of(role)},
        **role.extra_files,
    }
    assert laid_out == expected
    assert os.readlink(run.root / "opt/wallboard/venv") == f"releases/{VERSION}"
    # Units of this role only, each byte for byte from kiosk/systemd/.
    installed = {p.name for p in (run.root / "etc/systemd/system").iterdir()}
    assert installed == units_of(role)
    for unit in installed:
        assert (run.root / "etc/systemd/system" / unit).read_bytes() == (
            UNIT_DIR / unit).read_bytes()
    # The starting config is the project's example; on the hub, InfluxDB is local.
    config = tomllib.loads((run.root / role.config.lstrip("/")).read_text())
    if role.name == "hub":
        assert config["influx"]["url"] == "http://localhost:8086"
        assert (run.root / "etc/mosquitto/conf.d/wallboard.conf").read_bytes() == (
            ROOT_DIR / "kiosk/mosquitto/wallboard.conf").read_bytes()
    example = "firmware/desk.example.toml" if role.name == "desk" else (
        "docs/wallboard.example.toml")
    if role.name != "hub":
        assert (run.root / role.config.lstrip("/")).read_text() == (
            ROOT_DIR / example).read_text()
    # What the dry run printed is its plan.
    assert run.out.splitlines() == run.plan


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_plan_lists_every_command(tmp_path, stand_ins, role):
    run = dry_run(tmp_path / "root", role.name, record=stand_ins)
    commands = run.commands
    apt = [c for c in commands if " apt-get install " in f" {c} "]
    assert len(apt) == 1 and set(role.packages) <= set(apt[0].split())
    assert "groupadd --system wallboard" in commands
    assert any(c.startswith("useradd --system --gid wallboard ") and c.endswith(" wallboard")
               for c in commands)
    usermod = [c for c in commands if c.startswith("usermod ")]
    if role.groups:
        assert len(usermod) == 1 and set(role.groups) <= set(usermod[0].split()[-2].split(","))
    else:
        assert usermod == []
    release = f"/opt/wallboard/releases/{VERSION}"
    venv = "python3 -m venv " + ("--system-site-packages " if role.name == "desk" else "")
    assert f"{venv}{release}" in commands
    assert f"{release}/bin/pip install --quiet --disable-pip-version-check "\
           f"{pip_spec(ROOT_DIR, role)}" in commands
    assert "systemctl daemon-reload" in commands
    enable = [c for c in commands if c.startswith("systemctl enable --now wallboard-")]
    assert len(enable) == 1 and set(enable[0].split()[3:]) == enabled_of(role)
    # Whatever was running picks up the new files first; then everything is started.
    restart = f"systemctl try-restart {' '.join(role.services)}"
    assert commands.index(restart) < commands.index(enable[0]) == len(commands) - 1
    init_db = [c for c in commands if c.endswith("--init-db --log-level WARNING")]
    if role.name == "hub":
        assert init_db == [f"/opt/wallboard/venv/bin/wallboard recorder --config "
                           f"{unit_config('wallboard-recorder.service')} --init-db "
                           f"--log-level WARNING"]
        # InfluxDB first, then the database, then the services that use it.
        assert commands.index("systemctl enable --now influxdb.service") < commands.index(
            init_db[0]) < commands.index(enable[0])
    else:
        assert init_db == []
    # Ownership the dry run could not set is in its notes.
    assert f"# write {role.config} (0640 root:wallboard): from " \
           f"{'firmware/desk.example.toml' if role.name == 'desk' else 'docs/'}" in "\n".join(
               run.plan)


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_running_twice_gives_the_same_tree(tmp_path, stand_ins, provisioned, role):
    root = tmp_path / "root"
    devices = [] if role.name == "hub" else [
        "--device-config", str(provisioned[role.device_role].login)]
    dry_run(root, role.name, *devices, record=stand_ins)
    first = tree(root)
    again = dry_run(root, role.name, *devices, record=stand_ins)
    assert tree(root) == first
    assert f"# keep {role.config} (it exists; --force-config replaces it)" in again.plan
    assert not any(line.startswith("# write ") for line in again.plan)
    # Nothing changed, so nothing to restart; and InfluxDB is set up only the first time
    # (--init-db applies retention changes too, and a shorter one deletes data).
    assert not any(line.startswith("systemctl try-restart") for line in again.commands)
    assert not any("--init-db" in line for line in again.commands)
    if role.name == "hub":
        assert any(line.startswith("# keep InfluxDB as set up on ") for line in again.plan)


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_an_edited_config_is_kept_unless_forced(tmp_path, stand_ins, role):
    root = tmp_path / "root"
    dry_run(root, role.name, record=stand_ins)
    config = root / role.config.lstrip("/")
    edited = config.read_text() + "# edited on site\n"
    config.write_text(edited)
    dry_run(root, role.name, record=stand_ins)
    assert config.read_text() == edited
    mine = tmp_path / "mine.toml"
    mine.write_text(edited.replace("# edited on site\n", "# from --config\n"))
    kept = dry_run(root, role.name, "--config", str(mine), record=stand_ins)
    assert config.read_text() == edited
    assert f"{role.config} exists and differs from {mine}: kept" in kept.err
    forced = dry_run(root, role.name, "--config", str(mine), "--force-config", record=stand_ins)
    assert config.read_text() == mine.read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert any(line.startswith(f"# write {role.config} (0640 root:wallboard): from {mine}")
               for line in forced.plan)


def test_a_plain_install_keeps_the_release_an_upgrade_switched_to(tmp_path, stand_ins):
    root = tmp_path / "root"
    dry_run(root, "desk", record=stand_ins)
    link = root / "opt/wallboard/venv"
    link.unlink()
    link.symlink_to("releases/9.9.9")  # as after `--upgrade --wheel wallboard-9.9.9-...whl`
    run = dry_run(root, "desk", record=stand_ins)
    assert os.readlink(link) == "releases/9.9.9"
    assert f"# keep /opt/wallboard/venv -> releases/9.9.9 (--upgrade --wheel FILE installs " \
           f"{VERSION})" in run.plan
    assert not any("/bin/pip " in c or " -m venv " in c for c in run.commands)


# --- the device config from provision-device -------------------------------------------------

@pytest.mark.parametrize("role", [r for r in ROLES if r.name != "hub"], ids=lambda r: r.name)
def test_provisioned_login_lands_in_etc_wallboard(tmp_path, stand_ins, provisioned, role):
    device = provisioned[role.device_role]
    run = dry_run(tmp_path / "root", role.name, "--device-config", str(device.login),
                  record=stand_ins)
    config_file = run.root / role.config.lstrip("/")
    text = config_file.read_text()
    config = tomllib.loads(text)
    printed = tomllib.loads(device.config)
    for section, values in printed.items():
        for key, value in values.items():
            assert config[section][key] == value, f"[{section}] {key}"
    assert device.password not in text
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o640
    # The example's comments survive the merge; the login sits under its commented example.
    example = (ROOT_DIR / ("firmware/desk.example.toml" if role.name == "desk" else
                           "docs/wallboard.example.toml")).read_text()
    assert [ln for ln in example.splitlines() if ln.startswith("#")] == [
        ln for ln in text.splitlines() if ln.startswith("#")]
    lines = text.splitlines()
    commented = next(i for i, ln in enumerate(lines) if re.match(r"# ?username = ", ln))
    assert lines[commented + 1] == f'username = "{device.username}"'
    # And the program itself accepts it.
    if role.name == "desk":
        assert load_desk_config(config_file).desk.id == role.device_id
    else:
        loaded = load_config(config_file)
        assert loaded.site.id == "hq" and loaded.mqtt.username == device.username
        if role.name == "wallboard":
            assert loaded.kiosk.id == role.device_id
    # The password goes to the environment file the unit reads, root only.
    (service,) = role.services
    env_file = unit_env(service)
    env = run.root / env_file.lstrip("/")
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert f"WALLBOARD_MQTT_PASSWORD={device.password}" in env.read_text().splitlines()
    assert f"# write {env_file} (0600 root:root)" in "\n".join(run.plan)


def test_a_config_without_its_password_warns_and_keeps_the_env_file(tmp_path, stand_ins,
                                                                    provisioned):
    device = provisioned["desk"]
    root = tmp_path / "root"
    run = dry_run(root, "desk", "--device-config", str(device.without_password), record=stand_ins)
    assert "no password in" in run.err and "WALLBOARD_MQTT_PASSWORD=<password>" in run.err
    assert not (root / "etc/wallboard/mqtt.env").exists()
    assert tomllib.loads((root / "etc/wallboard/desk.toml").read_text())["desk"]["id"] == "d-017"
    # With the password it is written, and a later run without one leaves it alone.
    dry_run(root, "desk", "--device-config", str(device.login), record=stand_ins)
    env = (root / "etc/wallboard/mqtt.env").read_text()
    dry_run(root, "desk", "--device-config", str(device.without_password), record=stand_ins)
    assert (root / "etc/wallboard/mqtt.env").read_text() == env


def bad_login(where: Path, provisioned: dict[str, Provisioned], case: str) -> str:
    """A --device-config file the installer must refuse, as the case names it."""
    printed = json.loads(provisioned["desk"].login.read_text())
    if case == "the plain output":  # the old way: provision-device ... > FILE 2>&1
        done = provision_device(where, "desk", "d-017")
        return done.stdout + done.stderr
    if case == "the json with stderr":  # provision-device ... --json > FILE 2>&1
        done = provision_device(where, "desk", "d-017", "--json")
        return done.stdout + done.stderr
    if case == "a failed run":
        return "cannot provision desk-d-017: mosquitto_passwd not found\n"
    if case == "not an object":
        return json.dumps([printed])
    if case == "no config":
        return json.dumps({k: v for k, v in printed.items() if k != "config"})
    changed = {"a password a shell would expand": {"password": "$(reboot)"},
               "an id with a space": {"id": "d 017"},
               "another login's config": {"username": "desk-d-099"}}[case]
    return json.dumps({**printed, **changed})


@pytest.mark.parametrize(("case", "reason"), [
    ("the plain output", "not the JSON that `wallboard provision-device ... --json > FILE` "
                         "prints (Expecting value: line 1 column 1 (char 0); it begins "
                         "'# desk.toml for desk d-017 at site hq, from wallboard "),
    ("the json with stderr", "prints (Extra data: "),
    ("a failed run", "it begins 'cannot provision desk-d-017: mosquitto_passwd not found')"),
    ("not an object", "prints (not an object)"),
    ("no config", "prints (no string 'config')"),
    ("a password a shell would expand", "password: not one word of letters, digits and"),
    ("an id with a space", "id 'd 017' is not a plain name"),
    ("another login's config", "its config's [mqtt] username is not 'desk-d-099'"),
])
def test_a_login_that_is_not_provision_devices_json_is_refused(tmp_path, stand_ins,
                                                              provisioned, case, reason):
    login = tmp_path / "d-017.login"
    login.write_text(bad_login(tmp_path, provisioned, case))
    run = dry_run(tmp_path / "root", "desk", "--device-config", str(login), record=stand_ins,
                  check=False)
    assert run.code == 1
    first, second = run.err.splitlines()
    assert first.startswith(f"{login}: ") and reason in first, first
    assert second == f"install.sh: cannot use --device-config {login}"
    assert not (tmp_path / "root/etc").exists()  # refused before anything was written


def test_a_new_login_replaces_the_old_one_in_an_existing_config(tmp_path, stand_ins,
                                                                provisioned):
    root = tmp_path / "root"
    dry_run(root, "desk", "--device-config", str(provisioned["desk"].login),
            record=stand_ins)
    config = root / "etc/wallboard/desk.toml"
    config.write_text(config.read_text().replace("long_press_s = 2.0", "long_press_s = 3.0"))
    other = provisioned["desk-other"]
    dry_run(root, "desk", "--device-config", str(other.login), record=stand_ins)
    text = config.read_text()
    assert "long_press_s = 3.0" in text  # the site's edit stays
    loaded = tomllib.loads(text)
    assert loaded["desk"]["id"] == "d-099" and loaded["mqtt"]["username"] == other.username
    assert [ln for ln in text.splitlines() if ln.startswith("username = ")] == [
        f'username = "{other.username}"']
    assert f"WALLBOARD_MQTT_PASSWORD={other.password}" in (
        root / "etc/wallboard/mqtt.env").read_text()


@pytest.mark.parametrize(("role", "device"), [
    ("desk", "floor-kiosk"), ("wallboard", "desk"), ("hub", "desk"), ("desk", "recorder"),
    ("hub", "telephony"), ("telephony", "controller")])
def test_a_login_for_another_kind_of_machine_is_refused(tmp_path, stand_ins, provisioned,
                                                       role, device):
    run = dry_run(tmp_path / "root", role, "--device-config",
                  str(provisioned[device].login), record=stand_ins, check=False)
    assert run.code == 1
    assert run.err.strip().endswith(f"which does not run on a {role}")
    assert not (tmp_path / "root/etc").exists()  # refused before anything was written


@pytest.mark.parametrize("device", ["controller", "recorder"])
def test_hub_logins_go_where_their_units_read_them(tmp_path, stand_ins, provisioned, device):
    """One login serves one connection (docs/security.md), so the controller and the recorder
    need one each. While their units read one config and one environment file, the installer
    refuses to put a login there (both would use it); once they read files of their own, each
    login goes into its service's."""
    login = provisioned[device]
    run = dry_run(tmp_path / "root", "hub", "--device-config", str(login.login),
                  record=stand_ins, check=False)
    if hub_services_share_a_config():
        assert run.code == 1
        assert "one login serves one connection" in run.err
        assert not (tmp_path / "root/etc").exists()
    else:
        assert run.code == 0, run.err
        config = run.root / unit_config(f"wallboard-{device}.service").lstrip("/")
        assert tomllib.loads(config.read_text())["mqtt"]["username"] == login.username


def test_a_floor_kiosk_login_on_the_hub_is_the_health_checks(tmp_path, stand_ins,
                                                            provisioned):
    login = provisioned["floor-kiosk"]
    run = dry_run(tmp_path / "root", "hub", "--device-config", str(login.login),
                  record=stand_ins)
    env = run.root / "etc/wallboard/healthcheck.env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    lines = env.read_text().splitlines()
    assert f"MQTT_USERNAME={login.username}" in lines
    assert f"MQTT_PASSWORD={login.password}" in lines
    # It is not the services' login.
    for name in ("controller", "recorder"):
        hub = tomllib.loads((run.root / f"etc/wallboard/{name}.toml").read_text())
        assert hub["mqtt"].get("username") != login.username


def test_the_site_ca_is_installed_as_the_configs_ca_file(tmp_path, stand_ins, provisioned):
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    root = tmp_path / "root"
    without = dry_run(root, "desk", "--device-config", str(provisioned["desk"].without_password),
                      record=stand_ins)
    assert "names ca_file /etc/wallboard/broker-ca.pem, which is missing" in without.err
    with_ca = dry_run(root, "desk", "--ca-file", str(ca), record=stand_ins)
    assert "ca_file" not in with_ca.err
    installed = root / "etc/wallboard/broker-ca.pem"
    assert installed.read_text() == ca.read_text()
    assert stat.S_IMODE(installed.stat().st_mode) == 0o644


# --- the Pi's boot files ---------------------------------------------------------------------

def test_boot_files_get_the_watchdog_and_consoleblank_once(tmp_path, stand_ins):
    root = tmp_path / "root"
    boot = root / "boot/firmware"
    boot.mkdir(parents=True)
    (boot / "config.txt").write_text("[all]\narm_64bit=1\n")
    (boot / "cmdline.txt").write_text("console=tty1 root=PARTUUID=ab-02 rootwait\n")
    dry_run(root, "wallboard", record=stand_ins)
    config = (boot / "config.txt").read_text()
    assert config.startswith("[all]\narm_64bit=1\n")
    assert config.splitlines().count("dtparam=watchdog=on") == 1
    assert (boot / "cmdline.txt").read_text() == (
        "console=tty1 root=PARTUUID=ab-02 rootwait consoleblank=0\n")
    first = tree(root)
    dry_run(root, "wallboard", record=stand_ins)
    assert tree(root) == first


def test_a_desk_gets_the_watchdog_but_keeps_its_console_settings(tmp_path, stand_ins):
    root = tmp_path / "root"
    boot = root / "boot/firmware"
    boot.mkdir(parents=True)
    (boot / "config.txt").write_text("dtparam=watchdog=on\n")
    (boot / "cmdline.txt").write_text("console=tty1 consoleblank=600 rootwait\n")
    dry_run(root, "desk", record=stand_ins)
    assert (boot / "config.txt").read_text() == "dtparam=watchdog=on\n"
    assert (boot / "cmdline.txt").read_text() == "console=tty1 consoleblank=600 rootwait\n"
    (boot / "cmdline.txt").write_text("console=tty1 consoleblank=600 rootwait\n")
    dry_run(root, "wallboard", record=stand_ins)
    assert (boot / "cmdline.txt").read_text() == "console=tty1 consoleblank=600 rootwait\n"


# --- refusals --------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "error"), [
    (["--role", "kiosk", "--dry-run", "--root", "R"],
     "unknown role 'kiosk': expected wallboard, desk, hub or telephony"),
    (["--dry-run", "--root", "R"], "--role is required: wallboard, desk, hub or telephony"),
    (["--role"], "--role needs a value"),
    (["--role", "hub", "--upgrade", "--dry-run", "--root", "R"], "--upgrade needs --wheel FILE"),
    (["--role", "hub", "--wheel"], "--wheel needs a value"),
    (["--role", "hub", "--dry-run"], "--dry-run needs --root DIR"),
    (["--role", "hub", "--root", "R"], "--root is only for --dry-run"),
    (["--role", "hub", "--dry-run", "--root", "R", "--colour"],
     "unknown option '--colour' (see --help)"),
    (["--role", "hub", "--dry-run", "--root", "R", "--wheel", "nothing.whl"],
     "--wheel: no such file: nothing.whl"),
    (["--role", "desk", "--dry-run", "--root", "R", "--device-config", "nothing.toml"],
     "no such file: nothing.toml"),
    (["--role", "desk", "--dry-run", "--root", "R", "--health-wait", "soon"],
     "--health-wait: 'soon' is not a number of seconds"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_arguments_exit_2_with_one_line(tmp_path, stand_ins, args, error):
    root = tmp_path / "root"
    argv = [str(root) if a == "R" else a for a in args]
    run = install(root, *argv, record=stand_ins, check=False)
    assert (run.code, run.out, run.err) == (2, "", f"install.sh: {error}\n")
    assert not root.exists()


def test_a_wheel_must_be_a_wallboard_wheel(tmp_path, stand_ins):
    wheel = tmp_path / "other-1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    run = dry_run(tmp_path / "root", "hub", "--upgrade", "--wheel", str(wheel),
                  record=stand_ins, check=False)
    assert run.code == 2 and run.err.count("\n") == 1
    assert "is not a wallboard wheel" in run.err


def test_without_root_it_refuses_unless_dry_run(tmp_path):
    """As an ordinary user (nobody, when the tests run as root)."""
    argv = ["bash", str(INSTALL), "--role", "hub"]
    if os.geteuid() == 0:
        # The suite's one way to need a tool: skips with the reason, fails under CI=true.
        setpriv = require("setpriv", "util-linux")
        argv = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "install.sh: must run as root (or with --dry-run --root DIR)\n"


def source_copy(tmp_path: Path) -> Path:
    """The parts of the source tree install.sh reads, copied, for a test to break."""
    src = tmp_path / "src"
    shutil.copytree(ROOT_DIR / "kiosk", src / "kiosk")
    for name in ("docs/wallboard.example.toml", "firmware/desk.example.toml", "pyproject.toml"):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT_DIR / name, src / name)
    return src


@pytest.mark.parametrize(("role", "missing"), [
    ("hub", "systemd/wallboard-recorder.service"),
    ("desk", "systemd/wallboard-desk.service"),
    ("wallboard", "systemd/wallboard-kiosk.service"),
    ("wallboard", "systemd/wallboard-display-off.timer"),
    ("wallboard", "display/wallboard-display"),
    ("telephony", "systemd/wallboard-telephony.service"),
])
def test_a_missing_unit_stops_it_before_anything_changes(tmp_path, stand_ins, role, missing):
    src = source_copy(tmp_path)
    (src / "kiosk" / missing).unlink()
    run = dry_run(tmp_path / "root", role, script=src / "kiosk/install.sh", record=stand_ins,
                  check=False)
    assert run.code == 1
    assert run.err.startswith(f"install.sh: missing for role {role} in kiosk/systemd/: ")
    assert run.err.count("\n") == 1 and missing.split("/")[-1] in run.err
    assert tree(run.root) == {}


def test_the_units_in_the_source_tree_are_all_there():
    """Every unit a role needs exists in kiosk/systemd/ (the other roles' tests use them)."""
    for role in ROLES:
        for unit in units_of(role):
            assert (UNIT_DIR / unit).is_file(), unit
    assert {"wallboard-display-on.timer", "wallboard-display-off.timer"} <= display_units()


# --- upgrade ---------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_upgrade_plan_checks_health_and_rolls_back(tmp_path, stand_ins, role):
    root = tmp_path / "root"
    dry_run(root, role.name, record=stand_ins)
    before = tree(root)
    wheel = tmp_path / "wallboard-9.9.9-py3-none-any.whl"
    wheel.write_bytes(b"")
    run = dry_run(root, role.name, "--upgrade", "--wheel", str(wheel), "--health-wait", "30",
                  record=stand_ins)
    assert tree(root) == before  # an upgrade's dry run only lists
    commands = run.commands
    new, old = "/opt/wallboard/releases/9.9.9", f"releases/{VERSION}"
    services = " ".join(role.services)

    def at(command: str, start: int = 0) -> int:
        """Where the command is in the plan, after start."""
        return commands.index(command, start)

    build = at(f"python3 -m venv {'--system-site-packages ' if role.name == 'desk' else ''}"
               f"{new}")
    pip = at(f"{new}/bin/pip install --quiet --disable-pip-version-check "
             f"{pip_spec(wheel, role)}", build)
    check = next(i for i, c in enumerate(commands) if c.startswith(f"{new}/bin/") and (
        "check-config" in c or "load_desk_config" in c))
    switch = at("ln -sfn releases/9.9.9 /opt/wallboard/venv.new", check)
    at("mv -T /opt/wallboard/venv.new /opt/wallboard/venv", switch)
    restart = at(f"systemctl restart {services}", switch)
    for service in role.services:
        at(f"systemctl is-active {service}", restart)
        at(f"systemctl show --property NRestarts --value {service}", restart)
    rollback = at(f"ln -sfn {old} /opt/wallboard/venv.new", restart)
    at("mv -T /opt/wallboard/venv.new /opt/wallboard/venv", rollback)
    at(f"systemctl restart {services}", rollback)
    assert build < pip < check < switch < restart < rollback
    notes = "\n".join(run.plan)
    assert "# health check: wait 30 s" in notes
    assert f"# if the health check fails, roll back to {old}" in notes
    if role.name == "hub":
        status = [c for c in commands if c.startswith("mosquitto_sub ")]
        assert len(status) == 2 and all("--retained-only" in c for c in status)
        # Topics from the installed config: its topic root, site and recorder id.
        hub = tomllib.loads((root / "etc/wallboard/controller.toml").read_text())
        recorder = tomllib.loads((root / "etc/wallboard/recorder.toml").read_text())
        prefix = f"{hub['mqtt']['topic_root']}/{hub['site']['id']}/service"
        assert f"-t {prefix}/controller/status" in status[0]
        assert f"-t {prefix}/recorder-{recorder['recorder']['id']}/status" in status[1]


def test_upgrade_to_the_running_version_does_nothing(tmp_path, stand_ins):
    root = tmp_path / "root"
    dry_run(root, "desk", record=stand_ins)
    wheel = tmp_path / f"wallboard-{VERSION}-py3-none-any.whl"
    wheel.write_bytes(b"")
    run = dry_run(root, "desk", "--upgrade", "--wheel", str(wheel), record=stand_ins)
    assert f"already running {VERSION}" in run.out
    assert run.commands == []


def test_help_names_every_option():
    done = subprocess.run(["bash", str(INSTALL), "--help"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and done.stderr == ""
    script = INSTALL.read_text()
    options = set(re.findall(r"^\s+(--[a-z-]+)\)", script, re.M))
    assert options >= {"--role", "--wheel", "--config", "--device-config", "--upgrade",
                       "--dry-run", "--root", "--force-config", "--health-wait", "--ca-file"}
    for option in options:
        assert option in done.stdout, option
