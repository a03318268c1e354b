"""The report's six plotly figures, each titled with the question it answers. Pure.

Plotly.js draws dates as wall-clock times and ignores offsets, so every time is passed as
the site's local time without one. A chart, or a panel of one, with nothing to draw says
"No data for this period" in words where its axes would be, and hides the axes: empty axes
would invent a scale (plotly's default is -1 to 6) the data never had.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped]
from plotly.subplots import make_subplots  # type: ignore[import-untyped]

from wallboard.report.chart_data import (
    AbandonAht,
    HelpResponse,
    OfferedHeatmap,
    ReportData,
    ServiceLevel,
    Staffing,
    TeamStrain,
)
from wallboard.report.queries import INTERVAL_MIN
from wallboard.report.scope import ReportScope

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # date.weekday() order

GOOD, BAD, NEUTRAL, SECOND = "#2e7d32", "#c62828", "#1565c0", "#ef6c00"
NO_DATA = "No data for this period"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"  # installed, never fetched
HEIGHT = 420
SPARSE_POINTS = 48  # a day of intervals: fewer points than this get markers as well as lines


@dataclass(frozen=True, slots=True)
class Chart:
    """One figure of the report, with the id of its element and a one-line finding."""

    key: str
    figure: go.Figure
    finding: str


def local(times: Sequence[dt.datetime]) -> list[str]:
    """Times as site wall-clock text, which is how plotly.js reads dates."""
    return [t.strftime("%Y-%m-%d %H:%M") for t in times]


def broken(times: Sequence[dt.datetime], values: Sequence[float | None],
           step: dt.timedelta) -> tuple[list[str], list[float | None]]:
    """Times and values with a gap (None) wherever intervals are missing, so a line stops
    over closed hours instead of joining the evening to the next morning."""
    xs: list[str] = []
    ys: list[float | None] = []
    for i, (when, value) in enumerate(zip(times, values, strict=True)):
        if i and when.timestamp() - times[i - 1].timestamp() > step.total_seconds():
            xs.append(local([times[i - 1] + step])[0])
            ys.append(None)
        xs.append(local([when])[0])
        ys.append(value)
    return xs, ys


def period_axis(period: tuple[dt.datetime, dt.datetime]) -> dict[str, Any]:
    """A time axis spanning the report's range: a few intervals of data are drawn in place
    instead of stretched over a sub-second axis, as plotly does with a single point."""
    return {"range": local(list(period)), "type": "date"}  # site wall-clock, like the data


def line_mode(values: Sequence[float | None]) -> str:
    """Lines for a long series; with few points, markers too, so a lone interval shows."""
    return "lines" if sum(v is not None for v in values) > SPARSE_POINTS else "lines+markers"


def day_label(day: dt.date) -> str:
    """``Mon 16 Nov``."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {day.strftime('%b')}"


def _layout(figure: go.Figure, title: str, subtitle: str, height: int = HEIGHT,
            **more: Any) -> go.Figure:
    figure.update_layout(
        title={"text": title, "subtitle": {"text": subtitle}, "x": 0.01, "xanchor": "left"},
        height=height, margin={"t": 110, "l": 60, "r": 30, "b": 50}, template="plotly_white",
        font={"family": FONT}, legend={"orientation": "h", "y": -0.15}, **more)
    return figure


def _empty(figure: go.Figure, what: str, panel: str = "") -> None:
    """Say in words that a panel (``""``, ``"2"``, ...) has nothing to draw; hide its axes."""
    layout = figure.layout
    # In the middle of the panel, in page terms, centred: plotly.js misplaces an "x domain"
    # reference to a hidden axis, and anchors text near a page edge by that edge.
    x0, x1 = layout[f"xaxis{panel}"].domain or (0.0, 1.0)
    y0, y1 = layout[f"yaxis{panel}"].domain or (0.0, 1.0)
    figure.add_annotation(text=f"<b>{NO_DATA}</b><br>{what}", showarrow=False,
                          font={"size": 14, "color": "#666"}, xref="paper", yref="paper",
                          x=(x0 + x1) / 2, y=(y0 + y1) / 2, xanchor="center",
                          yanchor="middle")
    figure.update_layout({f"xaxis{panel}": {"visible": False},
                          f"yaxis{panel}": {"visible": False}})


