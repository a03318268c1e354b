"""Events dated after the controller's clock: a little skew is forgiven, more is refused.

Clocks on a floor drift. An event at most ``FUTURE_TOLERANCE_S`` ahead of the controller's
clock is counted as happening now: its ``ts`` (and an agent state's ``since``) is clamped to
now, so "today" and the sliding window still end at now. A call, state or signal further
ahead is refused, with a reason naming ``ts``: counting it would put a call into a day or a
window that has not happened yet, and holding it until it is due would hide a broken clock
behind figures that look right. A help step is never refused for its clock (``ALWAYS_NOW``):
a desk whose clock runs ahead must still get its agent a supervisor, and the press has
certainly happened by the time it arrives. ``messages.decode`` already rejects anything over
a day ahead as invalid. Pure: the clock is an argument.
"""

from __future__ import annotations

from wallboard.messages import AgentState, Envelope
from wallboard.topics import Kind

# Network delay never makes an event early, and NTP keeps clocks far closer than this; a
# source that has not synced yet (a Pi without a real-time clock) is often minutes out.
FUTURE_TOLERANCE_S = 60.0
ALWAYS_NOW = frozenset({Kind.DESK_HELP})  # clamped however far ahead: see the module doc


def ahead_reason(kind: Kind, ts: float, now: float) -> str | None:
    """Why an event of ``kind`` dated ``ts`` is refused at ``now``, or None if it counts."""
    ahead = ts - now
    if ahead <= FUTURE_TOLERANCE_S or kind in ALWAYS_NOW:
        return None
    return (f"ts is {ahead:.0f} s ahead of the controller's clock (more than the "
            f"{FUTURE_TOLERANCE_S:.0f} s allowed for clock skew)")


def clamped(envelope: Envelope, now: float) -> Envelope:
    """The envelope with its times no later than ``now``; the same one if they are not."""
    message = envelope.message
    if message.ts <= now:
        return envelope
    update: dict[str, float] = {"ts": now}
    if isinstance(message, AgentState) and message.since > now:
        update["since"] = now
    return Envelope(envelope.topic, message.model_copy(update=update))
