"""Log lines: ISO 8601 times with their offset, and none when journald stamps them itself."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.live import ROOT_DIR
from wallboard.devservices import free_port
from wallboard.log_setup import to_journal, with_time

ISO_WITH_OFFSET = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"


def run_logging(tmp_path: Path, env: dict[str, str], stderr: Any = subprocess.PIPE) -> str:
    """The real ``wallboard watch`` pointed at a port nobody listens on, which logs a
    warning; stopped after a few seconds. What it wrote on stderr."""
    config = tmp_path / "wallboard.toml"
    config.write_text(f'[mqtt]\nhost = "127.0.0.1"\nport = {free_port()}\n')
    proc = subprocess.Popen([sys.executable, "-m", "wallboard.cli", "watch", "--config",
                             str(config)], cwd=ROOT_DIR, env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=stderr, text=True)
    try:
        proc.wait(4)
    except subprocess.TimeoutExpired:
        proc.terminate()
    _, err = proc.communicate(timeout=30)
    return err or ""


WARNING_LINE = r" WARNING wallboard\.link_status: watch: cannot reach broker 127\.0\.0\.1:\d+ "


@pytest.mark.parametrize(("zone", "offset"), [("Asia/Tokyo", "+09:00"), ("UTC", "+00:00"),
                                              ("America/New_York", "-0")])
def test_lines_carry_an_iso_time_with_the_offset(tmp_path: Path, zone, offset):
    err = run_logging(tmp_path, {"TZ": zone, "WALLBOARD_LOG_TIME": ""})
    line = next(line for line in err.splitlines() if "WARNING" in line)
    assert re.match(ISO_WITH_OFFSET + WARNING_LINE, line), line
    assert line[23:29].startswith(offset), line


def test_the_journal_gets_no_second_time_stamp(tmp_path: Path):
    journal = tmp_path / "journal"
    with journal.open("w") as stream:
        stat = os.fstat(stream.fileno())
        run_logging(tmp_path, {"JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}",
                               "WALLBOARD_LOG_TIME": ""}, stderr=stream)
    line = next(line for line in journal.read_text().splitlines() if "WARNING" in line)
    assert re.match(WARNING_LINE.lstrip(), line), line


@pytest.mark.parametrize(("journal", "setting", "stamped"), [
    (False, "", True), (True, "", False), (True, "1", True), (False, "0", False)])
def test_the_setting_overrides_the_journal_check(tmp_path: Path, journal, setting, stamped):
    with (tmp_path / "err").open("w") as stream:
        stat = os.fstat(stream.fileno())
        env = {"WALLBOARD_LOG_TIME": setting}
        if journal:
            env["JOURNAL_STREAM"] = f"{stat.st_dev}:{stat.st_ino}"
        assert with_time(stream, env) is stamped


@pytest.mark.parametrize("value", ["", "garbage", "1:2:3", "12:34"])
def test_a_journal_stream_that_is_not_this_stderr_is_not_the_journal(tmp_path: Path, value):
    with (tmp_path / "err").open("w") as stream:
        assert not to_journal(stream, {"JOURNAL_STREAM": value})
    assert not to_journal(io.StringIO(), {"JOURNAL_STREAM": "1:2"})  # no file descriptor
