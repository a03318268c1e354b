"""Text fits its box: the rule (pure, with a monospace measure), view.cut at word boundaries,
and every label of a real screen with long names at 1080p, 4K and portrait (Xvfb)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.live import Recorder
from tests.screen import Screen, open_window, text_overflows
from wallboard.config import parse_config
from wallboard.devservices import Mosquitto
from wallboard.kiosk.sample import SampleFloor
from wallboard.kiosk.textfit import ELLIPSIS, fit_text, shorten, wrap
from wallboard.kiosk.view import cut


def mono(text: str, font: float) -> tuple[float, float]:
    """A monospace face: every character half an em wide, lines 1.2 em tall."""
    return len(text) * font * 0.5, font * 1.2


# (id, text, width, height, lines, fitted text, font) with a nominal font of 10:
# one character is 5 px wide at 10 px, 3 px at the smallest (60%), a line 12 px tall.
CASES = [
    ("fits-as-is", "SALES", 100, 12, 1, "SALES", 10.0),
    ("shrinks", "TECHNICAL SUPPORT", 68, 12, 1, "TECHNICAL SUPPORT", 8.0),
    ("wraps-between-words", "TECHNICAL SUPPORT", 50, 24, 2, "TECHNICAL\nSUPPORT", 10.0),
    ("never-inside-a-word", "TECHNICAL SUPPORT", 40, 40, 3, "TECHNICAL\nSUPPORT", 8.85),
    ("shortens-at-a-word", "HELP REQUESTS · 3 OPEN · TAP TO ACKNOWLEDGE", 50, 12, 1,
     f"HELP REQUESTS{ELLIPSIS}", 6.0),
    ("no-dangling-separator", "HELP REQUESTS · 3 OPEN · TAP TO ACKNOWLEDGE", 75, 12, 1,
     f"HELP REQUESTS · 3 OPEN{ELLIPSIS}", 6.0),
    ("keeps-its-line-breaks", "agent-0017 · desk d-3\n▲ WAITING", 200, 24, 2,
     "agent-0017 · desk d-3\n▲ WAITING", 10.0),
    ("line-break-needs-a-line", "agent-0017\n▲ WAITING", 200, 12, 1, f"agent-0017{ELLIPSIS}",
     6.0),
    ("a-lone-long-word-is-cut", "SUPERCALIFRAGILISTIC", 30, 12, 1, f"SUPERCALI{ELLIPSIS}",
     6.0),
    ("a-cut-line-keeps-the-next", "BUSINESSCUSTOMERS\n20", 30, 36, 3,
     f"BUSINESSC{ELLIPSIS}\n20", 6.0),
    ("too-low-for-a-line", "SALES", 100, 5, 1, "", 6.0),
    ("empty", "", 100, 12, 1, "", 10.0),
]


@pytest.mark.parametrize(("text", "width", "height", "lines", "expected", "font"),
                         [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_fit_text(text, width, height, lines, expected, font):
    fitted = fit_text(text, width, height, 10.0, mono, lines=lines)
    assert fitted.text == expected
    assert fitted.font == pytest.approx(font, abs=0.1)
    assert fitted.font >= 6.0  # never below 60% of the nominal size
    shown = fitted.text.split("\n") if fitted.text else []
    assert len(shown) <= lines
    assert all(mono(line, fitted.font)[0] <= width for line in shown)
    assert len(shown) * mono("", fitted.font)[1] <= height
    assert fitted.shortened == (ELLIPSIS in fitted.text or (text != "" and fitted.text == ""))


def test_fitted_words_are_whole_words_of_the_text():
    """However narrow the box, every word shown is a word of the text, or ends in an ellipsis."""
    text = "Northern Regional Technical Support And Customer Retention"
    words = set(text.split())
    for width in range(10, 400, 7):
        for lines in (1, 2, 3):
            fitted = fit_text(text, width, 40, 10.0, mono, lines=lines)
            shown = fitted.text.replace("\n", " ").split()
            for n, word in enumerate(shown):
                assert word in words or (n == len(shown) - 1 and word.endswith(ELLIPSIS)), (
                    width, lines, fitted.text)


def test_the_font_is_the_largest_that_fits():
    fitted = fit_text("TECHNICAL SUPPORT", 68, 12, 10.0, mono)
    assert mono(fitted.text, fitted.font)[0] <= 68
    assert mono(fitted.text, fitted.font * 1.02)[0] > 68


def test_wrap_refuses_a_word_wider_than_the_line():
    assert wrap("A WORDTHATISLONG", 40, 10, mono) is None
    assert wrap("AB CD EF", 25, 10, mono) == ["AB CD", "EF"]


def test_shorten_fills_every_line_before_the_ellipsis():
    assert shorten("one two three four five", 30, 10, mono, 2) == f"one\ntwo{ELLIPSIS}"


@pytest.mark.parametrize(("text", "chars", "expected"), [
    ("agent-0017", 12, "agent-0017"),
    ("LONG HOLD", 6, f"LONG{ELLIPSIS}"),
    ("HOLD 2:10", 6, f"HOLD{ELLIPSIS}"),
    ("Alexandra Konstantinou", 14, f"Alexandra{ELLIPSIS}"),
    ("Alexandrakonstantinou", 10, f"Alexandra{ELLIPSIS}"),  # one word: no boundary to use
    ("AB CDEFGHIJKLMNOP", 10, f"AB CDEFGH{ELLIPSIS}"),  # a boundary this early wastes the cell
    ("BREAK · LUNCH", 10, f"BREAK{ELLIPSIS}"),
])
def test_cut_prefers_a_word_boundary(text, chars, expected):
    assert cut(text, chars) == expected
    assert len(cut(text, chars)) <= chars


# -- on the real screen: long names at 1080p, 4K and portrait ----------------------------------

LONG_QUEUES = {"business": "Technical Support for Business Customers",  # 40 characters
               "retention": "Customer Retention and Loyalty Programme"}
TEAMS = ["business-customers-north", "retention-and-loyalty-xl"]  # 24 characters
LONG_AGENTS = [f"agent.{n:02d}.wolfenschlaeger" for n in range(40)]  # 24 characters
HOURS_10 = 10.5 * 3600
STRAIN_REASONS = [
    ("abusive_last_hour", 30.0, "3 abusive callers in the last 60 minutes"),
    ("minutes_since_break", 17.5, "2 h 40 min on the phones without a break"),
    ("pending_help", 10.0, "1 help request waiting for a supervisor"),
]


@pytest.fixture(scope="session")
def screen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Screen]:
    yield from open_window(tmp_path_factory.mktemp("screenshots"))


@pytest.fixture
def long_names_kiosk(screen: Screen, mosquitto: Mosquitto) -> Iterator[Any]:
    """A supervisor screen on a floor of long names, big counts and old help requests."""
    from wallboard.bootstrap import build_kiosk_link
    from wallboard.kiosk.app import Kiosk
    from wallboard.kiosk.feed import Feed

    floor, now = SampleFloor(), time.time()
    client = Recorder(mosquitto)
    messages = [
        floor.floor(now, list(LONG_QUEUES), waiting=12345, longest=HOURS_10 + 5, sl=0.5,
                    abandon=0.25),
        floor.queue(now, "business", waiting=23456, longest=HOURS_10, sl=1.0, abandon=0.5),
        floor.queue(now, "retention", waiting=99999, longest=HOURS_10 + 61, sl=0.05,
                    abandon=1.0),
        floor.wellbeing(now, LONG_AGENTS[0], STRAIN_REASONS, "check_in",
                        "check in with them soon: strain 58 of 100"),
    ]
    for n, agent in enumerate(LONG_AGENTS):
        desk = f"d-{n:03d}"
        messages.append(floor.agent(now, agent, "break" if n % 5 == 0 else "talking",
                                    now - HOURS_10, team=TEAMS[n % 2], desk=desk,
                                    reason="lunch with the whole team" if n % 5 == 0 else None))
        if n < 7:
            messages.append(floor.help(now, desk, f"r-{n}", "requested",
                                       now - HOURS_10 - n * 60, agent=agent, level=2))
    for topic, payload in messages:
        client.publish(topic, payload, retain=True)
    names = "".join(f'[queues.{q}]\nname = "{name}"\n' for q, name in LONG_QUEUES.items())
    config = parse_config(f'[mqtt]\nhost = "{mosquitto.host}"\nport = {mosquitto.port}\n'
                          f'{names}[kiosk]\naudience = "supervisor"\nstale_after_s = 600\n')
    feed = Feed(config.mqtt.topic_root, config.site.id, config.kiosk.audience)
    link, send = build_kiosk_link(config, feed)
    kiosk = Kiosk(config, feed, send=send)
    screen.window.add_widget(kiosk.root)
    kiosk.start()
    assert link.start(5), "the kiosk did not connect"
    screen.run_until(lambda: len(kiosk.cells) == 40 and len(kiosk.help_rows) == 5
                     and kiosk.tiles and kiosk.tiles[0][0].value == "12345"
                     and "STRAIN" in kiosk.root.ticker_text, 20, "the long-names floor")
    yield kiosk
    kiosk.stop()
    screen.window.remove_widget(kiosk.root)
    link.stop()
    client.client.disconnect()
    client.client.loop_stop()


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160), (1080, 1920)],
                         ids=["1080p", "4k", "portrait"])
def test_every_label_fits_its_box_with_long_names(screen, long_names_kiosk, size):
    k = long_names_kiosk
    screen.resize(*size)
    screen.frames(0.3)
    assert text_overflows(k.root) == []
    for row in k.help_rows.values():  # the age and the name side by side, never on each other
        age, who = row.ids.age, row.ids.who
        assert age.right <= who.x + 0.5, (age.right, who.x)
        assert ":" in age.text and ELLIPSIS not in age.text  # "10:30:00" whole, just smaller
        assert age.font_size < age.nominal_font or size[0] >= 3840 or size[0] < size[1]
    for row, tiles in zip(k.rows, k.tiles, strict=True):
        title = row.ids.title
        words = set(row.title.split())
        shown = title.text.replace("\n", " ").split()
        assert shown and all(w in words or w.endswith(ELLIPSIS) for w in shown), title.text
        for tile in tiles:  # 5-digit counts and 10-hour waits fit whole
            assert tile.ids.value.text == tile.value, (tile.value, tile.ids.value.text)
    ticker = k.root.ids.ticker
    assert ticker.text.startswith("STRAIN")
    assert ticker.font_size >= math.floor(ticker.nominal_font * 0.6)  # whole pixels
    assert ticker.text == k.root.ticker_text or ticker.text.endswith(ELLIPSIS)
    assert ticker.text.rstrip(ELLIPSIS) == k.root.ticker_text[:len(ticker.text.rstrip(ELLIPSIS))]
    screen.screenshot(f"long-names-{size[0]}x{size[1]}")


def test_cells_cut_long_names_and_still_fit(screen, long_names_kiosk):
    k = long_names_kiosk
    screen.resize(1920, 1080)
    for cell in k.cells.values():
        tw, th = cell.texture_size
        assert tw <= cell.width and th <= cell.height, cell.text
