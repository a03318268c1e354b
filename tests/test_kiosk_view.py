"""Table-driven tests of the kiosk's pure view model: the board and ``now`` in, view values out."""

from __future__ import annotations

import itertools
import math
from typing import Any, get_args

import pytest

from wallboard.kiosk.config import DEFAULT_THRESHOLDS, LOWER_IS_WORSE, KioskConfig, Metric
from wallboard.kiosk.state import Board
from wallboard.kiosk.theme import DASH
from wallboard.kiosk.view import (
    Banner,
    CellView,
    GridFit,
    HelpView,
    TileView,
    banner,
    cell,
    clock_text,
    escalated,
    fit_grid,
    format_metric,
    help_views,
    help_who,
    initials,
    level_of,
    long_hold_note,
    minutes_text,
    pages,
    row,
    span_text,
    tap_command,
    teams,
    ticker,
    tile,
    who,
)
from wallboard.link_status import LinkState
from wallboard.messages import (
    AgentState,
    AgentWellbeing,
    Alert,
    DeskCommand,
    DeskLight,
    DeskStatus,
    FloorKpi,
    HelpStatus,
    LongHold,
    QueueKpi,
    ServiceStatus,
    WindowKpi,
)

T0 = 1_795_420_800.0  # Mon 23 Nov 2026 08:00 UTC


def kiosk(**settings: Any) -> KioskConfig:
    """A kiosk config validated exactly as the ``[kiosk]`` table would be."""
    return KioskConfig.model_validate(settings)


def window(name: str, **changes: Any) -> WindowKpi:
    data: dict[str, Any] = {
        "name": name, "start": T0 - 1800, "end": T0, "offered": 40, "answered": 36,
        "abandoned": 4, "short_abandoned": 1, "answered_in_sl": 30, "abandoned_in_sl": 1,
        "completed": 35, "sl_threshold_s": 20.0, "service_level": 0.75, "asa_s": 17.0,
        "abandon_rate": 0.075, "aht_s": 265.0, "occupancy": 0.83,
    }
    data.update(changes)
    return WindowKpi.model_validate(data)


def snapshot_fields(ts: float, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ts": ts, "sl_treatment": "count_against", "short_abandon_s": 5.0, "waiting": 7,
        "longest_wait_s": 45.0, "agents_available": 3, "agents_busy": 10, "agents_on_break": 2,
        "agents_logged_in": 15, "today": window("today"), "sliding": window("last 30 min"),
    }
    data.update(changes)
    return data


def floor_kpi(ts: float = T0, queues: tuple[str, ...] = ("sales", "support"),
              **changes: Any) -> FloorKpi:
    return FloorKpi.model_validate(snapshot_fields(
        ts, queues=list(queues), agents_by_state={"available": 3, "talking": 10}, **changes))


def queue_kpi(queue: str, ts: float = T0, **changes: Any) -> QueueKpi:
    return QueueKpi.model_validate(snapshot_fields(ts, queue=queue, **changes))


def agent(state: str, since: float = T0 - 240, **extra: Any) -> AgentState:
    return AgentState.model_validate({"ts": since, "state": state, "since": since, **extra})


# --- levels ---------------------------------------------------------------------------------


def level_rows() -> list[Any]:
    """For every metric, values either side of and exactly on its default amber and red."""
    rows = []
    for metric, t in DEFAULT_THRESHOLDS.items():
        eps = 0.001
        if metric in LOWER_IS_WORSE:
            cases = [(t.amber + eps, "ok"), (t.amber, "ok"), (t.amber - eps, "warn"),
                     (t.red, "warn"), (t.red - eps, "alert"), (0.0, "alert")]
        else:
            cases = [(0.0, "ok"), (t.amber - eps, "ok"), (t.amber, "warn"),
                     (t.red - eps, "warn"), (t.red, "alert"), (t.red * 10, "alert")]
        rows += [pytest.param(metric, value, level, id=f"{metric}-{value:g}")
                 for value, level in cases]
        rows.append(pytest.param(metric, None, "none", id=f"{metric}-None"))
    return rows


@pytest.mark.parametrize(("metric", "value", "level"), level_rows())
def test_level_of(metric, value, level):
    assert level_of(metric, value, DEFAULT_THRESHOLDS[metric]) == level


def test_level_table_covers_every_metric():
    assert set(DEFAULT_THRESHOLDS) == set(get_args(Metric))
    assert {"service_level", "service_level_today", "agents_available"} == LOWER_IS_WORSE


# --- formatting -----------------------------------------------------------------------------

FORMATS: list[tuple[Metric, float | None, str]] = [
    ("service_level", 0.8, "80%"),
    ("service_level", 1.0, "100%"),
    ("service_level", 0.0, "0%"),
    ("service_level_today", 0.125, "13%"),
    ("abandon_rate", 0.0725, "7%"),
    ("abandon_rate", 0.004, "0%"),
    ("occupancy", 0.926, "93%"),
    ("longest_wait", 0.0, "0:00"),
    ("longest_wait", 65.0, "1:05"),
    ("longest_wait", 59.9, "0:59"),
    ("asa", 17.4, "0:17"),
    ("aht", 3725.0, "1:02:05"),
    ("waiting", 0, "0"),
    ("waiting", 12, "12"),
    ("agents_available", 3, "3"),
]
FORMATS += [(metric, None, DASH) for metric in DEFAULT_THRESHOLDS]


@pytest.mark.parametrize(("metric", "value", "text"), FORMATS,
                         ids=[f"{m}-{v}" for m, v, _ in FORMATS])
def test_format_metric(metric, value, text):
    assert format_metric(metric, value) == text


CLOCKS = [
    (0, "0:00"), (5, "0:05"), (59.9, "0:59"), (60, "1:00"), (65, "1:05"), (599, "9:59"),
    (3599, "59:59"), (3600, "1:00:00"), (3661, "1:01:01"), (36_000, "10:00:00"),
    (-5, "0:00"),
]


