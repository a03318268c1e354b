"""Provision one device on the site broker: its password, set with ``mosquitto_passwd`` (the
tool that owns the hash format), and its block in the ACL file; then print its config.

The shell around the pure ``acl.py`` and ``device_config.py``. Running it again for the same
device gives it a new password and replaces its ACL block: that is how a credential is
rotated. The broker reads both files again on ``systemctl reload mosquitto`` (SIGHUP).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from wallboard.errors import ProvisionError
from wallboard.security.acl import NEW_FILE_HEADER, Device, merge
from wallboard.security.device_config import (
    HUB_ROLES,
    LOOPBACK_HOSTS,
    PASSWORD_ENV,
    broker_for,
    device_config,
)
from wallboard.security.device_login import device_login
from wallboard.topics import ID_PATTERN
from wallboard.validation import field_and_reason

PASSWD_BINARY = "mosquitto_passwd"
BROKER_ACCOUNT = "mosquitto"  # Debian's broker user: it must be able to read both files
PRIVATE = 0o600  # the password hashes and the ACL: for the broker's account only
GROUP_READABLE = 0o640  # only for a file the broker reads through its group: root:mosquitto
OPTIONS = {"role": "--role", "id": "--id", "site": "--site", "root": "--root",
           "host": "--broker-host", "port": "--broker-port"}


@dataclass(frozen=True, slots=True)
class Provisioned:
    """What provisioning did: the user name and the new password (shown once, then gone)."""

    username: str
    password: str


def new_password() -> str:
    """192 random bits, URL-safe: nothing to quote in a shell, a unit file or TOML."""
    return secrets.token_urlsafe(24)


def provision(device: Device, *, password_file: Path, acl_file: Path,
              password: str | None = None, passwd_binary: str | None = None) -> Provisioned:
    """Write the device's ACL block, then set its password; ``ProvisionError`` on failure.

    The ACL goes first: a user with rules and no password cannot log in, and a conflict in
    the ACL file stops everything before anything changed.
    """
    binary = passwd_binary or shutil.which(PASSWD_BINARY)
    if binary is None:
        raise ProvisionError(f"{PASSWD_BINARY} not found: install the mosquitto package")
    for path in (password_file, acl_file):
        if not path.parent.is_dir():
            raise ProvisionError(f"{path.parent}: no such directory")
    secret = password or new_password()
    try:
        old = acl_file.read_text(encoding="utf-8") if acl_file.exists() else None
        text = merge(NEW_FILE_HEADER if old is None else old, device)
        if text != old:
            _write(acl_file, text, new=old is None)
        else:  # unchanged, yet an older run or a hand may have left it open
            os.chmod(acl_file, file_mode(acl_file.stat(), _broker_ids()))
        _set_password(binary, password_file, device.username, secret)
    except OSError as exc:
        raise ProvisionError(f"{exc.filename or acl_file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ProvisionError(f"{acl_file}: not UTF-8") from None
    return Provisioned(device.username, secret)


def file_mode(existing: os.stat_result | None, broker: tuple[int, int] | None) -> int:
    """The mode the password file or the ACL ends with, whatever the umask: 0600, except
    0640 for an existing file that the broker's account (``broker``: its uid and gid) can
    read only through its group, as in a root:mosquitto 0640 layout. Never for others."""
    if (existing is not None and broker is not None and existing.st_uid != broker[0]
            and existing.st_gid == broker[1] and existing.st_mode & stat.S_IRGRP):
        return GROUP_READABLE
    return PRIVATE


def _broker_ids() -> tuple[int, int] | None:
    """The broker account's uid and gid, if this machine has one."""
    try:
        account = pwd.getpwnam(BROKER_ACCOUNT)
    except KeyError:
        return None
    return account.pw_uid, account.pw_gid


