"""The Wallboard dashboards, built with grafana-foundation-sdk: floor today, trends, help
requests and team wellbeing.

Pure: building a dashboard reads nothing and writes nothing. ``generate`` returns every
dashboard as the JSON text committed in ``grafana/dashboards/``; ``python -m
wallboard.grafana`` (``make grafana``) writes it there, and a test fails when the two differ.

Every query is raw InfluxQL on the schema of ``docs/storage.md``, against the datasource
``DATASOURCE_UID``. Live views read ``raw``; views over days or weeks read the 15-minute
aggregates (``agg_15m``), kept for two years; help response percentiles read ``raw``,
because percentiles do not combine across intervals. No query reads individual wellbeing
(``agent_wellbeing``), and none groups by an agent or a desk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as builders
from grafana_foundation_sdk.builders import heatmap, stat, table, timeseries
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as models
from grafana_foundation_sdk.models import heatmap as heatmap_models

from wallboard.config import QueuePolicyConfig, SiteConfig
from wallboard.floor.help import ALERT_KIND
from wallboard.floor.strain import StrainPolicy
from wallboard.grafana.influxql import DATASOURCE, InfluxQL

TAG = "wallboard"  # every dashboard carries it; the dashboards link to each other by it
SL_TARGET: float = QueuePolicyConfig.model_fields["sl_target"].default  # queues' default
MIN_GROUP = StrainPolicy().min_group  # the smallest team whose aggregate is ever published
CHECK_IN_SCORE = StrainPolicy().check_in_score  # strain at which a check-in is suggested
DEFAULT_TIMEZONE: str = SiteConfig.model_fields["timezone"].default

SITE = "\"site\" = '$site'"
QUEUES = '"queue" =~ /^$queue$/'

PanelBuilder = Builder[models.Panel]
P = TypeVar("P", stat.Panel, timeseries.Panel, table.Panel, heatmap.Panel)


def where(*conditions: str) -> str:
    """A WHERE clause: the conditions and the dashboard's time range."""
    return "WHERE " + " AND ".join((*conditions, "$timeFilter"))


def eq(key: str, value: str | int) -> str:
    """A tag (string ``value``) or field (integer ``value``) equal to a value."""
    literal = f"'{value}'" if isinstance(value, str) else str(value)
    return f'"{key}" = {literal}'


def matches(key: str, pattern: str) -> str:
    """A tag matching a regular expression."""
    return f'"{key}" =~ /{pattern}/'


# Variables ------------------------------------------------------------------------------

def site_variable() -> builders.QueryVariable:
    """The site: every site with a controller publishes a floor snapshot."""
    return (builders.QueryVariable("site").label("Site").datasource(DATASOURCE)
            .query('SHOW TAG VALUES FROM "raw"."kpi_floor" WITH KEY = "site"')
            .refresh(models.VariableRefresh.ON_DASHBOARD_LOAD)
            .sort(models.VariableSort.ALPHABETICAL_ASC))


def queue_variable() -> builders.QueryVariable:
    """The site's queues, any number of them; all by default."""
    return (builders.QueryVariable("queue").label("Queue").datasource(DATASOURCE)
            .query(f'SHOW TAG VALUES FROM "raw"."kpi_queue" WITH KEY = "queue" WHERE {SITE}')
            .refresh(models.VariableRefresh.ON_DASHBOARD_LOAD)
            .sort(models.VariableSort.ALPHABETICAL_ASC)
            .multi(True).include_all(True).all_value(".*")
            .current(models.VariableOption(selected=True, text="All", value="$__all")))


def timezone_variable() -> builders.TextBoxVariable:
    """The site's time zone (``site.timezone``), which cuts days and hours in the heatmap."""
    return (builders.TextBoxVariable("timezone").label("Site time zone")
            .description("IANA time zone of the site, as site.timezone in wallboard.toml")
            .default_value(DEFAULT_TIMEZONE))


