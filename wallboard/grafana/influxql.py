"""Raw InfluxQL targets for Grafana panels, and the datasource they all query.

grafana-foundation-sdk builds dashboards, panels and variables, but has no InfluxDB query
type: this module adds one. A target is raw InfluxQL (``rawQuery: true``), stored as
Grafana's InfluxDB plugin stores a query typed into its raw editor, on the datasource that
``grafana/provisioning/datasources/wallboard.yaml`` provisions under ``DATASOURCE_UID``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models.dashboard import DataSourceRef

DATASOURCE_TYPE = "influxdb"
DATASOURCE_UID = "wallboard-influxdb"  # the provisioned datasource's uid
DATASOURCE = DataSourceRef(type_val=DATASOURCE_TYPE, uid=DATASOURCE_UID)

ResultFormat = Literal["time_series", "table"]


@dataclass(frozen=True, slots=True)
class InfluxQLTarget(Dataquery):
    """One raw InfluxQL query of a panel, as the SDK's JSON encoder writes it."""

    query: str
    ref_id: str = "A"
    alias: str | None = None  # legend name; $tag_<key> names a series by its tag
    result_format: ResultFormat = "time_series"

    def to_json(self) -> dict[str, object]:
        """The target as Grafana stores it in a dashboard."""
        payload: dict[str, object] = {
            "datasource": DATASOURCE,
            "query": self.query,
            "rawQuery": True,
            "refId": self.ref_id,
            "resultFormat": self.result_format,
        }
        if self.alias is not None:
            payload["alias"] = self.alias
        return payload


class InfluxQL(Builder[Dataquery]):
    """Builds an ``InfluxQLTarget``, for a panel's ``with_target``."""

    def __init__(self, query: str, *, ref_id: str = "A", alias: str | None = None,
                 table: bool = False) -> None:
        """``table``: rows and columns (a table panel) rather than one series per group."""
        self._target = InfluxQLTarget(query, ref_id, alias, "table" if table else "time_series")

    def build(self) -> InfluxQLTarget:
        """The target."""
        return self._target
