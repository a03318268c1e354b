"""Text that fits its box: shrink within limits, then shorten at a word boundary.

Pure: the caller passes ``measure``, the width and height of one line of text at a font size
(on the wall screen, Kivy's own text measurement), so the rule is tested without a window.
The rule, for every label on the wall screen:

1. the largest font from the nominal size down to ``min_share`` of it at which the text fits,
   wrapped onto at most ``lines`` lines, and only between words;
2. failing that, at the smallest font, the words that fit, then an ellipsis. A word is cut
   only when it is alone and wider than the box even at the smallest font.

A line break in the text always starts a new line (a help row's agent, then its state).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Measure = Callable[[str, float], tuple[float, float]]  # one line at a font size: (w, h)

MIN_SHARE = 0.6  # below 60% of its nominal size, text stops being readable where it is meant
ELLIPSIS = "\u2026"
SEPARATORS = " ·\u2014\u2013-;:,/"  # not left dangling before an ellipsis
_SEARCH_STEPS = 6  # bisection steps between the nominal and the smallest font: ~1% apart


@dataclass(frozen=True, slots=True)
class Fitted:
    """What to draw: the text with its line breaks, at this font size."""

    text: str
    font: float
    shortened: bool = False


def fit_text(text: str, width: float, height: float, font: float, measure: Measure, *,
             lines: int = 1, min_share: float = MIN_SHARE) -> Fitted:
    """``text`` at the largest font that fits ``width`` x ``height``; shortened if none does."""
    if not text:
        return Fitted("", font)
    smallest = font * min_share
    if width <= 0 or height <= 0:
        return Fitted("", smallest, True)
    best = _fits(text, width, height, font, measure, lines)
    if best is not None:  # the common case: one measurement per line
        return Fitted(best, font)
    found = _fits(text, width, height, smallest, measure, lines)
    if found is None:
        room = min(lines, int(height // max(measure("Ag", smallest)[1], 1e-9)))
        return Fitted(shorten(text, width, smallest, measure, room), smallest, True)
    low, high = smallest, font  # fits at low, not at high
    for _ in range(_SEARCH_STEPS):
        mid = (low + high) / 2
        wrapped = _fits(text, width, height, mid, measure, lines)
        if wrapped is None:
            high = mid
        else:
            low, found = mid, wrapped
    return Fitted(found, low)


def wrap(text: str, width: float, font: float, measure: Measure) -> list[str] | None:
    """``text`` wrapped between words to ``width``; None if a word alone is wider."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split(" "):
            candidate = f"{current} {word}" if current else word
            if measure(candidate, font)[0] <= width:
                current = candidate
            elif current and measure(word, font)[0] <= width:
                out.append(current)
                current = word
            else:
                return None
        out.append(current)
    return out


def shorten(text: str, width: float, font: float, measure: Measure, lines: int) -> str:
    """As many words as fit on ``lines`` lines of ``width``, an ellipsis where some are left out.

    A line break in the text still starts a new line while there are lines left.
    """
    out: list[str] = []
    paragraphs = text.split("\n")
    for n, paragraph in enumerate(paragraphs):
        if len(out) >= lines:
            break
        current = ""
        for word in paragraph.split(" "):
            candidate = f"{current} {word}" if current else word
            if measure(candidate, font)[0] <= width:
                current = candidate
            elif current and len(out) + 1 < lines and measure(word, font)[0] <= width:
                out.append(current)
                current = word
            else:  # the last line is full, or a word is wider than any line: end it here
                current = _ellipsis(current, word, width, font, measure)
                break
        if len(out) + 1 >= lines and n + 1 < len(paragraphs) and not current.endswith(ELLIPSIS):
            current = _ellipsis(current, "", width, font, measure)  # lines follow unseen
        out.append(current)
    return "\n".join(out)


def _fits(text: str, width: float, height: float, font: float, measure: Measure,
          lines: int) -> str | None:
    wrapped = wrap(text, width, font, measure)
    if wrapped is None or len(wrapped) > lines:
        return None
    if sum(measure(line or "Ag", font)[1] for line in wrapped) > height:
        return None
    return "\n".join(wrapped)


def _ellipsis(kept: str, cut_word: str, width: float, font: float, measure: Measure) -> str:
    """``kept`` with an ellipsis, words dropped until it fits; a lone word is cut."""
    words = kept.split(" ") if kept else []
    while words:
        head = " ".join(words).rstrip(SEPARATORS)
        if head and measure(head + ELLIPSIS, font)[0] <= width:
            return head + ELLIPSIS
        words.pop()
    word = kept or cut_word  # nothing but a word wider than the box: cut inside it
    low, high = 0, len(word)
    while low < high:  # the longest prefix that fits with the ellipsis
        mid = (low + high + 1) // 2
        if measure(word[:mid] + ELLIPSIS, font)[0] <= width:
            low = mid
        else:
            high = mid - 1
    if low == 0:
        return ELLIPSIS if measure(ELLIPSIS, font)[0] <= width else ""
    return word[:low] + ELLIPSIS
