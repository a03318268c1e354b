"""The ``[recorder]`` section of ``wallboard.toml``: one recorder, its spool and retention."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, field_validator, model_validator

from wallboard.config_base import Section
from wallboard.messages import Id
from wallboard.recorder.downsampling import Retention

MAX_BATCH_LINES = 5_000  # InfluxDB's own advice for a write; more only adds latency here


class RecorderConfig(Section):
    """How the recorder stores every message in InfluxDB and keeps what it cannot yet."""

    id: Id = Field("main", description="This recorder's id: its client id, spool and health")
    client_id: Id | None = Field(
        None, description="MQTT client id; default 'wallboard-recorder-<site id>-<id>'")
    share_group: Id | None = Field(
        None, description="Split the load with other recorders in this shared-subscription "
                          "group (needs Mosquitto 2.0.12 or newer); --share overrides")
    session_expiry_s: int = Field(
        7 * 86_400, ge=60, le=30 * 86_400,
        description="How long the broker keeps queuing for a stopped recorder")
    spool_dir: Annotated[Path, Field(strict=False)] = Field(
        Path("/var/lib/wallboard/recorder"),
        description="Directory of the on-disk spool that holds what InfluxDB cannot take yet")
    batch_lines: int = Field(MAX_BATCH_LINES, ge=1, le=MAX_BATCH_LINES,
                             description="Most points in one write")
    linger_s: float = Field(1.0, gt=0, le=1.0,
                            description="Longest a message waits for its batch to fill")
    receive_maximum: int = Field(
        20_000, ge=2 * MAX_BATCH_LINES, le=65_535,
        description="Unacknowledged messages the broker may send ahead (MQTT 5)")
    write_timeout_s: float = Field(10.0, gt=0, le=120, description="One write's time limit")
    retry_s: float = Field(2.0, gt=0, le=60,
                           description="Wait between tries while InfluxDB is unreachable")
    health_interval_s: float = Field(10.0, gt=0, le=300,
                                     description="How often counters are published")
    raw_retention_days: int = Field(30, ge=1, le=36_500,
                                    description="How long raw points are kept")
    aggregate_retention_days: int = Field(
        730, ge=1, le=36_500, description="How long 1-minute and 15-minute aggregates are kept")

    wellbeing_retention_days: int = Field(
        30, ge=1, le=366,
        description="How long individual agents' wellbeing points are kept (privacy: "
                    "team aggregates are kept as long as other aggregates)")

    @field_validator("id")
    @classmethod
    def _not_status(cls, value: str) -> str:
        if value == "status":
            # service/recorder/status is the status topic of a service called "recorder".
            raise ValueError("'status' cannot be a recorder id")
        return value

    @model_validator(mode="after")
    def _aggregates_outlive_raw(self) -> Self:
        if self.aggregate_retention_days < self.raw_retention_days:
            raise ValueError("aggregate_retention_days must not be below raw_retention_days")
        return self

    @property
    def retention(self) -> Retention:
        """Retention in the form the downsampling plan takes."""
        return Retention(self.raw_retention_days, self.aggregate_retention_days,
                         self.wellbeing_retention_days)
