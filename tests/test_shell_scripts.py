"""Shell scripts under kiosk/: shellcheck finds nothing in any of them, and wallboard-display
does the right thing against stand-in cec-ctl and systemctl commands and a fake /sys.

Scripts are found by walking kiosk/ (``*.sh``, or a shell in the ``#!`` line), so a new one
is checked without touching this file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.live import ROOT_DIR, require

KIOSK_DIR = ROOT_DIR / "kiosk"
SHELLS = {"sh", "bash", "dash", "ksh"}
DISPLAY = KIOSK_DIR / "display" / "wallboard-display"
# SC1091 is "not following a sourced file that was not given as input" (/etc/os-release):
# about shellcheck's reach, not the script.
EXCLUDED = "SC1091"
# Findings that were in a script before this test, reported rather than fixed here. The test
# fails when one goes away too, so the entry gets removed.
KNOWN: dict[str, set[str]] = {
    # `apt-get indextargets --format '$(CODENAME) …'`: apt's own placeholders, which must not
    # expand. The fix is a `# shellcheck disable=SC2016` line above it.
    "kiosk/add-backports.sh": {"SC2016"},
}


def is_shell_script(path: Path) -> bool:
    """``*.sh``, or a ``#!`` line naming a shell (directly or through env)."""
    if path.suffix == ".sh":
        return True
    try:
        with path.open("rb") as f:
            first = f.readline(200)
    except OSError:
        return False
    if not first.startswith(b"#!"):
        return False
    words = first[2:].decode("utf-8", "replace").split()
    if words and Path(words[0]).name == "env":
        words = [w for w in words[1:] if not w.startswith("-")]
    return bool(words) and Path(words[0]).name in SHELLS


def shell_scripts() -> list[Path]:
    """Every shell script under kiosk/, in path order."""
    return sorted(p for p in KIOSK_DIR.rglob("*") if p.is_file() and is_shell_script(p))


def rel(path: Path) -> str:
    """The path from the repository root, as the tests name it."""
    return path.relative_to(ROOT_DIR).as_posix()


def test_finds_the_scripts() -> None:
    found = {rel(p) for p in shell_scripts()}
    assert {"kiosk/add-backports.sh", "kiosk/mosquitto/make-certs.sh",
            "kiosk/display/wallboard-display"} <= found
    assert not any(name.endswith((".md", ".env", ".append")) for name in found)


@pytest.mark.parametrize("example", [
    ("x.sh", b"echo\n", True),
    ("x", b"#!/bin/sh\n", True),
    ("x", b"#!/usr/bin/env bash\n", True),
    ("x", b"#!/usr/bin/env -S bash -eu\n", True),
    ("x", b"#!/usr/bin/python3\n", False),
    ("x.service", b"[Unit]\n", False),
], ids=["suffix", "sh", "env-bash", "env-S", "python", "unit"])
def test_what_counts_as_a_shell_script(tmp_path: Path, example: tuple[str, bytes, bool]) -> None:
    filename, head, expected = example
    (tmp_path / filename).write_bytes(head)
    assert is_shell_script(tmp_path / filename) is expected


@pytest.mark.parametrize("script", shell_scripts(), ids=rel)
def test_shellcheck_is_clean(script: Path) -> None:
    shellcheck = require("shellcheck", "shellcheck")
    result = subprocess.run(
        [shellcheck, "--format=json1", f"--exclude={EXCLUDED}", str(script)],
        capture_output=True, text=True, timeout=120, check=False, cwd=script.parent)
    assert result.returncode in (0, 1), result.stderr
    comments = json.loads(result.stdout or '{"comments": []}')["comments"]
    found = {f"SC{c['code']}" for c in comments}
    report = "\n".join(f"{rel(script)}:{c['line']}:{c['column']}: {c['level']} SC{c['code']}: "
                       f"{c['message']}" for c in comments)
    assert found == KNOWN.get(rel(script), set()), report or "clean: drop it from KNOWN"


# --- wallboard-display against stand-ins ----------------------------------------------------

