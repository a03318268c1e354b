"""The pure Asterisk translation core: queue_log lines in, contract messages out.

``AsteriskCore.feed`` takes one raw queue_log line and returns a ``Translated``: the messages
it becomes (``queue/{q}/call`` and ``agent/{a}/state`` envelopes), whether its verb is known,
and a one-line problem when the line, or the event in it, could not be used. ``VERBS`` is
the whole mapping, one row per verb; compare it with the call lifecycle in
``wallboard/floor/calls.py``. No I/O, and the clock is never read: times come from the lines,
and ``due(now)`` ends wrap-ups the shell's clock (or a later line) says are over.

Kept per call: its queue, when it entered, whether it was answered; a call is forgotten once
it ends, and after a day without a line (its end was lost). Kept per member: the state the
screens were last told, and the pause. Decisions (docs/asterisk.md gives the reasons):
- a call's events for a call never seen to enter (a log that starts mid-call, a restart) are
  rebuilt from what the line says: CONNECT's holdtime gives the offer, COMPLETE's holdtime and
  calltime give the offer and the answer; without those numbers the line is a problem;
- ABANDON is an abandon; EXITEMPTY, EXITWITHTIMEOUT, EXITWITHKEY and WITHDRAW are overflow
  (the queue let the caller go on in the dialplan); the contract has no overflow event, so
  they are sent as ``abandoned`` and counted per verb;
- transfers complete the call; the contract has no field for them, so they are counted;
- queue_log records no hold: a completed call's ``hold_s`` is "unknown", never 0.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from pydantic import ValidationError

from wallboard.errors import one_line
from wallboard.messages import (
    MAX_FUTURE_S,
    UNKNOWN,
    AgentState,
    AgentStateName,
    CallEvent,
    CallEventKind,
    Envelope,
    Message,
)
from wallboard.telephony.identity import Agent, Identities, call_id
from wallboard.telephony.queue_log import BadLine, QueueLogLine, number, parse_line
from wallboard.telephony.settings import TelephonyConfig
from wallboard.topics import DEFAULT_ROOT, Kind, Topic

# callid values of lines that belong to no call (Asterisk's logger and app_queue write these).
NO_CALL = frozenset({"", "NONE", "MANAGER", "REALTIME", "CLI"})
NO_NAME = frozenset({"", "NONE"})  # queue or agent field of a line about no queue or no member
STALE_CALL_S = 86_400.0  # a call with no line for a day lost its end: forget it
PRUNE_EVERY = 4096  # lines between looks for stale calls
ENDED_REMEMBERED = 10_000  # recently ended calls, so a late line for one is not a new call
UNKNOWN_VERBS_COUNTED = 50  # distinct unknown verbs counted by name; the rest as OTHER
OTHER = "(other unknown)"
BAD = "(bad line)"


class Translated(NamedTuple):
    """What one line became (a named tuple: immutable, and one is made per line)."""

    messages: tuple[Envelope, ...] = ()
    verb: str = BAD  # the line's verb; BAD when it could not be parsed
    known: bool = False  # whether VERBS has the verb
    problem: str | None = None  # why the line, or the event in it, could not be used
    warnings: tuple[str, ...] = ()  # first sight of an unmapped member or queue, rebuilt calls


@dataclass(slots=True)
class _Call:
    """What the core keeps of a call until it ends."""

    queue: str  # queue id
    entered: float
    answered: float | None  # when CONNECT came
    last: float  # the latest line about it


@dataclass(slots=True)
class _Member:
    """What the core keeps of an agent: what screens were last told, and the pause."""

    who: Agent
    state: AgentStateName | None = None  # None until a line says
    queue: str | None = None
    call: str | None = None
    reason: str | None = None
    paused: bool = False
    pause_reason: str | None = None
    leaving: bool = False  # removed from its last queue mid-call: offline when the call ends
    wrap_until: float | None = None
    queues: set[str] = field(default_factory=set)


class _Out:
    """Collects one line's results (a plain slotted class: one is made per line)."""

    __slots__ = ("messages", "problem", "warnings")

    def __init__(self) -> None:
        self.messages: list[Envelope] = []
        self.warnings: list[str] = []
        self.problem: str | None = None


