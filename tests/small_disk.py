"""A small, real disk for a service under test: a tmpfs of a few MiB over a directory.

As root the tmpfs is mounted over the directory itself. Without root it lives in a private
user and mount namespace, held open by a sleeping process; the service's command is run
inside that namespace (``prefix``), so a restarted service finds the same full disk. The
test skips, saying why, only when neither is possible (CI mode turns that into a failure).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live import ServiceProcess


@dataclass(frozen=True, slots=True)
class SmallDisk:
    """A mounted tmpfs, and the command prefix that sees it."""

    directory: Path
    prefix: tuple[str, ...] = ()

    def free_bytes(self) -> int:
        """Bytes free on the tmpfs, as a process inside its namespace sees them."""
        out = subprocess.run([*self.prefix, "df", "-B1", "--output=avail", str(self.directory)],
                             capture_output=True, text=True, check=True).stdout
        return int(out.split()[-1])

    def fill(self, name: str = "filler") -> None:
        """Take every free byte left, with a file of zeros (as some other program might)."""
        script = 'cat /dev/zero > "$0" 2>/dev/null; test -s "$0"'
        subprocess.run([*self.prefix, "sh", "-c", script, str(self.directory / name)],
                       check=True)


@contextlib.contextmanager
def small_disk(directory: Path, size: str = "2m") -> Iterator[SmallDisk]:
    """A ``size`` tmpfs over ``directory`` until the block ends; always unmounted after."""
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        with _mounted(directory, size) as disk:
            yield disk
    else:
        with _namespaced(directory, size) as disk:
            yield disk


@contextlib.contextmanager
def _mounted(directory: Path, size: str) -> Iterator[SmallDisk]:
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                            str(directory)], capture_output=True, text=True)
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs as root: {mount.stderr.strip()}")
    try:
        yield SmallDisk(directory)
    finally:
        # Lazily, so a process that still has a file open cannot keep it mounted.
        subprocess.run(["umount", "--lazy", str(directory)], check=True)


@contextlib.contextmanager
def _namespaced(directory: Path, size: str) -> Iterator[SmallDisk]:
    unshare, nsenter = shutil.which("unshare"), shutil.which("nsenter")
    if unshare is None or nsenter is None:
        pytest.skip("not root, and unshare/nsenter (util-linux) are missing: no tmpfs possible")
    script = f'mount -t tmpfs -o size={size} tmpfs "$0" && echo mounted && exec sleep 86400'
    holder = subprocess.Popen([unshare, "--user", "--map-root-user", "--mount", "sh", "-c",
                               script, str(directory)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        if holder.stdout.readline().strip() != "mounted":
            holder.wait(10)
            reason = holder.stderr.read().strip() if holder.stderr else ""
            pytest.skip(f"not root, and no private mount namespace either: {reason}")
        yield SmallDisk(directory, (nsenter, "--target", str(holder.pid), "--user",
                                    "--mount", "--preserve-credentials"))
    finally:
        holder.kill()  # the namespace, and its tmpfs, go with their last process
        holder.wait(10)


class ServiceOnDisk(ServiceProcess):
    """A ``wallboard`` service process that sees the small disk."""

    def __init__(self, disk: SmallDisk, config: Path, log_path: Path, command: str,
                 args: Sequence[str] = ()) -> None:
        super().__init__(config, log_path, command, args, prefix=disk.prefix)
        self.disk = disk
