"""The one config file (``wallboard.toml``), validated by pydantic.

Any unknown key or bad value stops start-up with ``ConfigError`` naming the file, the dotted
key and the reason. Secrets never live in the file: it names the environment variables.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator

# MqttConfig is re-exported: code that loads wallboard.toml finds every section here.
from wallboard.config_base import MqttConfig as MqttConfig
from wallboard.config_base import Section, describe, fit_id, read_text, validate_toml
from wallboard.errors import ConfigError
from wallboard.floor.settings import FloorSettings, QueuePolicy
from wallboard.floor.wellbeing_config import WellbeingConfig
from wallboard.kiosk.config import KioskConfig
from wallboard.messages import Id, SlTreatment
from wallboard.recorder.config import RecorderConfig
from wallboard.telephony.settings import TelephonyConfig


class SiteConfig(Section):
    """Where the floor is, and how its day and sliding window are cut."""

    id: Id = Field("main", description="Site id, the topic segment after the root")
    timezone: str = Field("UTC", description="IANA time zone of the site, e.g. Europe/London")
    day_start: dt.time = Field(
        dt.time(0, 0), description="Local time the 'today' window starts, e.g. 06:00")
    sliding_window_min: int = Field(30, ge=1, le=1440, description="Sliding window length")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a directory
            raise ValueError(f"unknown time zone {name!r}") from None
        return name


class QueuePolicyConfig(Section):
    """How a queue's KPIs are computed (see docs/kpi.md)."""

    sl_threshold_s: float = Field(20.0, gt=0, description="Service level threshold T")
    sl_target: float = Field(0.8, gt=0, lt=1, description="Service level target, e.g. 0.8")
    short_abandon_s: float = Field(
        5.0, ge=0, description="Abandons at or under this wait are short: excluded")
    sl_treatment: SlTreatment = Field(
        "count_against", description="How abandons count in service level")

    @model_validator(mode="after")
    def _short_below_threshold(self) -> Self:
        if self.short_abandon_s >= self.sl_threshold_s:
            raise ValueError("short_abandon_s must be below sl_threshold_s")
        return self


class QueueOverride(Section):
    """Per-queue changes to the default policy; anything left out is inherited."""

    name: str | None = Field(None, max_length=64, description="Display name")
    sl_threshold_s: float | None = Field(None, gt=0)
    sl_target: float | None = Field(None, gt=0, lt=1)
    short_abandon_s: float | None = Field(None, ge=0)
    sl_treatment: SlTreatment | None = None


class InfluxConfig(Section):
    """The InfluxDB 1.x-compatible HTTP API (``/write`` and ``/query``)."""

    url: str = Field("http://localhost:8086", pattern=r"^https?://")
    database: Id = "wallboard"
    username: str | None = None
    password_env: str = "WALLBOARD_INFLUX_PASSWORD"
    token_env: str = Field(
        "WALLBOARD_INFLUX_TOKEN", description="If set, sent as 'Authorization: Token ...'")


class AgentInfo(Section):
    """One agent as screens show them: ``[agents.<agent id>]``."""

    name: str = Field(min_length=1, max_length=64,
                      description="Display name: supervisor screens show it in place of the id; "
                                  "floor screens with mask_names = 'initials' its initials")


class HelpConfig(Section):
    """Help requests from the desks."""

    escalate_after_s: float = Field(
        60.0, gt=0, le=3600,
        description="An unacknowledged request raises an alert after this; level 2 at twice it")


class HoldConfig(Section):
    """Hold reminders."""

    remind_after_s: float = Field(
        60.0, gt=0, le=3600, description="A hold longer than this nudges the agent's desk")


