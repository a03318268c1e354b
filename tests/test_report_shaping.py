"""Table-driven tests of the report's pure middle and back: InfluxDB answers into chart data,
chart data into figures, figures into one offline page, and the progress bar."""

import datetime as dt
import io
import json
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from wallboard.report import queries as q
from wallboard.report.chart_data import (
    OfferedHeatmap,
    distribution,
    hours_of,
    offered_heatmap,
    report_data,
    service_level,
    staffing,
    team_strain,
)
from wallboard.report.charts import Chart, broken, line_mode, ratio_range, report_charts
from wallboard.report.page import report_html
from wallboard.report.period import Period, period_of
from wallboard.report.progress import Progress, bar_text
from wallboard.report.results import Row, parse_time, rows_of
from wallboard.report.scope import ReportScope

UTC = ZoneInfo("UTC")
LONDON = ZoneInfo("Europe/London")
WEEK = Period(dt.datetime(2026, 11, 16, tzinfo=UTC), dt.datetime(2026, 11, 23, tzinfo=UTC))
SCOPE = ReportScope("hq", "UTC", WEEK)
MONDAY_9 = dt.datetime(2026, 11, 16, 9, tzinfo=UTC)


def result(columns: list[str], *values: tuple[Any, ...], tags: dict[str, str] | None = None,
           name: str = "m") -> dict[str, Any]:
    """One statement's result as InfluxDB's JSON has it."""
    series: dict[str, Any] = {"name": name, "columns": ["time", *columns],
                              "values": [list(v) for v in values]}
    if tags:
        series["tags"] = tags
    return {"statement_id": 0, "series": [series]}


