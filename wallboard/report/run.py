"""The shell of ``wallboard report``: run the queries, shape the answers, write the file.

All I/O of the report lives here: InfluxDB over ``InfluxHttp``, plotly.js's source, the
output file and the terminal. The clock arrives as ``now``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from wallboard.adapters.influx import InfluxHttp
from wallboard.config import WallboardConfig
from wallboard.report.chart_data import Answers, ReportData, report_data
from wallboard.report.charts import day_label, report_charts
from wallboard.report.page import report_html
from wallboard.report.period import Period
from wallboard.report.queries import Query, report_queries
from wallboard.report.scope import ReportScope, scope_from_config

log = logging.getLogger(__name__)

# Called before each query with (queries done, queries in all, what is being asked).
OnQuery = Callable[[int, int, str], None]
QUERY_TIMEOUT_S = 60.0  # a year of 15-minute aggregates takes InfluxDB a few seconds


def run_queries(db: InfluxHttp, queries: Sequence[Query], on_query: OnQuery | None = None
                ) -> dict[str, list[dict[str, Any]]]:
    """Every query's results, by query name."""
    answers = {}
    for done, query in enumerate(queries):
        if on_query is not None:
            on_query(done, len(queries), query.what)
        log.debug("query %s: %s", query.name, query.text)
        answers[query.name] = db.query(query.text)
    return answers


def period_text(period: Period) -> str:
    """``Mon 16 Nov 2026 to Sun 22 Nov 2026``, or with times when they are not midnight."""
    start, last = period.start, period.end
    if start.time() == dt.time(0) and last.time() == dt.time(0):
        last -= dt.timedelta(days=1)  # the range is half-open: name the last day in it
        return f"{day_label(start.date())} {start.year} to {day_label(last.date())} {last.year}"
    return f"{start:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}"


def render(data: ReportData, now: float, plotly_js: str) -> str:
    """The report's HTML for shaped data."""
    scope = data.scope
    generated = dt.datetime.fromtimestamp(now, scope.tz)
    return report_html(
        report_charts(data), f"Wallboard report: site {scope.site}",
        f"{period_text(scope.period)}, site time ({scope.timezone}). "
        f"Generated {generated:%Y-%m-%d %H:%M}.", plotly_js)


def plotly_source() -> str:
    """plotly.js, from the installed plotly package: no CDN."""
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

    source: str = get_plotlyjs()
    return source


def build_report(scope: ReportScope, db: InfluxHttp, now: float,
                 on_query: OnQuery | None = None) -> tuple[ReportData, str]:
    """Query, shape and render: the data and the page."""
    queries = report_queries(scope, now)
    answers: Answers = run_queries(db, queries, on_query)
    if on_query is not None:
        on_query(len(queries), len(queries), "drawing the charts")
    data = report_data(scope, answers)
    return data, render(data, now, plotly_source())


def write_report(config: WallboardConfig, period: Period, out: Path, *, now: float,
                 site: str | None = None, on_query: OnQuery | None = None) -> ReportData:
    """Write the report for ``site`` over ``period`` to ``out``; return what it shows.

    Raises ``InfluxUnavailable`` or ``InfluxRefused`` as ``InfluxHttp.query`` does.
    """
    scope = scope_from_config(config, period, site)
    db = InfluxHttp.from_config(config.influx, timeout_s=QUERY_TIMEOUT_S)
    try:
        data, page = build_report(scope, db, now, on_query)
    finally:
        db.close()
    out.write_text(page, encoding="utf-8")
    return data
