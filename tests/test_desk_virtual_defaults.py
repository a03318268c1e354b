"""``wallboard-desk --virtual`` needs no installed config: a desk of its own on a broker on
this machine, its saved request in a temporary folder that goes when it stops, however it
stops (q, SIGTERM, or SIGHUP when its terminal closes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.live import ROOT_DIR
from wallboard.devservices import wait_for
from wallboard_desk.cli import main
from wallboard_desk.config import virtual_desk_config


def test_virtual_defaults(tmp_path):
    config = virtual_desk_config(tmp_path)
    assert (config.desk.id, config.desk.site, config.desk.state_dir) == (
        "d-virtual", "main", tmp_path)
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.tls) == ("127.0.0.1", 1883, False)
    assert config.mqtt.topic_root == "wallboard"  # as `wallboard init` writes for the site


def test_a_real_desk_still_needs_its_config(tmp_path, capsys):
    missing = tmp_path / "desk.toml"
    assert main(["--config", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"wallboard-desk: {missing}: (file): No such file or directory\n")


class Desk:
    """``wallboard-desk --virtual`` with no config, its temporary files under ``tmp``."""

    def __init__(self, tmp: Path) -> None:
        env = {**os.environ, "TMPDIR": str(tmp), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wallboard_desk.cli", "--virtual"], cwd=ROOT_DIR, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = bytearray()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := os.read(self.process.stdout.fileno(), 4096):
            self.out.extend(chunk)

    def drawn(self) -> None:
        wait_for(lambda: b"help: none" in self.out, 20, what="the tower drawn")

    def end(self) -> tuple[int, str]:
        try:
            self.process.wait(timeout=20)  # stderr is a few lines: its pipe never fills
        finally:
            if self.process.poll() is None:
                self.process.kill()
        self.reader.join(5)
        assert self.process.stderr is not None
        return self.process.returncode, self.process.stderr.read().decode()


@pytest.mark.parametrize("how", ["q", "SIGTERM", "SIGHUP"])
def test_virtual_desk_without_config_runs_and_cleans_up(tmp_path, how):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    desk = Desk(tmp)
    try:
        desk.drawn()
        assert [p.name[:23] for p in tmp.iterdir()] == ["wallboard-desk-virtual-"]
        if how == "q":
            assert desk.process.stdin is not None
            desk.process.stdin.write(b"q")
            desk.process.stdin.flush()
        else:
            desk.process.send_signal(getattr(signal, how))
    finally:
        code, err = desk.end()
    assert code == 0, err
    assert "virtual desk d-virtual of site main, broker 127.0.0.1:1883" in err
    assert "Traceback" not in err
    assert list(tmp.iterdir()) == []
