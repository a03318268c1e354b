"""The queue_log follower against real files on disk: growth, partial lines, both kinds of
rotation, restarts from a saved position, garbage and huge lines, a file that is not there."""

from __future__ import annotations

import gzip
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wallboard.devservices import wait_for
from wallboard.telephony.follow import Line, QueueLogFollower, load_position, save_position
from wallboard.telephony.follow_core import (
    MAX_LINE_BYTES,
    Candidate,
    LineSplitter,
    Position,
    decode_position,
    fingerprint,
    is_sibling,
    plan_resume,
    position_in,
)

TIMEOUT = 30.0  # generous: CI machines are slow and loaded
POLL_S, GRACE_S = 0.01, 0.05  # short, so tests run fast; they wait on conditions


def qline(i: int) -> bytes:
    """A realistic queue_log line that differs from every other one from its first bytes on."""
    return f"{1_700_000_000 + i}|1700000000.{i}|support|SIP/1001|ENTERQUEUE||100{i % 10}|1".encode()


class Follow:
    """Runs a follower in a thread and keeps every line it yields."""

    def __init__(self, follower: QueueLogFollower, start: Position | None = None) -> None:
        self.follower = follower
        self.stop = threading.Event()
        self.lines: list[Line] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(start,), daemon=True)
        self.thread.start()

    def _run(self, start: Position | None) -> None:
        try:
            for line in self.follower.lines(self.stop, start):
                self.lines.append(line)
        except BaseException as exc:  # the test thread reports it
            self.error = exc

    def data(self) -> list[bytes]:
        return [line.data for line in self.lines]

    def wait_count(self, n: int, timeout: float = TIMEOUT) -> None:
        wait_for(lambda: len(self.lines) >= n or self.error is not None, timeout,
                 what=f"{n} lines (have {len(self.lines)})")
        assert self.error is None, self.error

    def close(self) -> None:
        self.stop.set()
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive(), "the follower did not stop"
        assert self.error is None, self.error


@pytest.fixture
def follows() -> Iterator[list[Follow]]:
    """Followers a test started; each is stopped at the end even if the test failed."""
    started: list[Follow] = []
    yield started
    for follow in started:
        follow.stop.set()
        follow.thread.join(TIMEOUT)


def start(follows: list[Follow], path: Path, at: Position | None = None, *,
          poll_s: float = POLL_S, max_line: int = MAX_LINE_BYTES) -> Follow:
    follower = QueueLogFollower(path, poll_s=poll_s, grace_s=GRACE_S, max_line=max_line)
    follow = Follow(follower, at)
    follows.append(follow)
    return follow


def take(path: Path, state: Path, n: int) -> list[bytes]:
    """Read ``n`` lines the way the service does: save the position after each, then stop."""
    stop = threading.Event()
    timer = threading.Timer(TIMEOUT, stop.set)  # a hung follower fails the test, not CI
    timer.start()
    got: list[bytes] = []
    try:
        follower = QueueLogFollower(path, poll_s=POLL_S, grace_s=GRACE_S)
        for line in follower.lines(stop, load_position(state)):
            got.append(line.data)
            save_position(state, line.position)
            if len(got) == n:
                break
    finally:
        timer.cancel()
    assert len(got) == n, f"only {len(got)} of {n} lines within {TIMEOUT} s"
    return got


def append(path: Path, *lines: bytes, end: bytes = b"\n") -> None:
    with path.open("ab") as f:
        f.write(b"".join(line + end for line in lines))


# -- the pure parts --------------------------------------------------------------------------

@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 10_000])
def test_splitter_gives_the_same_lines_however_the_bytes_arrive(chunk):
    stream = b"a|b\n\nlong line here\nx\r\n\x00\xff\nlast"
    splitter = LineSplitter(100)
    cuts = [c for i in range(0, len(stream), chunk) for c in splitter.feed(stream[i:i + chunk])]
    assert [c.data for c in cuts] == [b"a|b", b"", b"long line here", b"x\r", b"\x00\xff"]
    assert [c.end for c in cuts] == [104, 105, 120, 123, 126]
    assert splitter.pending == 4
    last = splitter.flush()
    assert last is not None and (last.data, last.end) == (b"last", 130)
    assert splitter.flush() is None