def _empty_finding(what: str) -> str:
    """The one-line finding of a chart with nothing to draw."""
    return f"{NO_DATA}: {what}."


def ratio_range(values: Sequence[float | None]) -> list[float]:
    """A 0-100% axis range fitted to ``values``: never below 0 nor past 100%, and never
    squashed to a sliver by a handful of calls."""
    top = max((v for v in values if v is not None), default=0.0)
    return [0.0, min(1.0, max(0.05, top * 1.15))]


def service_level_chart(data: ServiceLevel,
                        period: tuple[dt.datetime, dt.datetime] | None = None) -> Chart:
    """Bars per interval, green where the target was met, with the target as a line."""
    met = data.met()
    figure = go.Figure()
    window = ("the interval" if data.window_min == INTERVAL_MIN
              else f"the {data.window_min} minutes before its end")
    _layout(figure, f"Did each {INTERVAL_MIN}-minute interval meet the {data.target:.0%} "
            f"service level target?",
            f"Floor service level over {window}, as the controller computed it; green met, "
            f"red missed", yaxis={"tickformat": ".0%", "range": [0, 1.05]}, showlegend=False,
            bargap=0.1)
    if not data.values:
        _empty(figure, "no service level recorded")
        return Chart("service-level", figure, _empty_finding("no service level recorded"))
    if period is not None:
        figure.update_xaxes(period_axis(period))
    figure.add_trace(go.Bar(
        x=local(data.times), y=list(data.values), name="service level",
        # An interval wide, wherever it sits: alone, plotly would size a bar by guesswork.
        width=[INTERVAL_MIN * 60_000] * len(data.values), offset=0,
        marker_color=[GOOD if ok else BAD for ok in met],
        hovertemplate="%{x}<br>SL %{y:.1%}<extra></extra>"))
    figure.add_hline(y=data.target, line_dash="dash", line_color="#333",
                     annotation_text=f"target {data.target:.0%}",
                     annotation_position="top left")
    finding = (f"{sum(met)} of {len(met)} intervals met the target "
               f"({sum(met) / len(met):.0%}).")
    return Chart("service-level", figure, finding)


def offered_chart(data: OfferedHeatmap) -> Chart:
    """Weekday x hour heatmap, Monday on top, the busiest cell labelled."""
    hours = [f"{h:02d}:00" for h in range(24)]
    figure = go.Figure()
    _layout(figure, "When do calls arrive, by weekday and hour?",
            "Calls offered, all queues, summed over the range, in site time; blank: hours "
            "outside the range", yaxis={"autorange": "reversed"}, xaxis={"dtick": 1})
    if data.total() == 0:
        _empty(figure, "no calls offered")
        return Chart("offered", figure, _empty_finding("no calls offered"))
    figure.add_trace(go.Heatmap(
        z=[list(day) for day in data.calls], x=hours, y=list(WEEKDAYS), colorscale="YlOrRd",
        zmin=0, colorbar={"title": {"text": "calls"}}, hoverongaps=False,
        hovertemplate="%{y} %{x}<br>%{z:,.0f} calls offered<extra></extra>"))
    day, hour = data.peak()
    calls = data.calls[day][hour] or 0.0
    figure.add_annotation(x=hours[hour], y=WEEKDAYS[day], text=f"peak {calls:,.0f}",
                          showarrow=True, arrowhead=2, ax=40, ay=-30, bgcolor="white")
    finding = (f"Busiest hour: {WEEKDAYS[day]} {hour:02d}:00-{hour + 1:02d}:00, "
               f"{calls:,.0f} calls of {data.total():,.0f}.")
    return Chart("offered", figure, finding)


