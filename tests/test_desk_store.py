"""The desk's saved request: a round trip, removal, and files that cannot be trusted."""

from __future__ import annotations

import pytest

from wallboard_desk.desk import Request
from wallboard_desk.store import RequestStore


def test_round_trip_and_removal(tmp_path):
    store = RequestStore(tmp_path / "state")
    assert store.load() is None
    request = Request("r1", "requested", requested_at=10.0, ts=10.0, agent="a1")
    store.save(request)
    assert store.load() == request
    store.save(None)
    assert store.load() is None and not store.path.exists()


@pytest.mark.parametrize("content", [
    b"{not json", b'{"id": "r1"}',
    b'{"id":"r1","state":"lost","requested_at":1,"ts":1,"agent":null,"by":null,'
    b'"delivered":false}',
    b'{"id":"r1","state":"requested","requested_at":"1","ts":1,"agent":null,"by":null,'
    b'"delivered":false}',
])
def test_a_file_that_cannot_be_trusted_is_ignored_with_a_log_line(tmp_path, caplog, content):
    store = RequestStore(tmp_path)
    store.path.write_bytes(content)
    assert store.load() is None
    assert f"desk state {store.path}: ignored" in caplog.text