@pytest.mark.parametrize(("seconds", "text"), CLOCKS, ids=[str(s) for s, _ in CLOCKS])
def test_clock_text(seconds, text):
    assert clock_text(seconds) == text


MINUTES = [(0, "0m"), (59, "0m"), (60, "1m"), (239, "3m"), (3599, "59m"), (3600, "1h00"),
           (3900, "1h05"), (36_000, "10h00"), (-30, "0m")]


@pytest.mark.parametrize(("seconds", "text"), MINUTES, ids=[str(s) for s, _ in MINUTES])
def test_minutes_text(seconds, text):
    assert minutes_text(seconds) == text


# --- tiles and rows -------------------------------------------------------------------------

OVERRIDES = kiosk(
    thresholds={"waiting": {"amber": 8, "red": 12}},
    queue_thresholds={"sales": {"waiting": {"amber": 2, "red": 6}}},
)

TILES = [
    # (id, config, queue, waiting, expected level): queue override, then global, then default
    ("default-warn", kiosk(), "sales", 7, "warn"),
    ("default-alert", kiosk(), None, 10, "alert"),
    ("queue-override", OVERRIDES, "sales", 7, "alert"),
    ("queue-override-ok", OVERRIDES, "sales", 1, "ok"),
    ("other-queue-global", OVERRIDES, "support", 7, "ok"),
    ("other-queue-global-warn", OVERRIDES, "support", 8, "warn"),
    ("floor-global", OVERRIDES, None, 7, "ok"),
    ("floor-global-alert", OVERRIDES, None, 12, "alert"),
]


@pytest.mark.parametrize(("config", "queue", "waiting", "level"),
                         [pytest.param(*r[1:], id=r[0]) for r in TILES])
def test_tile_threshold_precedence(config, queue, waiting, level):
    snap = floor_kpi(waiting=waiting) if queue is None else queue_kpi(queue, waiting=waiting)
    view = tile(snap, queue, "waiting", config)
    assert view.level == level
    assert view.caption == "WAITING"
    assert view.value == str(waiting)


def test_tile_override_for_one_metric_leaves_other_metrics_on_defaults():
    snap = queue_kpi("sales", longest_wait_s=45.0)
    assert tile(snap, "sales", "longest_wait", OVERRIDES) == TileView(
        "LONGEST WAIT", "0:45", "warn", "▲ WATCH")


BADGES = [
    ("service_level", window("s", service_level=0.85), "ok", "85%", "✔ OK"),
    ("service_level", window("s", service_level=0.75), "warn", "75%", "▲ WATCH"),
    ("service_level", window("s", service_level=0.6), "alert", "60%", "✖ ACT"),
    ("service_level", window("s", service_level=None), "none", DASH, f"{DASH} NO DATA"),
    ("abandon_rate", window("s", abandon_rate=0.12), "alert", "12%", "✖ ACT"),
]


@pytest.mark.parametrize(("metric", "sliding", "level", "value", "badge"), BADGES,
                         ids=[f"{m}-{lv}" for m, _, lv, _, _ in BADGES])
def test_tile_value_level_and_badge(metric, sliding, level, value, badge):
    view = tile(queue_kpi("sales", sliding=sliding), "sales", metric, kiosk())
    assert (view.value, view.level, view.badge) == (value, level, badge)


def test_tile_without_a_snapshot_is_a_dash_at_level_none():
    assert tile(None, "sales", "service_level", kiosk()) == TileView(
        "SERVICE LEVEL · 30 MIN", DASH, "none", f"{DASH} NO DATA")


CAPTIONED: list[Any] = [
    # (metric, sliding window start before T0 in seconds, caption)
    ("service_level", 1800, "SERVICE LEVEL · 30 MIN"),
    ("service_level", 900, "SERVICE LEVEL · 15 MIN"),
    ("asa", 3600, "ASA · 60 MIN"),
    ("abandon_rate", 5400, "ABANDONED · 90 MIN"),
    ("aht", 4 * 3600, "AHT · 4 H"),
    ("occupancy", 1800, "OCCUPANCY · 30 MIN"),
    ("service_level_today", 1800, "SL TODAY"),
    ("waiting", 1800, "WAITING"),
    ("longest_wait", 1800, "LONGEST WAIT"),
    ("agents_available", 1800, "AVAILABLE"),
]


@pytest.mark.parametrize(("metric", "length", "caption"), CAPTIONED,
                         ids=[f"{m}-{n}" for m, n, _ in CAPTIONED])
def test_a_windowed_tile_names_the_snapshots_window(metric, length, caption):
    snap = queue_kpi("sales", sliding=window("last x min", start=T0 - length))
    assert tile(snap, "sales", metric, kiosk()).caption == caption


def test_before_a_snapshot_the_caption_names_the_configured_window():
    assert tile(None, None, "asa", kiosk(), window_s=600).caption == "ASA · 10 MIN"
    board = Board()
    assert row(board, kiosk(), None, window_s=2700).tiles[2].caption == (
        "SERVICE LEVEL · 45 MIN")


def test_tile_service_level_today_reads_the_today_window():
    snap = queue_kpi("sales", today=window("today", service_level=0.95))
    assert tile(snap, "sales", "service_level_today", kiosk()).value == "95%"


def test_row_titles_and_tiles_follow_the_config():
    board = Board(floor=floor_kpi(waiting=11), queues={"sales": queue_kpi("sales", waiting=1)})
    config = kiosk(tiles=["waiting", "agents_available"])
    floor_row = row(board, config, None)
    assert floor_row.queue is None
    assert floor_row.title == "ALL QUEUES"
    assert [(t.caption, t.value, t.level) for t in floor_row.tiles] == [
        ("WAITING", "11", "alert"), ("AVAILABLE", "3", "ok")]
    sales = row(board, config, "sales", names={"sales": "Sales desk"})
    assert sales.title == "SALES DESK"
    assert [t.value for t in sales.tiles] == ["1", "3"]
    missing = row(board, config, "billing")
    assert missing.title == "BILLING"
    assert [t.level for t in missing.tiles] == ["none", "none"]