# Each stand-in logs its command line, one per line, and uses shell built-ins only.
FAKE_SYSTEMCTL = r"""#!/bin/sh
printf 'systemctl %s\n' "$*" >>"$FAKE_LOG"
case $1 in
    is-enabled) [ "${FAKE_KIOSK_ENABLED:-1}" = 1 ] ;;
    show)
        for last in "$@"; do :; done
        case $last in
            wallboard-display-on.timer) printf '%s\n' "${FAKE_NEXT_ON:-}" ;;
            wallboard-display-off.timer) printf '%s\n' "${FAKE_NEXT_OFF:-}" ;;
        esac
        ;;
    *) exit "${FAKE_SYSTEMCTL_EXIT:-0}" ;;
esac
"""
# cec-ctl exits 0 whether or not the screen acknowledged, as the real one does.
FAKE_CEC_CTL = r"""#!/bin/sh
printf 'cec-ctl %s\n' "$*" >>"$FAKE_LOG"
case " $* " in
    *' --skip-info '*) ;;
    *) printf 'Driver Info:\n\tPhysical Address           : 1.0.0.0\n'; exit 0 ;;
esac
case " $* " in
    *' --logical-address '*) [ "${FAKE_CEC_CONFIGURED:-0}" = 1 ] && printf '4\n' ;;
    *' --give-device-power-status '*)
        printf '\nTransmit from Playback Device 1 to TV (4 to 0):\n'
        printf 'GIVE_DEVICE_POWER_STATUS (0x8f)\n'
        if [ "${FAKE_TV_ANSWERS:-1}" = 1 ]; then
            printf '    Received from TV (0):\n    REPORT_POWER_STATUS (0x90):\n'
            printf '        pwr-state: on (0x00)\n'
        else
            printf '\tTx, Not Acknowledged (4), Max Retries\n'
        fi
        ;;
esac
exit 0
"""
UNTOUCHED = "untouched\n"
CEC = "cec-ctl --device {dev} --skip-info"
STANDBY = CEC + " --to 0 --standby"
WAKE = CEC + " --to 0 --image-view-on"
ACTIVE = CEC + " --to 0 --active-source phys-addr=1.0.0.0"
CONFIGURE = CEC + " --playback --osd-name Wallboard"
STOP = "systemctl stop wallboard-kiosk.service"
START = "systemctl start --no-block wallboard-kiosk.service"
RESET = "systemctl reset-failed wallboard-kiosk.service"


@dataclass(frozen=True)
class Case:
    """One run of wallboard-display and what it must and must not have done."""

    args: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    calls: tuple[str, ...] = ()  # in this order, others may come between
    never: tuple[str, ...] = ()
    blank: str | None = UNTOUCHED  # what /sys/class/graphics/fb0/blank holds; None: no fb0
    code: int = 0
    cec_ctl: bool = True  # cec-ctl installed
    cec_device: bool = True  # /dev/cec0 there


CASES: dict[str, Case] = {
    "off: the screen answers CEC, standby, the kiosk keeps running": Case(
        ("off",), calls=(CONFIGURE, STANDBY), never=(STOP,)),
    "off: an adapter already configured is left alone": Case(
        ("off",), {"FAKE_CEC_CONFIGURED": "1"}, calls=(STANDBY,), never=(CONFIGURE, STOP)),
    "off: a silent screen, stop the kiosk and power HDMI down": Case(
        ("off",), {"FAKE_TV_ANSWERS": "0"}, calls=(STOP,), never=(STANDBY,), blank="4\n"),
    "off: no CEC device, fall back": Case(
        ("off",), calls=(STOP,), never=("cec-ctl",), blank="4\n", cec_device=False),
    "off: no cec-ctl installed, fall back": Case(
        ("off",), calls=(STOP,), blank="4\n", cec_ctl=False),
    "off: method blank skips CEC": Case(
        ("off",), {"WALLBOARD_DISPLAY_METHOD": "blank"}, calls=(STOP,), never=("cec-ctl",),
        blank="4\n"),
    "off: method cec sends standby even unanswered": Case(
        ("off",), {"WALLBOARD_DISPLAY_METHOD": "cec", "FAKE_TV_ANSWERS": "0"},
        calls=(STANDBY,), never=(STOP,)),
    "off: blanking goes on if the kiosk will not stop": Case(
        ("off",), {"FAKE_TV_ANSWERS": "0", "FAKE_SYSTEMCTL_EXIT": "5"}, calls=(STOP,),
        blank="4\n"),
    "off: a fallback with no framebuffer fails": Case(
        ("off",), {"FAKE_TV_ANSWERS": "0"}, calls=(STOP,), blank=None, code=1),
    "on: power up, wake over CEC, start the kiosk": Case(
        ("on",), calls=(WAKE, ACTIVE, RESET, START), blank="0\n"),
    "on: wake over CEC even if the screen in standby does not answer": Case(
        ("on",), {"FAKE_TV_ANSWERS": "0"}, calls=(WAKE, START), blank="0\n"),
    "on: a disabled kiosk stays stopped": Case(
        ("on",), {"FAKE_KIOSK_ENABLED": "0"}, calls=(WAKE,), never=(START,), blank="0\n"),
    "on: method blank skips CEC": Case(
        ("on",), {"WALLBOARD_DISPLAY_METHOD": "blank"}, calls=(START,), never=("cec-ctl",),
        blank="0\n"),
    "on: without CEC, power up and start": Case(
        ("on",), calls=(START,), never=("cec-ctl",), blank="0\n", cec_device=False),
    "sync: between off and on, turn off": Case(
        ("sync",), {"FAKE_NEXT_ON": "@1700000000", "FAKE_NEXT_OFF": "@1700040000"},
        calls=(STANDBY,)),
    "sync: reads systemctl's date format too": Case(
        ("sync",), {"FAKE_NEXT_ON": "Mon 2024-01-08 07:00:00 UTC",
                    "FAKE_NEXT_OFF": "Mon 2024-01-08 19:00:00 UTC", "FAKE_TV_ANSWERS": "0"},
        calls=(STOP,), blank="4\n"),
    "sync: between on and off, leave it": Case(
        ("sync",), {"FAKE_NEXT_ON": "@1700040000", "FAKE_NEXT_OFF": "@1700000000"},
        never=(STANDBY, STOP)),
    "sync: timers not active, leave it": Case(
        ("sync",), {"FAKE_NEXT_ON": "n/a", "FAKE_NEXT_OFF": ""}, never=(STANDBY, STOP)),
    "status: says the screen answers": Case(("status",), never=(STANDBY, STOP)),
    "bad action": Case(("sleep",), never=("cec-ctl", "systemctl"), code=2),
    "no action": Case((), never=("cec-ctl", "systemctl"), code=2),
    "bad method": Case(("off",), {"WALLBOARD_DISPLAY_METHOD": "hdmi"}, never=(STOP,), code=2),
}