Handler = Callable[["AsteriskCore", QueueLogLine, _Out], None]


@dataclass(frozen=True, slots=True)
class Verb:
    """One row of ``VERBS``: how a queue_log verb is handled and what it becomes."""

    handle: Handler
    becomes: str  # for the docs and reviewers: what the contract sees
    counts_as: str  # offered, answered, completed, transfer, abandon, overflow, ring, member,
    # housekeeping


class AsteriskCore:
    """Folds queue_log lines, one at a time, into contract messages."""

    def __init__(self, config: TelephonyConfig, *, site: str, root: str = DEFAULT_ROOT) -> None:
        self.config = config
        self.site = site
        self.root = root
        self.ids = Identities(config)
        self.counts: dict[str, int] = {}
        self._calls: dict[tuple[str, str], _Call] = {}
        self._ended: dict[tuple[str, str], None] = {}  # insertion-ordered: oldest first
        self._members: dict[str, _Member] = {}
        self._wraps: list[tuple[float, str]] = []  # heap of (wrap-up end, agent id)
        self._topics: dict[tuple[Kind, str], Topic] = {}
        self._unknown_verbs = 0
        self._lines = 0

    # ---- the entry points ---------------------------------------------------------------

    def feed(self, raw: bytes, now: float | None = None) -> Translated:
        """Translate one raw line; ``now`` (the shell's clock), if given, refuses future lines."""
        parsed = parse_line(raw)
        if isinstance(parsed, BadLine):
            self._count(BAD)
            return Translated(problem=parsed.reason)
        return self.feed_line(parsed, now)

    def feed_line(self, line: QueueLogLine, now: float | None = None) -> Translated:
        """Translate one parsed line."""
        verb = VERBS.get(line.verb)
        self._count(line.verb if verb is not None else self._unknown_key(line.verb))
        if now is not None and line.ts > now + MAX_FUTURE_S:
            return Translated(verb=line.verb, known=verb is not None,
                              problem=f"{line.verb} dated more than a day in the future")
        out = _Out()
        if self._wraps and self._wraps[0][0] <= line.ts:
            out.messages.extend(self.due(line.ts))
        self._lines += 1
        if self._lines % PRUNE_EVERY == 0:
            self._prune(line.ts)
        if verb is not None:
            try:
                verb.handle(self, line, out)
            except ValidationError as exc:  # a bug or a case not foreseen: never a traceback
                out.problem = one_line(f"{line.verb} gave an invalid message: "
                                       f"{exc.errors()[0]['msg']}")
        return Translated(tuple(out.messages), line.verb, verb is not None, out.problem,
                          tuple(out.warnings))

    def due(self, now: float) -> tuple[Envelope, ...]:
        """End the wrap-ups over by ``now``: each agent becomes available, or on break."""
        ended: list[Envelope] = []
        wraps = self._wraps
        while wraps and wraps[0][0] <= now:
            until, agent = heapq.heappop(wraps)
            member = self._members.get(agent)
            if member is None or member.state != "wrap_up" or member.wrap_until != until:
                continue  # something else changed the state since: this wrap-up is void
            member.wrap_until = None
            self._after_call(member, until, ended)
        return tuple(ended)

    @property
    def calls_open(self) -> int:
        """Calls the core is keeping now (entered or answered, not yet ended)."""
        return len(self._calls)

    # ---- helpers the handlers share -----------------------------------------------------

    def _count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def _unknown_key(self, verb: str) -> str:
        if verb in self.counts or self._unknown_verbs < UNKNOWN_VERBS_COUNTED:
            if verb not in self.counts:
                self._unknown_verbs += 1
            return verb
        return OTHER

    def _topic(self, kind: Kind, name: str, value: str) -> Topic:
        topic = self._topics.get((kind, value))
        if topic is None:
            topic = Topic(self.root, self.site, kind, ((name, value),))
            if len(self._topics) < 100_000:
                self._topics[(kind, value)] = topic
        return topic

    def _call_event(self, out: list[Envelope], queue: str, msg: Message) -> None:
        out.append(Envelope(self._topic(Kind.CALL, "queue", queue), msg))

    def _queue(self, line: QueueLogLine, out: _Out) -> str | None:
        if line.queue in NO_NAME:
            return None
        queue, warning = self.ids.queue(line.queue)
        if warning is not None:
            out.warnings.append(warning)
        return queue

    def _member(self, line: QueueLogLine, out: _Out) -> _Member | None:
        if line.agent in NO_NAME:
            return None
        who, warning = self.ids.agent(line.agent)
        if warning is not None:
            out.warnings.append(warning)
        member = self._members.get(who.agent)
        if member is None:
            member = self._members[who.agent] = _Member(who)
        return member

    def _set(self, member: _Member, state: AgentStateName, ts: float, out: list[Envelope],
             *, queue: str | None = None, call: str | None = None,
             reason: str | None = None) -> None:
        """Tell the screens the agent's state, unless it is what they were last told."""
        queue = queue or member.queue
        if (member.state, member.queue, member.call, member.reason) == (
                state, queue, call, reason):
            return
        member.state, member.queue, member.call, member.reason = state, queue, call, reason
        who = member.who
        msg = AgentState(ts=ts, state=state, since=ts, desk=who.desk, queue=queue, call=call,
                         reason=reason, team=who.team)
        out.append(Envelope(self._topic(Kind.AGENT_STATE, "agent", who.agent), msg))

    def _after_call(self, member: _Member, ts: float, out: list[Envelope]) -> None:
        """The state an agent goes to when a call and its wrap-up are over."""
        if member.leaving:
            member.leaving = False
            self._set(member, "offline", ts, out)
        elif member.paused:
            self._set(member, "break", ts, out, reason=member.pause_reason)
        else:
            self._set(member, "available", ts, out)

    def _end_call(self, key: tuple[str, str]) -> None:
        ended = self._ended
        ended[key] = None
        if len(ended) > ENDED_REMEMBERED:
            del ended[next(iter(ended))]

    def _prune(self, ts: float) -> None:
        """Forget calls with no line for a day: their end was lost."""
        horizon = ts - STALE_CALL_S
        for key in [k for k, c in self._calls.items() if c.last < horizon]:
            del self._calls[key]

    def _open_call(self, line: QueueLogLine, out: _Out,
                   verb: str) -> tuple[tuple[str, str], _Call | None, str] | None:
        """The call a line is about, or None (with the problem set) when there is none."""
        if line.callid in NO_CALL:
            out.problem = f"{verb} with callid {line.callid!r}: not a call"
            return None
        queue = self._queue(line, out)
        if queue is None:
            out.problem = f"{verb} without a queue"
            return None
        key = (line.callid, line.queue)
        call = self._calls.get(key)
        if call is None and key in self._ended:
            out.problem = f"{verb} for call {line.callid[:80]} after it ended"
            return None
        if call is not None:
            call.last = line.ts
        return key, call, queue


