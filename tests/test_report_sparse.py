"""The report on sparse data, as a demo leaves it: two hours of a simulated floor, stored
raw by the recorder's schema, with no aggregates (the continuous queries resample only the
last 30 minutes of InfluxDB's own clock, so they never saw these points). Its figures must
be the controller's, its empty charts must say so in words, in headless Chromium too."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from pathlib import Path

import pytest

from tests.live import require
from wallboard.adapters.influx import InfluxHttp
from wallboard.devservices import Influxd
from wallboard.floor.help import ALERT_KIND
from wallboard.floor.settings import FloorSettings
from wallboard.messages import Alert, CallEvent, Envelope, FloorKpi, decode
from wallboard.recorder.downsampling import Retention, backfill_statements
from wallboard.report import queries as q
from wallboard.report.browser import check_page
from wallboard.report.chart_data import ReportData, report_data
from wallboard.report.period import Period
from wallboard.report.queries import AGGREGATED, RAW_POINTS, Source, report_queries, source_for
from wallboard.report.run import build_report, run_queries
from wallboard.report.scope import ReportScope
from wallboard.services.database_setup import init_database
from wallboard.services.history import DAY, site_history, store_history
from wallboard.sim.floor import SimSettings

HOURS = 2
MINUS = "\u2212"  # plotly.js draws negative tick labels with a minus sign
UTC = dt.UTC


@dataclasses.dataclass(frozen=True)
class Published:
    """What the controller published over the period, counted from its own messages."""

    offered: int
    alerts: int
    escalated: int
    last_floor: FloorKpi


@dataclasses.dataclass(frozen=True)
class Sparse:
    influxd: Influxd
    db: InfluxHttp
    start: float
    end: float
    published: Published


def a_weekday_morning(now: float) -> float:
    """08:00 UTC of the latest weekday before today: a simulated floor is open then, and
    the continuous queries, which look back 30 minutes, have long passed it."""
    day = now // DAY * DAY - DAY
    while time.gmtime(day).tm_wday >= 5:
        day -= DAY
    return day + 8 * 3600


@pytest.fixture
def sparse(influxd: Influxd, influx_db: str):
    start = a_weekday_morning(time.time())
    end = start + HOURS * 3600
    sim = SimSettings(agents=30, queues=4, site="hq", seed=7)
    # Help alerts after 20 s, as a demo might set: several alerts in two hours.
    messages = list(site_history(sim, start, end, FloorSettings(escalate_after_s=20.0)))
    offered = alerts = escalated = 0
    last_floor = None
    for at, topic, payload in messages:
        item = decode(topic, payload, now=at, root=sim.root)
        if not isinstance(item, Envelope):
            continue  # an alert cleared
        message = item.message
        if isinstance(message, CallEvent) and message.event == "offered":
            offered += 1
        elif isinstance(message, Alert) and message.kind == ALERT_KIND:
            alerts += 1
            escalated += message.level >= 2
        elif isinstance(message, FloorKpi):
            last_floor = message
    assert last_floor is not None and offered > 100 and alerts > 2 and escalated
    db = InfluxHttp(influxd.url, influx_db, timeout_s=120)
    init_database(db, Retention())
    # An empty span to fill: no aggregates, only what the recorder writes itself.
    store_history(db, iter(messages), start, start, root=sim.root)
    yield Sparse(influxd, db, start, end, Published(offered, alerts, escalated, last_floor))
    db.close()


def report(sparse: Sparse, start: float, end: float, out: Path) -> ReportData:
    period = Period(dt.datetime.fromtimestamp(start, UTC), dt.datetime.fromtimestamp(end, UTC))
    scope = ReportScope(site="hq", timezone="UTC", period=period, escalate_after_s=20.0)
    data, page = build_report(scope, sparse.db, time.time())
    out.write_text(page, encoding="utf-8")
    return data


def test_nothing_was_aggregated_so_the_report_reads_raw_points(sparse):
    answer = sparse.influxd.query('SELECT count("calls") FROM "agg_15m"."call"',
                                  db=sparse.db.database)
    assert "series" not in answer["results"][0]  # as the demo's database was
    period = Period(dt.datetime.fromtimestamp(sparse.start, UTC),
                    dt.datetime.fromtimestamp(sparse.end, UTC))
    scope = ReportScope(site="hq", timezone="UTC", period=period)
    assert source_for(scope, time.time()) == RAW_POINTS
    for query in report_queries(scope, time.time()):
        assert '"agg_15m"' not in query.text


def test_the_report_s_figures_are_what_the_controller_published(sparse, tmp_path):
    published = sparse.published
    data = report(sparse, sparse.start, sparse.end, tmp_path / "report.html")
    assert data.offered.total() == published.offered
    assert sum(data.staffing.offered) == published.offered
    assert sum(data.help.alerts) == published.alerts  # it said "0 help alerts" before
    assert data.help.alert_level_max == (2.0,)
    today = published.last_floor.today
    assert data.abandon_aht.day_offered == (today.offered,)
    assert data.abandon_aht.day_answered == (today.answered,)
    assert data.abandon_aht.day_abandon_rate == (today.abandon_rate,)
    assert len(data.service_level.values) == HOURS * 2
    assert data.teams.teams  # two teams of 15
    # Outside the two hours, the heatmap claims nothing; inside, each hour has its calls.
    cells = [c for day in data.offered.calls for c in day if c is not None]
    assert len(cells) == HOURS


def test_in_chromium_the_figures_show_and_empty_charts_say_so(sparse, tmp_path):
    require("chromium", "chromium")
    published = sparse.published
    full = tmp_path / "sparse.html"
    report(sparse, sparse.start, sparse.end, full)
    check = check_page(full)
    assert check.rendered and check.errors == ()
    texts = check.texts
    assert not any("No data for this period" in text for text in texts.values())
    assert f"{published.offered} calls offered" in full.read_text(encoding="utf-8")
    assert f"{published.alerts} help alerts raised or escalated" in full.read_text(
        encoding="utf-8")
    abandon_ticks = check.y_ticks["chart-abandon-aht"]
    assert abandon_ticks and all(_percent(t) <= 100 for t in abandon_ticks), abandon_ticks

    # The hour before the floor opened: nothing recorded, and every chart says so.
    empty = tmp_path / "empty.html"
    report(sparse, sparse.start - 3600, sparse.start, empty)
    check = check_page(empty)
    assert check.rendered and check.errors == ()
    assert len(texts) == 6 and set(check.texts) == set(texts)
    for key, text in check.texts.items():
        assert "No data for this period" in text, key
        assert check.y_ticks[key] == (), key  # no axes invented: no -1 to 6
        assert f"{MINUS}1" not in text, key


def _percent(label: str) -> float:
    return float(label.replace("%", "").replace(MINUS, "-"))


def test_once_aggregated_the_aggregates_give_the_same_figures(sparse):
    for statement in backfill_statements(sparse.db.database, sparse.start, sparse.end):
        sparse.db.query(statement)
    period = Period(dt.datetime.fromtimestamp(sparse.start, UTC),
                    dt.datetime.fromtimestamp(sparse.end, UTC))
    scope = ReportScope(site="hq", timezone="UTC", period=period)

    def shaped(points: Source) -> ReportData:
        queries = [build(scope, points) for build in (
            q.floor_intervals, q.floor_days, q.offered_hourly, q.demand_intervals,
            q.help_alerts, q.team_strain)]
        assert all((points.policy in query.text) for query in queries)
        return report_data(scope, run_queries(sparse.db, queries))

    raw, aggregated = shaped(RAW_POINTS), shaped(AGGREGATED)
    assert raw.offered == aggregated.offered
    assert raw.help.alerts == aggregated.help.alerts
    assert raw.help.alert_level_max == aggregated.help.alert_level_max
    assert raw.abandon_aht == aggregated.abandon_aht
    assert raw.service_level == aggregated.service_level
    assert raw.staffing.offered == aggregated.staffing.offered
    assert raw.staffing.required == aggregated.staffing.required
    assert raw.staffing.staffed == pytest.approx(aggregated.staffing.staffed)
    assert raw.teams.teams == aggregated.teams.teams
