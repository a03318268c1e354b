"""The pure view model: the board and ``now`` in, texts, levels and colours out.

Nothing here imports Kivy or reads the clock. The kiosk shows what the controller computed,
so every screen on the floor agrees: the only arithmetic is formatting, ages and layout.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from wallboard.alert_age import help_text, live_text
from wallboard.floor.help import ALERT_KIND as HELP_ALERT_KIND
from wallboard.kiosk.config import LOWER_IS_WORSE, KioskConfig, Metric, Threshold
from wallboard.kiosk.state import FUTURE_S, Board
from wallboard.kiosk.textfit import ELLIPSIS, SEPARATORS
from wallboard.kiosk.theme import (
    DASH,
    HELP_LEVELS,
    HELP_WORDS,
    LEVEL_ICONS,
    LEVEL_WORDS,
    STATE_WORDS,
    Level,
)
from wallboard.link_status import WAITING_FOR_CONTROLLER, ControllerSeen, LinkState, waiting_for
from wallboard.messages import (
    LAMP_PATTERNS,
    OPEN_HELP_STATES,
    AgentStateName,
    AgentWellbeing,
    Alert,
    DeskCommand,
    HelpState,
    HelpStatus,
    KpiSnapshot,
    LampState,
)

CAPTIONS: dict[Metric, str] = {
    "waiting": "WAITING",
    "longest_wait": "LONGEST WAIT",
    "service_level": "SERVICE LEVEL",
    "service_level_today": "SL TODAY",
    "asa": "ASA",
    "abandon_rate": "ABANDONED",
    "aht": "AHT",
    "occupancy": "OCCUPANCY",
    "agents_available": "AVAILABLE",
}
RATIOS: frozenset[str] = frozenset({"service_level", "service_level_today", "abandon_rate",
                                    "occupancy"})
DURATIONS: frozenset[str] = frozenset({"longest_wait", "asa", "aht"})
# Metrics over the sliding window: their caption names it (SL TODAY already says its own).
WINDOWED: frozenset[str] = frozenset({"service_level", "asa", "abandon_rate", "aht", "occupancy"})
DEFAULT_WINDOW_S = 1800.0  # site.sliding_window_min's default, in seconds
FLOOR_TITLE = "ALL QUEUES"


@dataclass(frozen=True, slots=True)
class TileView:
    """One headline number: caption, value, and its level as colour, icon and word."""

    caption: str
    value: str
    level: Level
    badge: str  # icon and word, e.g. "▲ WATCH"


@dataclass(frozen=True, slots=True)
class RowView:
    """One queue (or the whole floor) across the screen."""

    queue: str | None  # None: the floor total
    title: str
    tiles: tuple[TileView, ...]


@dataclass(frozen=True, slots=True)
class HelpView:
    """One open help request in the panel."""

    desk: str
    request: str
    who: str  # the agent as this audience may see them
    age: str  # m:ss, ticking
    state: str  # WAITING or ON THE WAY
    escalation: str  # "", ESCALATED or ESCALATED TWICE
    level: Level


@dataclass(frozen=True, slots=True)
class CellView:
    """One agent in the grid."""

    label: str
    state: AgentStateName
    word: str  # state word and time in state, e.g. "TALK 4m"
    detail: str  # break reason, LONG HOLD, strain, or ""
    long_hold: bool
    lamps: tuple[LampState, LampState, LampState] | None  # red, amber, green; None: not shown


@dataclass(frozen=True, slots=True)
class Banner:
    """The full-width NO DATA, STALE DATA or CLOCK MISMATCH banner; None when data is live."""

    text: str


# -- headline tiles ------------------------------------------------------------------------


def metric_value(snapshot: KpiSnapshot, metric: Metric) -> float | None:
    """The snapshot's value for ``metric``; None when there is nothing to measure yet."""
    s = snapshot.sliding
    values: dict[Metric, float | None] = {
        "waiting": snapshot.waiting,
        "longest_wait": snapshot.longest_wait_s,
        "service_level": s.service_level,
        "service_level_today": snapshot.today.service_level,
        "asa": s.asa_s,
        "abandon_rate": s.abandon_rate,
        "aht": s.aht_s,
        "occupancy": s.occupancy,
        "agents_available": snapshot.agents_available,
    }
    return values[metric]


def level_of(metric: Metric, value: float | None, threshold: Threshold) -> Level:
    """The level a value reaches against its threshold (see ``Threshold``)."""
    if value is None:
        return "none"
    if metric in LOWER_IS_WORSE:
        return "alert" if value < threshold.red else "warn" if value < threshold.amber else "ok"
    return "alert" if value >= threshold.red else "warn" if value >= threshold.amber else "ok"