def at(hours: float) -> str:
    """Monday 09:00 UTC plus ``hours``, as InfluxDB writes times."""
    return (MONDAY_9 + dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def row(hours: float, tags: dict[str, str] | None = None, **values: float | None) -> Row:
    return Row(MONDAY_9 + dt.timedelta(hours=hours), values, tags or {})


# --- InfluxDB's JSON --------------------------------------------------------------------------

TIMES = [
    ("utc", "2026-11-16T09:00:00Z", UTC, dt.datetime(2026, 11, 16, 9, tzinfo=UTC)),
    ("offset-from-tz-clause", "2026-07-06T09:00:00+01:00", LONDON,
     dt.datetime(2026, 7, 6, 9, tzinfo=LONDON)),
    ("nanoseconds", "2026-11-16T09:00:00.123456789Z", UTC,
     dt.datetime(2026, 11, 16, 9, 0, 0, 123456, tzinfo=UTC)),
    ("shown-in-site-time", "2026-07-06T08:00:00Z", LONDON,
     dt.datetime(2026, 7, 6, 9, tzinfo=LONDON)),
]


@pytest.mark.parametrize(("text", "tz", "expected"), [t[1:] for t in TIMES],
                         ids=[t[0] for t in TIMES])
def test_influx_times_parse_into_site_time(text, tz, expected):
    parsed = parse_time(text, tz)
    assert parsed == expected and parsed.tzinfo == tz


def test_rows_keep_numbers_tags_and_nulls_and_drop_what_is_not_a_number():
    answer = result(["calls", "aht_s", "flag", "text"], (at(0), 5, None, True, "x"),
                    tags={"event": "offered"})
    (only,) = rows_of(answer, UTC)
    assert only.time == MONDAY_9 and only.tags == {"event": "offered"}
    assert only.values == {"calls": 5.0, "aht_s": None, "flag": None, "text": None}


def test_a_statement_that_matched_nothing_has_no_rows():
    assert rows_of({"statement_id": 0}, UTC) == []


# --- chart data -------------------------------------------------------------------------------


def test_service_level_skips_closed_intervals_and_judges_each_against_the_target():
    data = service_level([row(0, service_level=0.85), row(0.5, service_level=None),
                          row(1, service_level=0.79), row(1.5, service_level=0.8)], SCOPE)
    assert data.values == (0.85, 0.79, 0.8)
    assert data.met() == (True, False, True)


HEATMAPS = [
    # (id, zone, hourly rows as (UTC time, calls), expected peak (weekday, hour))
    ("monday-morning", "UTC", [("2026-11-16T10:00:00Z", 30), ("2026-11-17T10:00:00Z", 20)],
     (0, 10)),
    ("same-cell-of-two-weeks-adds-up", "UTC",
     [("2026-11-16T10:00:00Z", 30), ("2026-11-17T15:00:00Z", 40),
      ("2026-11-23T10:00:00Z", 30)], (0, 10)),
    ("folded-in-site-time", "Europe/London", [("2026-07-06T09:00:00Z", 30)], (0, 10)),
    ("tie-goes-to-the-earliest", "UTC",
     [("2026-11-17T09:00:00Z", 10), ("2026-11-16T11:00:00Z", 10)], (0, 11)),
]


@pytest.mark.parametrize(("zone", "hours", "peak"), [h[1:] for h in HEATMAPS],
                         ids=[h[0] for h in HEATMAPS])
def test_calls_offered_fold_into_weekday_by_hour(zone, hours, peak):
    tz = ZoneInfo(zone)
    data = offered_heatmap(rows_of(result(["offered"], *hours), tz))
    assert data.peak() == peak
    assert data.total() == sum(calls for _, calls in hours)


def test_an_empty_heatmap_has_no_calls():
    assert OfferedHeatmap(tuple((0.0,) * 24 for _ in range(7))).total() == 0


STAFFING = [
    # (id, demand rows, staffed rows, expected required, expected understaffed)
    # docs/kpi.md (Erlang C): 100 calls in 30 min at AHT 180 s need 14 agents for 80% in 20 s.
    ("published-example", [row(0, {"event": "offered"}, calls=100),
                           row(0, {"event": "completed"}, calls=100, handle_s=18_000,
                               handles=100)],
     [row(0, staffed=13.5)], (14,), (True,)),
    ("enough-agents", [row(0, {"event": "offered"}, calls=100),
                       row(0, {"event": "completed"}, handle_s=18_000, handles=100)],
     [row(0, staffed=14.0)], (14,), (False,)),
    ("closed-needs-nobody", [row(0, {"event": "offered"}, calls=0)], [row(0, staffed=0.0)],
     (0,), (False,)),
    ("no-completion-borrows-the-range-aht",
     [row(0, {"event": "offered"}, calls=100),
      row(1, {"event": "offered"}, calls=100),
      row(1, {"event": "completed"}, handle_s=9_000, handles=50)],
     [], (14, 14), (False, False)),
    ("no-aht-at-all", [row(0, {"event": "offered"}, calls=10)], [row(0, staffed=3.0)],
     (None,), (False,)),
    ("staffed-but-no-calls-recorded", [], [row(0, staffed=2.0)], (0,), (False,)),
]


@pytest.mark.parametrize(("demand", "floor", "required", "short"), [s[1:] for s in STAFFING],
                         ids=[s[0] for s in STAFFING])
def test_staffing_required_by_erlang_c_against_staffed(demand, floor, required, short):
    data = staffing(demand, floor, SCOPE)
    assert data.required == required
    assert data.understaffed() == short


def test_team_strain_never_shows_a_group_below_the_privacy_minimum():
    rows = [row(0, {"team": "big"}, score=40.0, agents=12.0),
            row(0, {"team": "small"}, score=90.0, agents=4.0),
            row(1, {"team": "big"}, score=None, agents=12.0)]
    data = team_strain(rows, SCOPE)
    assert data.teams == ("big",)
    assert len(data.times) == 7 * 24  # the whole range, so the heatmap keeps its time scale
    scores = dict(zip(data.times, data.scores[0], strict=True))
    assert scores[MONDAY_9] == 40.0
    assert scores[MONDAY_9 + dt.timedelta(hours=1)] is None


HOURS = [
    # (id, zone, first day, last day, hours, first hour in site time)
    ("utc-week", "UTC", dt.date(2026, 11, 16), dt.date(2026, 11, 22), 168, "2026-11-16 00:00"),
    ("spring-forward-week", "Europe/London", dt.date(2026, 3, 23), dt.date(2026, 3, 29), 167,
     "2026-03-23 00:00"),
    ("half-hour-zone", "Asia/Kolkata", dt.date(2026, 11, 16), dt.date(2026, 11, 16), 24,
     "2026-11-16 00:00"),
]


@pytest.mark.parametrize(("zone", "first", "last", "count", "start"), [h[1:] for h in HOURS],
                         ids=[h[0] for h in HOURS])
def test_the_team_grid_has_every_site_hour_of_the_range(zone, first, last, count, start):
    tz = ZoneInfo(zone)
    hours = hours_of(ReportScope("hq", zone, period_of(first, last, tz)))
    assert len(hours) == count
    assert hours[0].strftime("%Y-%m-%d %H:%M") == start
    assert all(h.minute == 0 for h in hours)


DISTRIBUTIONS = [
    ("percentiles", [row(0, requests=10, p50=60.0, p90=150.0, p100=300.0)],
     10, 150.0),
    ("nothing-acknowledged", [row(0, requests=0, p50=None)], None, None),
    ("no-rows", [], None, None),
]


@pytest.mark.parametrize(("rows", "requests", "p90"), [d[1:] for d in DISTRIBUTIONS],
                         ids=[d[0] for d in DISTRIBUTIONS])
def test_help_spread_from_the_percentile_row(rows, requests, p90):
    spread = distribution(rows)
    if requests is None:
        assert spread is None
    else:
        assert spread is not None
        assert spread.requests == requests and spread.at(90) == p90
        assert [p for p, _ in spread.points] == [50.0, 90.0, 100.0]


def test_lines_break_over_missing_intervals():
    times = [MONDAY_9, MONDAY_9 + dt.timedelta(minutes=30), MONDAY_9 + dt.timedelta(hours=3)]
    xs, ys = broken(times, [1.0, 2.0, 3.0], dt.timedelta(minutes=30))
    assert ys == [1.0, 2.0, None, 3.0]
    assert xs[2] == "2026-11-16 10:00"


# --- the whole page ---------------------------------------------------------------------------

ANSWERS = {
    q.FLOOR_INTERVALS: [result(["service_level", "abandon_rate", "aht_s", "staffed"],
                               (at(0), 0.9, 0.02, 250.0, 12.0), (at(0.5), 0.7, 0.05, 260.0, 9.0))],
    q.FLOOR_DAYS: [result(["service_level", "abandon_rate", "aht_s", "help_requests",
                           "ack_p50_s", "ack_p90_s", "resolve_p50_s", "resolve_p90_s"],
                          ("2026-11-16T00:00:00Z", 0.8, 0.03, 255.0, 4, 30.0, 80.0, 120.0,
                           300.0))],
    q.OFFERED_HOURLY: [result(["offered"], (at(0), 40), (at(1), 55))],
    q.DEMAND_INTERVALS: [{"statement_id": 0, "series": [
        {"name": "call", "tags": {"event": "offered"}, "columns": ["time", "calls", "handle_s",
                                                                   "handles"],
         "values": [[at(0), 20, None, None], [at(0.5), 30, None, None]]},
        {"name": "call", "tags": {"event": "completed"}, "columns": ["time", "calls",
                                                                     "handle_s", "handles"],
         "values": [[at(0), 18, 4500.0, 18]]}]}],
    q.HELP_ALERTS: [result(["alerts", "level_max"], ("2026-11-16T00:00:00Z", 3, 2))],
    q.HELP_DISTRIBUTION: [result(["requests", "p50", "p90", "p100"], (at(0), 4, 30.0, 80.0,
                                                                      95.0)),
                          result(["requests", "p50", "p90", "p100"], (at(0), 4, 120.0, 300.0,
                                                                      310.0))],
    q.TEAM_STRAIN: [result(["score", "agents"], (at(0), 35.0, 9.0), tags={"team": "t1"})],
}
ISLAND = re.compile(r'<script type="application/json" data-chart="chart-([a-z-]+)">(.*?)'
                    r"</script>", re.S)


def page_of(answers: dict[str, Any], scope: ReportScope = SCOPE) -> tuple[list[Chart], str]:
    charts = report_charts(report_data(scope, answers))
    return charts, report_html(charts, "Report </script><script>alert(1)</script>", "sub",
                               "/* plotly.js */ var s = '</script>';")


def test_the_page_holds_six_figures_as_json_and_plotly_once():
    _, page = page_of(ANSWERS)
    islands = dict(ISLAND.findall(page))
    assert list(islands) == ["service-level", "offered", "abandon-aht", "help", "staffing",
                             "teams"]
    for key, text in islands.items():
        figure = json.loads(text)
        assert figure["data"], key
        assert figure["layout"]["title"]["text"].endswith("?"), key  # a question, one line
        assert "\n" not in figure["layout"]["title"]["text"]
    assert page.count("/* plotly.js */") == 1


def test_nothing_in_the_page_can_close_a_script_early_or_fetch_anything():
    _, page = page_of(ANSWERS)
    assert "<script>alert(1)" not in page
    assert "var s = '<\\/script>'" in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)


