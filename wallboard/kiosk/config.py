"""The ``[kiosk]`` section of ``wallboard.toml``: what one wall screen shows, and to whom.

Each screen on the floor has its own file, so the section describes one kiosk: its audience,
its queues and tiles, the thresholds that colour them, and how it behaves as a kiosk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from wallboard.config_base import Section
from wallboard.messages import Id

Audience = Literal["floor", "supervisor"]
NameMask = Literal["none", "initials", "desk"]
Metric = Literal[
    "waiting", "longest_wait", "service_level", "service_level_today", "asa", "abandon_rate",
    "aht", "occupancy", "agents_available",
]
# Metrics where a lower value is the worse one; for every other metric, higher is worse.
LOWER_IS_WORSE: frozenset[str] = frozenset({"service_level", "service_level_today",
                                            "agents_available"})


class Threshold(Section):
    """Where a metric's tile turns amber and red.

    Higher-is-worse metrics turn amber at or above ``amber``; service level and agents
    available turn amber below ``amber``. Ratios are fractions (0.8 is 80 %), times seconds.
    """

    amber: float = Field(description="The value where the tile turns amber")
    red: float = Field(description="The value where the tile turns red")


DEFAULT_THRESHOLDS: dict[Metric, Threshold] = {
    "waiting": Threshold(amber=5, red=10),
    "longest_wait": Threshold(amber=30, red=60),
    "service_level": Threshold(amber=0.8, red=0.7),
    "service_level_today": Threshold(amber=0.8, red=0.7),
    "asa": Threshold(amber=20, red=40),
    "abandon_rate": Threshold(amber=0.05, red=0.1),
    "aht": Threshold(amber=360, red=480),
    "occupancy": Threshold(amber=0.85, red=0.92),
    "agents_available": Threshold(amber=3, red=1),
}
DEFAULT_TILES: tuple[Metric, ...] = ("waiting", "longest_wait", "service_level", "abandon_rate")


def _check_order(where: str, thresholds: dict[Metric, Threshold]) -> None:
    for metric, t in thresholds.items():
        lower_worse = metric in LOWER_IS_WORSE
        if (t.red > t.amber) if lower_worse else (t.red < t.amber):
            side = "above" if lower_worse else "below"
            raise ValueError(f"{where}{metric}: red ({t.red:g}) must not be {side} amber "
                             f"({t.amber:g})")


class KioskConfig(Section):
    """One wall screen."""

    id: Id = Field("kiosk-1", description="Kiosk id: its MQTT client id and the 'by' of its acks")
    audience: Audience = Field(
        "floor", description="'floor': the public screen, no individual strain; "
                             "'supervisor': everything, and taps acknowledge help requests")
    mask_names: NameMask = Field(
        "none", description="On a floor screen, show agents as their id, initials or desk")
    queues: list[Id] = Field(
        default_factory=list, description="Queues to show, in order; empty: every queue")
    floor_total: bool = Field(True, description="Show the whole floor as the first row")
    tiles: list[Metric] = Field(
        default_factory=lambda: list(DEFAULT_TILES), min_length=1, max_length=6,
        description="Headline tiles on each row, left to right")
    rows_per_page: int = Field(
        3, ge=1, le=6, description="Rows on one page, the floor total's included")
    page_dwell_s: float = Field(15.0, ge=2, le=600, description="Seconds each page shows")
    thresholds: dict[Metric, Threshold] = Field(
        default_factory=dict, description="Overrides of the default thresholds, per metric")
    queue_thresholds: dict[Id, dict[Metric, Threshold]] = Field(
        default_factory=dict, description="Overrides for one queue, per metric")
    stale_after_s: float = Field(
        10.0, gt=0, le=600, description="Show STALE DATA when snapshots are older than this")
    help_panel: bool = Field(True, description="Show open help requests")
    agents_panel: bool = Field(True, description="Show the agents grid")
    mirror_lights: bool = Field(True, description="Show each desk's stack light in its cell")
    alert_sound: Annotated[Path, Field(strict=False)] | None = Field(
        None, description="Sound file played when an alert escalates; none if unset")
    kiosk_mode: bool = Field(
        True, description="Full screen, no cursor, Esc does not quit; false for a desktop window")
    max_fps: int = Field(15, ge=1, le=60, description="Frame-rate cap, to keep the Pi cool")

    @model_validator(mode="after")
    def _checks(self) -> Self:
        if self.floor_total and self.rows_per_page < 2:
            raise ValueError("rows_per_page must be at least 2 with floor_total: the floor "
                             "row is on every page")
        _check_order("thresholds.", self.thresholds)
        for queue, overrides in self.queue_thresholds.items():
            _check_order(f"queue_thresholds.{queue}.", overrides)
        return self

    def threshold(self, queue: str | None, metric: Metric) -> Threshold:
        """The threshold in force for ``metric`` on ``queue`` (None: the floor row)."""
        if queue is not None and metric in self.queue_thresholds.get(queue, {}):
            return self.queue_thresholds[queue][metric]
        return self.thresholds.get(metric, DEFAULT_THRESHOLDS[metric])