def format_metric(metric: Metric, value: float | None) -> str:
    """The value as the tile shows it: 85%, 1:05, 12; a dash when there is none."""
    if value is None:
        return DASH
    if metric in RATIOS:
        return f"{math.floor(value * 100 + 0.5)}%"
    if metric in DURATIONS:
        return clock_text(value)
    return str(int(value))


def clock_text(seconds: float) -> str:
    """m:ss, or h:mm:ss from an hour."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def badge(level: Level) -> str:
    """The icon and word shown with a level, so it never rests on colour alone."""
    return f"{LEVEL_ICONS[level]} {LEVEL_WORDS[level]}"


def window_text(seconds: float) -> str:
    """A sliding window's length as a caption says it: 30 MIN, 90 MIN, 4 H."""
    minutes = max(1, round(seconds / 60))
    return f"{minutes // 60} H" if minutes >= 120 and minutes % 60 == 0 else f"{minutes} MIN"


def caption(metric: Metric, window_s: float) -> str:
    """A tile's caption; a value over the sliding window says which, e.g. ASA · 30 MIN."""
    base = CAPTIONS[metric]
    return f"{base} · {window_text(window_s)}" if metric in WINDOWED else base


def tile(snapshot: KpiSnapshot | None, queue: str | None, metric: Metric,
         config: KioskConfig, window_s: float = DEFAULT_WINDOW_S) -> TileView:
    """One tile; a missing snapshot shows a dash at level none.

    The window is the snapshot's own (what the controller measured over); ``window_s``, the
    site's configured length, stands in until a snapshot arrives.
    """
    value = None if snapshot is None else metric_value(snapshot, metric)
    level = level_of(metric, value, config.threshold(queue, metric))
    if snapshot is not None:
        window_s = snapshot.sliding.end - snapshot.sliding.start
    return TileView(caption(metric, window_s), format_metric(metric, value), level,
                    badge(level))


def shown_queues(board: Board, config: KioskConfig) -> list[str]:
    """The configured queues, or every queue the controller lists on the floor snapshot."""
    if config.queues:
        return list(config.queues)
    return list(board.floor.queues) if board.floor is not None else sorted(board.queues)


def pages(board: Board, config: KioskConfig) -> list[list[str | None]]:
    """The rows of each page: the floor total pinned first, queues split across pages."""
    queues = shown_queues(board, config)
    pinned: list[str | None] = [None] if config.floor_total else []
    per_page = config.rows_per_page - len(pinned)  # the config keeps this at 1 or more
    if not queues:
        return [pinned] if pinned else [[]]
    return [pinned + list(queues[i:i + per_page]) for i in range(0, len(queues), per_page)]


def row(board: Board, config: KioskConfig, queue: str | None,
        names: dict[str, str] | None = None, window_s: float = DEFAULT_WINDOW_S) -> RowView:
    """One row of tiles for ``queue`` (None: the floor)."""
    snapshot = board.floor if queue is None else board.queues.get(queue)
    title = FLOOR_TITLE if queue is None else (names or {}).get(queue, queue)
    return RowView(queue, title.upper(), tuple(tile(snapshot, queue, metric, config, window_s)
                                               for metric in config.tiles))


# -- staleness -----------------------------------------------------------------------------


def controller_seen(board: Board) -> ControllerSeen:
    """What the board has heard from the controller: a snapshot, its status, when alive."""
    status = board.controller
    times = [t for t in (status.ts if status else None, board.floor.ts if board.floor else None)
             if t is not None]
    return ControllerSeen(heard=board.floor is not None,
                          online=status.online if status is not None else None,
                          last_alive=max(times) if times else None)


def banner(board: Board, config: KioskConfig, now: float, link: LinkState,
           tz: ZoneInfo | None = None) -> Banner | None:
    """NO DATA with what the screen waits for, STALE DATA with why, CLOCK MISMATCH for a
    snapshot dated well after this screen's clock (its age cannot be told, so it is never
    shown as live), or None while live."""
    problem = waiting_for(link, controller_seen(board), now, tz)
    if board.floor is None:
        return Banner(f"NO DATA · {problem or WAITING_FOR_CONTROLLER}")
    if problem is not None:
        return Banner(f"STALE DATA · {problem}")
    ahead = board.floor.ts - now
    if ahead > FUTURE_S:
        return Banner(f"CLOCK MISMATCH · data dated {span_text(ahead)} ahead of this screen")
    age = now - board.floor.ts
    if age > config.stale_after_s:
        return Banner(f"STALE DATA · last update {clock_text(age)} ago")
    return None