# --- pages ----------------------------------------------------------------------------------

FIVE = ("q1", "q2", "q3", "q4", "q5")

PAGES: list[Any] = [
    # (id, config, board, expected pages)
    ("no-floor-two-per-page", kiosk(floor_total=False, rows_per_page=2),
     Board(floor=floor_kpi(queues=FIVE)), [["q1", "q2"], ["q3", "q4"], ["q5"]]),
    ("no-floor-one-per-page", kiosk(floor_total=False, rows_per_page=1),
     Board(floor=floor_kpi(queues=("a", "b"))), [["a"], ["b"]]),
    ("no-floor-all-fit", kiosk(floor_total=False, rows_per_page=6),
     Board(floor=floor_kpi(queues=FIVE)), [list(FIVE)]),
    ("floor-pinned-rows-2", kiosk(rows_per_page=2),
     Board(floor=floor_kpi(queues=("a", "b", "c"))), [[None, "a"], [None, "b"], [None, "c"]]),
    ("floor-pinned-rows-3", kiosk(rows_per_page=3),
     Board(floor=floor_kpi(queues=FIVE)),
     [[None, "q1", "q2"], [None, "q3", "q4"], [None, "q5"]]),
    ("floor-pinned-all-fit", kiosk(rows_per_page=6),
     Board(floor=floor_kpi(queues=FIVE)), [[None, *FIVE]]),
    ("empty-with-floor", kiosk(), Board(floor=floor_kpi(queues=())), [[None]]),
    ("empty-without-floor", kiosk(floor_total=False), Board(floor=floor_kpi(queues=())),
     [[]]),
    ("nothing-heard-yet", kiosk(), Board(), [[None]]),
    ("configured-order", kiosk(queues=["support", "billing", "sales"], rows_per_page=3),
     Board(floor=floor_kpi(queues=("sales", "support"))),
     [[None, "support", "billing"], [None, "sales"]]),
    ("floor-list-order-not-retained", kiosk(rows_per_page=6),
     Board(floor=floor_kpi(queues=("support", "sales")),
           queues={"sales": queue_kpi("sales"), "support": queue_kpi("support"),
                   "closed-2019": queue_kpi("closed-2019", ts=T0 - 86_000)}),
     [[None, "support", "sales"]]),
    ("no-floor-snapshot-sorted-retained", kiosk(floor_total=False, rows_per_page=6),
     Board(queues={"support": queue_kpi("support"), "billing": queue_kpi("billing")}),
     [["billing", "support"]]),
]


@pytest.mark.parametrize(("config", "board", "expected"),
                         [pytest.param(*r[1:], id=r[0]) for r in PAGES])
def test_pages(config, board, expected):
    assert pages(board, config) == expected


@pytest.mark.parametrize("rows_per_page", range(2, 7))
@pytest.mark.parametrize("floor_total", [True, False])
@pytest.mark.parametrize("count", [0, 1, 2, 5, 6, 7, 13])
def test_pages_pin_the_floor_and_show_every_queue_once_in_order(rows_per_page, floor_total,
                                                                count):
    queues = tuple(f"q{i}" for i in range(count))
    config = kiosk(rows_per_page=rows_per_page, floor_total=floor_total)
    got = pages(Board(floor=floor_kpi(queues=queues)), config)
    assert got
    assert all(len(page) <= rows_per_page for page in got)
    if floor_total:
        assert all(page[0] is None for page in got)
    shown = [q for page in got for q in page if q is not None]
    assert shown == list(queues)
    assert all(page for page in got[:-1])


# --- staleness ------------------------------------------------------------------------------

LIVE = floor_kpi(ts=T0)
CONTROLLER_UP = ServiceStatus(ts=T0 - 3600, online=True)
CONTROLLER_DOWN = ServiceStatus(ts=T0 - 5, online=False)
BROKER = "mq.floor:1883"
UP = LinkState(BROKER, connected=True)
TRYING = LinkState(BROKER, down_since=T0)
REFUSED = LinkState(BROKER, error="connection refused", down_since=T0)
LOST = LinkState(BROKER, error="connection lost", down_since=T0)