def test_splitter_keeps_at_most_the_cap_of_a_line_without_newline():
    splitter = LineSplitter(0, max_line=1000)
    for _ in range(100):
        assert splitter.feed(b"z" * 10_000) == []
        assert splitter.held <= 1000
    [cut] = splitter.feed(b"\nnext")
    assert (cut.data, cut.dropped, cut.end) == (b"z" * 1000, 999_000, 1_000_001)


POS = position_in(7, 500, b"0123456789" * 7)
POS_PREFIX = (b"0123456789" * 7)[:64]


@pytest.mark.parametrize(("current", "siblings", "expected"), [
    # the followed file is still the saved one: go on from the offset
    (Candidate("queue_log", 7, 900, POS_PREFIX), [],
     (None, 500, False)),
    # moved to another inode but the same file (a restore, a copy): still resumable
    (Candidate("queue_log", 8, 900, POS_PREFIX), [], (None, 500, False)),
    # truncated below the offset: not the saved file any more, and no copy anywhere
    (Candidate("queue_log", 7, 10, POS_PREFIX), [], (None, 0, True)),
    # renamed away: its rest first (same inode wins over a newer copy), then the new file
    (Candidate("queue_log", 9, 50, b"other" * 13), [
        Candidate("queue_log.2", 11, 600, POS_PREFIX, mtime=9.0),
        Candidate("queue_log.1", 7, 600, POS_PREFIX, mtime=1.0),
        Candidate("queue_log.0", 12, 600, b"x" * 64, mtime=10.0)],
     ("queue_log.1", 0, False)),
    # copytruncate: the copy has a new inode; the newest copy that holds the offset wins
    (Candidate("queue_log", 7, 3, b"new"), [
        Candidate("queue_log.1", 20, 499, POS_PREFIX, mtime=9.0),
        Candidate("queue_log.2.gz", 21, None, POS_PREFIX, mtime=5.0)],
     ("queue_log.2.gz", 0, False)),
    # nothing there at all
    (None, [], (None, 0, True)),
])
def test_resume_plan(current, siblings, expected):
    plan = plan_resume(POS, current, siblings)
    assert (plan.finish_first, plan.current_offset, plan.missed) == expected


def test_resume_plan_without_a_saved_position_or_before_the_first_line():
    assert plan_resume(None, None, []).current_offset == 0
    nothing_read = position_in(7, 0, b"")
    assert not plan_resume(nothing_read, None, []).missed


@pytest.mark.parametrize(("name", "rotated"), [
    ("queue_log.0", True), ("queue_log.12", True), ("queue_log.1700000000", True),
    ("queue_log-20240101", True), ("queue_log-20240101.gz", True), ("queue_log.1.gz", True),
    ("queue_log", False), ("queue_logger", False), ("full.1", False),
])
def test_rotated_sibling_names(name, rotated):
    assert is_sibling("queue_log", name) is rotated


@pytest.mark.parametrize(("text", "reason"), [
    (b"{", "not JSON"),
    (b"[1]", "not a JSON object"),
    (b'{"version": 2}', "version"),
    (b'{"version": 1, "inode": -1, "offset": 0, "fingerprint_len": 0}', "inode"),
    (b'{"version": 1, "inode": 1, "offset": 5, "fingerprint_len": 0, "fingerprint": "xyz"}',
     "fingerprint"),
    (b'{"version": 1, "inode": 1, "offset": 5, "fingerprint_len": 9, "fingerprint": "'
     + b"a" * 64 + b'"}', "fingerprint_len"),
])
def test_a_bad_state_file_gets_a_reason_naming_the_field(text, reason):
    with pytest.raises(ValueError, match=reason):
        decode_position(text)


def test_position_round_trip_and_fingerprint():
    assert decode_position(POS.encode()) == POS
    assert POS.fingerprint == fingerprint((b"0123456789" * 7)[:64])
    assert position_in(1, 3, b"abcdef").fingerprint_len == 3


