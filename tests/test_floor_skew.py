"""Events dated after the controller's clock: within a minute counted as now, further refused
(help steps excepted: they always count as now)."""

from __future__ import annotations

import json

import pytest

from tests.floor_events import answered, env, offered, state
from wallboard.floor.core import FloorCore
from wallboard.floor.skew import FUTURE_TOLERANCE_S, ahead_reason
from wallboard.services.controller import ControllerService
from wallboard.topics import Kind

NOW = 1_795_420_800.0 + 9 * 3600  # a Monday 09:00 UTC


@pytest.mark.parametrize(("ahead_s", "refused"), [
    (-3600.0, False), (0.0, False), (1.0, False), (FUTURE_TOLERANCE_S, False),
    (FUTURE_TOLERANCE_S + 0.5, True), (600.0, True), (3600.0, True)])
def test_how_far_ahead_an_event_may_be(ahead_s, refused):
    reason = ahead_reason(Kind.CALL, NOW + ahead_s, NOW)
    assert (reason is not None) == refused
    if refused:
        assert reason is not None and reason.startswith("ts is ") and "ahead" in reason


def test_an_offer_an_hour_ahead_is_refused_and_not_counted_today():
    core = FloorCore()
    core.fold(offered("sales", "c1", NOW - 60), NOW - 60)
    folded = core.fold(offered("sales", "c2", NOW + 3600), NOW)
    assert folded.outcome == "refused"
    assert folded.reason is not None and "ts is 3600 s ahead" in folded.reason
    assert not folded.floor and folded.queues == frozenset()
    _, floor = core.snapshots(NOW)
    assert floor.today.offered == 1 and floor.sliding.offered == 1
    _, later = core.snapshots(NOW + 3700)  # nor does it appear once its time has come
    assert later.today.offered == 1


def test_a_few_seconds_ahead_counts_as_now_and_keeps_the_invariants():
    core = FloorCore()
    assert core.fold(offered("sales", "c1", NOW + 3), NOW).outcome == "applied"
    assert core.fold(answered("sales", "c1", NOW + 4, 4.0), NOW).outcome == "applied"
    _, floor = core.snapshots(NOW)
    for window in (floor.today, floor.sliding):
        assert window.end == NOW
        assert window.offered == 1 and window.answered == 1
        assert window.answered + window.abandoned <= window.offered
        assert window.answered_in_sl <= window.answered


def test_a_state_ahead_is_clamped_with_its_since():
    core = FloorCore()
    folded = core.fold(state("a1", "available", NOW + 4, queue="sales"), NOW)
    assert folded.outcome == "applied"
    view = core.model.agent_views(NOW)[0]
    assert view.since == NOW and view.state == "available"
    far = core.fold(state("a1", "talking", NOW + 300, queue="sales"), NOW)
    assert far.outcome == "refused" and far.reason is not None and far.reason.startswith("ts")
    assert core.model.agent_views(NOW)[0].state == "available"


@pytest.mark.parametrize("ahead_s", [3.0, 120.0, 3600.0])
def test_a_help_press_ahead_is_never_refused_and_counts_as_pressed_now(ahead_s):
    core = FloorCore()
    press = env("desk/d1/help", ts=NOW + ahead_s, request="r1", state="requested", agent="a1")
    assert core.fold(press, NOW).outcome == "applied"
    [opened] = core.help.open_requests()
    assert opened.requested_at == NOW


def test_without_a_clock_a_replayed_history_is_taken_as_it_is():
    core = FloorCore()
    assert core.fold(offered("sales", "c1", NOW + 3600)).outcome == "applied"


class _Sink:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes, *, retain: bool = False, qos: int = 1
                ) -> None:
        self.sent.append((topic, payload))


def test_the_service_counts_and_logs_a_refusal_naming_topic_and_field(caplog):
    clock = [NOW]
    service = ControllerService(FloorCore(), _Sink(), root="wallboard", site="hq",
                                clock=lambda: clock[0])
    topic = "wallboard/hq/queue/sales/call"
    ahead = json.dumps({"ts": NOW + 3600, "call": "c1", "event": "offered"}).encode()
    with caplog.at_level("WARNING"):
        service.handle(topic, ahead)
    assert service.counts["refused"] == 1
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and topic in lines[0] and "ts is 3600 s ahead" in lines[0]
    _, floor = service.core.snapshots(NOW)
    assert floor.today.offered == 0