def span_text(seconds: float) -> str:
    """A long span in words: "90 s", "5 min", "1 h", "2 h 30 min"."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    hours, mins = divmod(round(seconds / 60), 60)
    if not hours:
        return f"{mins} min"
    return f"{hours} h {mins} min" if mins else f"{hours} h"


HELP_NOT_KNOWN = "HELP REQUESTS · NOT KNOWN YET"  # before the controller's first snapshot


# -- help requests -------------------------------------------------------------------------

# The word for each of the contract's open states (OPEN_HELP_STATES decides which are open).
OPEN_WORDS: dict[HelpState, str] = {"requested": "WAITING", "acknowledged": "ON THE WAY"}


def help_views(board: Board, config: KioskConfig, now: float,
               names: Mapping[str, str] | None = None) -> tuple[HelpView, ...]:
    """Open requests with an age that ticks with ``now``: those still waiting for someone
    first, oldest first, then those someone is on the way to. The panel shows five rows, and
    a request nobody has taken must never be pushed off it by ones already answered."""
    open_ = [(desk, h) for desk, h in board.help.items() if h.state in OPEN_HELP_STATES]
    open_.sort(key=lambda item: (item[1].state != "requested", item[1].requested_at, item[0]))
    views = []
    for desk, h in open_:
        level: Level = HELP_LEVELS[h.level] if h.state == "requested" else "ok"
        views.append(HelpView(
            desk=desk, request=h.request, who=who(h.agent, desk, config, names),
            age=clock_text(now - h.requested_at), state=OPEN_WORDS[h.state],
            escalation=HELP_WORDS[h.level] if h.state == "requested" else "", level=level))
    return tuple(views)


def tap_command(status: HelpStatus, acked_here: bool, kiosk: str, now: float) -> DeskCommand | None:
    """What a tap on a request sends: the first acknowledges it, the next resolves it."""
    if status.state == "requested" and not acked_here:
        return DeskCommand(ts=now, cmd="ack", request=status.request, by=kiosk)
    if status.state in OPEN_HELP_STATES:
        return DeskCommand(ts=now, cmd="resolve", request=status.request, by=kiosk)
    return None


# -- agents --------------------------------------------------------------------------------

_WORD_SPLIT = re.compile(r"[._\-\s]+")


def initials(agent: str) -> str:
    """Initials from an id like ``jane.smith`` (JS); the first two characters otherwise."""
    letters = "".join(part[0] for part in _WORD_SPLIT.split(agent) if part[:1].isalpha())
    return (letters if len(letters) >= 2 else agent[:2]).upper()


def who(agent: str | None, desk: str | None, config: KioskConfig,
        names: Mapping[str, str] | None = None) -> str:
    """An agent as this screen's audience may see them; "" when nothing meaningful may be.

    ``names`` are display names by agent id (``[agents.<id>]``). Masked floor screens show
    initials of a display name, never of an id (a017 gives "A0", which tells nobody
    anything), else the desk, else nothing.
    """
    name = names.get(agent) if names is not None and agent is not None else None
    at_desk = f"desk {desk}" if desk else ""
    if config.audience == "supervisor" or config.mask_names == "none":
        return name or agent or at_desk
    if config.mask_names == "initials" and name:
        return initials(name)
    return at_desk


def help_who(v: HelpView) -> str:
    """A help row's first line: who, and the desk unless that is already who."""
    desk = f"desk {v.desk}"
    return desk if v.who in ("", desk) else f"{v.who} · {desk}"


