"""An alert's age in words, written by the controller and kept live by the screens. Pure.

The controller writes an alert's text once, with the age at that moment ("has waited 45 s").
An alert that carries ``since`` (when what it is about began) is shown with its age as of
the screen's clock instead, so a ticker never says "2 min" beside a help line at 3:06.
"""

from __future__ import annotations

from wallboard.messages import Alert


def age_words(seconds: float) -> str:
    """``45 s`` under a minute, ``3 min`` under an hour, then ``1 h 05 min``; rounded down,
    so it never says longer than the wait."""
    total = max(0, int(seconds))
    if total < 60:
        return f"{total} s"
    hours, minutes = divmod(total // 60, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def help_text(desk: str, who: str | None, age_s: float, level: int) -> str:
    """A help alert's words: the controller writes them with the agent's id, and a screen
    rewrites them live with the agent as its audience may see them."""
    named = f" ({who})" if who else ""
    return (f"Desk {desk}{named} has waited {age_words(age_s)} for a supervisor"
            + (": escalated" if level == 2 else ""))


def live_text(alert: Alert, now: float) -> str:
    """The alert's text with its age as of ``now``; as sent if it has no ``since`` or its text
    does not show the age it was written with. Never younger than written: a screen whose
    clock is behind the controller's keeps the controller's figure."""
    if alert.since is None:
        return alert.text
    written = age_words(alert.ts - alert.since)
    head, found, tail = alert.text.partition(written)
    if not found:
        return alert.text
    return f"{head}{age_words(max(now, alert.ts) - alert.since)}{tail}"
