"""The controller's journal on a real temp dir: replay, day files, a torn last line."""

from __future__ import annotations

import datetime as dt

import pytest

from wallboard.adapters.journal import Journal
from wallboard.errors import ConfigError

DAY = 86_400.0
T0 = 1_795_392_000.0  # a UTC midnight


def date_of(ts: float) -> dt.date:
    return dt.datetime.fromtimestamp(ts, dt.UTC).date()


def test_replay_returns_what_was_appended_in_order(tmp_path):
    journal = Journal(tmp_path, date_of)
    journal.prepare()
    lines = [(f"wallboard/hq/queue/q/call{i}", f'{{"n":{i}}}'.encode()) for i in range(5)]
    for topic, payload in lines:
        journal.append(T0 + 10, topic, payload)
    assert list(Journal(tmp_path, date_of).replay(T0 + 20)) == lines  # a new process reads it
    journal.close()


def test_keeps_today_and_yesterday_and_deletes_older_files(tmp_path):
    journal = Journal(tmp_path, date_of)
    journal.prepare()
    for day in range(4):
        journal.append(T0 + day * DAY + 5, "t", f'{{"day":{day}}}'.encode())
    journal.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["journal-2026-11-25.log", "journal-2026-11-26.log"]
    assert [p for _, p in Journal(tmp_path, date_of).replay(T0 + 3 * DAY + 10)] == [
        b'{"day":2}', b'{"day":3}']


def test_a_line_torn_by_a_crash_is_skipped(tmp_path, caplog):
    journal = Journal(tmp_path, date_of)
    journal.prepare()
    journal.append(T0, "a", b"{}")
    journal.close()
    with (tmp_path / "journal-2026-11-23.log").open("a") as f:
        f.write('b {"cut')  # no newline: the process died mid-write
    assert list(Journal(tmp_path, date_of).replay(T0 + 1)) == [("a", b"{}")]
    assert "incomplete line skipped" in caplog.text


def test_unusable_state_dir_is_a_config_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=r"controller\.state_dir"):
        Journal(blocker / "sub", date_of).prepare()