BANNERS: list[Any] = [
    # (id, board, config, now, link, expected banner text or None)
    ("first-frame", Board(), kiosk(), T0, TRYING, "NO DATA · connecting to broker mq.floor:1883"),
    ("no-broker", Board(), kiosk(), T0, REFUSED,
     "NO DATA · cannot reach broker mq.floor:1883 (connection refused)"),
    ("not-authorised", Board(), kiosk(), T0,
     LinkState(BROKER, error="not authorised", down_since=T0),
     "NO DATA · cannot reach broker mq.floor:1883 (not authorised)"),
    ("broker-no-controller", Board(), kiosk(), T0, UP,
     "NO DATA · connected, waiting for the controller"),
    ("queue-but-no-floor-snapshot", Board(queues={"sales": queue_kpi("sales")}), kiosk(), T0,
     UP, "NO DATA · connected, waiting for the controller"),
    ("controller-online-no-snapshot", Board(controller=CONTROLLER_UP), kiosk(), T0, UP,
     "NO DATA · connected, waiting for the controller"),
    ("controller-offline-no-snapshot", Board(controller=CONTROLLER_DOWN), kiosk(), T0, UP,
     "NO DATA · controller offline since 07:59:55"),
    ("broker-lost", Board(floor=LIVE), kiosk(), T0 + 3, LOST,
     "STALE DATA · cannot reach broker mq.floor:1883 (connection lost)"),
    ("broker-refused-after-data", Board(floor=LIVE), kiosk(), T0 + 60, REFUSED,
     "STALE DATA · cannot reach broker mq.floor:1883 (connection refused)"),
    ("live", Board(floor=LIVE), kiosk(), T0 + 3, UP, None),
    ("exactly-stale-after", Board(floor=LIVE), kiosk(), T0 + 10, UP, None),
    ("just-beyond-stale-after", Board(floor=LIVE), kiosk(), T0 + 10.5, UP,
     "STALE DATA · last update 0:10 ago"),
    ("long-stale", Board(floor=LIVE), kiosk(), T0 + 75, UP,
     "STALE DATA · last update 1:15 ago"),
    ("configured-stale-after-live", Board(floor=LIVE), kiosk(stale_after_s=30), T0 + 30, UP,
     None),
    ("configured-stale-after-stale", Board(floor=LIVE), kiosk(stale_after_s=30), T0 + 31,
     UP, "STALE DATA · last update 0:31 ago"),
    # The status's ts is when it went out; the snapshot at T0 is later: alive until then.
    ("controller-offline", Board(floor=LIVE, controller=CONTROLLER_DOWN), kiosk(), T0 + 1,
     UP, "STALE DATA · controller offline since 08:00:00"),
    ("controller-online", Board(floor=LIVE, controller=CONTROLLER_UP), kiosk(), T0 + 1, UP,
     None),
    # A snapshot dated ahead of the screen's clock: some skew is live, an hour never is.
    ("a-little-ahead", Board(floor=LIVE), kiosk(), T0 - 60, UP, None),
    ("a-minute-ahead", Board(floor=LIVE), kiosk(), T0 - 61, UP,
     "CLOCK MISMATCH · data dated 61 s ahead of this screen"),
    ("an-hour-ahead", Board(floor=LIVE), kiosk(), T0 - 3600, UP,
     "CLOCK MISMATCH · data dated 1 h ahead of this screen"),
    ("ahead-and-offline", Board(floor=LIVE, controller=CONTROLLER_DOWN), kiosk(), T0 - 3600,
     UP, "STALE DATA · controller offline since 08:00:00"),
]


@pytest.mark.parametrize(("board", "config", "now", "link", "text"),
                         [pytest.param(*r[1:], id=r[0]) for r in BANNERS])
def test_banner(board, config, now, link, text):
    expected = None if text is None else Banner(text)
    assert banner(board, config, now, link) == expected


@pytest.mark.parametrize(("seconds", "text"), [
    (61, "61 s"), (119.4, "119 s"), (120, "2 min"), (3599, "1 h"), (3600, "1 h"),
    (5400, "1 h 30 min"), (86_400, "24 h"),
])
def test_span_text(seconds, text):
    assert span_text(seconds) == text


def test_banner_offline_since_is_in_the_sites_time_zone():
    from zoneinfo import ZoneInfo

    board = Board(controller=CONTROLLER_DOWN)
    got = banner(board, kiosk(), T0, UP, ZoneInfo("America/New_York"))
    assert got == Banner("NO DATA · controller offline since 02:59:55")


# --- help requests --------------------------------------------------------------------------


def help_status(state: str, requested_at: float, level: int = 0, agent: str | None = "a1",
                request: str = "r1") -> HelpStatus:
    return HelpStatus.model_validate({
        "ts": requested_at + 1, "request": request, "state": state, "agent": agent,
        "requested_at": requested_at, "level": level})


HELP_BOARD = Board(help={
    "d3": help_status("requested", T0 - 30, agent="jane.smith", request="r3"),
    "d1": help_status("acknowledged", T0 - 200, level=2, agent="bob.jones", request="r1"),
    "d2": help_status("requested", T0 - 130, level=2, agent=None, request="r2"),
    "d4": help_status("resolved", T0 - 400, request="r4"),
    "d5": help_status("cancelled", T0 - 500, request="r5"),
    "d6": help_status("requested", T0 - 70, level=1, agent="ann.lee", request="r6"),
})


def test_help_views_waiting_requests_first_then_oldest_first():
    assert help_views(HELP_BOARD, kiosk(), T0) == (
        HelpView("d2", "r2", "desk d2", "2:10", "WAITING", "ESCALATED TWICE", "alert"),
        HelpView("d6", "r6", "ann.lee", "1:10", "WAITING", "ESCALATED", "alert"),
        HelpView("d3", "r3", "jane.smith", "0:30", "WAITING", "", "warn"),
        HelpView("d1", "r1", "bob.jones", "3:20", "ON THE WAY", "", "ok"),
    )


def test_a_waiting_request_is_never_pushed_off_the_panel_by_answered_ones():
    board = Board(help={f"d{n}": help_status("acknowledged", T0 - 600 + n, request=f"r{n}")
                        for n in range(8)})
    board.help["d9"] = help_status("requested", T0 - 5, request="r9")
    assert help_views(board, kiosk(), T0)[0].desk == "d9"


@pytest.mark.parametrize(("now", "ages"), [
    (T0, ["2:10", "1:10", "0:30", "3:20"]),
    (T0 + 1, ["2:11", "1:11", "0:31", "3:21"]),
    (T0 + 45, ["2:55", "1:55", "1:15", "4:05"]),
    (T0 + 3400, ["58:50", "57:50", "57:10", "1:00:00"]),
])
def test_help_ages_tick_with_now(now, ages):
    assert [v.age for v in help_views(HELP_BOARD, kiosk(), now)] == ages


@pytest.mark.parametrize(("state", "level", "words", "view_level", "shown"), [
    ("requested", 0, "", "warn", "WAITING"),
    ("requested", 1, "ESCALATED", "alert", "WAITING"),
    ("requested", 2, "ESCALATED TWICE", "alert", "WAITING"),
    ("acknowledged", 0, "", "ok", "ON THE WAY"),
    ("acknowledged", 1, "", "ok", "ON THE WAY"),
    ("acknowledged", 2, "", "ok", "ON THE WAY"),
])
def test_escalation_words_only_while_requested(state, level, words, view_level, shown):
    board = Board(help={"d1": help_status(state, T0 - 150, level=level)})
    (view,) = help_views(board, kiosk(), T0)
    assert (view.escalation, view.level, view.state) == (words, view_level, shown)