# -- following a real file -------------------------------------------------------------------

def test_a_partial_line_waits_for_its_newline(tmp_path, follows):
    path = tmp_path / "queue_log"
    path.write_bytes(qline(1) + b"\n" + b"1700000002|partial")
    follow = start(follows, path)
    follow.wait_count(1)
    append(path, b"|more", qline(3))  # completes the partial line, then one more
    follow.wait_count(3)
    follow.close()
    # Had the partial line been handed out early, it would be here twice (cut and whole).
    assert follow.data() == [qline(1), b"1700000002|partial|more", qline(3)]
    assert follow.lines[-1].position.offset == path.stat().st_size


def test_rename_and_create_with_a_writer_in_parallel_gives_every_line_once_in_order(
        tmp_path, follows):
    path = tmp_path / "queue_log"
    path.touch()
    follow = start(follows, path)
    expected: list[bytes] = []
    out = path.open("ab")
    n = 0
    for rotation in range(1, 6):
        for _ in range(200):
            expected.append(qline(n))
            out.write(qline(n) + b"\n")
            out.flush()
            n += 1
            if n % 20 == 0:
                time.sleep(0.001)  # pace the writer so rotations land mid-read
        os.rename(path, tmp_path / f"queue_log.{rotation}")
        # Like Asterisk until logrotate's postrotate reload: it still writes the old file.
        for _ in range(5):
            expected.append(qline(n))
            out.write(qline(n) + b"\n")
            out.flush()
            n += 1
        out.close()
        out = path.open("ab")
        expected.append(qline(n))
        out.write(qline(n) + b"\n")
        out.flush()
        n += 1
        # Rotations come hours apart; the next one waits until the follower reached this file.
        follow.wait_count(len(expected))
    for _ in range(10):
        expected.append(qline(n))
        out.write(qline(n) + b"\n")
        n += 1
    out.close()
    follow.wait_count(len(expected))
    follow.close()
    assert follow.data() == expected


class Recording(QueueLogFollower):
    """A follower that notes the files it opens and each time it decides not to switch yet."""

    opened: list[int]
    waited: int = 0

    def _open(self, offset: int):
        reading = super()._open(offset)
        self.opened.append(-1 if reading is None else reading.inode)
        return reading

    def _ready_to_switch(self, old, new):
        ready = super()._ready_to_switch(old, new)
        self.waited += not ready
        return ready


def test_a_second_rotation_before_the_switch_does_not_hide_the_file_between(tmp_path, follows):
    path = tmp_path / "queue_log"
    path.write_bytes(qline(1) + b"\n")
    follower = Recording(path, poll_s=POLL_S, grace_s=1.0)
    follower.opened = []
    follow = Follow(follower)
    follows.append(follow)
    follow.wait_count(1)
    os.rename(path, tmp_path / "queue_log.1")
    append(path, qline(2))
    # The follower has seen the rotation and is still on the old file (its grace period)...
    wait_for(lambda: follower.waited, TIMEOUT, what="the follower to see the rotation")
    os.rename(path, tmp_path / "queue_log.2")  # ...when the file is rotated again
    append(path, qline(3))
    follow.wait_count(3)
    follow.close()
    assert follow.data() == [qline(1), qline(2), qline(3)]


def test_a_partial_line_at_rotation_is_handed_out_when_its_file_is_finished(tmp_path, follows):
    path = tmp_path / "queue_log"
    path.write_bytes(qline(1) + b"\n" + b"1700000002|cut short by a crash")
    follow = start(follows, path)
    follow.wait_count(1)
    os.rename(path, tmp_path / "queue_log.0")
    append(path, qline(3))
    follow.wait_count(3)
    follow.close()
    assert follow.data() == [qline(1), b"1700000002|cut short by a crash", qline(3)]
    old = (tmp_path / "queue_log.0").stat()
    assert (follow.lines[1].position.inode, follow.lines[1].position.offset) == (
        old.st_ino, old.st_size)


