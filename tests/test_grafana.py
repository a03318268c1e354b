"""The Grafana dashboards: committed JSON up to date, every query raw InfluxQL on the
provisioned datasource and privacy-safe, and every query answering on a simulated week."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.live import ROOT_DIR
from wallboard.grafana import dashboards
from wallboard.grafana.__main__ import main
from wallboard.grafana.influxql import DATASOURCE_TYPE, DATASOURCE_UID
from wallboard.grafana.macros import UnknownVariable, regex_value, render

GRAFANA = ROOT_DIR / "grafana"
COMMITTED = GRAFANA / "dashboards"
DATASOURCE_FILE = GRAFANA / "provisioning" / "datasources" / "wallboard.yaml"
PROVIDER_FILE = GRAFANA / "provisioning" / "dashboards" / "wallboard.yaml"

GENERATED = dashboards.generate()
BOARDS = {name: json.loads(text) for name, text in GENERATED.items()}


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, those inside rows included."""
    found = []
    for panel in board.get("panels", []):
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def targets() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(dashboard file, panel, target) for every query of every dashboard."""
    return [(name, panel, target) for name, board in BOARDS.items()
            for panel in panels(board) for target in panel.get("targets", [])]


def target_id(case: tuple[str, dict[str, Any], dict[str, Any]]) -> str:
    name, panel, target = case
    return f"{name.removesuffix('.json')}/{panel['title']}/{target['refId']}"


TARGETS = targets()


# Committed files ----------------------------------------------------------------------

def test_the_committed_dashboards_are_what_the_code_generates(tmp_path):
    assert main(["--out", str(tmp_path)]) == 0
    generated = {p.name: p.read_bytes() for p in tmp_path.glob("*.json")}
    committed = {p.name: p.read_bytes() for p in COMMITTED.glob("*.json")}
    stale = "grafana/dashboards/ is out of date: run `make grafana` and commit the result"
    assert sorted(committed) == sorted(generated), (
        f"{stale} (missing: {sorted(generated.keys() - committed.keys())}, "
        f"not generated any more: {sorted(committed.keys() - generated.keys())})")
    differ = sorted(name for name in generated if generated[name] != committed[name])
    assert not differ, f"{stale} (differ: {differ})"


def test_generating_twice_gives_the_same_bytes():
    assert dashboards.generate() == GENERATED


def test_the_generator_leaves_unchanged_files_alone_and_names_strays(tmp_path, capsys):
    assert main(["--out", str(tmp_path)]) == 0
    (tmp_path / "old.json").write_text("{}")
    assert main(["--out", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert out.count("unchanged") == len(GENERATED)
    assert "old.json: no dashboard writes this any more" in err


# Structure ----------------------------------------------------------------------------

def provisioned_uid() -> str:
    match = re.search(r"^\s+uid:\s*(\S+)\s*$", DATASOURCE_FILE.read_text(), re.MULTILINE)
    assert match, f"{DATASOURCE_FILE} names no uid"
    return match.group(1)


def test_the_datasource_is_provisioned_for_influxql_from_the_environment():
    text = DATASOURCE_FILE.read_text()
    assert provisioned_uid() == DATASOURCE_UID
    assert re.search(r"^\s+type:\s*influxdb\s*$", text, re.MULTILINE)
    assert re.search(r"^\s+version:\s*InfluxQL\s*$", text, re.MULTILINE)
    assert "Flux" not in text.replace("no Flux", "")
    for key in ("url", "user", "dbName", "password"):
        value = re.search(rf"^\s+{key}:\s*(\S+)\s*$", text, re.MULTILINE)
        assert value and value.group(1).startswith("$WALLBOARD_"), (
            f"{key} must come from a WALLBOARD_ environment variable")


def test_the_dashboard_provider_loads_files():
    text = PROVIDER_FILE.read_text()
    assert re.search(r"^\s+type:\s*file\s*$", text, re.MULTILINE)
    assert re.search(r"^\s+path:\s*\$WALLBOARD_GRAFANA_DASHBOARDS\s*$", text, re.MULTILINE)


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_a_dashboard_is_identified_tagged_and_numbered(name):
    board = BOARDS[name]
    assert board["uid"].startswith("wallboard-") and board["title"].startswith("Wallboard: ")
    assert dashboards.TAG in board["tags"]
    ids = [panel["id"] for panel in panels(board)]
    assert len(set(ids)) == len(ids) and 0 not in ids
    for panel in panels(board):
        assert panel.get("description"), f"{panel['title']}: say where its data comes from"


def test_dashboard_uids_are_unique():
    uids = [board["uid"] for board in BOARDS.values()]
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_every_panel_and_variable_uses_the_provisioned_datasource(name):
    expected = {"type": DATASOURCE_TYPE, "uid": provisioned_uid()}
    for panel in panels(BOARDS[name]):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == expected, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["datasource"] == expected, panel["title"]
    for variable in BOARDS[name]["templating"]["list"]:
        if variable["type"] == "query":
            assert variable["datasource"] == expected, variable["name"]


@pytest.mark.parametrize("case", TARGETS, ids=target_id)
def test_every_query_is_raw_influxql(case):
    _, _, target = case
    assert target["rawQuery"] is True
    assert target["resultFormat"] in {"time_series", "table"}
    assert target["query"].startswith("SELECT ")
    assert re.search(r"\bFROM \"(raw|agg_1m|agg_15m)\"\.\"\w+\"", target["query"])


def group_by_keys(query: str) -> list[str]:
    """The keys every GROUP BY of a query (subqueries included) groups by."""
    keys = []
    for match in re.finditer(r"GROUP BY ", query):
        depth, key, index = 0, "", match.end()
        while index < len(query):
            char = query[index]
            rest = query[index:]
            if depth == 0 and (char == ")" or rest.startswith((" fill(", " tz(", " LIMIT"))):
                break
            depth += {"(": 1, ")": -1}.get(char, 0)
            if char == "," and depth == 0:
                keys.append(key.strip().strip('"'))
                key = ""
            else:
                key += char
            index += 1
        keys.append(key.strip().strip('"'))
    return keys


@pytest.mark.parametrize(("query", "keys"), [
    ('SELECT x FROM "a" GROUP BY time(1h), "queue" fill(none)', ["time(1h)", "queue"]),
    ('SELECT x FROM (SELECT y FROM "a" GROUP BY "agent") GROUP BY time(1d, 9h) tz(\'UTC\')',
     ["agent", "time(1d, 9h)"]),
    ('SELECT x FROM "a" GROUP BY "desk"', ["desk"]),
    ('SELECT x FROM "a"', []),
])
def test_group_by_keys(query, keys):
    assert group_by_keys(query) == keys


def queries() -> list[str]:
    found = [target["query"] for _, _, target in TARGETS]
    found += [variable["query"] for board in BOARDS.values()
              for variable in board["templating"]["list"] if variable["type"] == "query"]
    return found


def test_no_query_reads_individual_wellbeing_or_groups_by_agent_or_desk():
    for query in queries():
        assert "agent_wellbeing" not in query and '"wellbeing".' not in query, query
        assert not {"agent", "desk", "*"} & set(group_by_keys(query)), query


def test_team_wellbeing_queries_keep_only_teams_of_the_privacy_minimum():
    wellbeing = [t["query"] for name, _, t in TARGETS if name == "team-wellbeing.json"]
    assert wellbeing
    for query in wellbeing:
        assert f'"agents" >= {dashboards.MIN_GROUP}' in query, query
    assert dashboards.MIN_GROUP >= 5


# Macros -------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "variables", "expected"), [
    ("WHERE $timeFilter", {}, "WHERE time >= 1000ms and time <= 61000ms"),
    ("GROUP BY time($__interval)", {}, "GROUP BY time(1h)"),
    ("time >= ${__from}ms - 1d AND time <= ${__to}ms", {},
     "time >= 1000ms - 1d AND time <= 61000ms"),
    ("\"site\" = '$site'", {"site": "hq"}, "\"site\" = 'hq'"),
    ("\"site\" = '${site}'", {"site": "hq"}, "\"site\" = 'hq'"),
    ('"queue" =~ /^$queue$/', {"queue": ".*"}, '"queue" =~ /^.*$/'),
    ('"queue" =~ /^$queue$/', {"queue": ("sales", "support")},
     '"queue" =~ /^(sales|support)$/'),
    ('"queue" =~ /^$queue$/', {"queue": ("a.b",)}, '"queue" =~ /^a\\.b$/'),
    ("tz('$timezone')", {"timezone": "Europe/London"}, "tz('Europe/London')"),
])
def test_render_replaces_macros_and_variables(query, variables, expected):
    assert render(query, start=1, end=61, interval="1h", variables=variables) == expected


def test_render_refuses_an_unknown_variable():
    with pytest.raises(UnknownVariable, match=r"\$queue"):
        render('"queue" =~ /^$queue$/', start=0, end=1, interval="1m", variables={})


@pytest.mark.parametrize(("values", "expected"), [
    (("a",), "a"),
    (("a", "b"), "(a|b)"),
    (("a/b", "c(d)"), "(a\\/b|c\\(d\\))"),
])
def test_regex_value(values, expected):
    assert regex_value(values) == expected


# Queries on a simulated week ----------------------------------------------------------

def run(week: Any, query: str, *, queue: str | tuple[str, ...] = ".*",
        timezone: str = "UTC", start: float | None = None) -> list[dict[str, Any]]:
    """A dashboard query's series over the week (or from ``start``), as Grafana would ask."""
    text = render(query, start=week.start if start is None else start, end=week.end,
                  interval="1h",
                  variables={"site": week.site, "queue": queue, "timezone": timezone})
    result = week.influxd.query(text, db=week.db)["results"][0]
    series: list[dict[str, Any]] = result.get("series", [])
    return series


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@pytest.mark.parametrize("case", TARGETS, ids=target_id)
def test_every_query_answers_with_numbers_on_a_simulated_week(case, simulated_week):
    _, panel, target = case
    series = run(simulated_week, target["query"])
    assert series, f"{panel['title']} {target['refId']}: no series"
    for one in series:
        assert one["columns"][0] == "time"
        assert one["values"], f"{panel['title']}: a series with no rows"
        for column, name in enumerate(one["columns"][1:], start=1):
            values = [row[column] for row in one["values"] if row[column] is not None]
            assert values, f"{panel['title']} {target['refId']}: column {name} is empty"
            assert all(is_number(v) for v in values), f"{panel['title']}: {name} {values[:5]}"
        for key, value in one.get("tags", {}).items():
            if key == "queue":
                assert value in simulated_week.queues


