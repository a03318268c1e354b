"""`wallboard recorder`'s refusals: one line naming the option or the key, and an exit code."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.live import ROOT_DIR
from wallboard.devservices import free_port


def recorder(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wallboard.cli", "recorder", *args],
                          cwd=ROOT_DIR, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("args", "message"), [
    (["--id", "status"], "bad option: --id: 'status' cannot be a recorder id"),
    (["--id", "a/b"], "bad option: --id: String should match pattern"),
    (["--share", "#"], "bad option: --share: String should match pattern"),
])
def test_bad_options_are_refused_before_anything_starts(args, message):
    result = recorder(*args)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(message), result.stderr


def test_a_spool_dir_that_cannot_be_made_stops_start_up(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    config = tmp_path / "wallboard.toml"
    config.write_text(f'[recorder]\nspool_dir = "{blocker / "spool"}"\n')
    result = recorder("--config", str(config))
    assert result.returncode == 2
    assert result.stderr.startswith(f"bad config: {config}: recorder.spool_dir: "), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_init_db_says_when_influxdb_cannot_be_reached(tmp_path):
    config = tmp_path / "wallboard.toml"
    config.write_text(f'[influx]\nurl = "http://127.0.0.1:{free_port()}"\n')
    result = recorder("--init-db", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.startswith("cannot set up InfluxDB: influxdb /query: "), result.stderr
