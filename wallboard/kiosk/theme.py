"""Colours, words and icons of the wall screen: a dark, high-contrast, colour-blind-safe theme.

The palette is Okabe and Ito's, which stays distinguishable with every common colour-vision
deficiency. Colour never carries meaning alone: every level and state also has a word, and
levels have an icon whose shape differs.
"""

from __future__ import annotations

from typing import Literal

from wallboard.messages import AgentStateName

Rgba = tuple[float, float, float, float]
# Kivy's bundled DejaVu Sans has the level icons; its default Roboto does not.
SYMBOL_FONT = "data/fonts/DejaVuSans.ttf"
Level = Literal["ok", "warn", "alert", "none"]


def rgb(r: int, g: int, b: int) -> Rgba:
    """An opaque colour from 0-255 components."""
    return (r / 255, g / 255, b / 255, 1.0)


BACKGROUND = rgb(10, 10, 12)
PANEL = rgb(28, 28, 32)
TEXT = rgb(255, 255, 255)
DIM_TEXT = rgb(190, 190, 190)
BANNER = rgb(240, 228, 66)  # yellow, with black text
# Near-black, like the screen's own black: X's pure black means "nothing drawn here" to the
# full-screen checks, and the contrast on yellow is the same to a reader.
BANNER_TEXT = rgb(16, 16, 16)

LEVEL_COLOURS: dict[Level, Rgba] = {
    "ok": rgb(0, 158, 115),  # bluish green
    "warn": rgb(230, 159, 0),  # orange
    "alert": rgb(213, 94, 0),  # vermillion
    "none": rgb(150, 150, 150),
}
# The shape differs as well as the colour: a tick, a triangle, a cross, a dash.
DASH = "\u2013"  # an en dash: "no value", wider and calmer than a hyphen
LEVEL_ICONS: dict[Level, str] = {"ok": "✔", "warn": "▲", "alert": "✖", "none": DASH}
LEVEL_WORDS: dict[Level, str] = {"ok": "OK", "warn": "WATCH", "alert": "ACT", "none": "NO DATA"}

STATE_COLOURS: dict[AgentStateName, Rgba] = {
    "available": rgb(0, 158, 115),  # bluish green
    "talking": rgb(0, 114, 178),  # blue
    "hold": rgb(240, 228, 66),  # yellow
    "wrap_up": rgb(86, 180, 233),  # sky blue
    "break": rgb(204, 121, 167),  # reddish purple
    "offline": rgb(90, 90, 90),
}
STATE_WORDS: dict[AgentStateName, str] = {
    "available": "FREE", "talking": "TALK", "hold": "HOLD", "wrap_up": "WRAP",
    "break": "BREAK", "offline": "OFF",
}
# Text on a state colour: black on the light ones, white on the dark ones, for contrast.
STATE_TEXT: dict[AgentStateName, Rgba] = {
    "available": rgb(0, 0, 0), "talking": TEXT, "hold": rgb(0, 0, 0),
    "wrap_up": rgb(0, 0, 0), "break": rgb(0, 0, 0), "offline": TEXT,
}
LONG_HOLD = LEVEL_COLOURS["alert"]

LAMP_COLOURS: dict[str, Rgba] = {
    "red": rgb(255, 40, 40), "amber": rgb(255, 176, 0), "green": rgb(40, 220, 90),
}
LAMP_OFF = rgb(45, 45, 45)

HELP_WORDS: dict[int, str] = {0: "", 1: "ESCALATED", 2: "ESCALATED TWICE"}
HELP_LEVELS: dict[int, Level] = {0: "warn", 1: "alert", 2: "alert"}
