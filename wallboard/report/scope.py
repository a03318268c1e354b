"""What a report covers and the settings it judges by, taken once from ``wallboard.toml``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from wallboard.config import WallboardConfig
from wallboard.report.period import Period
from wallboard.staffing import DEFAULT_MAX_OCCUPANCY

# Team wellbeing is shown only for groups of at least this many, whatever the config says.
PRIVACY_MIN_GROUP = 5


@dataclass(frozen=True, slots=True)
class ReportScope:
    """The site, the range, and the targets and rules the charts are drawn against."""

    site: str
    timezone: str
    period: Period
    day_start: dt.time = dt.time(0)
    sliding_window_min: int = 30
    sl_target: float = 0.8
    sl_threshold_s: float = 20.0
    max_occupancy: float = DEFAULT_MAX_OCCUPANCY
    min_group: int = PRIVACY_MIN_GROUP
    raw_retention_days: int = 30
    escalate_after_s: float = 60.0

    @property
    def tz(self) -> ZoneInfo:
        """The site's time zone."""
        return ZoneInfo(self.timezone)


def scope_from_config(config: WallboardConfig, period: Period, site: str | None = None
                      ) -> ReportScope:
    """The scope of a report on ``site`` (default: the config's) over ``period``."""
    return ReportScope(
        site=site or config.site.id,
        timezone=config.site.timezone,
        period=period,
        day_start=config.site.day_start,
        sliding_window_min=config.site.sliding_window_min,
        sl_target=config.kpi.sl_target,
        sl_threshold_s=config.kpi.sl_threshold_s,
        min_group=max(PRIVACY_MIN_GROUP, config.wellbeing.min_group),
        raw_retention_days=config.recorder.raw_retention_days,
        escalate_after_s=config.help.escalate_after_s,
    )