def _day_noon(days: Sequence[dt.date], day_start: dt.time,
              within: tuple[dt.datetime, dt.datetime] | None = None) -> list[str]:
    """Where a day's figure sits on a time axis: half a day after the site's day starts,
    kept inside the range (site wall-clock times), so a short range is not stretched."""
    noons = [dt.datetime.combine(d, day_start) + dt.timedelta(hours=12) for d in days]
    if within is not None:
        first, last = (t.replace(tzinfo=None) for t in within)
        noons = [min(max(noon, first), last) for noon in noons]
    return local(noons)


def abandon_aht_chart(data: AbandonAht, day_start: dt.time,
                      within: tuple[dt.datetime, dt.datetime] | None = None) -> Chart:
    """Two stacked panels: abandon rate and AHT, thin per interval, bold per day."""
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                           subplot_titles=("Abandon rate (short abandons excluded)",
                                           "Average handle time (talk + hold + wrap-up)"))
    step = dt.timedelta(minutes=INTERVAL_MIN)
    noons = _day_noon(data.days, day_start, within)
    times, rates = broken(data.times, data.abandon_rate, step)
    figure.add_trace(go.Scatter(x=times, y=rates, name="abandon rate", mode=line_mode(rates),
                                line={"width": 1, "color": BAD}), row=1, col=1)
    figure.add_trace(go.Scatter(x=noons, y=list(data.day_abandon_rate), mode="lines+markers",
                                name="abandon rate, day", line={"width": 3, "color": BAD}),
                     row=1, col=1)
    times, ahts = broken(data.times, data.aht_s, step)
    figure.add_trace(go.Scatter(x=times, y=ahts, name="AHT", mode=line_mode(ahts),
                                line={"width": 1, "color": NEUTRAL}), row=2, col=1)
    figure.add_trace(go.Scatter(x=noons, y=list(data.day_aht_s), mode="lines+markers",
                                name="AHT, day", line={"width": 3, "color": NEUTRAL}),
                     row=2, col=1)
    all_rates = [*data.abandon_rate, *data.day_abandon_rate]
    figure.update_yaxes(tickformat=".0%", range=ratio_range(all_rates), row=1, col=1)
    figure.update_yaxes(ticksuffix=" s", rangemode="tozero", row=2, col=1)
    if within is not None:
        figure.update_xaxes(period_axis(within))
    _layout(figure, "Are more callers giving up, and are calls getting longer?",
            f"Thin: the last {INTERVAL_MIN} minutes at each interval's end; bold: each day's "
            f"total", height=HEIGHT + 120)
    day_rates = [r for r in data.day_abandon_rate if r is not None]
    day_ahts = [a for a in data.day_aht_s if a is not None]
    has_rates = any(r is not None for r in all_rates)
    has_ahts = any(a is not None for a in (*data.aht_s, *data.day_aht_s))
    if not has_rates:
        _empty(figure, "no abandon rate recorded")
    if not has_ahts:
        _empty(figure, "no handle time recorded", "2")
    if not has_rates and not has_ahts:
        return Chart("abandon-aht", figure, _empty_finding("no abandon rate or AHT recorded"))
    parts = []
    offered = sum(n for n in data.day_offered if n is not None)
    answered = sum(n for n in data.day_answered if n is not None)
    if any(n is not None for n in data.day_offered):
        parts.append(f"{offered:,.0f} calls offered, {answered:,.0f} answered")
    if day_rates and day_ahts:
        parts.append(f"daily abandon rate {min(day_rates):.1%} to {max(day_rates):.1%}; "
                     f"daily AHT {min(day_ahts):.0f} s to {max(day_ahts):.0f} s")
    else:
        parts.append("per-interval figures only: no day's figures in this range")
    finding = "; ".join(parts)
    return Chart("abandon-aht", figure, finding[0].upper() + finding[1:] + ".")