def test_an_empty_range_still_renders_every_chart_saying_so():
    charts, page = page_of({})
    assert len(charts) == 6
    assert [c.finding for c in charts][:2] == [
        "No data for this period: no service level recorded.",
        "No data for this period: no calls offered."]
    assert all(c.finding.startswith("No data for this period") for c in charts)
    assert len(ISLAND.findall(page)) == 6
    for chart in charts:
        layout = chart.figure.to_plotly_json()["layout"]
        notes = [a["text"] for a in layout.get("annotations", ())]
        assert any("No data for this period" in note for note in notes), chart.key
        # No made-up scale: every axis of an empty chart is hidden, and nothing is drawn.
        axes = {k: v for k, v in layout.items() if k.startswith(("xaxis", "yaxis"))}
        assert axes and all(axis.get("visible") is False for axis in axes.values()), chart.key
        drawn = [t.type for t in chart.figure.to_plotly_json()["data"]
                 if t["type"] == "heatmap" or any(v is not None for v in t.get("y") or ())]
        assert drawn == [], chart.key


def test_a_short_range_leaves_the_rest_of_the_week_blank_not_zero():
    rows = rows_of(result(["offered"], ("2026-11-16T09:00:00Z", 12), ("2026-11-16T10:00:00Z",
                                                                      0)), ZoneInfo("UTC"))
    data = offered_heatmap(rows)
    assert data.calls[0][9] == 12 and data.calls[0][10] == 0  # a quiet hour is a zero
    assert data.calls[0][11] is None and data.calls[3][9] is None  # outside: nothing known
    assert data.total() == 12 and data.peak() == (0, 9)