def test_the_old_file_is_read_to_its_end_while_the_new_one_is_missing(tmp_path, follows):
    path = tmp_path / "queue_log"
    path.write_bytes(qline(1) + b"\n")
    follow = start(follows, path)
    follow.wait_count(1)
    os.rename(path, tmp_path / "queue_log.0")
    append(tmp_path / "queue_log.0", qline(2))  # the writer has not reopened yet
    follow.wait_count(2)
    path.write_bytes(b"")  # created empty: the writer may still be on the old file
    append(tmp_path / "queue_log.0", qline(3))
    follow.wait_count(3)
    append(path, qline(4))
    follow.wait_count(4)
    follow.close()
    assert follow.data() == [qline(1), qline(2), qline(3), qline(4)]


def test_copytruncate_with_a_writer_in_parallel_gives_every_line_once_in_order(
        tmp_path, follows):
    path = tmp_path / "queue_log"
    path.touch()
    follow = start(follows, path)
    expected: list[bytes] = []
    n = 0
    # Asterisk opens queue_log for appending, so after the truncate it writes from 0 again.
    with path.open("ab") as out:
        for rotation in range(1, 6):
            for _ in range(200):
                expected.append(qline(n))
                out.write(qline(n) + b"\n")
                out.flush()
                n += 1
                if n % 20 == 0:
                    time.sleep(0.001)
            # logrotate's copytruncate; this writer writes nothing between copy and truncate
            shutil.copyfile(path, tmp_path / f"queue_log.{rotation}")
            os.truncate(path, 0)
        for _ in range(10):
            expected.append(qline(n))
            out.write(qline(n) + b"\n")
            n += 1
    follow.wait_count(len(expected))
    follow.close()
    assert follow.data() == expected


def test_copytruncate_regrown_past_the_position_is_seen_by_the_changed_start(
        tmp_path, follows):
    path = tmp_path / "queue_log"
    path.write_bytes(qline(1) + b"\n")
    follow = start(follows, path)
    follow.wait_count(1)
    shutil.copyfile(path, tmp_path / "queue_log-20240101")
    # Truncated and refilled in one step: the size alone never shows it shrank.
    with path.open("r+b") as f:
        f.write(b"".join(qline(i) + b"\n" for i in range(2, 6)))
    follow.wait_count(4)
    follow.close()
    assert follow.data() == [qline(i) for i in range(1, 6)]


def test_copytruncate_loses_the_lines_written_between_the_copy_and_the_truncate(tmp_path):
    # The documented limit, shown deterministically through a restart.
    path, state = tmp_path / "queue_log", tmp_path / "state.json"
    path.write_bytes(b"".join(qline(i) + b"\n" for i in range(1, 4)))
    assert take(path, state, 3) == [qline(1), qline(2), qline(3)]
    append(path, qline(4))
    shutil.copyfile(path, tmp_path / "queue_log.1")  # has 1..4
    append(path, qline(5))  # written after the copy...
    os.truncate(path, 0)  # ...and cut by the truncate: in neither file
    append(path, qline(6))
    assert take(path, state, 2) == [qline(4), qline(6)]


# -- restarts ----------------------------------------------------------------------------------

def test_a_restart_resumes_exactly_where_the_saved_position_says(tmp_path):
    path, state = tmp_path / "queue_log", tmp_path / "state.json"
    path.write_bytes(b"".join(qline(i) + b"\n" for i in range(100)) + b"1700000100|half")
    first = take(path, state, 40)
    with path.open("ab") as f:
        f.write(b"|done\n" + b"".join(qline(i) + b"\n" for i in range(101, 150)))
    second = take(path, state, 110)
    everything = path.read_bytes().split(b"\n")[:-1]
    assert first + second == everything
    assert load_position(state) == position_in(path.stat().st_ino, path.stat().st_size,
                                               path.read_bytes()[:64])


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_a_file_rotated_while_stopped_is_finished_from_its_rotated_sibling(tmp_path, compress):
    path, state = tmp_path / "queue_log", tmp_path / "state.json"
    path.write_bytes(b"".join(qline(i) + b"\n" for i in range(10)))
    assert take(path, state, 6) == [qline(i) for i in range(6)]
    append(path, qline(10), qline(11))
    rotated = tmp_path / "queue_log-20240102"
    os.rename(path, rotated)
    if compress:
        with rotated.open("rb") as src, gzip.open(tmp_path / "queue_log-20240102.gz", "wb") as gz:
            shutil.copyfileobj(src, gz)
        rotated.unlink()
    (tmp_path / "queue_log-20240101").write_bytes(qline(99) + b"\n")  # an older rotation
    path.write_bytes(b"".join(qline(i) + b"\n" for i in range(20, 25)))
    assert take(path, state, 11) == [qline(i) for i in [6, 7, 8, 9, 10, 11, 20, 21, 22, 23, 24]]