def help_chart(data: HelpResponse, raw_days: int, escalate_after_s: float) -> Chart:
    """Three panels: the spread over the range, p50/p90 per day, and alerts per day."""
    figure = make_subplots(rows=1, cols=3, horizontal_spacing=0.08, subplot_titles=(
        "Share of requests handled within…", "Per day: median (dotted) and p90",
        "Help alerts per day"))
    for name, spread, colour in (("acknowledge", data.ack, NEUTRAL),
                                 ("resolve", data.resolve, SECOND)):
        if spread is None:
            continue
        figure.add_trace(go.Scatter(
            x=[s for _, s in spread.points], y=[p / 100 for p, _ in spread.points],
            mode="lines+markers", name=f"time to {name} ({spread.requests:,} requests)",
            line={"color": colour}, hovertemplate="%{y:.0%} within %{x:.0f} s<extra></extra>"),
            row=1, col=1)
        if (p90 := spread.at(90)) is not None:
            figure.add_trace(go.Scatter(
                x=[p90], y=[0.9], mode="markers+text", text=[f"p90 {p90:.0f} s"],
                textposition="middle right", marker={"size": 11, "color": colour,
                                                     "symbol": "diamond"},
                showlegend=False, hoverinfo="skip"), row=1, col=1)
    if data.ack is None and data.resolve is None:
        _empty(figure, f"individual help times are kept {raw_days} days:<br>"
                       f"this range starts earlier,<br>or had no requests")
    days = [day_label(d) for d in data.days]
    for name, values, colour, dash in (
            ("ack p50", data.ack_p50_s, NEUTRAL, "dot"), ("ack p90", data.ack_p90_s, NEUTRAL,
                                                          "solid"),
            ("resolve p50", data.resolve_p50_s, SECOND, "dot"),
            ("resolve p90", data.resolve_p90_s, SECOND, "solid")):
        figure.add_trace(go.Scatter(x=days, y=list(values), name=name, mode="lines+markers",
                                    line={"color": colour, "dash": dash}, showlegend=False,
                                    hovertemplate=f"%{{x}} {name} %{{y:.0f}} s<extra></extra>"),
                         row=1, col=2)
    levels = ["escalated" if (level or 0) >= 2 else "raised" for level in data.alert_level_max]
    figure.add_trace(go.Bar(
        x=[day_label(d) for d in data.alert_days], y=list(data.alerts), name="help alerts",
        marker_color=[BAD if level == "escalated" else SECOND for level in levels],
        customdata=levels, showlegend=False,
        hovertemplate="%{x}: %{y:.0f} alerts, highest %{customdata}<extra></extra>"),
        row=1, col=3)
    figure.update_xaxes(title_text="seconds", row=1, col=1)
    figure.update_yaxes(tickformat=".0%", range=[0, 1.02], row=1, col=1)
    figure.update_yaxes(ticksuffix=" s", rangemode="tozero", row=1, col=2)
    figure.update_yaxes(rangemode="tozero", row=1, col=3)
    _layout(figure, "How fast were help requests answered, and how often did they escalate?",
            f"An unacknowledged request raises an alert after {escalate_after_s:.0f} s and "
            f"escalates after {2 * escalate_after_s:.0f} s; red bars: a day with escalations")
    heard = bool(data.days)  # the controller's snapshots were recorded for some day
    if not any(v is not None for v in (*data.ack_p50_s, *data.ack_p90_s,
                                       *data.resolve_p50_s, *data.resolve_p90_s)):
        _empty(figure, "no help request handled", "2")
    alerts = sum(data.alerts)
    if not alerts:
        # With the floor recorded, no alert point means none was raised; without, nothing
        # is known.
        _empty(figure, "no help alert raised" if heard else "nothing recorded", "3")
    spread = data.ack or data.resolve
    if spread is None and not heard and not alerts:
        return Chart("help", figure, _empty_finding("no help requests recorded"))
    parts = []
    if data.ack is not None and (p90 := data.ack.at(90)) is not None:
        parts.append(f"90% acknowledged within {p90:.0f} s")
    if data.resolve is not None and (p90 := data.resolve.at(90)) is not None:
        parts.append(f"90% resolved within {p90:.0f} s")
    if alerts:
        parts.append(f"{alerts:,.0f} help alerts raised or escalated")
    elif heard:
        parts.append("no help alert raised")
    finding = "; ".join(parts)
    return Chart("help", figure, finding[0].upper() + finding[1:] + ".")