@pytest.mark.parametrize("case", [c for c in TARGETS if "queue" in c[2]["query"]],
                         ids=target_id)
def test_queue_queries_answer_for_a_selection_of_queues(case, simulated_week):
    _, panel, target = case
    chosen = simulated_week.queues[:2]
    series = run(simulated_week, target["query"], queue=chosen)
    assert series, panel["title"]
    for one in series:
        assert one.get("tags", {}).get("queue", chosen[0]) in chosen


def test_the_variables_list_the_site_and_its_queues(simulated_week):
    found = {}
    for board in BOARDS.values():
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                series = run(simulated_week, variable["query"])
                found[variable["name"]] = {row[1] for s in series for row in s["values"]}
    assert found["site"] == {simulated_week.site}
    assert found["queue"] == set(simulated_week.queues)


def panel_targets(title: str) -> list[dict[str, Any]]:
    found = [target for _, panel, target in TARGETS if panel["title"] == title]
    assert found, f"no panel {title!r}"
    return found


def hour_cells(week: Any, start: float, timezone: str) -> dict[tuple[dt.date, int], Any]:
    """(day, hour) -> calls, from the heatmap's 24 queries."""
    cells = {}
    for target in panel_targets("Calls offered by weekday and hour"):
        hour = int(target["alias"])
        for one in run(week, target["query"], start=start, timezone=timezone):
            for day, calls in one["values"]:
                cells[(dt.datetime.fromisoformat(day).date(), hour)] = calls
    return cells