def tools_dir(tmp_path: Path) -> Path:
    """A PATH with only what the script may use: real sed, grep and date."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("sed", "grep", "date"):
        real = shutil.which(name)
        assert real, name
        (tools / name).symlink_to(real)
    return tools


def run_display(tmp_path: Path, case: Case) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run wallboard-display with the stand-ins; its result and the commands it ran."""
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    stand_ins = {"systemctl": FAKE_SYSTEMCTL, **({"cec-ctl": FAKE_CEC_CTL} if case.cec_ctl else {})}
    for name, text in stand_ins.items():
        (fakes / name).write_text(text)
        (fakes / name).chmod(0o755)
    device = tmp_path / "dev" / "cec0"
    device.parent.mkdir()
    if case.cec_device:
        device.write_text("")
    graphics = tmp_path / "sys/class/graphics"
    graphics.mkdir(parents=True)
    if case.blank is not None:
        (graphics / "fb0").mkdir()
        (graphics / "fb0/blank").write_text(UNTOUCHED)
    log = tmp_path / "calls.log"
    log.write_text("")
    env = {"PATH": f"{fakes}:{tools_dir(tmp_path)}", "FAKE_LOG": str(log),
           "WALLBOARD_CEC_DEVICE": str(device), "WALLBOARD_SYSFS": str(tmp_path / "sys"),
           **case.env}
    result = subprocess.run([str(DISPLAY), *case.args], env=env, capture_output=True, text=True,
                            timeout=30, check=False)
    return result, log.read_text().splitlines()


@pytest.mark.parametrize("name", sorted(CASES))
def test_wallboard_display(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    result, calls = run_display(tmp_path, case)
    device = str(tmp_path / "dev" / "cec0")
    detail = f"stderr:\n{result.stderr}\ncalls:\n" + "\n".join(calls)
    assert result.returncode == case.code, detail
    position = 0
    for expected in (c.format(dev=device) for c in case.calls):
        assert expected in calls[position:], f"missing, in order: {expected}\n{detail}"
        position = calls.index(expected, position) + 1
    for forbidden in (c.format(dev=device) for c in case.never):
        assert not any(call.startswith(forbidden) for call in calls), f"{forbidden}\n{detail}"
    if case.blank is not None:
        assert (tmp_path / "sys/class/graphics/fb0/blank").read_text() == case.blank, detail


def test_wallboard_display_is_executable_posix_sh() -> None:
    assert os.access(DISPLAY, os.X_OK)
    assert DISPLAY.read_text().startswith("#!/bin/sh\n")
    dash = shutil.which("dash")
    if dash:  # Debian's /bin/sh: parse the script with it, running nothing
        subprocess.run([dash, "-n", str(DISPLAY)], check=True, timeout=30)