def staffing_chart(data: Staffing, scope: ReportScope) -> Chart:
    """Required (Erlang C) against staffed agents, understaffed intervals marked in red."""
    times, short = local(data.times), data.understaffed()
    figure = go.Figure()
    _layout(figure, "Were enough agents on the phones to meet the target?",
            f"Per {INTERVAL_MIN} minutes: agents Erlang C needs for the calls offered at that "
            f"interval's AHT ({scope.sl_target:.0%} in {scope.sl_threshold_s:.0f} s, occupancy "
            f"≤ {scope.max_occupancy:.0%}), against agents logged in and not on a break",
            yaxis={"rangemode": "tozero"})
    if not data.times:
        _empty(figure, "no calls or agents recorded")
        return Chart("staffing", figure, _empty_finding("no calls or agents recorded"))
    figure.add_trace(go.Scatter(x=times, y=list(data.required), name="required (Erlang C)",
                                mode="lines", line={"shape": "hv", "color": "#333"}))
    figure.update_xaxes(period_axis((scope.period.start, scope.period.end)))
    figure.add_trace(go.Scatter(x=times, y=list(data.staffed), name="staffed",
                                mode=line_mode(data.staffed), line={"color": NEUTRAL}))
    figure.add_trace(go.Scatter(
        x=[t for t, s in zip(times, short, strict=True) if s],
        y=[v for v, s in zip(data.staffed, short, strict=True) if s],
        name=f"understaffed ({sum(short)} intervals)", mode="markers",
        marker={"color": BAD, "size": 7, "symbol": "x"}))
    busy = [have for need, have in zip(data.required, data.staffed, strict=True) if need]
    known = sum(1 for have in busy if have is not None)
    finding = f"{sum(short)} of {known} intervals with calls and a staffed count were understaffed"
    if known < len(busy):  # the controller's snapshots, which count agents, are missing there
        finding += f"; agents staffed not recorded for {len(busy) - known} of {len(busy)}"
    return Chart("staffing", figure, finding + ".")


def team_chart(data: TeamStrain) -> Chart:
    """Team x hour heatmap of mean strain scores."""
    figure = go.Figure()
    _layout(figure, "Which teams carried the most strain, and when?",
            f"Mean workload strain score (0-100) per team and hour; teams with at least "
            f"{data.min_group} agents logged in only, never individuals",
            yaxis={"autorange": "reversed"})
    if not data.teams:
        _empty(figure, f"no team of {data.min_group} or more agents reported")
        return Chart("teams", figure, _empty_finding(
            f"no team of {data.min_group} or more agents reported"))
    figure.add_trace(go.Heatmap(
        z=[list(row) for row in data.scores], x=local(data.times), y=list(data.teams),
        colorscale="Reds", zmin=0, zmax=100, colorbar={"title": {"text": "strain"}},
        hoverongaps=False, hovertemplate="%{y} %{x}<br>mean strain %{z:.0f}<extra></extra>"))
    means = {team: sum(v for v in row if v is not None) / max(1, sum(v is not None
                                                                      for v in row))
             for team, row in zip(data.teams, data.scores, strict=True)}
    top = max(means, key=lambda team: means[team])
    return Chart("teams", figure,
                 f"{len(data.teams)} teams; highest mean strain: {top} ({means[top]:.0f}).")


def report_charts(data: ReportData) -> list[Chart]:
    """All six charts, in reading order."""
    scope = data.scope
    return [
        service_level_chart(data.service_level, (scope.period.start, scope.period.end)),
        offered_chart(data.offered),
        abandon_aht_chart(data.abandon_aht, scope.day_start,
                          (scope.period.start, scope.period.end)),
        help_chart(data.help, scope.raw_retention_days, scope.escalate_after_s),
        staffing_chart(data.staffing, scope),
        team_chart(data.teams),
    ]