@pytest.mark.parametrize("state", ["resolved", "cancelled"])
def test_closed_requests_are_not_shown(state):
    board = Board(help={"d1": help_status(state, T0 - 150, level=2)})
    assert help_views(board, kiosk(), T0) == ()


@pytest.mark.parametrize(("config", "who_text"), [
    (kiosk(), "Jane Smith"),
    (kiosk(mask_names="initials"), "JS"),
    (kiosk(mask_names="desk"), "desk d3"),
    (kiosk(audience="supervisor", mask_names="desk"), "Jane Smith"),
])
def test_help_views_mask_the_agent_for_the_audience(config, who_text):
    board = Board(help={"d3": help_status("requested", T0 - 5, agent="a017")})
    assert help_views(board, config, T0, {"a017": "Jane Smith"})[0].who == who_text


@pytest.mark.parametrize(("who_text", "line"), [
    ("Jane Smith", "Jane Smith · desk d3"), ("desk d3", "desk d3"), ("", "desk d3")])
def test_a_help_row_names_the_desk_once(who_text, line):
    v = HelpView(desk="d3", request="r1", who=who_text, age="0:05", state="WAITING",
                 escalation="", level="warn")
    assert help_who(v) == line


def test_same_request_time_orders_by_desk():
    board = Board(help={"d9": help_status("requested", T0 - 5, request="r9"),
                        "d2": help_status("requested", T0 - 5, request="r2")})
    assert [v.desk for v in help_views(board, kiosk(), T0)] == ["d2", "d9"]


TAPS: list[Any] = [
    # (id, state, acked_here, expected command or None)
    ("requested-acks", "requested", False, "ack"),
    ("requested-after-ack-here-resolves", "requested", True, "resolve"),
    ("acknowledged-resolves", "acknowledged", False, "resolve"),
    ("acknowledged-acked-here-resolves", "acknowledged", True, "resolve"),
    ("resolved-nothing", "resolved", False, None),
    ("resolved-acked-here-nothing", "resolved", True, None),
    ("cancelled-nothing", "cancelled", False, None),
]


@pytest.mark.parametrize(("state", "acked_here", "cmd"),
                         [pytest.param(*r[1:], id=r[0]) for r in TAPS])
def test_tap_command(state, acked_here, cmd):
    status = help_status(state, T0 - 40, request="r-77")
    got = tap_command(status, acked_here, "wall-2", T0)
    expected = None if cmd is None else DeskCommand(ts=T0, cmd=cmd, request="r-77", by="wall-2")
    assert got == expected


# --- agents ---------------------------------------------------------------------------------

INITIALS = [("jane.smith", "JS"), ("mary-jane_smith", "MJS"), ("Bob.Lee", "BL"),
            ("jane", "JA"), ("j", "J"), ("a17", "A1"), ("jane.smith.2", "JS")]


@pytest.mark.parametrize(("agent", "text"), INITIALS, ids=[a for a, _ in INITIALS])
def test_initials(agent, text):
    assert initials(agent) == text


NAMES = {"a017": "Jane Smith", "a018": "Ravi"}
WHO: list[Any] = [
    # (audience, mask_names, agent, desk, shown): never initials of an id ("a017" -> "A0")
    ("floor", "none", "a017", "d4", "Jane Smith"),
    ("floor", "none", "a099", "d4", "a099"),
    ("floor", "none", None, "d4", "desk d4"),
    ("floor", "none", None, None, ""),
    ("floor", "initials", "a017", "d4", "JS"),
    ("floor", "initials", "a018", "d4", "RA"),
    ("floor", "initials", "a099", "d4", "desk d4"),
    ("floor", "initials", "a099", None, ""),
    ("floor", "initials", None, "d4", "desk d4"),
    ("floor", "desk", "a017", "d4", "desk d4"),
    ("floor", "desk", "a017", None, ""),
    ("supervisor", "none", "a017", "d4", "Jane Smith"),
    ("supervisor", "initials", "a017", "d4", "Jane Smith"),
    ("supervisor", "desk", "a017", "d4", "Jane Smith"),
    ("supervisor", "desk", "a099", "d4", "a099"),
    ("supervisor", "desk", None, "d4", "desk d4"),
]


@pytest.mark.parametrize(("audience", "mask", "agent", "desk", "shown"), WHO,
                         ids=[f"{a}-{m}-{g}-{d}" for a, m, g, d, _ in WHO])
def test_who(audience, mask, agent, desk, shown):
    assert who(agent, desk, kiosk(audience=audience, mask_names=mask), NAMES) == shown


def test_floor_screens_never_show_initials_of_ids():
    config = kiosk(mask_names="initials")
    board = Board(agents={f"a{n:03d}": agent("talking", desk=f"d{n}") for n in range(130)})
    labels = {cell(board, config, a, T0, {}).label for a in board.agents}
    assert not labels & {"A0", "A1"}
    assert labels == {f"desk d{n}" for n in range(130)}


LIGHT = DeskLight(ts=T0 - 10, red="off", amber="blink", green="on", buzzer="off")
ONLINE = DeskStatus(ts=T0 - 100, online=True)
OFFLINE = DeskStatus(ts=T0 - 5, online=False)


def strain(score: float) -> AgentWellbeing:
    """What the default policy publishes: a check-in suggested from a score of 50."""
    return AgentWellbeing(ts=T0 - 60, score=score, components=[],
                          suggestion="check_in" if score >= 50 else None)


