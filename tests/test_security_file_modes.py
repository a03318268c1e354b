"""``provision-device`` leaves the broker's password file and ACL readable by the broker's
account only (docs/security.md), whatever the umask and the mosquitto_passwd version.

Debian 12's mosquitto_passwd 2.0.11 creates the file with the umask: under the usual 022 the
password hashes were world-readable (0644), and the tool changed the owner but not the mode.
"""

from __future__ import annotations

import os
import pwd
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import require
from wallboard.cli import main
from wallboard.security.provision import BROKER_ACCOUNT, file_mode


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The umask most systems give root and users: new files 0644 unless a tool says not."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def provision(tmp_path: Path, device_id: str) -> tuple[Path, Path]:
    """Run ``wallboard provision-device`` for a desk on files in ``tmp_path``."""
    passwd, acl = tmp_path / "wallboard.passwd", tmp_path / "wallboard.acl"
    assert main(["provision-device", "--role", "desk", "--id", device_id, "--site", "hq",
                 "--password-file", str(passwd), "--acl-file", str(acl),
                 "--broker-host", "hub.floor.example"]) == 0
    return passwd, acl


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def broker_account() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(BROKER_ACCOUNT)
    except KeyError:
        return None


def test_new_files_are_0600_under_umask_022(tmp_path, umask_022, capsys):
    require("mosquitto_passwd", "mosquitto")
    passwd, acl = provision(tmp_path, "d-017")
    assert (mode(passwd), mode(acl)) == ("0o600", "0o600")
    account = broker_account()
    if os.geteuid() == 0 and account is not None:  # as root: handed to the broker
        assert {passwd.stat().st_uid, acl.stat().st_uid} == {account.pw_uid}


@pytest.mark.parametrize("device_id", ["d-018", "d-017"],
                         ids=["another-device", "same-device-acl-unchanged"])
def test_files_left_world_readable_are_closed(tmp_path, umask_022, capsys, device_id):
    """What mosquitto_passwd 2.0.11 and the old tool left (0644) is 0600 after the next run,
    whether or not the ACL's text changes."""
    require("mosquitto_passwd", "mosquitto")
    passwd, acl = provision(tmp_path, "d-017")
    for path in (passwd, acl):
        path.chmod(0o644)
    provision(tmp_path, device_id)
    assert (mode(passwd), mode(acl)) == ("0o600", "0o600")
    assert passwd.read_text().count("desk-d-017:") == 1


def test_existing_owner_is_kept(tmp_path, umask_022, capsys):
    require("mosquitto_passwd", "mosquitto")
    passwd, acl = provision(tmp_path, "d-017")
    owners = {path: (path.stat().st_uid, path.stat().st_gid) for path in (passwd, acl)}
    provision(tmp_path, "d-018")
    assert {path: (path.stat().st_uid, path.stat().st_gid) for path in owners} == owners


def fake_stat(mode_bits: int, uid: int, gid: int) -> os.stat_result:
    return os.stat_result((stat.S_IFREG | mode_bits, 0, 0, 1, uid, gid, 0, 0, 0, 0))


ROOT, BROKER = 0, (103, 106)


@pytest.mark.parametrize(("existing", "broker", "expected"), [
    (None, BROKER, 0o600),                                   # new: 0600, whatever the umask
    (None, None, 0o600),
    (fake_stat(0o644, 103, 106), BROKER, 0o600),             # what 2.0.11 and the old tool left
    (fake_stat(0o666, 103, 106), BROKER, 0o600),
    (fake_stat(0o640, ROOT, 106), BROKER, 0o640),            # root:mosquitto: read via group
    (fake_stat(0o644, ROOT, 106), BROKER, 0o640),            # ... but never by others
    (fake_stat(0o600, ROOT, 106), BROKER, 0o600),            # no group read to keep
    (fake_stat(0o644, ROOT, ROOT), BROKER, 0o600),           # group is not the broker's
    (fake_stat(0o644, 1000, 1000), None, 0o600),             # no broker account here
], ids=["new", "new-no-broker", "broker-0644", "broker-0666", "root-group-0640",
        "root-group-0644", "root-group-0600", "root-root-0644", "no-account"])
def test_file_mode(existing, broker, expected):
    assert oct(file_mode(existing, broker)) == oct(expected)