def minutes_text(seconds: float) -> str:
    """Whole minutes in a state, e.g. 4m or 1h05: timers a room can read, ticking once a minute."""
    minutes = max(0, int(seconds // 60))
    return f"{minutes // 60}h{minutes % 60:02d}" if minutes >= 60 else f"{minutes}m"


def cell(board: Board, config: KioskConfig, agent: str, now: float,
         long_holds: dict[str, float], names: Mapping[str, str] | None = None) -> CellView:
    """One agent's cell as of ``now``.

    Individual indicators reach supervisor screens only: a floor screen marks no long hold
    and times no hold (a timer would single the agent out just the same); it shows a count.
    """
    st = board.agents[agent]
    supervisor = config.audience == "supervisor"
    held = long_holds.get(agent) if supervisor else None
    word = (STATE_WORDS[st.state] if st.state == "hold" and not supervisor
            else f"{STATE_WORDS[st.state]} {minutes_text(now - st.since)}")
    detail = ""
    if held is not None:  # the controller's hold time, to the second: it is the alarm
        word, detail = f"HOLD {clock_text(held)}", "LONG HOLD"
    elif st.state in ("break", "offline") and st.reason:
        detail = st.reason.upper()
    if config.audience == "supervisor" and not detail:
        detail = strain_text(board.wellbeing.get(agent))
    lamps = None
    if config.mirror_lights and st.desk is not None:
        light = board.lights.get(st.desk)
        online = board.desks_online.get(st.desk)
        if light is not None and (online is None or online.online):
            lamps = (light.red, light.amber, light.green)
    return CellView(
        label=who(agent, st.desk, config, names), state=st.state, word=word, detail=detail,
        long_hold=held is not None, lamps=lamps)


def strain_text(wb: AgentWellbeing | None) -> str:
    """A supervisor's cell note on an agent's strain, once the controller suggests something
    (its policy decides when, so a screen needs no threshold of its own)."""
    if wb is None or wb.suggestion is None:
        return ""
    return f"STRAIN {wb.score:.0f}"


def strain_lines(board: Board, config: KioskConfig,
                 names: Mapping[str, str] | None = None) -> list[str]:
    """For a supervisor's ticker: each agent with a suggestion, and the reasons behind it,
    weightiest first. Never on a floor screen, which never receives them either."""
    if config.audience != "supervisor":
        return []
    flagged = sorted(((a, wb) for a, wb in board.wellbeing.items() if wb.suggestion),
                     key=lambda pair: (-pair[1].score, pair[0]))
    lines = []
    for agent, wb in flagged:
        reasons = [c.reason for c in sorted(wb.components, key=lambda c: -c.points)
                   if c.points > 0]
        shown = who(agent, None, config, names)
        lines.append(f"♥ {shown}: {wb.suggestion_text or wb.suggestion} — " + "; ".join(reasons))
    return lines


def kudos_lines(board: Board, config: KioskConfig, now: float,
                names: Mapping[str, str] | None = None) -> list[str]:
    """Callers' compliments for the ticker, newest first: recognition, on every screen."""
    if board.floor is None:
        return []
    lines = []
    for k in board.floor.kudos:
        seated = board.agents.get(k.agent)
        name = who(k.agent, seated.desk if seated is not None else None, config, names)
        lines.append(f"★ Kudos{f' to {name}' if name else ''}: a caller's compliment, "
                     f"{minutes_text(now - k.at)} ago")
    return lines


def long_hold_note(board: Board, config: KioskConfig) -> str | None:
    """A floor screen's count of long holds (who is for supervisors); None when there are none."""
    if config.audience == "supervisor" or board.floor is None or not board.floor.long_holds:
        return None
    n = len(board.floor.long_holds)
    return f"{n} caller{'s' if n != 1 else ''} on a long hold"


def lamp_lit(state: LampState, now: float, step_s: float) -> bool:
    """Whether a mirrored lamp is lit at ``now``, in the desk's own rhythm.

    The screen repaints lamps every ``step_s``, so a lit spell is at least that long: the
    desk's 0.1 s flash must not fall between two repaints.
    """
    if state in ("on", "off"):
        return state == "on"
    on_s, off_s = LAMP_PATTERNS[state]
    return now % (on_s + off_s) < max(on_s, step_s)


def teams(board: Board) -> list[tuple[str, list[str]]]:
    """Logged-in agents grouped by team, teams and agents in a stable order."""
    groups: dict[str, list[str]] = {}
    for agent, st in board.agents.items():
        if st.state != "offline":
            groups.setdefault(st.team or "", []).append(agent)
    return [(team or "NO TEAM", sorted(groups[team])) for team in sorted(groups)]


@dataclass(frozen=True, slots=True)
class GridFit:
    """Cell size for the agents grid, the font that fits it, and how many lines it shows."""

    cols: int
    cell_w: float
    cell_h: float
    font: float
    lines: int = 3


LINES = 3  # name, state and timer, and a detail (break reason, long hold)
MIN_FONT_3_LINES = 8.0  # below this, pixel rounding makes three lines taller than the cell
LINE_EM = 1.3  # a Roboto line is about 1.17 em, plus a margin


def cut(text: str, chars: int) -> str:
    """``text`` cut to ``chars`` characters with an ellipsis, at a word if that keeps half."""
    if len(text) <= chars:
        return text
    head = text[:max(1, chars - 1)]
    boundary = text.rfind(" ", 0, len(head) + 1)  # a space right after the head counts
    if boundary >= chars // 2:
        head = text[:boundary].rstrip(SEPARATORS)
    return head + ELLIPSIS


def cell_chars(fit: GridFit) -> int:
    """How many characters of a cell's font fit across it (Roboto averages 0.58 em)."""
    return max(3, int(fit.cell_w * 0.9 / (fit.font * 0.58)))


def cell_text(c: CellView, fit: GridFit, chars: int) -> str:
    """A cell's lines as the grid has room for them: the detail goes first when cramped."""
    lines = (c.label, c.word, c.detail)[:fit.lines]
    return "\n".join(cut(line, chars) for line in lines if line)


def fit_grid(slots: int, width: float, height: float) -> GridFit:
    """The columns that give ``slots`` cells the largest readable text in the area.

    Each team's name takes one slot before its agents, so teams flow on without blank
    lines. Cells are never taller than wide. Three lines when they fit; tiny cells (500
    agents on a 1080p screen) show two, bigger.
    """
    if slots <= 0 or width <= 0 or height <= 0:
        return GridFit(1, max(width, 1.0), max(height, 1.0), 12.0)
    best = _best_columns(slots, width, height, LINES)
    return best if best.font >= MIN_FONT_3_LINES else _best_columns(slots, width, height, 2)


def _best_columns(slots: int, width: float, height: float, lines: int) -> GridFit:
    best = GridFit(1, width, height, 0.0, lines)
    for cols in range(1, slots + 1):
        rows = math.ceil(slots / cols)
        w = width / cols
        h = min(height / rows, w)
        font = min(h / (lines * LINE_EM), w / 7.5)
        if font > best.font:
            best = GridFit(cols, w, h, font, lines)
    return best


# -- alerts --------------------------------------------------------------------------------


def ticker(alerts: dict[str, Alert], now: float, config: KioskConfig | None = None,
           names: Mapping[str, str] | None = None) -> list[str]:
    """Alert lines for the ticker, most severe first, then oldest; ages as of ``now``.

    With ``config``, a help alert names the agent as this audience may see them (a masked
    floor screen must not read the id the controller wrote into the text).
    """
    ordered = sorted(alerts.values(), key=lambda a: (-a.level, a.ts))
    return [f"{LEVEL_ICONS['alert' if a.level >= 2 else 'warn']} "
            f"{alert_line(a, now, config, names)}" for a in ordered]


def alert_line(alert: Alert, now: float, config: KioskConfig | None,
               names: Mapping[str, str] | None) -> str:
    """One alert's words as of ``now`` for this screen."""
    if (config is None or alert.kind != HELP_ALERT_KIND or alert.desk is None
            or alert.since is None):
        return live_text(alert, now)
    shown = who(alert.agent, alert.desk, config, names)
    named = None if shown in ("", f"desk {alert.desk}") else shown
    return help_text(alert.desk, named, max(now, alert.ts) - alert.since, alert.level)


def escalated(before: dict[str, int], alerts: dict[str, Alert]) -> bool:
    """True when an alert is new at level 2 or more, or rose to it: time for the sound."""
    return any(a.level >= 2 and before.get(key, 0) < a.level for key, a in alerts.items())


# -- screen geometry -----------------------------------------------------------------------

HEADER = 0.05  # shares of the screen height
ROWS = 0.55
# Portrait gives the help requests and the grid more of the height: at 0.6 the five help
# rows were 30 px high on a 1080x1920 screen, unreadable from across the room.
ROWS_PORTRAIT = 0.5
TICKER = 0.04
TITLE_SHARE = 0.14  # of the width, for the queue name left of its tiles
# Portrait is narrow: a long word ("TECHNICAL") needs a wider column to stay whole.
TITLE_SHARE_PORTRAIT = 0.2


@dataclass(frozen=True, slots=True)
class Geometry:
    """Sizes that depend on the window: how tiles wrap, the rows' share, the headline font."""

    portrait: bool
    rows_share: float
    tile_cols: int
    headline_font: float
    title_share: float = TITLE_SHARE


def geometry(width: float, height: float, rows: int, tiles: int) -> Geometry:
    """The largest headline font a row and a tile allow.

    Landscape puts a row's tiles side by side; the default layout's numbers are then over
    1/8 of the height. Portrait is narrow, so tiles wrap two to a line.
    """
    portrait = height > width
    share = ROWS_PORTRAIT if portrait else ROWS
    cols = min(tiles, 2) if portrait else tiles
    lines = math.ceil(tiles / max(1, cols))
    row_h = height * share / max(1, rows) / lines
    title = TITLE_SHARE_PORTRAIT if portrait else TITLE_SHARE
    tile_w = width * (1 - title) / max(1, cols)
    # A tile holds a caption line (a quarter of the number's size) above the number; the
    # widest value, "100%" or "12:34", is about 2.6 em of a bold face.
    return Geometry(portrait, share, cols, min(row_h / 1.32, tile_w / 2.75), title)