CELLS: list[Any] = [
    # (id, config, agent state, board extras, expected (word, detail, long_hold, lamps))
    ("talking", kiosk(), agent("talking", desk="d1"), {},
     ("TALK 4m", "", False, ("off", "blink", "on"))),
    ("available-just-now", kiosk(), agent("available", since=T0 - 20, desk="d1"), {},
     ("FREE 0m", "", False, ("off", "blink", "on"))),
    ("wrap-over-an-hour", kiosk(), agent("wrap_up", since=T0 - 3900, desk="d1"), {},
     ("WRAP 1h05", "", False, ("off", "blink", "on"))),
    ("break-reason", kiosk(), agent("break", desk="d1", reason="lunch"), {},
     ("BREAK 4m", "LUNCH", False, ("off", "blink", "on"))),
    ("break-no-reason", kiosk(), agent("break", desk="d1"), {},
     ("BREAK 4m", "", False, ("off", "blink", "on"))),
    ("offline-reason", kiosk(), agent("offline", desk="d1", reason="shift end"), {},
     ("OFF 4m", "SHIFT END", False, ("off", "blink", "on"))),
    ("talking-reason-hidden", kiosk(), agent("talking", desk="d1", reason="lunch"), {},
     ("TALK 4m", "", False, ("off", "blink", "on"))),
    ("long-hold", kiosk(audience="supervisor"), agent("hold", since=T0 - 95, desk="d1"),
     {"hold": 95.0}, ("HOLD 1:35", "LONG HOLD", True, ("off", "blink", "on"))),
    ("long-hold-wins-over-reason", kiosk(audience="supervisor"),
     agent("break", desk="d1", reason="lunch"),
     {"hold": 130.0}, ("HOLD 2:10", "LONG HOLD", True, ("off", "blink", "on"))),
    # A floor screen singles nobody out: no edge, no LONG HOLD, no hold timer.
    ("long-hold-floor", kiosk(), agent("hold", since=T0 - 95, desk="d1"), {"hold": 95.0},
     ("HOLD", "", False, ("off", "blink", "on"))),
    ("hold-floor", kiosk(), agent("hold", since=T0 - 30, desk="d1"), {},
     ("HOLD", "", False, ("off", "blink", "on"))),
    ("long-hold-floor-break", kiosk(), agent("break", desk="d1", reason="lunch"),
     {"hold": 130.0}, ("BREAK 4m", "LUNCH", False, ("off", "blink", "on"))),
    ("no-mirror", kiosk(mirror_lights=False), agent("talking", desk="d1"), {},
     ("TALK 4m", "", False, None)),
    ("desk-online", kiosk(), agent("talking", desk="d1"), {"status": ONLINE},
     ("TALK 4m", "", False, ("off", "blink", "on"))),
    ("desk-offline", kiosk(), agent("talking", desk="d1"), {"status": OFFLINE},
     ("TALK 4m", "", False, None)),
    ("no-light-heard", kiosk(), agent("talking", desk="d1"), {"light": None},
     ("TALK 4m", "", False, None)),
    ("no-desk", kiosk(), agent("talking"), {}, ("TALK 4m", "", False, None)),
    ("strain-floor-hidden", kiosk(), agent("talking", desk="d1"), {"wellbeing": strain(80)},
     ("TALK 4m", "", False, ("off", "blink", "on"))),
    ("strain-floor-initials-hidden", kiosk(mask_names="initials"), agent("talking", desk="d1"),
     {"wellbeing": strain(80)}, ("TALK 4m", "", False, ("off", "blink", "on"))),
    ("strain-supervisor", kiosk(audience="supervisor"), agent("talking", desk="d1"),
     {"wellbeing": strain(64)}, ("TALK 4m", "STRAIN 64", False, ("off", "blink", "on"))),
    ("strain-supervisor-at-50", kiosk(audience="supervisor"), agent("talking", desk="d1"),
     {"wellbeing": strain(50)}, ("TALK 4m", "STRAIN 50", False, ("off", "blink", "on"))),
    ("strain-supervisor-below-50", kiosk(audience="supervisor"), agent("talking", desk="d1"),
     {"wellbeing": strain(49.9)}, ("TALK 4m", "", False, ("off", "blink", "on"))),
    ("strain-supervisor-recovery-break-at-20", kiosk(audience="supervisor"),
     agent("talking", desk="d1"),
     {"wellbeing": strain(20).model_copy(update={"suggestion": "recovery_break"})},
     ("TALK 4m", "STRAIN 20", False, ("off", "blink", "on"))),
    ("strain-supervisor-reason-wins", kiosk(audience="supervisor"),
     agent("break", desk="d1", reason="lunch"), {"wellbeing": strain(90)},
     ("BREAK 4m", "LUNCH", False, ("off", "blink", "on"))),
    ("strain-supervisor-hold-wins", kiosk(audience="supervisor"),
     agent("hold", since=T0 - 95, desk="d1"), {"hold": 95.0, "wellbeing": strain(90)},
     ("HOLD 1:35", "LONG HOLD", True, ("off", "blink", "on"))),
]


@pytest.mark.parametrize(("config", "state", "extras", "expected"),
                         [pytest.param(*r[1:], id=r[0]) for r in CELLS])
def test_cell(config, state, extras, expected):
    holds = [LongHold(agent="jane.smith", desk="d1", hold_s=extras["hold"])] \
        if "hold" in extras else []
    board = Board(floor=floor_kpi(long_holds=holds), agents={"jane.smith": state})
    light = extras.get("light", LIGHT)
    if light is not None:
        board.lights["d1"] = light
    if "status" in extras:
        board.desks_online["d1"] = extras["status"]
    if "wellbeing" in extras:
        board.wellbeing["jane.smith"] = extras["wellbeing"]
    view = cell(board, config, "jane.smith", T0, board.long_holds())
    assert (view.word, view.detail, view.long_hold, view.lamps) == expected
    assert view.state == state.state


def test_cell_lamps_follow_the_agents_own_desk():
    board = Board(agents={"a1": agent("talking", desk="d1"), "a2": agent("talking", desk="d2")},
                  lights={"d1": LIGHT, "d2": LIGHT.model_copy(update={"red": "fast"})},
                  desks_online={"d1": ONLINE, "d2": OFFLINE})
    assert cell(board, kiosk(), "a1", T0, {}).lamps == ("off", "blink", "on")
    assert cell(board, kiosk(), "a2", T0, {}).lamps is None