def _set_password(binary: str, path: Path, username: str, secret: str) -> None:
    """Add or replace the user's line; create the file (-c) only if it does not exist."""
    before = path.stat() if path.exists() else None
    argv = [binary, *(["-c"] if before is None else []), str(path), username]
    # On stdin, not with -b: a password in argv is visible to every local user in ps.
    # umask 077: mosquitto_passwd 2.0.11 (Debian 12) creates the file with the umask, so
    # under the usual 022 the hashes would be world-readable until the chmod below.
    result = subprocess.run(argv, input=f"{secret}\n{secret}\n", capture_output=True,
                            text=True, timeout=60, check=False, umask=0o077)
    if result.returncode != 0:
        output = (result.stderr + result.stdout).strip()
        reason = output[output.rfind("Error:"):] if "Error:" in output else output
        raise ProvisionError(f"{PASSWD_BINARY} failed on {path}: "
                             f"{' '.join(reason.split()) or f'exit code {result.returncode}'}")
    # Whatever the version did (rewrite in place, or a new file in its place), set the mode
    # and owner explicitly rather than trusting it.
    os.chmod(path, file_mode(before, _broker_ids()))
    if before is None:
        _hand_to_broker(path)
    elif os.geteuid() == 0 and (path.stat().st_uid, path.stat().st_gid) != (
            before.st_uid, before.st_gid):
        os.chown(path, before.st_uid, before.st_gid)


def _write(path: Path, text: str, *, new: bool) -> None:
    """Replace the file in one step, keeping its owner; the mode as ``file_mode`` says."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600 from birth
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        st = None if new else path.stat()
        os.chmod(tmp, file_mode(st, _broker_ids()))
        if st is not None and os.geteuid() == 0:
            os.chown(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if new:
        _hand_to_broker(path)


def _hand_to_broker(path: Path) -> None:
    """Give a file this run created to the broker's account (as root), which reads it on
    every reload after dropping root; mosquitto warns about files it does not own."""
    broker = _broker_ids()
    if os.geteuid() == 0 and broker is not None:
        os.chown(path, *broker)


def run_provision(*, role: str, device_id: str, site: str, root: str, password_file: Path,
                  acl_file: Path, broker_host: str | None, broker_port: int | None,
                  out: TextIO | None = None, err: TextIO | None = None,
                  as_json: bool = False) -> int:
    """The ``provision-device`` command: config on ``out``, the password and notes on ``err``
    (so ``> desk.toml`` never captures the password); with ``as_json``, one JSON object
    on ``out``, the password in it, for an installer. Returns the exit code."""
    out, err = out or sys.stdout, err or sys.stderr  # looked up now: tests swap them
    hub = socket.getfqdn()
    try:
        device = Device.model_validate(
            {"role": role, "id": device_id, "site": site, "root": root})
        broker = broker_for(device.role, broker_host, broker_port, hub)
    except ValidationError as exc:
        print(f"bad option: {_describe(exc)}", file=err)
        return 2
    if broker_host is None and device.role not in HUB_ROLES and (
            hub in LOOPBACK_HOSTS or hub.startswith("localhost.")):
        # A desk told to connect to "localhost" would look for the broker on itself.
        print(f"bad option: --broker-host: needed, since this machine calls itself {hub!r}",
              file=err)
        return 2
    try:
        done = provision(device, password_file=password_file, acl_file=acl_file)
    except ProvisionError as exc:
        print(f"cannot provision {device.username}: {exc}", file=err)
        return 1
    where = f"({device.role} {device.id} at {device.root}/{device.site})"
    if as_json:
        login = device_login(device, broker, done.password,
                             password_file=str(password_file.absolute()),
                             acl_file=str(acl_file.absolute()))
        out.write(login.model_dump_json(indent=2) + "\n")
        print(f"provisioned {done.username} {where} in {password_file} and {acl_file}; its "
              "password is in the JSON on standard output: keep that secret\n"
              "then make the broker read the files again: sudo systemctl reload mosquitto",
              file=err)
        return 0
    out.write(device_config(device, broker))
    print(f"provisioned {done.username} {where} in {password_file} and {acl_file}\n"
          f"password (shown once, stored only as a hash): {done.password}\n"
          f"give it to the device in ${PASSWORD_ENV} (a systemd EnvironmentFile of mode 0600),"
          " never in its config file\n"
          "then make the broker read the files again: sudo systemctl reload mosquitto", file=err)
    return 0


def _describe(exc: ValidationError) -> str:
    """The first error as ``--option: reason``."""
    option, reason = field_and_reason(exc, whole="option", options=OPTIONS,
                                      reasons={"string_pattern_mismatch": _not_matching})
    return f"{option}: {reason}"


def _not_matching(error: ErrorDetails) -> str:
    """Say what the value should have been, not the pattern it missed."""
    what = "a host name or IP address" if error["loc"][:1] == ("host",) else f"an id ({ID_PATTERN})"
    return f"{str(error['input'])[:80]!r} is not {what}"