# Panels ---------------------------------------------------------------------------------

def thresholds(*steps: tuple[float | None, str]) -> builders.ThresholdsConfig:
    """Absolute thresholds: the first step's value is None (from minus infinity)."""
    return (builders.ThresholdsConfig().mode(models.ThresholdsMode.ABSOLUTE)
            .steps([models.Threshold(value, colour) for value, colour in steps]))


SL_THRESHOLDS = ((None, "red"), (SL_TARGET, "green"))


def with_targets(panel: P, targets: Sequence[InfluxQL]) -> P:
    """The panel on the Wallboard datasource, with these queries."""
    panel.datasource(DATASOURCE)
    for target in targets:
        panel.with_target(target)
    return panel


def stat_panel(title: str, description: str, targets: Sequence[InfluxQL], *, unit: str,
               width: int = 6, height: int = 5) -> stat.Panel:
    """Big numbers, one per series: the last value in the range."""
    panel = (stat.Panel().title(title).description(description).unit(unit)
             .span(width).height(height)
             .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"])
                             .values(False))
             .graph_mode(common.BigValueGraphMode.NONE)
             .color_mode(common.BigValueColorMode.VALUE)
             .text_mode(common.BigValueTextMode.VALUE_AND_NAME))
    return with_targets(panel, targets)


def graph(title: str, description: str, targets: Sequence[InfluxQL], *, unit: str,
          interval: str | None = None, width: int = 12, height: int = 8,
          bars: bool = False) -> timeseries.Panel:
    """A time series panel; ``interval`` is the smallest ``$__interval`` worth asking for."""
    panel = (timeseries.Panel().title(title).description(description).unit(unit)
             .span(width).height(height).min(0)
             .legend(common_builders.VizLegendOptions()
                     .display_mode(common.LegendDisplayMode.LIST)
                     .placement(common.LegendPlacement.BOTTOM).show_legend(True))
             .tooltip(common_builders.VizTooltipOptions()
                      .mode(common.TooltipDisplayMode.MULTI).sort(common.SortOrder.DESCENDING)))
    if interval is not None:
        panel.interval(interval)
    if bars:
        panel.draw_style(common.GraphDrawStyle.BARS).fill_opacity(80)
    return with_targets(panel, targets)


def target_line(panel: timeseries.Panel, *steps: tuple[float | None, str]) -> timeseries.Panel:
    """Draw the thresholds as dashed lines across the graph."""
    return (panel.thresholds(thresholds(*steps))
            .thresholds_style(common_builders.GraphThresholdsStyleConfig()
                              .mode(common.GraphThresholdsStyleMode.DASHED)))


def by_name(panel: table.Panel, units: dict[str, str]) -> table.Panel:
    """Set the unit of columns or series by their name."""
    for name, unit in units.items():
        panel.override_by_name(name, [models.DynamicConfigValue("unit", unit)])
    return panel


def without_time(panel: table.Panel) -> table.Panel:
    """Hide a table's time column: latest values carry the range's start, not their own."""
    return panel.with_transformation(models.DataTransformerConfig(
        id_val="organize", options={"excludeByName": {"Time": True}}))


def dashboard(uid: str, title: str, description: str, *, time_from: str,
              refresh: str | None, variables: Sequence[Builder[models.VariableModel]],
              items: Sequence[PanelBuilder]) -> models.Dashboard:
    """A Wallboard dashboard: panels numbered in order, linked to the others by tag."""
    board = (builders.Dashboard(title).uid(uid).description(description).tags([TAG])
             .time(time_from, "now").timezone("browser").editable()
             .tooltip(models.DashboardCursorSync.CROSSHAIR)
             .link(builders.DashboardLink("Wallboard").type(models.DashboardLinkType.DASHBOARDS)
                   .tags([TAG]).as_dropdown(True).include_vars(True).keep_time(False)))
    if refresh is not None:
        board.refresh(refresh)
    for variable in variables:
        board.with_variable(variable)
    for item in items:
        board.with_panel(item)
    built = board.build()
    for number, panel in enumerate(built.panels or [], start=1):
        panel.id_val = number
    return built