RATIOS = [
    # (values, axis range): 0 to 100% at most, fitted above the highest value
    ([0.02, 0.05, None], [0.0, 0.0575]),
    ([0.001], [0.0, 0.05]),
    ([0.9, 1.0], [0.0, 1.0]),
    ([None], [0.0, 0.05]),
]


@pytest.mark.parametrize(("values", "bounds"), RATIOS)
def test_ratio_axes_stay_within_0_and_100_percent(values, bounds):
    assert ratio_range(values) == pytest.approx(bounds)


def test_a_whole_abandon_axis_is_a_ratio_axis_and_alerts_are_counted():
    charts, _ = page_of(ANSWERS)
    by_key = {c.key: c for c in charts}
    layout = by_key["abandon-aht"].figure.to_plotly_json()["layout"]
    assert 0 < layout["yaxis"]["range"][1] <= 1
    assert "3 help alerts raised or escalated" in by_key["help"].finding


def test_without_raw_the_help_chart_says_how_long_individual_times_are_kept():
    answers = {k: v for k, v in ANSWERS.items() if k != q.HELP_DISTRIBUTION}
    charts, _ = page_of(answers)
    help_chart = next(c for c in charts if c.key == "help")
    notes = [a["text"] for a in help_chart.figure.to_plotly_json()["layout"]["annotations"]]
    assert any("kept 30 days" in note for note in notes)


# --- progress ---------------------------------------------------------------------------------

BARS = [
    (0, 7, "floor KPIs per interval", "[........................] 0/7 floor KPIs per interval"),
    (3, 6, "x", "[############............] 3/6 x"),
    (6, 6, "done", "[########################] 6/6 done"),
    (0, 0, "nothing", "[########################] 0/0 nothing"),
]