# ---- the handlers: one per kind of verb ------------------------------------------------


def _enter(core: AsteriskCore, line: QueueLogLine, out: _Out) -> None:
    """ENTERQUEUE: the call is offered."""
    found = core._open_call(line, out, "ENTERQUEUE")
    if found is None:
        return
    key, call, queue = found
    if call is not None:
        out.problem = f"ENTERQUEUE for call {line.callid[:80]} already in the queue"
        return
    core._calls[key] = _Call(queue, line.ts, None, line.ts)
    core._call_event(out.messages, queue, CallEvent(
        ts=line.ts, call=call_id(line.callid), event="offered"))


def _rebuild(core: AsteriskCore, line: QueueLogLine, out: _Out, key: tuple[str, str],
             queue: str, entered: float) -> _Call:
    """A call never seen to enter: offer it when the line says it entered."""
    call = core._calls[key] = _Call(queue, entered, None, line.ts)
    core._call_event(out.messages, queue, CallEvent(
        ts=entered, call=call_id(line.callid), event="offered"))
    out.warnings.append(f"{line.verb} for call {line.callid[:80]} never seen to enter "
                        f"{line.queue[:80]}: offer rebuilt from the line's times")
    return call


def _connect(core: AsteriskCore, line: QueueLogLine, out: _Out) -> None:
    """CONNECT (holdtime, bridged uniqueid, ringtime): answered; the agent is talking."""
    found = core._open_call(line, out, "CONNECT")
    if found is None:
        return
    key, call, queue = found
    member = core._member(line, out)
    if member is None:
        out.problem = "CONNECT without an agent"
        return
    wait = number(line.field(1))
    if call is None:
        if wait is None:
            out.problem = "CONNECT for a call never seen to enter, without holdtime in data1"
            return
        call = _rebuild(core, line, out, key, queue, line.ts - wait)
    elif call.answered is not None:
        out.problem = f"CONNECT for call {line.callid[:80]} already answered"
        return
    if wait is None:
        wait = max(0.0, line.ts - call.entered)
    call.answered = line.ts
    cid = call_id(line.callid)
    core._call_event(out.messages, queue, CallEvent(
        ts=line.ts, call=cid, event="answered", wait_s=wait, agent=member.who.agent))
    member.queues.add(queue)
    member.wrap_until = None
    core._set(member, "talking", line.ts, out.messages, queue=queue, call=cid)