# Floor today ----------------------------------------------------------------------------

def _queue_last(field: str, name: str) -> InfluxQL:
    """The latest value of a queue snapshot field, per queue."""
    return InfluxQL(f'SELECT last("{field}") AS "{name}" FROM "raw"."kpi_queue" '
                    f'{where(SITE, QUEUES)} GROUP BY "queue"', alias="$tag_queue")


def _queue_series(selector: str, field: str, name: str) -> InfluxQL:
    """A queue snapshot field through the day, per queue."""
    return InfluxQL(f'SELECT {selector}("{field}") AS "{name}" FROM "raw"."kpi_queue" '
                    f'{where(SITE, QUEUES)} GROUP BY time($__interval), "queue" fill(none)',
                    alias="$tag_queue")


QUEUE_TABLE = (
    ("waiting", "waiting", "none"),
    ("longest_wait_s", "longest wait", "s"),
    ("agents_available", "available", "none"),
    ("agents_busy", "busy", "none"),
    ("today_offered", "offered", "none"),
    ("today_answered", "answered", "none"),
    ("today_abandoned", "abandoned", "none"),
    ("today_service_level", "service level", "percentunit"),
    ("today_asa_s", "ASA", "s"),
    ("today_abandon_rate", "abandon rate", "percentunit"),
    ("today_aht_s", "AHT", "s"),
)


def floor_today() -> models.Dashboard:
    """Live waiting, service level, ASA and abandons per queue, from the raw snapshots."""
    snapshot = ("From the controller's queue snapshots (raw kpi_queue, one a minute per "
                "queue): ")
    table_query = ", ".join(f'last("{field}") AS "{name}"' for field, name, _ in QUEUE_TABLE)
    queues = by_name(without_time(
        with_targets(table.Panel().title("Queues now").span(24).height(7).description(
            snapshot + "each queue's latest snapshot. Today's figures run from the site's "
            "day start; abandoned counts every abandon, short ones included; the rates "
            "follow the queue's SL treatment (docs/kpi.md)."),
            [InfluxQL(f'SELECT {table_query} FROM "raw"."kpi_queue" {where(SITE, QUEUES)} '
                      'GROUP BY "queue"', table=True)])),
        {name: unit for _, name, unit in QUEUE_TABLE if unit != "none"})
    service_level = stat_panel(
        "Service level today", snapshot + "answered within the queue's threshold, as the "
        "controller computes it with the queue's SL treatment. Green at or above the "
        f"default target ({SL_TARGET:.0%}).",
        [_queue_last("today_service_level", "service level")], unit="percentunit")
    service_level.thresholds(thresholds(*SL_THRESHOLDS)).color_mode(
        common.BigValueColorMode.BACKGROUND)
    return dashboard(
        "wallboard-floor-today", "Wallboard: floor today",
        "Live queue figures for today, from the controller's snapshots.",
        time_from="now/d", refresh="30s",
        variables=[site_variable(), queue_variable()],
        items=[
            stat_panel("Waiting now", snapshot + "callers waiting in each queue now.",
                       [_queue_last("waiting", "waiting")], unit="none"),
            service_level,
            stat_panel("ASA today", snapshot + "average speed of answer of the calls "
                       "answered today.", [_queue_last("today_asa_s", "ASA")], unit="s"),
            stat_panel("Abandoned today", snapshot + "calls abandoned today, short "
                       "abandons included.", [_queue_last("today_abandoned", "abandoned")],
                       unit="none"),
            queues,
            graph("Waiting", snapshot + "the most callers waiting in each interval.",
                  [_queue_series("max", "waiting", "waiting")], unit="none", interval="1m"),
            target_line(graph(
                "Service level today", snapshot + "today's service level so far, as it "
                f"stood through the day; the dashed line is the default target "
                f"({SL_TARGET:.0%}).",
                [_queue_series("last", "today_service_level", "service level")],
                unit="percentunit", interval="1m").max(1), *SL_THRESHOLDS),
            graph("ASA today", snapshot + "today's average speed of answer so far.",
                  [_queue_series("last", "today_asa_s", "ASA")], unit="s", interval="1m"),
            graph("Abandoned today", snapshot + "calls abandoned today so far, short "
                  "abandons included.",
                  [_queue_series("last", "today_abandoned", "abandoned")], unit="none",
                  interval="1m"),
        ])