@pytest.mark.parametrize("timezone", ["UTC", "America/New_York"])
def test_the_heatmap_puts_each_hour_s_calls_in_its_cell(simulated_week, timezone):
    week = simulated_week
    start = week.start + 86_400 + 5.5 * 3600  # mid-morning Tuesday: a partial first day
    cells = hour_cells(week, start, timezone)
    hourly = week.influxd.query(
        'SELECT count("n") FROM "raw"."call" WHERE "event" = \'offered\' AND '
        f"time >= {int(start) - 86_400}s AND time <= {int(week.end)}s "
        "GROUP BY time(1h) fill(0)", db=week.db)["results"][0]["series"][0]["values"]
    zone = ZoneInfo(timezone)
    expected = {}
    for time, calls in hourly:
        local = dt.datetime.fromisoformat(time).astimezone(zone)
        expected[(local.date(), local.hour)] = calls
    # Every cell of a day the range touches is exact, the hours of the first day before the
    # range starts included; cells of the day before may not be, and are out of sight.
    first_day = dt.datetime.fromtimestamp(start, zone).date()
    shown = {cell: calls for cell, calls in cells.items() if cell[0] >= first_day}
    wanted = {cell: calls for cell, calls in expected.items() if cell[0] >= first_day}
    assert shown == wanted
    assert sum(wanted.values()) > 0