@pytest.mark.parametrize(("config", "label"), [
    (kiosk(), "Jane Smith"),
    (kiosk(mask_names="initials"), "JS"),
    (kiosk(mask_names="desk"), "desk d1"),
    (kiosk(audience="supervisor", mask_names="initials"), "Jane Smith"),
])
def test_cell_label_follows_the_audience(config, label):
    board = Board(agents={"a017": agent("talking", desk="d1")})
    assert cell(board, config, "a017", T0, {}, {"a017": "Jane Smith"}) == CellView(
        label=label, state="talking", word="TALK 4m", detail="", long_hold=False, lamps=None)


def test_cell_long_hold_comes_from_the_floor_snapshot_not_the_state():
    board = Board(floor=floor_kpi(long_holds=[LongHold(agent="a2", hold_s=70.0)]),
                  agents={"a1": agent("hold", since=T0 - 600), "a2": agent("hold")})
    supervisor = kiosk(audience="supervisor")
    assert not cell(board, supervisor, "a1", T0, board.long_holds()).long_hold
    held = cell(board, supervisor, "a2", T0, board.long_holds())
    assert (held.word, held.detail) == ("HOLD 1:10", "LONG HOLD")


@pytest.mark.parametrize(("config", "holds", "note"), [
    (kiosk(), [], None),
    (kiosk(), ["a1"], "1 caller on a long hold"),
    (kiosk(), ["a1", "a2"], "2 callers on a long hold"),
    (kiosk(audience="supervisor"), ["a1", "a2"], None),  # supervisors see who, on the cells
])
def test_floor_screens_count_long_holds_without_saying_who(config, holds, note):
    board = Board(floor=floor_kpi(long_holds=[LongHold(agent=a, hold_s=90.0) for a in holds]))
    assert long_hold_note(board, config) == note
    assert long_hold_note(Board(), config) is None


def test_teams_exclude_offline_agents_and_group_by_team():
    board = Board(agents={
        "zoe": agent("talking", team="blue"),
        "adam": agent("available", team="blue"),
        "mia": agent("break", team="red", reason="lunch"),
        "omar": agent("offline", team="red"),
        "lee": agent("hold"),
        "gone": agent("offline", team="green"),
    })
    assert teams(board) == [("NO TEAM", ["lee"]), ("blue", ["adam", "zoe"]), ("red", ["mia"])]


def test_teams_of_an_empty_or_logged_off_floor():
    assert teams(Board()) == []
    assert teams(Board(agents={"a1": agent("offline", team="blue")})) == []


# --- grid fit -------------------------------------------------------------------------------

WIDTH, HEIGHT = 1344.0, 420.0