# Trends ---------------------------------------------------------------------------------

HOURS = tuple(range(24))


def hour_of_day_query(hour: int) -> str:
    """Calls offered in one hour of each day, stamped with the day's start.

    InfluxQL cannot group by hour of day, so each hour is a query of its own: hourly sums,
    then the first of them in each day-long window starting at that hour, then those moved
    to the start of their day. The range starts a day early so that every window that
    matters is whole: the window holding the range's start would begin with the wrong hour,
    and it now ends before the range does.
    """
    early = "time >= ${__from}ms - 1d AND time <= ${__to}ms"
    hourly = (f'SELECT sum("calls") AS "calls" FROM "agg_15m"."call" WHERE {SITE} AND '
              f"{QUEUES} AND {eq('event', 'offered')} AND {early} "
              "GROUP BY time(1h) fill(0) tz('$timezone')")
    at_hour = (f'SELECT first("calls") AS "calls" FROM ({hourly}) WHERE {early} '
               f"GROUP BY time(1d, {hour}h) tz('$timezone')")
    return (f'SELECT first("calls") AS "{hour:02d}" FROM ({at_hour}) WHERE {early} '
            "GROUP BY time(1d) fill(none) tz('$timezone')")


def ref_id(index: int) -> str:
    """Grafana's query letters: A, B, ... Z."""
    return chr(ord("A") + index)


def calls_heatmap() -> heatmap.Panel:
    """Calls offered by day (columns) and hour of day (rows)."""
    panel = (heatmap.Panel().title("Calls offered by weekday and hour").span(24).height(10)
             .description(
                 "Calls offered (agg_15m call, event offered), summed per hour of the site's "
                 "day (time zone: the Site time zone variable). Each column is a day of the "
                 "range, Monday to Sunday over a week; each row an hour, 00 at the bottom. "
                 "Pick a week to see the weekly pattern.")
             .calculate(False)
             .rows_frame(heatmap.RowsHeatmapOptions().layout(common.HeatmapCellLayout.GE)
                         .value("calls"))
             .color(heatmap.HeatmapColorOptions().mode(heatmap_models.HeatmapColorMode.SCHEME)
                    .scheme("Oranges").scale(heatmap_models.HeatmapColorScale.EXPONENTIAL)
                    .exponent(0.5).steps(64).reverse(False))
             .y_axis(heatmap.YAxisConfig().axis_label("hour").unit("none"))
             .cell_values(heatmap.CellValues().unit("none"))
             .show_value(common.VisibilityMode.AUTO).cell_gap(1))
    return with_targets(panel, [InfluxQL(hour_of_day_query(hour), ref_id=ref_id(hour),
                                         alias=f"{hour:02d}")
                                for hour in HOURS])