def test_service_and_abandon_rates_per_half_hour_are_ratios(simulated_week):
    for title in ("Service level per half hour", "Abandon rate per half hour"):
        for target in panel_targets(title):
            values = [row[1] for one in run(simulated_week, target["query"])
                      for row in one["values"]]
            assert values and all(0 <= v <= 1 for v in values), title


def test_requests_per_hour_count_each_request_once(simulated_week):
    week = simulated_week
    requested = [t for t in panel_targets("Help requests per hour") if t["refId"] == "A"]
    shown = sum(row[1] for one in run(week, requested[0]["query"]) for row in one["values"])
    (distinct,) = week.influxd.query(
        'SELECT count(distinct("request")) FROM "raw"."help" WHERE "state" = \'requested\' '
        f"AND time >= {int(week.start)}s AND time <= {int(week.end)}s",
        db=week.db)["results"][0]["series"][0]["values"]
    assert shown == distinct[1] > 0


def test_requests_by_highest_level_count_each_closed_request_once(simulated_week):
    week = simulated_week
    shown = {t["alias"]: sum(row[1] for one in run(week, t["query"]) for row in one["values"])
             for t in panel_targets("Requests by highest level reached, per day")}
    (closed,) = week.influxd.query(
        'SELECT count("request") FROM "raw"."help" WHERE "state" =~ /^(resolved|cancelled)$/ '
        f"AND time >= {int(week.start)}s AND time < {int(week.end)}s",
        db=week.db)["results"][0]["series"][0]["values"]
    assert sum(shown.values()) == closed[1]
    assert all(count > 0 for count in shown.values()), shown


def test_teams_now_shows_only_teams_of_the_privacy_minimum(simulated_week):
    (target,) = panel_targets("Teams now")
    series = run(simulated_week, target["query"])
    assert series
    for one in series:
        agents = one["columns"].index("agents")
        assert all(row[agents] >= dashboards.MIN_GROUP for row in one["values"])
        assert set(one["tags"]) == {"team"}
