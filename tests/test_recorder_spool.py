"""The on-disk spool: first in, first out, survives a reopen, and one recorder per file."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from wallboard.adapters.spool import RESERVE_BYTES, Spool
from wallboard.errors import ConfigError


def opened(tmp_path: Path, name: str = "main") -> Spool:
    spool = Spool(Spool.file_for(tmp_path, name))
    spool.open()
    return spool


def test_batches_come_out_oldest_first_and_the_counts_follow(tmp_path):
    spool = opened(tmp_path)
    assert (spool.peek(), spool.messages, spool.batches, spool.oldest) == (None, 0, 0, None)
    spool.push(10.0, 2, b"a 1\na 2")
    spool.push(11.0, 1, b"b 1")
    assert (spool.messages, spool.batches, spool.oldest) == (3, 2, 10.0)
    first = spool.peek()
    assert first is not None and (first.received, first.messages, first.lines) == (
        10.0, 2, b"a 1\na 2")
    spool.remove(first)
    second = spool.peek()
    assert second is not None and second.lines == b"b 1"
    assert (spool.messages, spool.batches, spool.oldest) == (1, 1, 11.0)
    spool.remove(second)
    assert (spool.peek(), spool.messages, spool.oldest) == (None, 0, None)
    spool.close()


def test_what_was_pushed_is_there_after_a_kill(tmp_path):
    # A child pushes and dies without closing anything: what push returned for is on disk.
    code = ("import os, sys; from pathlib import Path; from wallboard.adapters.spool import Spool;"
            f"s = Spool(Spool.file_for(Path({str(tmp_path)!r}), 'main')); s.open();"
            "s.push(5.0, 3, b'x 1\\nx 2\\nx 3'); os._exit(9)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 9
    spool = opened(tmp_path)
    assert (spool.messages, spool.batches, spool.oldest) == (3, 1, 5.0)
    batch = spool.peek()
    assert batch is not None and batch.lines == b"x 1\nx 2\nx 3"
    spool.close()


def test_a_second_recorder_with_the_same_id_is_refused(tmp_path):
    first = opened(tmp_path)
    with pytest.raises(ConfigError, match="another recorder is using") as info:
        opened(tmp_path)
    assert info.value.key == "recorder.id"
    other = opened(tmp_path, "other")  # another id has its own file
    other.close()
    first.close()
    opened(tmp_path).close()  # the lock goes with the first


def test_an_unusable_spool_dir_stops_start_up_naming_the_key(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError) as info:
        Spool(Spool.file_for(blocker / "spool", "main")).open()
    assert info.value.key == "recorder.spool_dir"


def test_a_corrupt_spool_file_stops_start_up_naming_the_key(tmp_path):
    Spool.file_for(tmp_path, "main").write_bytes(b"not a database" * 100)
    with pytest.raises(ConfigError) as info:
        opened(tmp_path)
    assert info.value.key == "recorder.spool_dir"


def test_the_file_has_a_rollback_journal_and_no_wal(tmp_path):
    # A WAL file would hold a second copy of every batch until a checkpoint: on a small
    # disk that halves what fits, and on a full one the checkpoint cannot run.
    spool = opened(tmp_path)
    spool.push(1.0, 1, b"a 1")
    with sqlite3.connect(Spool.file_for(tmp_path, "main")) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] != "wal"
    assert not Spool.file_for(tmp_path, "main").with_suffix(".sqlite3-wal").exists()
    spool.close()


def test_a_batch_that_arrived_earlier_drains_first_whenever_it_was_pushed(tmp_path):
    # A batch whose direct write failed is spooled after batches that came while it was
    # tried; it must still drain before them.
    spool = opened(tmp_path)
    spool.push(20.0, 1, b"later 1")
    spool.push(10.0, 1, b"earlier 1")
    assert spool.oldest == 10.0
    first = spool.peek()
    assert first is not None and first.lines == b"earlier 1"
    spool.remove(first)
    assert spool.oldest == 20.0
    spool.close()


def test_an_emptied_spool_gives_its_room_back_and_keeps_a_reserve(tmp_path):
    spool = opened(tmp_path)
    path = Spool.file_for(tmp_path, "main")
    for i in range(20):
        spool.push(float(i), 1, bytes(100_000))
    assert path.stat().st_size > 2_000_000
    assert spool.reserve_path.stat().st_size == RESERVE_BYTES
    while (batch := spool.peek()) is not None:
        assert spool.remove(batch)
    assert path.stat().st_size <= 64 * 1024
    spool.push(30.0, 2, b"b 1\nb 2")  # the renewed file takes batches as before
    spool.close()
    again = opened(tmp_path)
    assert (again.batches, again.messages, again.oldest) == (1, 2, 30.0)
    again.close()