def trends() -> models.Dashboard:
    """Service level per half hour against target, call volume, abandon rate, AHT and ASA."""
    half_hour = (
        "Per half hour, from the controller's sliding window (agg_15m kpi_queue and "
        "kpi_floor, last_sliding_*): the value its last snapshot in each half hour gave "
        "for the preceding 30 minutes (site.sliding_window_min, 30 by default), so each "
        "point covers that half hour to within the minute between snapshots. This is the "
        "controller's own figure, with each queue's threshold and SL treatment, which the "
        "call events alone cannot reproduce (short abandons are not in the aggregates).")
    sl_queues = InfluxQL(
        'SELECT last("last_sliding_service_level") AS "service level" '
        f'FROM "agg_15m"."kpi_queue" {where(SITE, QUEUES)} '
        'GROUP BY time(30m), "queue" fill(none)', alias="$tag_queue")
    sl_floor = InfluxQL(
        'SELECT last("last_sliding_service_level") AS "service level" '
        f'FROM "agg_15m"."kpi_floor" {where(SITE)} GROUP BY time(30m) fill(none)',
        ref_id="B", alias="floor")
    abandon_rate = InfluxQL(
        'SELECT last("last_sliding_abandon_rate") AS "abandon rate" '
        f'FROM "agg_15m"."kpi_queue" {where(SITE, QUEUES)} '
        'GROUP BY time(30m), "queue" fill(none)', alias="$tag_queue")
    aht = InfluxQL(
        'SELECT sum("handle_s_sum") / sum("handles") AS "AHT" FROM "agg_15m"."call" '
        f"{where(SITE, QUEUES, eq('event', 'completed'))} "
        'GROUP BY time($__interval), "queue" fill(none)', alias="$tag_queue")
    asa = InfluxQL(
        'SELECT sum("wait_s_sum") / sum("waits") AS "ASA" FROM "agg_15m"."call" '
        f"{where(SITE, QUEUES, eq('event', 'answered'))} "
        'GROUP BY time($__interval), "queue" fill(none)', alias="$tag_queue")
    volume = InfluxQL(
        'SELECT sum("calls") AS "calls" FROM "agg_15m"."call" '
        f"{where(SITE, QUEUES, matches('event', '^(offered|answered|abandoned)$'))} "
        'GROUP BY time($__interval), "event" fill(0)', alias="$tag_event")
    return dashboard(
        "wallboard-trends", "Wallboard: trends",
        "Service level, call volume, abandons and handle times over days and weeks, from "
        "the 15-minute aggregates.",
        time_from="now-7d", refresh=None,
        variables=[site_variable(), queue_variable(), timezone_variable()],
        items=[
            target_line(graph(
                "Service level per half hour", half_hour + " The dashed line is the default "
                f"target ({SL_TARGET:.0%}); queues with their own sl_target in wallboard.toml "
                "are judged against that.", [sl_queues, sl_floor], unit="percentunit",
                width=24).max(1), *SL_THRESHOLDS),
            calls_heatmap(),
            graph("Calls", "Calls offered, answered and abandoned per interval, all selected "
                  "queues together (agg_15m call, sum of calls).", [volume], unit="none",
                  interval="15m", bars=True),
            graph("Abandon rate per half hour", half_hour, [abandon_rate],
                  unit="percentunit", width=12),
            graph("Average handle time", "Talk, hold and wrap-up per completed call: the "
                  "handle time summed over the interval divided by the calls completed "
                  "(agg_15m call, event completed), so intervals of any length combine "
                  "exactly.", [aht], unit="s", interval="15m"),
            graph("Average speed of answer", "Queue wait per answered call: waits summed "
                  "over the interval divided by the calls answered (agg_15m call, event "
                  "answered).", [asa], unit="s", interval="15m"),
        ])


# Help requests --------------------------------------------------------------------------

def _help_percentiles(field: str, state: str) -> InfluxQL:
    """p50 and p90 of a help response time per hour, from the raw help records."""
    return InfluxQL(
        f'SELECT percentile("{field}", 50) AS "p50", percentile("{field}", 90) AS "p90" '
        f'FROM "raw"."help" {where(SITE, eq("state", state))} '
        "GROUP BY time(1h) fill(none)")


