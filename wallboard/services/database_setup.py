"""``wallboard recorder --init-db``: bring InfluxDB to the retention policies and continuous
queries in ``wallboard.recorder.downsampling``, changing only what differs."""

from __future__ import annotations

import logging
from typing import Any

from wallboard.adapters.influx import InfluxHttp
from wallboard.recorder.downsampling import Policy, Retention, hours_of, plan, quote

log = logging.getLogger(__name__)


def _rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every row of one statement's result, as column -> value."""
    rows = []
    for series in result.get("series", []):
        columns = series["columns"]
        rows += [dict(zip(columns, values, strict=True)) for values in series.get("values", [])]
    return rows


def init_database(db: InfluxHttp, retention: Retention) -> list[str]:
    """Create or correct the database, its policies and queries; return what was run."""
    databases = {row["name"] for row in _rows(db.query("SHOW DATABASES", database=False)[0])}
    exists = db.database in databases
    policies: dict[str, Policy] = {}
    queries: set[str] = set()
    if exists:
        target = quote(db.database)
        for row in _rows(db.query(f"SHOW RETENTION POLICIES ON {target}", database=False)[0]):
            policies[row["name"]] = Policy(row["name"], hours_of(row["duration"]),
                                           bool(row["default"]))
        for series in db.query("SHOW CONTINUOUS QUERIES", database=False)[0].get("series", []):
            if series["name"] == db.database:
                queries |= {values[0] for values in series.get("values", [])}
    statements = plan(db.database, retention, database_exists=exists,
                      existing_policies=policies, existing_queries=queries)
    for statement in statements:
        log.info("influxdb: %s", statement)
        db.query(statement, database=False)
    return statements