@pytest.mark.parametrize(("done", "total", "label", "text"), BARS)
def test_progress_bar_text(done, total, label, text):
    assert bar_text(done, total, label) == text


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_draws_on_a_terminal_only_and_clears_its_line():
    piped = io.StringIO()
    Progress(piped).show(1, 2, "x")
    assert piped.getvalue() == ""
    terminal = Terminal()
    progress = Progress(terminal)
    progress.show(0, 2, "a longer label")
    progress.show(1, 2, "short")
    progress.finish()
    lines = terminal.getvalue().split("\r")
    assert lines[1] == bar_text(0, 2, "a longer label")
    assert lines[2] == bar_text(1, 2, "short").ljust(len(lines[1]))
    assert lines[-2].strip() == "" and lines[-1] == ""


def test_a_short_range_s_day_figure_sits_inside_the_range():
    two_hours = ReportScope("hq", "UTC", Period(MONDAY_9 - dt.timedelta(hours=1), MONDAY_9 +
                                                dt.timedelta(hours=1)))
    answers = {q.FLOOR_DAYS: [result(["abandon_rate", "aht_s", "offered", "answered"],
                                     ("2026-11-16T00:00:00Z", 0.04, 250.0, 120, 110))]}
    charts = report_charts(report_data(two_hours, answers))
    chart = next(c for c in charts if c.key == "abandon-aht")
    days = [t for t in chart.figure.to_plotly_json()["data"] if t["name"].endswith(", day")]
    assert [list(t["x"]) for t in days] == [["2026-11-16 10:00"]] * 2  # not at noon
    assert chart.finding.startswith("120 calls offered, 110 answered; daily abandon rate 4.0%")


def test_a_single_interval_is_drawn_in_place_on_the_range_s_axis():
    """A demo's first hour: one interval of service level, one of staffing. Plotly alone
    would draw the lone bar across a sub-second axis and the lone points not at all."""
    day = ReportScope("hq", "UTC", Period(MONDAY_9 - dt.timedelta(hours=9),
                                          MONDAY_9 + dt.timedelta(hours=15)))
    answers = {
        q.FLOOR_INTERVALS: [result(["service_level", "abandon_rate", "aht_s", "staffed"],
                                   (at(0), 0.9, 0.02, 250.0, 12.0))],
        q.DEMAND_INTERVALS: [{"statement_id": 0, "series": [
            {"name": "call", "tags": {"event": "offered"},
             "columns": ["time", "calls", "handle_s", "handles"],
             "values": [[at(-1), 20, None, None], [at(-0.5), 25, None, None],
                        [at(0), 30, None, None]]},
            {"name": "call", "tags": {"event": "completed"},
             "columns": ["time", "calls", "handle_s", "handles"],
             "values": [[at(-1), 18, 4500.0, 18], [at(-0.5), 24, 6000.0, 24],
                        [at(0), 28, 7000.0, 28]]}]}],
    }
    charts = {c.key: c for c in report_charts(report_data(day, answers))}
    whole_day = ["2026-11-16 00:00", "2026-11-17 00:00"]
    for key in ("service-level", "abandon-aht", "staffing"):
        assert list(charts[key].figure.layout.xaxis.range) == whole_day, key
    (bar,) = charts["service-level"].figure.data
    assert list(bar.x) == ["2026-11-16 09:00"] and list(bar.width) == [30 * 60_000]
    thin = [t for t in charts["abandon-aht"].figure.data if t.name in ("abandon rate", "AHT")]
    assert [t.mode for t in thin] == ["lines+markers"] * 2
    staffed = next(t for t in charts["staffing"].figure.data if t.name == "staffed")
    assert staffed.mode == "lines+markers"
    assert charts["staffing"].finding == (
        "0 of 1 intervals with calls and a staffed count were understaffed; agents staffed "
        "not recorded for 2 of 3.")


@pytest.mark.parametrize(("values", "mode"), [
    ([1.0] * 49, "lines"), ([1.0] * 48 + [None] * 10, "lines+markers"), ([], "lines+markers"),
    ([None, 0.5], "lines+markers")])
def test_only_a_sparse_series_gets_markers(values, mode):
    assert line_mode(values) == mode