def help_requests() -> models.Dashboard:
    """Help requests: how many, how fast they are acknowledged and resolved, escalations."""
    floor = "From the latest floor snapshot (raw kpi_floor): "
    hourly_raw = (" Percentiles per hour need every request's time, so this reads raw "
                  "(kept for raw_retention_days, 30 by default); percentiles of 15-minute "
                  "aggregates do not combine into hourly ones.")
    new_requests = InfluxQL(
        'SELECT count("request") AS "requested" FROM "raw"."help" '
        f"{where(SITE, eq('state', 'requested'), eq('level', 0))} "
        "GROUP BY time(1h) fill(0)")
    outcomes = InfluxQL(
        'SELECT sum("updates") AS "requests" FROM "agg_15m"."help" '
        f"{where(SITE, matches('state', '^(acknowledged|resolved|cancelled)$'))} "
        'GROUP BY time(1h), "state" fill(0)', ref_id="B", alias="$tag_state")
    escalations = [
        InfluxQL('SELECT count("level") AS "alerts" FROM "raw"."alert" '
                 f"{where(SITE, eq('kind', ALERT_KIND), eq('level', level))} "
                 "GROUP BY time(1h) fill(0)", ref_id=ref_id(level - 1), alias=name)
        for level, name in ((1, "raised (level 1)"), (2, "escalated (level 2)"))]
    # Each request closes once (resolved or cancelled), and its closing record keeps the
    # highest level it reached: one count per request, by that level.
    closed = matches("state", "^(resolved|cancelled)$")
    by_highest_level = [
        InfluxQL('SELECT count("request") AS "requests" FROM "raw"."help" '
                 f"{where(SITE, closed, eq('max_level', level))} "
                 "GROUP BY time(1d) fill(0) tz('$timezone')", ref_id=ref_id(level), alias=name)
        for level, name in ((0, "never escalated"), (1, "reached level 1"),
                            (2, "reached level 2"))]
    return dashboard(
        "wallboard-help", "Wallboard: help requests",
        "Desk help requests: how many, how quickly supervisors acknowledge and resolve "
        "them, and how many escalate.",
        time_from="now-7d", refresh="1m", variables=[site_variable(), timezone_variable()],
        items=[
            stat_panel("Help requests today", floor + "requests made today, and requests "
                       "open now.",
                       [InfluxQL('SELECT last("help_today_requests") AS "requested today", '
                                 'last("help_open_count") AS "open now" FROM "raw"."kpi_floor" '
                                 f"{where(SITE)}")], unit="none", width=8),
            stat_panel("Time to acknowledge today", floor + "median and 90th percentile "
                       "from press to acknowledgement, today.",
                       [InfluxQL('SELECT last("help_today_ack_p50_s") AS "p50", '
                                 'last("help_today_ack_p90_s") AS "p90" FROM "raw"."kpi_floor" '
                                 f"{where(SITE)}")], unit="s", width=8),
            stat_panel("Time to resolve today", floor + "median and 90th percentile from "
                       "press to resolution, today.",
                       [InfluxQL('SELECT last("help_today_resolve_p50_s") AS "p50", '
                                 'last("help_today_resolve_p90_s") AS "p90" '
                                 f'FROM "raw"."kpi_floor" {where(SITE)}')],
                       unit="s", width=8),
            graph("Help requests per hour", "Requests made (raw help, state requested at "
                  "level 0: an escalation republishes a request at a higher level), and "
                  "requests acknowledged, resolved and cancelled (agg_15m help, updates "
                  "per state).", [new_requests, outcomes], unit="none", width=24,
                  bars=True),
            graph("Time to acknowledge per hour", "Press to acknowledgement, median and 90th "
                  "percentile of the requests acknowledged in each hour (raw help, state "
                  "acknowledged)." + hourly_raw,
                  [_help_percentiles("time_to_acknowledge_s", "acknowledged")], unit="s"),
            graph("Time to resolve per hour", "Press to resolution, median and 90th "
                  "percentile of the requests resolved in each hour (raw help, state "
                  "resolved)." + hourly_raw,
                  [_help_percentiles("time_to_resolve_s", "resolved")], unit="s"),
            graph("Escalations per hour", "Help alerts raised (level 1: unacknowledged "
                  "past help.escalate_after_s) and escalated (level 2: twice that), from "
                  f"raw alert, kind {ALERT_KIND}.", escalations, unit="none", width=24,
                  bars=True),
            graph("Requests by highest level reached, per day", "Requests closed (resolved "
                  "or cancelled) each day of the site (time zone: the Site time zone "
                  "variable), by the highest escalation level each reached while it waited "
                  "(raw help, max_level on the closing record). Requests closed "
                  "by a controller older than max_level are not counted.",
                  by_highest_level, unit="none", width=24, bars=True),
        ])


