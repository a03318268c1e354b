"""``FitLabel``: a Kivy label whose text always fits its box (``wallboard.kiosk.textfit``).

Set ``full_text`` and ``nominal_font`` instead of ``text`` and ``font_size``; the label picks
the largest font down to ``min_share`` of the nominal one at which the text fits on
``fit_lines`` lines, wrapped only between words, and otherwise shortens it at a word boundary
with an ellipsis. Text is measured by Kivy's own text provider in the label's font, and only
when the text, the box or the font changes: never once a frame.
"""

from __future__ import annotations

import math
from typing import Any

from kivy.core.text import Label as CoreLabel
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.label import Label

from wallboard.kiosk.textfit import MIN_SHARE, fit_text

_MARGIN = 0.98  # Kivy lays a line out word by word; leave room for rounding between the two


class FitLabel(Label):  # type: ignore[misc]  # Kivy ships no types: Label is Any
    """A label that shrinks, then shortens at a word, to fit its box; never breaks a word."""

    full_text = StringProperty("")
    nominal_font = NumericProperty(15)
    fit_lines = NumericProperty(1)
    min_share = NumericProperty(MIN_SHARE)

    def __init__(self, **kwargs: Any) -> None:
        self._fitted_for: tuple[Any, ...] | None = None
        self._measurer: tuple[tuple[str, bool], Any] | None = None
        super().__init__(**kwargs)
        self.fbind("full_text", self.refit)
        self.fbind("nominal_font", self.refit)
        self.fbind("fit_lines", self.refit)
        self.fbind("min_share", self.refit)
        self.fbind("size", self.refit)
        self.fbind("padding", self.refit)
        self.fbind("font_name", self.refit)
        self.fbind("bold", self.refit)
        self.refit()

    def box(self) -> tuple[float, float]:
        """The room for text: the widget less its padding."""
        left, top, right, bottom = self.padding
        return self.width - left - right, self.height - top - bottom

    def measure(self, text: str, size: float) -> tuple[float, float]:
        """One line of ``text`` at ``size`` in this label's font, as Kivy will draw it."""
        key = (self.font_name, bool(self.bold))
        if self._measurer is None or self._measurer[0] != key:
            self._measurer = (key, CoreLabel(font_name=self.font_name, bold=self.bold))
        core = self._measurer[1]
        core.options["font_size"] = float(max(1, math.floor(size)))
        width, height = core.get_extents(text)
        return float(width), float(height)

    def refit(self, *_: Any) -> None:
        """Fit ``full_text`` into the box again, if anything it depends on changed."""
        width, height = self.box()
        key = (self.full_text, self.nominal_font, self.fit_lines, self.min_share, width, height,
               self.font_name, self.bold)
        if key == self._fitted_for:
            return
        self._fitted_for = key
        fitted = fit_text(self.full_text, width * _MARGIN, height, self.nominal_font,
                          self.measure, lines=int(self.fit_lines), min_share=self.min_share)
        self.font_size = float(max(1, math.floor(fitted.font)))
        self.text = fitted.text
