"""``wallboard report`` on the simulated week, through the real CLI and a real InfluxDB, and
the page it writes in headless Chromium: it renders offline, with no console error and no
request for anything outside the file."""

import datetime as dt
import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest

from tests.live import ROOT_DIR, require
from wallboard.report.browser import check_page

DOC_SCREENSHOT = ROOT_DIR / "docs" / "screenshots" / "report.png"
# `make screenshots` sets this to refresh the committed picture; a plain test run leaves it.
UPDATE_DOCS = os.environ.get("WALLBOARD_UPDATE_SCREENSHOTS") == "1"
ISLAND = re.compile(r'<script type="application/json" data-chart="chart-([a-z-]+)">(.*?)'
                    r"</script>", re.S)
CHARTS = ["service-level", "offered", "abandon-aht", "help", "staffing", "teams"]


@pytest.fixture(scope="module")
def week_report(simulated_week, tmp_path_factory):
    """The report for the simulated week, written by ``wallboard report`` in a subprocess."""
    work = tmp_path_factory.mktemp("report")
    config = work / "wallboard.toml"
    config.write_text(f'[site]\nid = "{simulated_week.site}"\ntimezone = "UTC"\n'
                      f'[influx]\nurl = "{simulated_week.influxd.url}"\n'
                      f'database = "{simulated_week.db}"\n')
    first = dt.datetime.fromtimestamp(simulated_week.start, dt.UTC).date()
    last = dt.datetime.fromtimestamp(simulated_week.end, dt.UTC).date() - dt.timedelta(days=1)
    out = work / "report.html"
    process = subprocess.run(
        [sys.executable, "-m", "wallboard.cli", "report", "--from", first.isoformat(),
         "--to", last.isoformat(), "--config", str(config), "--out", str(out)],
        cwd=ROOT_DIR, capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    return out, process


def figures(page: str) -> dict[str, dict[str, Any]]:
    return {key: json.loads(text) for key, text in ISLAND.findall(page)}


def values(trace: dict[str, Any], axis: str) -> list[float]:
    """The numbers a trace draws, nulls left out; a heatmap's rows flattened."""
    data = trace.get(axis) or []
    flat = [v for item in data for v in (item if isinstance(item, list) else [item])]
    return [v for v in flat if isinstance(v, int | float)]


def test_the_week_s_report_is_one_file_with_plotly_inlined_once(week_report):
    out, process = week_report
    page = out.read_text(encoding="utf-8")
    assert process.stderr.strip() == f"wrote {out}"  # the bar draws on a terminal only
    assert page.count("<script>") == 2  # plotly.js, then the few lines that draw the charts
    plotly_start = page.index("<script>")
    ours = page[:plotly_start] + page[page.index("</script>", plotly_start):]
    # plotly.js itself names map tile servers, used only by map traces; our part names none.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", ours)
    assert list(figures(page)) == CHARTS


def test_every_chart_has_data(week_report, simulated_week):
    page = figures(week_report[0].read_text(encoding="utf-8"))
    drawn = {key: [values(t, "y") + values(t, "z") for t in figure["data"]]
             for key, figure in page.items()}
    service_level = drawn["service-level"][0]
    assert len(service_level) > 100 and all(0 <= v <= 1 for v in service_level)
    assert sum(drawn["offered"][0]) > 1_000
    abandon, abandon_day, aht, aht_day = drawn["abandon-aht"]
    assert len(abandon) > 100 and len(aht) > 100 and len(abandon_day) == len(aht_day) == 6
    help_traces = page["help"]["data"]
    spread = [t for t in help_traces if t.get("name", "").startswith("time to acknowledge")]
    assert spread and values(spread[0], "x")  # raw still holds last week: the spread is there
    assert any(values(t, "y") for t in help_traces if t["type"] == "bar")
    required, staffed, _ = drawn["staffing"]
    assert max(required) > 5 and max(staffed) > 5
    assert len(drawn["teams"][0]) > 0
    assert len(page["teams"]["data"][0]["y"]) == 2  # two teams of 15, both big enough


def test_the_heatmap_peaks_on_monday_morning_and_counts_every_call(week_report,
                                                                   simulated_week):
    heatmap = figures(week_report[0].read_text(encoding="utf-8"))["offered"]["data"][0]
    grid = heatmap["z"]
    assert heatmap["y"][0] == "Mon" and len(grid) == 7 and all(len(d) == 24 for d in grid)
    peak = max((calls, day, hour) for day, row in enumerate(grid)
               for hour, calls in enumerate(row))
    _, day, hour = peak
    assert (day, heatmap["y"][day]) == (0, "Mon") and 8 <= hour < 12
    # InfluxDB's own count of offered calls that week: the aggregates lost none.
    answer = simulated_week.influxd.query(
        f"SELECT count(\"n\") FROM \"raw\".\"call\" WHERE \"event\" = 'offered' AND "
        f"time >= {int(simulated_week.start)}s AND time < {int(simulated_week.end)}s",
        db=simulated_week.db)
    assert sum(map(sum, grid)) == answer["results"][0]["series"][0]["values"][0][1]


def test_it_renders_in_headless_chromium_offline_without_errors(week_report):
    require("chromium", "chromium")
    shot = DOC_SCREENSHOT if UPDATE_DOCS else week_report[0].with_suffix(".png")
    check = check_page(week_report[0], screenshot=shot)
    assert check.rendered, "the page never finished drawing its charts"
    assert check.errors == ()
    assert check.outside_requests() == ()
    assert check.requests[0] == check.url
    assert check.svgs >= 2 * len(CHARTS)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