# Team wellbeing -------------------------------------------------------------------------

def team_wellbeing() -> models.Dashboard:
    """Team strain aggregates; never an individual's."""
    guard = (f"Teams only, never individuals: the controller publishes a team's aggregate "
             f"only while it has at least {MIN_GROUP} agents logged in, and the query keeps "
             f"only points with agents >= {MIN_GROUP} as well. Strain is computed from facts "
             "about the work (docs/wellbeing.md).")
    team_guard = f'"agents" >= {MIN_GROUP}'
    over_time = [
        InfluxQL(f'SELECT mean("{field}") AS "{name}" FROM "agg_15m"."team_wellbeing" '
                 f'{where(SITE, team_guard)} GROUP BY time($__interval), "team" fill(none)',
                 alias="$tag_team")
        for field, name in (("mean_score", "mean score"),
                            ("agents_over_threshold", "agents over threshold"))]
    latest = ('SELECT last("mean_score") AS "mean score", last("agents_over_threshold") AS '
              '"agents over threshold", last("agents") AS "agents" FROM "raw"."team_wellbeing" '
              f'{where(SITE)} GROUP BY "team"')
    teams_now = without_time(with_targets(
        table.Panel().title("Teams now").span(24).height(7).description(
            "Each team's latest aggregate (raw team_wellbeing). " + guard),
        [InfluxQL('SELECT "mean score", "agents over threshold", "agents" '
                  f'FROM ({latest}) WHERE {team_guard} GROUP BY "team"', table=True)]))
    return dashboard(
        "wallboard-team-wellbeing", "Wallboard: team wellbeing",
        "Team workload strain, as aggregates of at least the privacy minimum of agents.",
        time_from="now-7d", refresh="1m", variables=[site_variable()],
        items=[
            teams_now,
            target_line(graph(
                "Mean strain score by team", "The team's mean strain score, 0 to 100 "
                "(agg_15m team_wellbeing). The dashed line is where a supervisor check-in "
                f"is suggested for an agent ({CHECK_IN_SCORE:.0f}). " + guard,
                [over_time[0]], unit="none", interval="15m").max(100),
                (None, "green"), (CHECK_IN_SCORE, "orange")),
            graph("Agents over threshold by team", "How many of the team's agents are over "
                  "the check-in score (agg_15m team_wellbeing). " + guard, [over_time[1]],
                  unit="none", interval="15m"),
        ])


DASHBOARDS: dict[str, Callable[[], models.Dashboard]] = {
    "floor-today.json": floor_today,
    "trends.json": trends,
    "help-requests.json": help_requests,
    "team-wellbeing.json": team_wellbeing,
}


def to_json(board: models.Dashboard) -> str:
    """A dashboard as the JSON text committed: sorted keys, two-space indent, final newline."""
    return JSONEncoder(sort_keys=True, indent=2).encode(board) + "\n"


def generate() -> dict[str, str]:
    """Every dashboard's file name and JSON text."""
    return {name: to_json(build()) for name, build in DASHBOARDS.items()}