def splits(n: int) -> dict[str, list[int]]:
    """Ways a floor of ``n`` agents may be split into teams."""
    out = {"one": [n]}
    for k in (2, 3, 4, 6, 8):
        if n >= k:
            out[f"{k}-even"] = [n // k + (1 if i < n % k else 0) for i in range(k)]
    if n >= 3:
        out["one-big"] = [n - 2, 1, 1]
    if n >= 10:
        out["uneven"] = [n // 2, n // 3, n - n // 2 - n // 3]
    return out


def slots(sizes: list[int]) -> int:
    """Grid slots for these teams: each team's name takes one slot before its agents."""
    return sum(n + 1 for n in sizes)


def assert_fits(count: int, width: float, height: float) -> GridFit:
    fit = fit_grid(count, width, height)
    rows = math.ceil(count / fit.cols)
    assert 1 <= fit.cols <= count
    assert fit.cols * fit.cell_w <= width + 1e-9, (count, fit)
    assert rows * fit.cell_h <= height + 1e-9, (count, fit)
    assert fit.cell_h <= fit.cell_w  # never taller than wide
    assert fit.lines in (2, 3)
    assert fit.font * fit.lines * 1.25 <= fit.cell_h + 1e-9  # the lines of text fit the cell
    assert fit.lines == 2 or fit.font >= 8  # three lines only where pixels allow
    assert fit.font * 7.5 <= fit.cell_w + 1e-9
    return fit


@pytest.mark.parametrize(("width", "height"), [(WIDTH, HEIGHT), (1920.0, 500.0),
                                               (600.0, 900.0)], ids=str)
def test_fit_grid_always_fits_for_1_to_500_agents(width, height):
    for n in range(1, 501):
        for sizes in splits(n).values():
            assert_fits(slots(sizes), width, height)


@pytest.mark.parametrize("sizes", [[500], [250, 250], [125] * 4, [200, 150, 100, 50],
                                   [498, 1, 1], [63] * 7 + [59]], ids=str)
def test_500_agents_fit_in_1344_by_420(sizes):
    assert sum(sizes) == 500
    fit = assert_fits(slots(sizes), WIDTH, HEIGHT)
    assert fit.font >= 6.0


def test_fit_grid_one_slot_takes_the_whole_area():
    fit = assert_fits(1, WIDTH, HEIGHT)
    assert (fit.cols, fit.cell_w, fit.cell_h) == (1, WIDTH, HEIGHT)


def test_fit_grid_fewer_slots_never_get_smaller_text():
    fits = [fit_grid(n, WIDTH, HEIGHT) for n in range(1, 520)]
    assert all(a.lines >= b.lines for a, b in itertools.pairwise(fits))
    # With the same number of lines, more slots never give bigger text.
    assert all(a.font >= b.font for a, b in itertools.pairwise(fits) if a.lines == b.lines)
    assert {f.lines for f in fits} == {2, 3}  # crowded cells drop the detail line


@pytest.mark.parametrize(("count", "width", "height"), [
    (0, WIDTH, HEIGHT), (-1, WIDTH, HEIGHT), (5, 0.0, HEIGHT), (5, WIDTH, 0.0)])
def test_fit_grid_with_nothing_to_lay_out(count, width, height):
    fit = fit_grid(count, width, height)
    assert fit.cols == 1
    assert (fit.cell_w, fit.cell_h) == (max(width, 1.0), max(height, 1.0))
    assert fit.font > 0


# --- alerts ---------------------------------------------------------------------------------


def alert(level: int, ts: float, text: str) -> Alert:
    return Alert(ts=ts, level=level, kind="sl_breach", text=text)


def test_ticker_most_severe_first_then_oldest():
    alerts = {
        "a": alert(1, T0 - 10, "Billing waiting 6"),
        "b": alert(2, T0 - 5, "Sales SL 61%"),
        "c": alert(3, T0 - 1, "Support: no agents"),
        "d": alert(2, T0 - 50, "Help at d4 unanswered"),
        "e": alert(1, T0 - 90, "Sales ASA 0:31"),
    }
    assert ticker(alerts, T0) == [
        "✖ Support: no agents", "✖ Help at d4 unanswered", "✖ Sales SL 61%",
        "▲ Sales ASA 0:31", "▲ Billing waiting 6"]


def test_ticker_empty():
    assert ticker({}, T0) == []


ESCALATED: list[Any] = [
    # (id, levels before, alerts now, sound?)
    ("nothing", {}, {}, False),
    ("new-level-1", {}, {"a": 1}, False),
    ("new-level-2", {}, {"a": 2}, True),
    ("new-level-3", {}, {"a": 3}, True),
    ("rose-1-to-2", {"a": 1}, {"a": 2}, True),
    ("rose-2-to-3", {"a": 2}, {"a": 3}, True),
    ("unchanged-2", {"a": 2}, {"a": 2}, False),
    ("fell-3-to-2", {"a": 3}, {"a": 2}, False),
    ("other-rose-to-1", {"a": 2}, {"a": 2, "b": 1}, False),
    ("other-new-2", {"a": 2}, {"a": 2, "b": 2}, True),
    ("cleared", {"a": 3}, {}, False),
]


@pytest.mark.parametrize(("before", "now", "sound"),
                         [pytest.param(*r[1:], id=r[0]) for r in ESCALATED])
def test_escalated(before, now, sound):
    alerts = {key: alert(level, T0, key) for key, level in now.items()}
    assert escalated(before, alerts) is sound


@pytest.mark.parametrize(("lines", "chars", "text"), [
    (3, 12, "agent-0017\nHOLD 2:10\nLONG HOLD"),
    (2, 12, "agent-0017\nHOLD 2:10"),  # crowded: the detail goes first
    (3, 6, "agent\u2026\nHOLD\u2026\nLONG\u2026"),  # cut at a word boundary
], ids=["three", "two", "cut"])
def test_cell_text_fits_the_lines_and_width(lines, chars, text):
    from wallboard.kiosk.view import GridFit, cell_text

    c = CellView(label="agent-0017", state="hold", word="HOLD 2:10", detail="LONG HOLD",
                 long_hold=True, lamps=None)
    assert cell_text(c, GridFit(1, 60.0, 30.0, 8.0, lines), chars) == text


@pytest.mark.parametrize(("state", "now", "lit"), [
    ("off", 0.0, False), ("on", 0.7, True),
    ("blink", 0.2, True), ("blink", 0.7, False), ("blink", 1.2, True),
    ("fast", 0.1, True), ("fast", 0.2, False), ("fast", 0.3, True),
    ("flash", 0.05, True), ("flash", 0.11, True),  # held for one repaint, so it is seen
    ("flash", 0.5, False), ("flash", 2.05, True),
])
def test_mirrored_lamps_follow_the_desk_rhythm(state, now, lit):
    from wallboard.kiosk.view import lamp_lit

    assert lamp_lit(state, now, step_s=0.12) is lit


def test_strain_lines_are_for_supervisors_only_worst_first_with_reasons_by_weight():
    from wallboard.kiosk.view import strain_lines
    from wallboard.messages import StrainComponent

    def parts(*items: tuple[str, float]) -> list[StrainComponent]:
        return [StrainComponent(name="x", value=1, points=p, reason=r) for r, p in items]

    board = Board(wellbeing={
        "a1": AgentWellbeing(ts=T0, score=30, components=parts(("2 long holds", 8),
                                                               ("1 abusive caller", 12),
                                                               ("12 calls", 0)),
                             suggestion="recovery_break", suggestion_text="5 min break"),
        "a2": AgentWellbeing(ts=T0, score=70, components=parts(("late", 70)),
                             suggestion="check_in"),
        "a3": AgentWellbeing(ts=T0, score=10, components=parts(("calm", 10))),
    })
    assert strain_lines(board, kiosk()) == []
    assert strain_lines(board, kiosk(audience="supervisor")) == [
        "♥ a2: check_in — late", "♥ a1: 5 min break — 1 abusive caller; 2 long holds"]
    assert strain_lines(board, kiosk(audience="supervisor"), {"a2": "Ann Lee"})[0] == (
        "♥ Ann Lee: check_in — late")


def test_kudos_name_a_person_or_nobody_never_initials_of_an_id():
    from wallboard.kiosk.view import kudos_lines
    from wallboard.messages import Kudos

    board = Board(floor=floor_kpi(kudos=[Kudos(agent="a017", at=T0 - 120)]),
                  agents={"a017": agent("talking", desk="d4")})
    assert kudos_lines(board, kiosk(mask_names="initials"), T0, {"a017": "Jane Smith"}) == [
        "★ Kudos to JS: a caller's compliment, 2m ago"]
    assert kudos_lines(board, kiosk(mask_names="initials"), T0) == [
        "★ Kudos to desk d4: a caller's compliment, 2m ago"]
    board.agents.clear()
    assert kudos_lines(board, kiosk(mask_names="initials"), T0) == [
        "★ Kudos: a caller's compliment, 2m ago"]
    assert kudos_lines(board, kiosk(audience="supervisor"), T0, {"a017": "Jane Smith"}) == [
        "★ Kudos to Jane Smith: a caller's compliment, 2m ago"]
