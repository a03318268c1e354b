"""What the stack light shows for a desk state: a pure function, and the pattern timings.

Read by position as well as colour: red is the top lamp, amber the middle, green the
bottom. Steady means a settled state, blinking means something is waiting, and the green
lamp's brief flash is used for one thing only, a lost connection. ``docs/desk-unit.md``
holds the same table for installers and agents.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from wallboard.messages import LAMP_PATTERNS, LampState
from wallboard_desk.desk import TEST_S, TEST_STEP_S, Desk, escalated

# (on seconds, off seconds) of each moving pattern, from the contract; gpiozero's blink()
# runs them.
PATTERNS = LAMP_PATTERNS
_TEST_ORDER = ("red", "amber", "green", "buzzer")


@dataclass(frozen=True, slots=True)
class Tower:
    """Each lamp's pattern, and the buzzer's."""

    red: LampState = "off"
    amber: LampState = "off"
    green: LampState = "off"
    buzzer: LampState = "off"


DARK = Tower()


def tower(desk: Desk, now: float, escalate_after_s: float) -> Tower:
    """The tower for ``desk`` at ``now``."""
    if desk.test_from is not None and 0 <= now - desk.test_from < TEST_S:
        lit = _TEST_ORDER[int((now - desk.test_from) / TEST_STEP_S) % len(_TEST_ORDER)]
        on: LampState = "on"
        return replace(DARK, **{lit: on})
    r = desk.request
    state = r.state if r is not None else None
    red: LampState = "off"
    if r is not None and state == "requested":
        if escalated(desk, now, escalate_after_s):
            red = "fast"
        elif not r.delivered:
            red = "blink"  # pressed, but the broker has not confirmed it yet
        else:
            red = "on"
    amber: LampState = "blink" if desk.nudged else "on" if state == "acknowledged" else "off"
    idle = state not in ("requested", "acknowledged")
    green: LampState = "flash" if not desk.online else "on" if idle else "off"
    buzzer: LampState = "on" if now < desk.beep_until else "off"
    return Tower(red, amber, green, buzzer)


def next_change(desk: Desk, now: float, escalate_after_s: float) -> float | None:
    """The next time ``tower`` gives a different answer with no new event, if any."""
    times: list[float] = []
    if desk.test_from is not None and now - desk.test_from < TEST_S:
        done = int((now - desk.test_from) / TEST_STEP_S) + 1
        times.append(desk.test_from + done * TEST_STEP_S)
    r = desk.request
    if r is not None and r.state == "requested":
        times.append(r.requested_at + escalate_after_s)
    if desk.beep_until > now:
        times.append(desk.beep_until)
    later = [t for t in times if t > now]
    return min(later) if later else None