def _completer(hold_at: int, talk_at: int, what: str) -> Handler:
    """COMPLETEAGENT, COMPLETECALLER and the transfers: the call is completed."""

    def complete(core: AsteriskCore, line: QueueLogLine, out: _Out) -> None:
        found = core._open_call(line, out, line.verb)
        if found is None:
            return
        key, call, queue = found
        member = core._member(line, out)
        if member is None:
            out.problem = f"{line.verb} without an agent"
            return
        wait, talk = number(line.field(hold_at)), number(line.field(talk_at))
        if talk is None and call is not None and call.answered is not None:
            talk = max(0.0, line.ts - call.answered)
        if talk is None:
            out.problem = f"{line.verb} without calltime in data{talk_at}"
            return
        answered_at = line.ts - talk
        if call is None:
            if wait is None:
                out.problem = (f"{line.verb} for a call never seen to enter, without holdtime "
                               f"in data{hold_at}")
                return
            call = _rebuild(core, line, out, key, queue, answered_at - wait)
        cid = call_id(line.callid)
        agent = member.who.agent
        if call.answered is None:  # the CONNECT line was lost: the call was answered anyway
            wait = wait if wait is not None else max(0.0, answered_at - call.entered)
            core._call_event(out.messages, queue, CallEvent(
                ts=max(answered_at, call.entered), call=cid, event="answered", wait_s=wait,
                agent=agent))
        del core._calls[key]
        core._end_call(key)
        wrap = core.config.wrapuptime(line.queue)
        core._call_event(out.messages, queue, CallEvent(
            ts=line.ts, call=cid, event="completed", agent=agent, handle_s=talk + wrap,
            hold_s=UNKNOWN))
        member.queues.add(queue)
        member.queue = queue  # the call's queue, also when its CONNECT was never seen
        if wrap > 0:
            core._set(member, "wrap_up", line.ts, out.messages, queue=queue, call=cid)
            member.wrap_until = line.ts + wrap
            heapq.heappush(core._wraps, (line.ts + wrap, agent))
        else:
            core._after_call(member, line.ts, out.messages)

    complete.__doc__ = f"{what}: completed; the agent wraps up, then is free."
    return complete


def _leaver(wait_at: int, what: str) -> Handler:
    """ABANDON and the exits: the call leaves the queue unanswered (``abandoned``)."""

    def leave(core: AsteriskCore, line: QueueLogLine, out: _Out) -> None:
        found = core._open_call(line, out, line.verb)
        if found is None:
            return
        key, call, queue = found
        wait = number(line.field(wait_at))
        if call is None:
            if wait is None:
                out.problem = (f"{line.verb} for a call never seen to enter, without waittime "
                               f"in data{wait_at}")
                return
            call = _rebuild(core, line, out, key, queue, line.ts - wait)
        elif call.answered is not None:
            out.problem = f"{line.verb} for call {line.callid[:80]} already answered"
            return
        if wait is None:
            wait = max(0.0, line.ts - call.entered)
        del core._calls[key]
        core._end_call(key)
        core._call_event(out.messages, queue, CallEvent(
            ts=line.ts, call=call_id(line.callid), event="abandoned", wait_s=wait))

    leave.__doc__ = f"{what}: abandoned."
    return leave


