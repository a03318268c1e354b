"""Table-driven tests of the ``[kiosk]`` section: defaults, overrides and every error."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest

from wallboard.config import parse_config
from wallboard.errors import ConfigError
from wallboard.kiosk.config import (
    DEFAULT_THRESHOLDS,
    DEFAULT_TILES,
    LOWER_IS_WORSE,
    KioskConfig,
    Metric,
    Threshold,
)

# --- defaults -------------------------------------------------------------------------------

DEFAULTS: list[tuple[str, Any]] = [
    ("id", "kiosk-1"),
    ("audience", "floor"),
    ("mask_names", "none"),
    ("queues", []),
    ("floor_total", True),
    ("tiles", ["waiting", "longest_wait", "service_level", "abandon_rate"]),
    ("rows_per_page", 3),
    ("page_dwell_s", 15.0),
    ("thresholds", {}),
    ("queue_thresholds", {}),
    ("stale_after_s", 10.0),
    ("help_panel", True),
    ("agents_panel", True),
    ("mirror_lights", True),
    ("alert_sound", None),
    ("kiosk_mode", True),
    ("max_fps", 15),
]


@pytest.mark.parametrize(("key", "expected"), DEFAULTS, ids=[key for key, _ in DEFAULTS])
@pytest.mark.parametrize("text", ["", "[kiosk]\n"], ids=["no-section", "empty-section"])
def test_defaults(text, key, expected):
    assert getattr(parse_config(text).kiosk, key) == expected


def test_defaults_cover_every_key():
    assert {key for key, _ in DEFAULTS} == set(KioskConfig.model_fields)


def test_default_thresholds_cover_every_metric_in_order():
    assert set(DEFAULT_THRESHOLDS) == set(get_args(Metric))
    assert list(DEFAULT_TILES) == parse_config("").kiosk.tiles
    for metric, t in DEFAULT_THRESHOLDS.items():
        if metric in LOWER_IS_WORSE:
            assert t.red < t.amber, metric
        else:
            assert t.red > t.amber, metric


def test_default_threshold_in_force_is_the_default_table():
    config = parse_config("").kiosk
    for metric, t in DEFAULT_THRESHOLDS.items():
        assert config.threshold(None, metric) == t
        assert config.threshold("sales", metric) == t


# --- good values ----------------------------------------------------------------------------

GOOD: list[tuple[str, str, Any]] = [
    ('id = "wall-2"', "id", "wall-2"),
    ('audience = "supervisor"', "audience", "supervisor"),
    ('mask_names = "initials"', "mask_names", "initials"),
    ('mask_names = "desk"', "mask_names", "desk"),
    ('queues = ["support", "sales"]', "queues", ["support", "sales"]),
    ("floor_total = false", "floor_total", False),
    ('tiles = ["aht"]', "tiles", ["aht"]),
    ('tiles = ["waiting", "longest_wait", "service_level", "abandon_rate", "asa", "aht"]',
     "tiles", ["waiting", "longest_wait", "service_level", "abandon_rate", "asa", "aht"]),
    ("rows_per_page = 1\nfloor_total = false", "rows_per_page", 1),
    ("rows_per_page = 6", "rows_per_page", 6),
    ("page_dwell_s = 2", "page_dwell_s", 2.0),
    ("page_dwell_s = 600", "page_dwell_s", 600.0),
    ("stale_after_s = 600", "stale_after_s", 600.0),
    ("stale_after_s = 0.5", "stale_after_s", 0.5),
    ('alert_sound = "sounds/chime.wav"', "alert_sound", Path("sounds/chime.wav")),
    ("kiosk_mode = false", "kiosk_mode", False),
    ("max_fps = 1", "max_fps", 1),
    ("max_fps = 60", "max_fps", 60),
    ("mirror_lights = false", "mirror_lights", False),
]


@pytest.mark.parametrize(("text", "key", "expected"), GOOD,
                         ids=[f"{key}={expected!s}" for _, key, expected in GOOD])
def test_good_values(text, key, expected):
    assert getattr(parse_config(f"[kiosk]\n{text}\n").kiosk, key) == expected


THRESHOLD_TEXT = """
[kiosk.thresholds.waiting]
amber = 8
red = 15
[kiosk.thresholds.service_level]
amber = 0.9
red = 0.9
[kiosk.queue_thresholds.sales.waiting]
amber = 2
red = 4
"""

IN_FORCE = [
    # (queue, metric, threshold): a queue's own, then the global override, then the default
    ("sales", "waiting", Threshold(amber=2, red=4)),
    ("support", "waiting", Threshold(amber=8, red=15)),
    (None, "waiting", Threshold(amber=8, red=15)),
    ("sales", "service_level", Threshold(amber=0.9, red=0.9)),
    (None, "service_level", Threshold(amber=0.9, red=0.9)),
    ("sales", "aht", DEFAULT_THRESHOLDS["aht"]),
    (None, "asa", DEFAULT_THRESHOLDS["asa"]),
]


@pytest.mark.parametrize(("queue", "metric", "expected"), IN_FORCE,
                         ids=[f"{q}-{m}" for q, m, _ in IN_FORCE])
def test_threshold_in_force(queue, metric, expected):
    assert parse_config(THRESHOLD_TEXT).kiosk.threshold(queue, metric) == expected


# --- errors -----------------------------------------------------------------------------------

BAD = [
    # (id, toml, dotted key, reason fragment)
    ("unknown-key", "[kiosk]\ncolour = \"red\"", "kiosk.colour", "unknown key"),
    ("typo", "[kiosk]\nrows_per_pages = 3", "kiosk.rows_per_pages", "unknown key"),
    ("unknown-threshold-key", "[kiosk.thresholds.waiting]\namber = 1\nred = 2\nyellow = 3",
     "kiosk.thresholds.waiting.yellow", "unknown key"),
    ("unknown-queue-threshold-key",
     "[kiosk.queue_thresholds.sales.asa]\namber = 1\nred = 2\norange = 3",
     "kiosk.queue_thresholds.sales.asa.orange", "unknown key"),
    ("unknown-metric", "[kiosk.thresholds.wait]\namber = 1\nred = 2",
     "kiosk.thresholds.wait.[key]", "'waiting'"),
    ("threshold-missing-red", "[kiosk.thresholds.waiting]\namber = 1",
     "kiosk.thresholds.waiting.red", "Field required"),
    ("threshold-string", "[kiosk.thresholds.waiting]\namber = \"5\"\nred = 10",
     "kiosk.thresholds.waiting.amber", "valid number"),
    ("tiles-empty", "[kiosk]\ntiles = []", "kiosk.tiles", "at least 1 item"),
    ("tiles-seven", "[kiosk]\ntiles = [" + ", ".join(['"waiting"'] * 7) + "]",
     "kiosk.tiles", "at most 6 items"),
    ("tiles-unknown-metric", "[kiosk]\ntiles = [\"sl\"]", "kiosk.tiles.0", "'service_level'"),
    ("audience-unknown", "[kiosk]\naudience = \"public\"", "kiosk.audience", "'floor'"),
    ("mask-unknown", "[kiosk]\nmask_names = \"hidden\"", "kiosk.mask_names", "'initials'"),
    ("id-space", "[kiosk]\nid = \"wall 2\"", "kiosk.id", "should match pattern"),
    ("queue-id-plus", "[kiosk]\nqueues = [\"sales+\"]", "kiosk.queues.0",
     "should match pattern"),
    ("rows-zero", "[kiosk]\nrows_per_page = 0", "kiosk.rows_per_page",
     "greater than or equal to 1"),
    ("rows-one-with-floor", "[kiosk]\nrows_per_page = 1", "kiosk",
     "at least 2 with floor_total"),
    ("rows-seven", "[kiosk]\nrows_per_page = 7", "kiosk.rows_per_page",
     "less than or equal to 6"),
    ("dwell-short", "[kiosk]\npage_dwell_s = 1", "kiosk.page_dwell_s",
     "greater than or equal to 2"),
    ("stale-zero", "[kiosk]\nstale_after_s = 0", "kiosk.stale_after_s", "greater than 0"),
    ("fps-zero", "[kiosk]\nmax_fps = 0", "kiosk.max_fps", "greater than or equal to 1"),
    ("fps-fraction", "[kiosk]\nmax_fps = 12.5", "kiosk.max_fps", "valid integer"),
    ("bool-as-string", "[kiosk]\nkiosk_mode = \"yes\"", "kiosk.kiosk_mode", "valid boolean"),
]


@pytest.mark.parametrize(("text", "key", "reason"), [pytest.param(*row[1:], id=row[0])
                                                     for row in BAD])
def test_bad_values_name_the_key(text, key, reason):
    with pytest.raises(ConfigError) as info:
        parse_config(text, "wall.toml")
    err = info.value
    assert (err.path, err.key) == ("wall.toml", key)
    assert reason in err.reason
    assert str(err) == f"wall.toml: {key}: {err.reason}"


ORDER = [
    # (id, toml, text naming the threshold key and the broken order)
    ("higher-worse-red-below-amber", "[kiosk.thresholds.waiting]\namber = 10\nred = 5",
     "thresholds.waiting: red (5) must not be below amber (10)"),
    ("duration-red-below-amber", "[kiosk.thresholds.aht]\namber = 360\nred = 300",
     "thresholds.aht: red (300) must not be below amber (360)"),
    ("lower-worse-red-above-amber", "[kiosk.thresholds.service_level]\namber = 0.8\nred = 0.9",
     "thresholds.service_level: red (0.9) must not be above amber (0.8)"),
    ("agents-red-above-amber", "[kiosk.thresholds.agents_available]\namber = 2\nred = 4",
     "thresholds.agents_available: red (4) must not be above amber (2)"),
    ("queue-higher-worse",
     "[kiosk.queue_thresholds.sales.longest_wait]\namber = 60\nred = 30",
     "queue_thresholds.sales.longest_wait: red (30) must not be below amber (60)"),
    ("queue-lower-worse",
     "[kiosk.queue_thresholds.support.service_level_today]\namber = 0.7\nred = 0.75",
     "queue_thresholds.support.service_level_today: red (0.75) must not be above amber (0.7)"),
]


@pytest.mark.parametrize(("text", "message"), [pytest.param(*row[1:], id=row[0])
                                               for row in ORDER])
def test_threshold_order_errors_name_the_threshold(text, message):
    with pytest.raises(ConfigError) as info:
        parse_config(text, "wall.toml")
    assert info.value.key == "kiosk"
    assert info.value.reason == message
    assert str(info.value) == f"wall.toml: kiosk: {message}"


EQUAL_OR_ORDERED: list[tuple[str, str | None, Metric, Threshold]] = [
    ("[kiosk.thresholds.waiting]\namber = 5\nred = 5", None, "waiting",
     Threshold(amber=5, red=5)),
    ("[kiosk.thresholds.service_level]\namber = 0.8\nred = 0.8", None, "service_level",
     Threshold(amber=0.8, red=0.8)),
    ("[kiosk.thresholds.service_level]\namber = 0.95\nred = 0.5", None, "service_level",
     Threshold(amber=0.95, red=0.5)),
    ("[kiosk.thresholds.occupancy]\namber = 0.5\nred = 0.99", None, "occupancy",
     Threshold(amber=0.5, red=0.99)),
    ("[kiosk.queue_thresholds.sales.agents_available]\namber = 1\nred = 0", "sales",
     "agents_available", Threshold(amber=1, red=0)),
]


@pytest.mark.parametrize(("text", "queue", "metric", "expected"), EQUAL_OR_ORDERED,
                         ids=[f"{q}-{m}-{t.amber:g}-{t.red:g}" for _, q, m, t in EQUAL_OR_ORDERED])
def test_thresholds_in_order_or_equal_are_accepted(text, queue, metric, expected):
    assert parse_config(text).kiosk.threshold(queue, metric) == expected