class ControllerConfig(Section):
    """The controller service."""

    client_id: Id | None = Field(
        None, description="MQTT client id; default 'wallboard-controller-<site id>'")
    session_expiry_s: int = Field(
        86_400, ge=0, le=7 * 86_400,
        description="How long the broker keeps queuing for a stopped controller")
    state_dir: Annotated[Path, Field(strict=False)] = Field(
        Path("/var/lib/wallboard/controller"),
        description="Directory for the event journal that restores today's counters")
    publish_min_interval_s: float = Field(
        1.0, gt=0, le=60, description="A snapshot topic is published at most this often")
    publish_max_interval_s: float = Field(
        5.0, gt=0, le=300, description="...and at least this often, even with no change")

    @model_validator(mode="after")
    def _min_not_above_max(self) -> Self:
        if self.publish_min_interval_s > self.publish_max_interval_s:
            raise ValueError("publish_min_interval_s must not exceed publish_max_interval_s")
        return self


class WallboardConfig(Section):
    """The whole ``wallboard.toml``."""

    site: SiteConfig = SiteConfig()
    mqtt: MqttConfig = MqttConfig()
    influx: InfluxConfig = InfluxConfig()
    kpi: QueuePolicyConfig = QueuePolicyConfig()
    queues: dict[Id, QueueOverride] = Field(default_factory=dict)
    agents: dict[Id, AgentInfo] = Field(
        default_factory=dict, description="Display names by agent id, for the wall screens")
    help: HelpConfig = HelpConfig()
    hold: HoldConfig = HoldConfig()
    wellbeing: WellbeingConfig = WellbeingConfig()
    controller: ControllerConfig = ControllerConfig()
    kiosk: KioskConfig = KioskConfig()
    recorder: RecorderConfig = RecorderConfig()
    telephony: TelephonyConfig | None = Field(
        None, description="The Asterisk adapter (docs/asterisk.md); leave out if none")

    @property
    def controller_client_id(self) -> str:
        """The controller's fixed MQTT client id, which keeps its persistent session."""
        return self.controller.client_id or fit_id(f"wallboard-controller-{self.site.id}")

    @property
    def recorder_client_id(self) -> str:
        """The recorder's fixed MQTT client id, which keeps its persistent session."""
        r = self.recorder
        return r.client_id or fit_id(f"wallboard-recorder-{self.site.id}-{r.id}")

    def policy_config(self, queue: str) -> QueuePolicyConfig:
        """The default policy with this queue's overrides applied."""
        override = self.queues.get(queue)
        if override is None:
            return self.kpi
        changes = override.model_dump(exclude_none=True, exclude={"name"})
        return QueuePolicyConfig(**{**self.kpi.model_dump(), **changes})

    def floor_settings(self) -> FloorSettings:
        """The pure floor model's settings, built from this config."""

        def policy(cfg: QueuePolicyConfig) -> QueuePolicy:
            return QueuePolicy(
                sl_threshold_s=cfg.sl_threshold_s,
                short_abandon_s=cfg.short_abandon_s,
                sl_treatment=cfg.sl_treatment,
                sl_target=cfg.sl_target,
            )

        return FloorSettings(
            timezone=ZoneInfo(self.site.timezone),
            day_start=self.site.day_start,
            window_s=self.site.sliding_window_min * 60.0,
            default=policy(self.kpi),
            queues={q: policy(self.policy_config(q)) for q in self.queues},
            escalate_after_s=self.help.escalate_after_s,
            hold_remind_s=self.hold.remind_after_s,
            strain=self.wellbeing.policy(),
        )


def parse_config(text: str, path: str = "wallboard.toml") -> WallboardConfig:
    """Validate TOML text; raise ``ConfigError`` naming ``path``, the key and the reason."""
    config = validate_toml(text, path, WallboardConfig)
    for queue in config.queues:
        # A queue's overrides are only checked once merged with the defaults they change.
        try:
            config.policy_config(queue)
        except ValidationError as exc:
            key, reason = describe(exc)
            prefix = f"queues.{queue}"
            raise ConfigError(path, prefix if key == "(top level)" else f"{prefix}.{key}",
                              reason) from None
    return config


def load_config(path: Path) -> WallboardConfig:
    """Read and validate the config file at ``path``."""
    return parse_config(read_text(path), str(path))