def _reason(text: str) -> str | None:
    """A pause reason as the contract's Label: printable, at most 64 characters."""
    clean = "".join(ch for ch in text if ch.isprintable()).strip()[:64]
    return clean or None


def _pause(core: AsteriskCore, line: QueueLogLine, out: _Out) -> None:
    """PAUSE, PAUSEALL (reason): on break, once the call and wrap-up in hand are over."""
    member = core._member(line, out)
    if member is None:
        out.problem = f"{line.verb} without an agent"
        return
    queue = core._queue(line, out)
    if queue is not None:
        member.queues.add(queue)
    member.paused, member.pause_reason = True, _reason(line.field(1))
    if member.state not in ("talking", "hold", "wrap_up"):
        core._set(member, "break", line.ts, out.messages, queue=queue,
                  reason=member.pause_reason)


def _unpause(core: AsteriskCore, line: QueueLogLine, out: _Out) -> None:
    """UNPAUSE, UNPAUSEALL: available again (the reason is often empty: asterisk#395)."""
    member = core._member(line, out)
    if member is None:
        out.problem = f"{line.verb} without an agent"
        return
    queue = core._queue(line, out)
    if queue is not None:
        member.queues.add(queue)
    member.paused, member.pause_reason = False, None
    if member.state not in ("talking", "hold", "wrap_up"):
        core._set(member, "available", line.ts, out.messages, queue=queue)


def _add(core: AsteriskCore, line: QueueLogLine, out: _Out) -> None:
    """ADDMEMBER (PAUSED or empty): logged in to a queue, available or on break."""
    member = core._member(line, out)
    if member is None:
        out.problem = "ADDMEMBER without an agent"
        return
    queue = core._queue(line, out)
    if queue is not None:
        member.queues.add(queue)
    member.leaving = False
    if line.field(1).strip().upper() == "PAUSED":
        member.paused = True
    if member.state in (None, "offline", "available", "break"):
        if member.paused:
            core._set(member, "break", line.ts, out.messages, queue=queue,
                      reason=member.pause_reason)
        else:
            core._set(member, "available", line.ts, out.messages, queue=queue)


def _remove(core: AsteriskCore, line: QueueLogLine, out: _Out) -> None:
    """REMOVEMEMBER: out of a queue; offline once in none (after the call in hand)."""
    member = core._member(line, out)
    if member is None:
        out.problem = "REMOVEMEMBER without an agent"
        return
    queue = core._queue(line, out)
    member.queues.discard(queue or "")
    if member.queues:
        return
    _logoff(member, core, line, out)


def _login(core: AsteriskCore, line: QueueLogLine, out: _Out) -> None:
    """AGENTLOGIN (channel): available (chan_agent's agents; retired in Asterisk 12)."""
    member = core._member(line, out)
    if member is None:
        out.problem = f"{line.verb} without an agent"
        return
    member.leaving = False
    if member.state in (None, "offline"):
        member.paused, member.pause_reason = False, None
        core._set(member, "available", line.ts, out.messages, queue=core._queue(line, out))


def _logoff_line(core: AsteriskCore, line: QueueLogLine, out: _Out) -> None:
    """AGENTLOGOFF (channel, logintime): offline."""
    member = core._member(line, out)
    if member is None:
        out.problem = f"{line.verb} without an agent"
        return
    member.queues.clear()
    _logoff(member, core, line, out)


def _logoff(member: _Member, core: AsteriskCore, line: QueueLogLine, out: _Out) -> None:
    if member.state in ("talking", "hold"):
        member.leaving = True  # the call goes on: offline when it ends
        return
    member.paused, member.pause_reason, member.wrap_until = False, None, None
    core._set(member, "offline", line.ts, out.messages)


def _counted(core: AsteriskCore, line: QueueLogLine, out: _Out) -> None:
    """Counted only: no state and no call event."""


