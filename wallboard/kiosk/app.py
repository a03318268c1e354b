"""The Kivy shell of the wall screen: widgets from ``board.kv``, driven by the pure view model.

Everything here runs on Kivy's main thread. The feed hands over decoded messages; ``pump``
folds them into the board and updates only the widgets whose part changed; ``tick`` moves the
clocks once a second. Import this module only after the window settings are in place
(``wallboard.kiosk.run`` does that).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    NumericProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.label import Label

import wallboard.clock  # not its Clock by name: Kivy's Clock is used here too
from wallboard.config import WallboardConfig
from wallboard.kiosk import theme, view
from wallboard.kiosk.feed import Feed, SendCommand
from wallboard.kiosk.fit_label import FitLabel  # before board.kv, which uses it
from wallboard.kiosk.state import Board, Changes, fold
from wallboard.kiosk.watchdog import Notifier
from wallboard.messages import DeskCommand, LampState

log = logging.getLogger(__name__)

Builder.load_file(str(Path(__file__).with_name("board.kv")))

PUMP_S = 0.1  # how often arrived messages are folded: ten screen updates a second at most
BLINK_S = 0.1  # lamp repaints: under the fastest pattern's half period (0.125 s)
HELP_ROWS = 5
TICKER_S = 4.0


class Tile(BoxLayout):
    """One headline number with its caption and level."""

    caption = StringProperty("")
    value = StringProperty("")
    badge = StringProperty("")
    colour = ColorProperty(theme.LEVEL_COLOURS["none"])
    value_font = NumericProperty(40)
    level = StringProperty("none")


class QueueRow(BoxLayout):
    """A queue's title and its tiles."""

    queue = StringProperty("")  # "" for the floor total
    title = StringProperty("")
    title_font = NumericProperty(20)
    title_share = NumericProperty(view.TITLE_SHARE)
    tile_cols = NumericProperty(4)


class HelpRow(ButtonBehavior, BoxLayout):
    """One open help request; a tap on a supervisor screen acknowledges, then resolves."""

    desk = StringProperty("")
    request = StringProperty("")
    age = StringProperty("")
    who_text = StringProperty("")
    colour = ColorProperty(theme.LEVEL_COLOURS["warn"])


class AgentCell(Label):
    """One agent: state colour, words, a long-hold edge and the desk's lamps."""

    agent = StringProperty("")
    bg = ColorProperty(theme.STATE_COLOURS["offline"])
    edge = ColorProperty((0, 0, 0, 0))
    lamp_red = ColorProperty((0, 0, 0, 0))
    lamp_amber = ColorProperty((0, 0, 0, 0))
    lamp_green = ColorProperty((0, 0, 0, 0))
    lamp_size = NumericProperty(0)
    lamps: tuple[LampState, LampState, LampState] | None = None


class TeamHeader(FitLabel):
    """A team's name above its agents."""


class BoardRoot(FloatLayout):
    """The whole screen."""

    site_text = StringProperty("")
    page_text = StringProperty("")
    clock_text = StringProperty("")
    banner_text = StringProperty("")
    ticker_text = StringProperty("")
    help_title = StringProperty("HELP REQUESTS")
    stale = BooleanProperty(False)
    portrait = BooleanProperty(False)
    header_share = NumericProperty(view.HEADER)
    rows_share = NumericProperty(view.ROWS)
    ticker_share = NumericProperty(view.TICKER)


def lamp_colour(lamp: str, state: LampState, now: float) -> tuple[float, ...]:
    """A mirrored lamp's colour at ``now``."""
    return theme.LAMP_COLOURS[lamp] if view.lamp_lit(state, now, BLINK_S) else theme.LAMP_OFF