def test_a_file_lost_while_stopped_is_logged_and_the_new_one_read_from_its_start(
        tmp_path, caplog):
    path, state = tmp_path / "queue_log", tmp_path / "state.json"
    path.write_bytes(b"".join(qline(i) + b"\n" for i in range(10)))
    take(path, state, 5)
    path.unlink()
    path.write_bytes(b"".join(qline(i) + b"\n" for i in range(20, 23)))
    with caplog.at_level(logging.WARNING, logger="wallboard.telephony.follow"):
        assert take(path, state, 3) == [qline(20), qline(21), qline(22)]
    assert "lines may have been missed" in caplog.text


def test_the_state_file_is_replaced_whole(tmp_path, caplog):
    state = tmp_path / "state.json"
    save_position(state, POS)
    save_position(state, POS)
    assert load_position(state) == POS
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temp file left
    state.write_bytes(b'{"version": 1, "inode"')  # as a torn write would leave it
    with caplog.at_level(logging.WARNING, logger="wallboard.telephony.follow"):
        assert load_position(state) is None
    assert "not JSON" in caplog.text
    assert load_position(tmp_path / "none.json") is None


# -- messy files -------------------------------------------------------------------------------

def test_garbage_and_a_megabyte_without_newline_are_lines_of_bytes_with_a_cap(
        tmp_path, follows, caplog):
    path = tmp_path / "queue_log"
    garbage = bytes(b for b in range(256) if b != 0x0A) * 3
    huge = b"y" * 1_000_000
    path.write_bytes(b"\x00" * 300 + b"\n" + qline(1) + b"\n" + garbage + b"\n" + huge)
    with caplog.at_level(logging.WARNING, logger="wallboard.telephony.follow"):
        follow = start(follows, path, max_line=65_536)
        follow.wait_count(3)
        append(path, b"", qline(2))  # the huge line ends at last
        follow.wait_count(5)
        follow.close()
    assert follow.data()[:3] == [b"\x00" * 300, qline(1), garbage]
    long_line = follow.lines[3]
    assert (long_line.data, long_line.dropped) == (huge[:65_536], 1_000_000 - 65_536)
    assert follow.data()[4] == qline(2)
    assert follow.lines[4].position.offset == path.stat().st_size
    assert follow.follower.long_lines == 1
    assert "a line of 1000000 bytes cut to 65536" in caplog.text


def test_a_file_that_does_not_exist_yet_is_waited_for_and_logged_once(
        tmp_path, follows, caplog):
    path = tmp_path / "queue_log"
    follower = Recording(path, poll_s=POLL_S, grace_s=GRACE_S)
    follower.opened = []
    opened = follower.opened
    with caplog.at_level(logging.WARNING, logger="wallboard.telephony.follow"):
        follow = Follow(follower)
        follows.append(follow)
        wait_for(lambda: len(opened) >= 5, TIMEOUT, what="five attempts to open")
        path.write_bytes(qline(1) + b"\n")
        follow.wait_count(1)
        follow.close()
    assert caplog.text.count("cannot open") == 1
    assert follow.data() == [qline(1)]


def test_stop_ends_a_follower_that_is_waiting_for_growth(tmp_path, follows):
    path = tmp_path / "queue_log"
    path.write_bytes(qline(1) + b"\n")
    follow = start(follows, path, poll_s=3600.0)  # it would wait an hour for more
    follow.wait_count(1)
    follow.close()  # returns only if the stop event woke it