VERBS: dict[str, Verb] = {
    # The call lifecycle (floor/calls.py): offered -> answered -> completed, or
    # offered -> abandoned.
    "ENTERQUEUE": Verb(_enter, "offered", "offered"),
    "CONNECT": Verb(_connect, "answered (wait_s = data1 holdtime); agent talking", "answered"),
    "COMPLETEAGENT": Verb(_completer(1, 2, "COMPLETEAGENT"),
                          "completed (handle_s = data2 calltime + wrapuptime, hold_s unknown); "
                          "agent wrap_up, then available", "completed"),
    "COMPLETECALLER": Verb(_completer(1, 2, "COMPLETECALLER"),
                           "completed, as COMPLETEAGENT", "completed"),
    "BLINDTRANSFER": Verb(_completer(3, 4, "BLINDTRANSFER"),
                          "completed (data4 calltime), transfer counted", "transfer"),
    "ATTENDEDTRANSFER": Verb(_completer(3, 4, "ATTENDEDTRANSFER"),
                             "completed (data4 calltime), transfer counted", "transfer"),
    "TRANSFER": Verb(_completer(3, 4, "TRANSFER"),
                     "completed (data4 calltime), transfer counted; older Asterisk", "transfer"),
    "ABANDON": Verb(_leaver(3, "ABANDON"), "abandoned (wait_s = data3 waittime)", "abandon"),
    "EXITEMPTY": Verb(_leaver(3, "EXITEMPTY"), "abandoned (data3 waittime); overflow",
                      "overflow"),
    "EXITWITHTIMEOUT": Verb(_leaver(3, "EXITWITHTIMEOUT"),
                            "abandoned (data3 waittime); overflow", "overflow"),
    "EXITWITHKEY": Verb(_leaver(4, "EXITWITHKEY"), "abandoned (data4 waittime); overflow",
                        "overflow"),
    "WITHDRAW": Verb(_leaver(3, "WITHDRAW"), "abandoned (data3 waittime); overflow", "overflow"),
    # Rings: counted, not a state.
    "RINGNOANSWER": Verb(_counted, "counted only", "ring"),
    "RINGCANCELED": Verb(_counted, "counted only", "ring"),
    "AGENTDUMP": Verb(_counted, "counted only", "ring"),
    # Members.
    "PAUSE": Verb(_pause, "agent break, reason data1 (after the call in hand)", "member"),
    "PAUSEALL": Verb(_pause, "agent break, reason data1 (after the call in hand)", "member"),
    "UNPAUSE": Verb(_unpause, "agent available (after the call in hand)", "member"),
    "UNPAUSEALL": Verb(_unpause, "agent available (after the call in hand)", "member"),
    "ADDMEMBER": Verb(_add, "agent available; break when data1 is PAUSED", "member"),
    "REMOVEMEMBER": Verb(_remove, "agent offline once in no queue", "member"),
    "AGENTLOGIN": Verb(_login, "agent available", "member"),
    "AGENTLOGOFF": Verb(_logoff_line, "agent offline", "member"),
    "AGENTCALLBACKLOGIN": Verb(_login, "agent available; retired verb", "member"),
    "AGENTCALLBACKLOGOFF": Verb(_logoff_line, "agent offline; retired verb", "member"),
    # Housekeeping: counted only.
    "QUEUESTART": Verb(_counted, "counted only", "housekeeping"),
    "CONFIGRELOAD": Verb(_counted, "counted only", "housekeeping"),
    "SYSCOMPAT": Verb(_counted, "counted only", "housekeeping"),
    "PENALTY": Verb(_counted, "counted only", "housekeeping"),
    "RINGINUSE": Verb(_counted, "counted only", "housekeeping"),
    "INFO": Verb(_counted, "counted only", "housekeeping"),
}

# The call events each call verb sends for a call seen from ENTERQUEUE on: a reviewer checks
# these against the lifecycle table in wallboard/floor/calls.py (and the tests do).
CALL_EVENTS: dict[str, tuple[CallEventKind, ...]] = {
    "ENTERQUEUE": ("offered",),
    "CONNECT": ("answered",),
    **{v: ("completed",) for v in ("COMPLETEAGENT", "COMPLETECALLER", "BLINDTRANSFER",
                                   "ATTENDEDTRANSFER", "TRANSFER")},
    **{v: ("abandoned",) for v in ("ABANDON", "EXITEMPTY", "EXITWITHTIMEOUT", "EXITWITHKEY",
                                   "WITHDRAW")},
}