class Kiosk:
    """The screen's logic on the main thread: board, view model and widgets kept in step."""

    def __init__(self, config: WallboardConfig, feed: Feed, send: SendCommand | None = None,
                 clock: wallboard.clock.Clock = time.time,
                 alarm: Callable[[], None] | None = None) -> None:
        self.kiosk_config, self.feed, self.send = config.kiosk, feed, send
        self.clock, self.alarm = clock, alarm
        self.tz = ZoneInfo(config.site.timezone)
        self.names = {q: o.name for q, o in config.queues.items() if o.name}
        self.agent_names = {a: o.name for a, o in config.agents.items()}
        self.window_s = config.site.sliding_window_min * 60.0  # until a snapshot says
        self.board = Board()
        self.root = BoardRoot()
        self.page = 0
        self.page_rows: list[str | None] = []
        self.rows: list[QueueRow] = []
        self.tiles: list[list[Tile]] = []
        self.cells: dict[str, AgentCell] = {}
        self.blinking: set[str] = set()
        self.help_rows: dict[str, HelpRow] = {}  # by desk
        self.acked_here: set[str] = set()  # request ids this kiosk acknowledged
        self.alert_levels: dict[str, int] = {}
        self.ticker_lines: list[str] = []
        self.notes: list[tuple[str, str]] = []  # (label, line): strain, then kudos
        self.ticker_at = 0
        self.grid_size: tuple[float, float] = (0.0, 0.0)
        self.fit = view.GridFit(1, 100.0, 100.0, 12.0)
        self.cell_chars = 12
        self.root.site_text = f"WALLBOARD · {config.site.id.upper()}"
        # ids are weak references: hold the panels, which may be taken off the screen.
        self.grid = self.root.ids.grid.__self__
        self.help_panel = self.root.ids.help_panel.__self__
        if not self.kiosk_config.help_panel:
            self.root.ids.lower.remove_widget(self.help_panel)
        if not self.kiosk_config.agents_panel:
            self.root.ids.lower.remove_widget(self.grid)
        self.root.bind(size=lambda *_: self.relayout())
        self.grid.bind(size=lambda *_: self.layout_grid())
        self.events: list[Any] = []

    # -- the clock -------------------------------------------------------------------------

    def start(self, notifier: Notifier | None = None) -> None:
        """Schedule the pump, the second tick, page turns, lamp blinks and watchdog pings."""
        self.relayout()
        self.tick()
        self.show_ticker()
        self.events = [
            Clock.schedule_interval(lambda _dt: self.pump(), PUMP_S),
            Clock.schedule_interval(lambda _dt: self.tick(), 1.0),
            Clock.schedule_interval(lambda _dt: self.turn_page(), self.kiosk_config.page_dwell_s),
            Clock.schedule_interval(lambda _dt: self.blink(), BLINK_S),
            Clock.schedule_interval(lambda _dt: self.next_alert(), TICKER_S),
        ]
        every = notifier.ping_every_s if notifier else None
        if notifier is not None and every is not None:
            self.events.append(
                Clock.schedule_interval(lambda _dt: notifier.notify("WATCHDOG=1"), every))

    def stop(self) -> None:
        """Unschedule everything."""
        for event in self.events:
            event.cancel()
        self.events = []

    def pump(self) -> Changes:
        """Fold what arrived and update the parts of the screen it changed."""
        changes, now = Changes(), self.clock()
        for item in self.feed.drain():
            changes.merge(fold(self.board, item, now))
        if changes:
            self.apply(changes)
        self.show_banner()
        return changes

    def apply(self, changes: Changes) -> None:
        """Update the widgets behind ``changes``, and nothing else."""
        if changes.tiles:
            self.show_rows()
        if changes.help:
            self.show_help()
        if changes.alerts or changes.tiles or changes.agents:  # kudos, strain
            self.show_alerts()
        if changes.roster:
            self.layout_grid(force=True)
        else:
            now = self.clock()
            holds = self.board.long_holds()
            for agent in changes.agents:
                self.show_cell(agent, now, holds)

    def tick(self) -> None:
        """Once a second: the clock, help ages, agent timers and the staleness banner."""
        now = self.clock()
        self.root.clock_text = dt.datetime.fromtimestamp(now, self.tz).strftime("%H:%M:%S")
        self.show_help()
        holds = self.board.long_holds()
        for agent in self.cells:
            self.show_cell(agent, now, holds)
        self.show_banner()
        if self.board.alerts:  # an alert's age moves on with the clock
            self.ticker_lines = view.ticker(self.board.alerts, now, self.kiosk_config,
                                            self.agent_names)
            self.show_ticker()

    # -- headline rows ---------------------------------------------------------------------

    def relayout(self) -> None:
        """Size everything for the window: orientation, rows and fonts."""
        self.root.portrait = self.root.height > self.root.width
        self.show_rows(rebuild=True)
        self.show_help()

    def turn_page(self) -> None:
        """Show the next page of queues."""
        self.page += 1
        self.show_rows()

    def show_rows(self, rebuild: bool = False) -> None:
        """Fill the headline rows of the current page; rebuild them only if the rows differ."""
        pages = view.pages(self.board, self.kiosk_config)
        self.page %= len(pages)
        wanted = pages[self.page]
        self.root.page_text = f"page {self.page + 1} of {len(pages)}" if len(pages) > 1 else ""
        if rebuild or wanted != self.page_rows:
            self._build_rows(wanted)
        for row_widget, tiles, queue in zip(self.rows, self.tiles, wanted, strict=True):
            row = view.row(self.board, self.kiosk_config, queue, self.names, self.window_s)
            row_widget.title = row.title
            for tile_widget, t in zip(tiles, row.tiles, strict=True):
                tile_widget.caption, tile_widget.value, tile_widget.badge = (
                    t.caption, t.value, t.badge)
                tile_widget.level = t.level
                tile_widget.colour = theme.LEVEL_COLOURS[t.level]

    def _build_rows(self, wanted: list[str | None]) -> None:
        box = self.root.ids.rows
        box.clear_widgets()
        w, h = self.root.size
        geo = view.geometry(w, h, self.kiosk_config.rows_per_page, len(self.kiosk_config.tiles))
        self.root.rows_share = geo.rows_share
        self.page_rows, self.rows, self.tiles = list(wanted), [], []
        for queue in wanted:
            row_widget = QueueRow(queue=queue or "", tile_cols=geo.tile_cols,
                                  title_font=geo.headline_font * 0.3,
                                  title_share=geo.title_share)
            tiles = [Tile(value_font=geo.headline_font) for _ in self.kiosk_config.tiles]
            for t in tiles:
                row_widget.ids.tiles.add_widget(t)
            box.add_widget(row_widget)
            self.rows.append(row_widget)
            self.tiles.append(tiles)
        # Fewer rows than a page holds (the last page): keep the others' size.
        for _ in range(self.kiosk_config.rows_per_page - len(wanted)):
            box.add_widget(Label())

    # -- staleness -------------------------------------------------------------------------

    def show_banner(self) -> None:
        """Show or hide STALE DATA, with its age."""
        b = view.banner(self.board, self.kiosk_config, self.clock(), self.feed.link.state(),
                        self.tz)
        self.root.banner_text = b.text if b else ""
        if self.root.stale != (b is not None):
            self.root.stale = b is not None
            self.show_ticker()  # "No alerts" only while the data is live

    # -- help requests ---------------------------------------------------------------------

    def show_help(self) -> None:
        """The open requests, waiting ones first (``view.help_views``); rows are reused, ages
        tick."""
        if not self.kiosk_config.help_panel:
            return
        views = view.help_views(self.board, self.kiosk_config, self.clock(), self.agent_names)
        self.acked_here &= {v.request for v in views}  # forget requests no longer open
        shown = views[:HELP_ROWS]
        extra = len(views) - len(shown)
        hint = " · TAP TO ACKNOWLEDGE" if self.kiosk_config.audience == "supervisor" else ""
        self.root.help_title = (f"HELP REQUESTS · {len(views)} OPEN"
                                + (f" · {extra} MORE NOT SHOWN" if extra else hint)
                                if views else "HELP REQUESTS · NONE OPEN"
                                if self.board.floor is not None else view.HELP_NOT_KNOWN)
        box = self.root.ids.help_list
        if [v.desk for v in shown] != list(self.help_rows):
            box.clear_widgets()
            self.help_rows = {}
            for v in shown:
                row = HelpRow(desk=v.desk, size_hint_y=1 / HELP_ROWS)
                row.bind(on_release=self._tapped)
                box.add_widget(row)
                self.help_rows[v.desk] = row
            if len(shown) < HELP_ROWS:
                box.add_widget(Label(size_hint_y=(HELP_ROWS - len(shown)) / HELP_ROWS))
        for v in shown:
            row = self.help_rows[v.desk]
            icon = theme.LEVEL_ICONS[v.level]
            row.request, row.age = v.request, v.age
            row.who_text = f"{view.help_who(v)}\n{icon} {v.state} {v.escalation}".rstrip()
            row.colour = theme.LEVEL_COLOURS[v.level]

    def _tapped(self, row: HelpRow) -> None:
        self.tap(row.desk)

    def tap(self, desk: str) -> DeskCommand | None:
        """A tap on a desk's request: acknowledge, then resolve (supervisor screens only)."""
        status = self.board.help.get(desk)
        if self.kiosk_config.audience != "supervisor" or status is None or self.send is None:
            return None
        cmd = view.tap_command(status, status.request in self.acked_here, self.kiosk_config.id,
                               self.clock())
        if cmd is None:
            return None
        if cmd.cmd == "ack":
            self.acked_here.add(status.request)
        self.send(desk, cmd)
        log.info("kiosk %s sent %s for request %s at desk %s", self.kiosk_config.id, cmd.cmd,
                 status.request, desk)
        return cmd

    # -- alerts ----------------------------------------------------------------------------

    def show_alerts(self) -> None:
        """Refresh the ticker's lines, and sound the alarm for a new escalation."""
        alerts = self.board.alerts
        if self.alarm is not None and view.escalated(self.alert_levels, alerts):
            self.alarm()
        self.alert_levels = {key: a.level for key, a in alerts.items()}
        self.ticker_lines = view.ticker(alerts, self.clock(), self.kiosk_config, self.agent_names)
        self.notes = [("STRAIN", line)
                      for line in view.strain_lines(self.board, self.kiosk_config,
                                                    self.agent_names)]
        holds = view.long_hold_note(self.board, self.kiosk_config)
        self.notes += [("HOLDS", holds)] if holds else []
        self.notes += [("KUDOS", line) for line in
                       view.kudos_lines(self.board, self.kiosk_config, self.clock(),
                                        self.agent_names)]
        self.show_ticker()

    def next_alert(self) -> None:
        """Move the ticker on to the next alert."""
        self.ticker_at += 1
        self.show_ticker()

    def show_ticker(self) -> None:
        """Show one alert at a time, with its place in the list, then strain and kudos."""
        alerts = self.ticker_lines
        lines = [(f"ALERT {n + 1}/{len(alerts)}", line) for n, line in enumerate(alerts)]
        lines += self.notes
        if not lines:  # say "No alerts" only as a fact: live data from the controller
            self.root.ticker_text = "" if self.root.stale else "No alerts"
            return
        place, line = lines[self.ticker_at % len(lines)]
        self.root.ticker_text = f"{place}   {line}"

    # -- agents grid -----------------------------------------------------------------------

    def layout_grid(self, force: bool = False) -> None:
        """Group agents by team and size the cells so every one fits."""
        grid = self.grid
        if not self.kiosk_config.agents_panel:
            return
        size = (float(grid.width), float(grid.height))
        if not force and size == self.grid_size:
            return
        self.grid_size = size
        groups = view.teams(self.board)
        fit = view.fit_grid(sum(len(agents) + 1 for _, agents in groups), grid.width,
                            grid.height)
        self.fit, self.cell_chars = fit, view.cell_chars(fit)
        grid.clear_widgets()
        old, self.cells, self.blinking = self.cells, {}, set()
        for team, agents in groups:
            grid.add_widget(TeamHeader(full_text=f"{team.upper()}\n{len(agents)}",
                                       size=(fit.cell_w, fit.cell_h), nominal_font=fit.font))
            for agent in agents:
                cell = old.get(agent) or AgentCell(agent=agent)
                cell.size = (fit.cell_w, fit.cell_h)
                cell.font_size = fit.font
                cell.lamp_size = fit.cell_h * 0.16 if self.kiosk_config.mirror_lights else 0
                grid.add_widget(cell)
                self.cells[agent] = cell
        now, holds = self.clock(), self.board.long_holds()
        for agent in self.cells:
            self.show_cell(agent, now, holds)

    def show_cell(self, agent: str, now: float, holds: dict[str, float]) -> None:
        """Bring one agent's cell up to date (it may not be on the grid)."""
        widget = self.cells.get(agent)
        if widget is None:
            return
        c = view.cell(self.board, self.kiosk_config, agent, now, holds, self.agent_names)
        widget.text = view.cell_text(c, self.fit, self.cell_chars)
        widget.bg = theme.STATE_COLOURS[c.state]
        widget.color = theme.STATE_TEXT[c.state]
        widget.edge = theme.LONG_HOLD if c.long_hold else (0, 0, 0, 0)
        if widget.lamps != c.lamps:
            widget.lamps = c.lamps
            self._paint_lamps(widget, self.clock())
            if c.lamps is not None and any(lamp not in ("on", "off") for lamp in c.lamps):
                self.blinking.add(agent)
            else:
                self.blinking.discard(agent)

    def blink(self) -> None:
        """Step the lamps that blink, in time with the desks' own patterns."""
        now = self.clock()
        for agent in self.blinking:
            self._paint_lamps(self.cells[agent], now)

    @staticmethod
    def _paint_lamps(widget: AgentCell, now: float) -> None:
        if widget.lamps is None:
            widget.lamp_red = widget.lamp_amber = widget.lamp_green = (0, 0, 0, 0)
            return
        red, amber, green = widget.lamps
        widget.lamp_red = lamp_colour("red", red, now)
        widget.lamp_amber = lamp_colour("amber", amber, now)
        widget.lamp_green = lamp_colour("green", green, now)


class KioskApp(App):
    """The Kivy app around a ``Kiosk``."""

    title = "Wallboard"

    def __init__(self, kiosk: Kiosk, notifier: Notifier | None = None,
                 on_started: Callable[[KioskApp], None] | None = None) -> None:
        super().__init__()
        self.kiosk, self.notifier, self.on_started = kiosk, notifier, on_started

    def build(self) -> BoardRoot:
        """The root widget."""
        return self.kiosk.root

    def on_start(self) -> None:
        """Start the clocks, tell systemd we are up, run the start hook."""
        self.kiosk.start(self.notifier)
        if self.notifier is not None:
            self.notifier.notify("READY=1")
        if self.on_started is not None:
            self.on_started(self)

    def on_stop(self) -> None:
        """Stop the clocks."""
        self.kiosk.stop()
