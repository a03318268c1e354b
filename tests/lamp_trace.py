"""A recorded trace of the desk's lamp pins, and the check of a blink pattern on it.

gpiozero's mock pins record every change with the time since the one before. ``Trace``
turns those into one timeline for all lamps. ``rhythm_problems`` is pure: it judges the
levels of one lamp against a pattern's (on seconds, off seconds), and its own tests feed it
made-up traces, so what it lets through and what it catches does not depend on the clock.

Why the bounds are lopsided: gpiozero's blink thread waits *at least* each level's length
before the next change, so on a loaded machine a level only ever comes out longer, never
shorter. Every level is therefore held to its length from below, edge by edge; from above,
only the median of each kind of level is, since one late wake-up must not fail a test but
a pattern twice as slow must.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

EARLY_S = 0.005  # a level may look this much short: clock reads around the wait
SLOW = 1.5  # the median level may be this much longer than its length...
SLOW_S = 0.03  # ...plus this: scheduling noise, never enough to pass for half the rhythm
MIN_LEVELS = 3  # complete levels needed to judge a rhythm: lit, dark, lit at the least


@dataclass(frozen=True, slots=True)
class Edge:
    """One change of one lamp: when (seconds since the trace began), and to lit or dark."""

    at: float
    lamp: str
    lit: bool


@dataclass(frozen=True, slots=True)
class Level:
    """How long a lamp stayed lit or dark, between two of its changes."""

    lit: bool
    lasted: float


class Trace:
    """The lamps' changes from now on, as the mock pins record them."""

    def __init__(self, pins: Mapping[str, Any], active_high: Mapping[str, bool] | None = None
                 ) -> None:
        self.pins = dict(pins)
        self.active_high = {lamp: (active_high or {}).get(lamp, True) for lamp in self.pins}
        self.started = time.monotonic()
        for pin in self.pins.values():
            pin.clear_states()  # each pin's clock starts here, within microseconds of the others

    def now(self) -> float:
        """Seconds since the trace began, on the clock its edges use."""
        return time.monotonic() - self.started

    def edges(self, lamp: str | None = None) -> list[Edge]:
        """Every change so far, of one lamp or of all, in time order."""
        found: list[Edge] = []
        for name, pin in self.pins.items():
            if lamp is not None and name != lamp:
                continue
            at = 0.0
            for state in list(pin.states)[1:]:  # a copy: a blink thread may be appending
                at += state.timestamp
                found.append(Edge(at, name, state.state == self.active_high[name]))
        return sorted(found, key=lambda e: e.at)

    def levels(self, lamp: str) -> list[Level]:
        """The lamp's complete levels: from each change to the next."""
        edges = self.edges(lamp)
        return [Level(a.lit, b.at - a.at) for a, b in itertools.pairwise(edges)]

    def wait_levels(self, lamp: str, count: int = MIN_LEVELS, timeout: float = 10.0
                    ) -> list[Level]:
        """Wait until the lamp has ``count`` complete levels, and return them."""
        deadline = time.monotonic() + timeout
        while len(levels := self.levels(lamp)) < count:
            assert time.monotonic() < deadline, (
                f"{lamp}: {len(levels)} complete levels after {timeout} s, wanted {count}")
            time.sleep(0.02)
        return levels


def rhythm_problems(levels: Sequence[Level], on_s: float, off_s: float, *,
                    starts_lit: bool = False) -> list[str]:
    """What is wrong with ``levels`` as the pattern lit ``on_s``, dark ``off_s``; [] if
    nothing. ``starts_lit``: the trace began with the pattern, whose first level is lit."""
    if len(levels) < MIN_LEVELS:
        return [f"{len(levels)} complete levels, need {MIN_LEVELS}"]
    problems: list[str] = []
    if starts_lit and not levels[0].lit:
        problems.append("began dark")
    for i, (a, b) in enumerate(itertools.pairwise(levels)):
        if a.lit == b.lit:
            problems.append(f"levels {i} and {i + 1} are both {'lit' if a.lit else 'dark'}")
    for lit, want in ((True, on_s), (False, off_s)):
        kind = "lit" if lit else "dark"
        lasted = [level.lasted for level in levels if level.lit is lit]
        if not lasted:
            problems.append(f"never {kind}")
            continue
        short = [round(t, 3) for t in lasted if t < want - EARLY_S]
        if short:
            problems.append(f"{kind} shorter than {want} s: {short}")
        median = statistics.median(lasted)
        if median > want * SLOW + SLOW_S:
            problems.append(f"{kind} for {median:.3f} s (median), want {want} s")
    return problems


def assert_rhythm(trace: Trace, lamp: str, on_s: float, off_s: float, *,
                  starts_lit: bool = False, count: int = MIN_LEVELS,
                  timeout: float = 10.0) -> None:
    """Wait for ``count`` complete levels of the lamp, then check them against the pattern."""
    levels = trace.wait_levels(lamp, count, timeout)
    problems = rhythm_problems(levels, on_s, off_s, starts_lit=starts_lit)
    assert problems == [], f"{lamp}, want {on_s}/{off_s} s: {problems}; levels {levels}"
