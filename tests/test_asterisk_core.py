"""The Asterisk translation core, table-driven: every verb, what it becomes, and the mess.

Expected messages are written out by hand from the documented queue_log formats (Asterisk's
``apps/app_queue.c``; docs/asterisk.md). Every message the core makes is also encoded and
decoded through the contract, as a subscriber would receive it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from wallboard.floor.calls import call_path_ok
from wallboard.floor.core import FloorCore
from wallboard.messages import Envelope, decode, encode
from wallboard.telephony.asterisk_core import (
    CALL_EVENTS,
    ENDED_REMEMBERED,
    PRUNE_EVERY,
    VERBS,
    AsteriskCore,
    Translated,
)
from wallboard.telephony.settings import TelephonyConfig

T = 1_795_420_800 + 9 * 3600  # a Monday, 09:00 UTC

CONFIG = TelephonyConfig.model_validate({
    "members": {
        "SIP/1001": {"agent": "a1", "desk": "d1", "team": "blue"},
        "PJSIP/1002": {"agent": "a2"},
        "Sathish": {"agent": "a3", "desk": "d3"},
        "Local/1127@from-queue": {"agent": "a4"},
    },
    "queues": {"support": {"wrapuptime_s": 10.0}, "sales": {"id": "sales"},
               "Sales Desk": {"id": "salesdesk"}},
})

Out = tuple[str, dict[str, Any]]


def rendered(env: Envelope) -> Out:
    """A message as a subscriber sees it, after a check that it decodes to itself."""
    topic, payload = str(env.topic), encode(env.message)
    back = decode(topic, payload, now=env.message.ts)
    assert isinstance(back, Envelope)
    assert back.message == env.message
    assert topic.startswith("wallboard/hq/")
    return topic.removeprefix("wallboard/hq/"), json.loads(payload)


def run(lines: list[str], config: TelephonyConfig = CONFIG) -> tuple[list[Out], list[Translated]]:
    """Feed ``lines`` to a fresh core; every message rendered, and every result."""
    core = AsteriskCore(config, site="hq")
    results = [core.feed(line.encode()) for line in lines]
    return [rendered(env) for r in results for env in r.messages], results


def off(q: str, call: str, ts: float) -> Out:
    return f"queue/{q}/call", {"ts": ts, "call": call, "event": "offered"}


def ans(q: str, call: str, ts: float, wait: float, agent: str) -> Out:
    return f"queue/{q}/call", {"ts": ts, "call": call, "event": "answered", "wait_s": wait,
                               "agent": agent}


def done(q: str, call: str, ts: float, agent: str, handle: float) -> Out:
    return f"queue/{q}/call", {"ts": ts, "call": call, "event": "completed", "agent": agent,
                               "handle_s": handle, "hold_s": "unknown"}


def gone(q: str, call: str, ts: float, wait: float) -> Out:
    return f"queue/{q}/call", {"ts": ts, "call": call, "event": "abandoned", "wait_s": wait}


def st(agent: str, state: str, ts: float, **extra: Any) -> Out:
    return f"agent/{agent}/state", {"ts": ts, "state": state, "since": ts, **extra}


A1 = {"desk": "d1", "team": "blue"}  # what every a1 state carries from the mapping


def at(dt: int, rest: str) -> str:
    """A line at T + dt."""
    return f"{T + dt}|{rest}"


VERB_CASES: list[tuple[str, list[str], list[Out]]] = [
    ("ENTERQUEUE offers the call",
     [at(0, "c1|support|NONE|ENTERQUEUE||5551234|1")],
     [off("support", "c1", T)]),
    ("CONNECT answers with data1 as the wait; the agent talks",
     [at(0, "c1|support|NONE|ENTERQUEUE||5551234|1"),
      at(5, "c1|support|SIP/1001|CONNECT|4|1795453205.7|3")],
     [off("support", "c1", T), ans("support", "c1", T + 5, 4.0, "a1"),
      st("a1", "talking", T + 5, queue="support", call="c1", **A1)]),
    ("CONNECT without a holdtime waits from ENTERQUEUE to CONNECT",
     [at(0, "c1|support|NONE|ENTERQUEUE||5551234|1"), at(7, "c1|support|SIP/1001|CONNECT")],
     [off("support", "c1", T), ans("support", "c1", T + 7, 7.0, "a1"),
      st("a1", "talking", T + 7, queue="support", call="c1", **A1)]),
    ("COMPLETEAGENT completes: calltime + the queue's wrapuptime, hold unknown; wrap-up",
     [at(0, "c1|support|NONE|ENTERQUEUE||5551234|1"),
      at(5, "c1|support|SIP/1001|CONNECT|5|x|3"),
      at(95, "c1|support|SIP/1001|COMPLETEAGENT|5|90|1"),
      at(200, "NONE|NONE|NONE|CONFIGRELOAD|")],
     [off("support", "c1", T), ans("support", "c1", T + 5, 5.0, "a1"),
      st("a1", "talking", T + 5, queue="support", call="c1", **A1),
      done("support", "c1", T + 95, "a1", 100.0),
      st("a1", "wrap_up", T + 95, queue="support", call="c1", **A1),
      st("a1", "available", T + 105, queue="support", **A1)]),
    ("COMPLETECALLER in a queue without wrap-up: available at once",
     [at(0, "c1|sales|NONE|ENTERQUEUE||5551234|1"),
      at(5, "c1|sales|PJSIP/1002|CONNECT|5|x|3"),
      at(65, "c1|sales|PJSIP/1002|COMPLETECALLER|5|60|1")],
     [off("sales", "c1", T), ans("sales", "c1", T + 5, 5.0, "a2"),
      st("a2", "talking", T + 5, queue="sales", call="c1"),
      done("sales", "c1", T + 65, "a2", 60.0),
      st("a2", "available", T + 65, queue="sales")]),
    ("BLINDTRANSFER completes with data4 as the calltime",
     [at(0, "c1|sales|NONE|ENTERQUEUE||5551234|1"),
      at(5, "c1|sales|PJSIP/1002|CONNECT|5|x|3"),
      at(45, "c1|sales|PJSIP/1002|BLINDTRANSFER|200|from-internal|5|40|1")],
     [off("sales", "c1", T), ans("sales", "c1", T + 5, 5.0, "a2"),
      st("a2", "talking", T + 5, queue="sales", call="c1"),
      done("sales", "c1", T + 45, "a2", 40.0),
      st("a2", "available", T + 45, queue="sales")]),
    ("ATTENDEDTRANSFER completes with data4 as the calltime",
     [at(0, "c1|sales|NONE|ENTERQUEUE||5551234|1"),
      at(5, "c1|sales|PJSIP/1002|CONNECT|5|x|3"),
      at(45, "c1|sales|PJSIP/1002|ATTENDEDTRANSFER|BRIDGE|1795453240.9|5|39|1")],
     [off("sales", "c1", T), ans("sales", "c1", T + 5, 5.0, "a2"),
      st("a2", "talking", T + 5, queue="sales", call="c1"),
      done("sales", "c1", T + 45, "a2", 39.0),
      st("a2", "available", T + 45, queue="sales")]),
    ("TRANSFER (older Asterisk) completes with data4 as the calltime",
     [at(0, "c1|sales|NONE|ENTERQUEUE||5551234|1"),
      at(5, "c1|sales|PJSIP/1002|CONNECT|5|x|3"),
      at(45, "c1|sales|PJSIP/1002|TRANSFER|200|from-internal|5|40")],
     [off("sales", "c1", T), ans("sales", "c1", T + 5, 5.0, "a2"),
      st("a2", "talking", T + 5, queue="sales", call="c1"),
      done("sales", "c1", T + 45, "a2", 40.0),
      st("a2", "available", T + 45, queue="sales")]),
    ("ABANDON: abandoned, data3 the wait",
     [at(0, "c1|support|NONE|ENTERQUEUE||5551234|1"), at(30, "c1|support|NONE|ABANDON|2|3|29")],
     [off("support", "c1", T), gone("support", "c1", T + 30, 29.0)]),
    ("EXITEMPTY: overflow, sent as abandoned",
     [at(0, "c1|support|NONE|ENTERQUEUE||5551234|1"),
      at(30, "c1|support|NONE|EXITEMPTY|1|1|30")],
     [off("support", "c1", T), gone("support", "c1", T + 30, 30.0)]),
    ("EXITWITHTIMEOUT: overflow, sent as abandoned",
     [at(0, "c1|support|NONE|ENTERQUEUE||5551234|1"),
      at(300, "c1|support|NONE|EXITWITHTIMEOUT|1|1|300")],
     [off("support", "c1", T), gone("support", "c1", T + 300, 300.0)]),
    ("EXITWITHKEY: overflow, data4 the wait",
     [at(0, "c1|support|NONE|ENTERQUEUE||5551234|1"),
      at(12, "c1|support|NONE|EXITWITHKEY|9|1|1|12")],
     [off("support", "c1", T), gone("support", "c1", T + 12, 12.0)]),
    ("EXITWITHKEY of Asterisk 1.4 (key, position): the wait from ENTERQUEUE",
     [at(0, "c1|support|NONE|ENTERQUEUE||5551234|1"), at(12, "c1|support|NONE|EXITWITHKEY|9|1")],
     [off("support", "c1", T), gone("support", "c1", T + 12, 12.0)]),
    ("A call that overflows into another queue is offered there, same call id",
     [at(0, "c1|support|NONE|ENTERQUEUE||5551234|1"),
      at(300, "c1|support|NONE|EXITWITHTIMEOUT|1|1|300"),
      at(301, "c1|sales|NONE|ENTERQUEUE||5551234|1"),
      at(311, "c1|sales|PJSIP/1002|CONNECT|10|x|1")],
     [off("support", "c1", T), gone("support", "c1", T + 300, 300.0), off("sales", "c1", T + 301),
      ans("sales", "c1", T + 311, 10.0, "a2"),
      st("a2", "talking", T + 311, queue="sales", call="c1")]),
    ("WITHDRAW: overflow, sent as abandoned",
     [at(0, "c1|support|NONE|ENTERQUEUE||5551234|1"),
      at(20, "c1|support|NONE|WITHDRAW|1|1|20|callback")],
     [off("support", "c1", T), gone("support", "c1", T + 20, 20.0)]),
    ("RINGNOANSWER, RINGCANCELED, AGENTDUMP: counted, nothing sent",
     [at(0, "c1|support|SIP/1001|RINGNOANSWER|15000"),
      at(1, "c1|support|SIP/1001|RINGCANCELED|800"), at(2, "c1|support|SIP/1001|AGENTDUMP")],
     []),
    ("ADDMEMBER: available; REMOVEMEMBER: offline",
     [at(0, "MANAGER|support|SIP/1001|ADDMEMBER|"),
      at(60, "MANAGER|support|SIP/1001|REMOVEMEMBER|")],
     [st("a1", "available", T, queue="support", **A1),
      st("a1", "offline", T + 60, queue="support", **A1)]),
    ("ADDMEMBER PAUSED: on break",
     [at(0, "MANAGER|support|Sathish|ADDMEMBER|PAUSED")],
     [st("a3", "break", T, queue="support", desk="d3")]),
    ("ADDMEMBER to a second queue changes nothing; offline only out of both",
     [at(0, "NONE|support|SIP/1001|ADDMEMBER|"), at(1, "NONE|sales|SIP/1001|ADDMEMBER|"),
      at(60, "NONE|support|SIP/1001|REMOVEMEMBER|"), at(61, "NONE|sales|SIP/1001|REMOVEMEMBER|")],
     [st("a1", "available", T, queue="support", **A1),
      st("a1", "available", T + 1, queue="sales", **A1),
      st("a1", "offline", T + 61, queue="sales", **A1)]),
    ("PAUSE with a reason: break; UNPAUSE: available",
     [at(0, "NONE|support|SIP/1001|ADDMEMBER|"), at(10, "NONE|support|SIP/1001|PAUSE|Lunch"),
      at(70, "NONE|support|SIP/1001|UNPAUSE|")],
     [st("a1", "available", T, queue="support", **A1),
      st("a1", "break", T + 10, queue="support", reason="Lunch", **A1),
      st("a1", "available", T + 70, queue="support", **A1)]),
    ("PAUSEALL and UNPAUSEALL (queue NONE) keep the agent's queue",
     [at(0, "NONE|support|SIP/1001|ADDMEMBER|"), at(10, "NONE|NONE|SIP/1001|PAUSEALL|Training"),
      at(70, "NONE|NONE|SIP/1001|UNPAUSEALL|")],
     [st("a1", "available", T, queue="support", **A1),
      st("a1", "break", T + 10, queue="support", reason="Training", **A1),
      st("a1", "available", T + 70, queue="support", **A1)]),
    ("PAUSE without a reason: break, no reason",
     [at(10, "NONE|support|Sathish|PAUSE|")],
     [st("a3", "break", T + 10, queue="support", desk="d3")]),
    ("PAUSE mid-call takes effect when the call and its wrap-up end",
     [at(0, "c1|support|NONE|ENTERQUEUE||5551234|1"),
      at(5, "c1|support|SIP/1001|CONNECT|5|x|3"),
      at(20, "NONE|support|SIP/1001|PAUSE|Coaching"),
      at(65, "c1|support|SIP/1001|COMPLETEAGENT|5|60|1"),
      at(100, "NONE|NONE|NONE|QUEUESTART|")],
     [off("support", "c1", T), ans("support", "c1", T + 5, 5.0, "a1"),
      st("a1", "talking", T + 5, queue="support", call="c1", **A1),
      done("support", "c1", T + 65, "a1", 70.0),
      st("a1", "wrap_up", T + 65, queue="support", call="c1", **A1),
      st("a1", "break", T + 75, queue="support", reason="Coaching", **A1)]),
    ("REMOVEMEMBER mid-call: offline when the call ends",
     [at(0, "NONE|sales|PJSIP/1002|ADDMEMBER|"),
      at(1, "c1|sales|NONE|ENTERQUEUE||5551234|1"),
      at(5, "c1|sales|PJSIP/1002|CONNECT|4|x|3"),
      at(20, "NONE|sales|PJSIP/1002|REMOVEMEMBER|"),
      at(65, "c1|sales|PJSIP/1002|COMPLETECALLER|4|60|1")],
     [st("a2", "available", T, queue="sales"), off("sales", "c1", T + 1),
      ans("sales", "c1", T + 5, 4.0, "a2"), st("a2", "talking", T + 5, queue="sales", call="c1"),
      done("sales", "c1", T + 65, "a2", 60.0), st("a2", "offline", T + 65, queue="sales")]),
    ("AGENTLOGIN: available; AGENTLOGOFF: offline",
     [at(0, "NONE|NONE|Agent/1127|AGENTLOGIN|PJSIP/1127-0000001"),
      at(600, "NONE|NONE|Agent/1127|AGENTLOGOFF|PJSIP/1127-0000001|600")],
     [st("Agent-1127-" + "5d87071f", "available", T),
      st("Agent-1127-" + "5d87071f", "offline", T + 600)]),
    ("A Local channel's /n suffix maps to the configured member",
     [at(0, "NONE|sales|Local/1127@from-queue/n|ADDMEMBER|")],
     [st("a4", "available", T, queue="sales")]),
    ("A mapped queue name with a space becomes its configured id",
     [at(0, "c1|Sales Desk|NONE|ENTERQUEUE||5551234|1")],
     [off("salesdesk", "c1", T)]),
    ("Housekeeping lines send nothing",
     [at(0, "NONE|NONE|NONE|QUEUESTART|"), at(1, "NONE|NONE|NONE|CONFIGRELOAD|"),
      at(2, "REALTIME|support|SIP/1001|PENALTY|5"), at(3, "CLI|support|NONE|INFO|x"),
      at(4, "NONE|support|SIP/1001|RINGINUSE|1"), at(5, "NONE|NONE|NONE|SYSCOMPAT|")],
     []),
    ("Vendor verbs (FreePBX DID, PBXware OUTDIAL) send nothing",
     [at(0, "c1|NONE|NONE|DID|18005551234"), at(1, "c1|support|SIP/1001|OUTDIAL|5551234"),
      at(2, "c1|support|SIP/1001|OUTANSWER|5551234")],
     []),
]


@pytest.mark.parametrize(("lines", "expected"), [c[1:] for c in VERB_CASES],
                         ids=[c[0] for c in VERB_CASES])
def test_each_verb_becomes_these_messages(lines, expected):
    assert run(lines)[0] == expected


def test_the_derived_agent_id_is_what_the_table_says():
    """The AGENTLOGIN row spells out a derived id: check the hash there is right, once."""
    import hashlib

    assert hashlib.sha256(b"Agent/1127").hexdigest()[:8] == "5d87071f"


MESS: list[tuple[str, list[str], list[Out], list[str | None]]] = [
    # (case, lines, messages, problem per line: a substring, or None for no problem)
    ("CONNECT of a call never seen to enter: offered rebuilt from the holdtime",
     [at(30, "c9|support|SIP/1001|CONNECT|12|x|3")],
     [off("support", "c9", T + 18), ans("support", "c9", T + 30, 12.0, "a1"),
      st("a1", "talking", T + 30, queue="support", call="c9", **A1)],
     [None]),
    ("COMPLETE of a call never seen: offered and answered rebuilt",
     [at(100, "c9|sales|PJSIP/1002|COMPLETEAGENT|10|60|1")],
     [off("sales", "c9", T + 30), ans("sales", "c9", T + 40, 10.0, "a2"),
      done("sales", "c9", T + 100, "a2", 60.0), st("a2", "available", T + 100, queue="sales")],
     [None]),
    ("COMPLETE after ENTERQUEUE with the CONNECT lost: answered rebuilt",
     [at(0, "c1|sales|NONE|ENTERQUEUE||5551234|1"),
      at(100, "c1|sales|PJSIP/1002|COMPLETECALLER|10|60|1")],
     [off("sales", "c1", T), ans("sales", "c1", T + 40, 10.0, "a2"),
      done("sales", "c1", T + 100, "a2", 60.0), st("a2", "available", T + 100, queue="sales")],
     [None, None]),
    ("ABANDON of a call never seen: offered rebuilt from the waittime",
     [at(50, "c9|support|NONE|ABANDON|1|1|20")],
     [off("support", "c9", T + 30), gone("support", "c9", T + 50, 20.0)],
     [None]),
    ("A holdtime over a week is garbage, not a call that entered in 1990",
     [at(30, "c9|support|SIP/1001|CONNECT|999999999|x|3")], [], ["without holdtime in data1"]),
    ("CONNECT never seen to enter, no holdtime: a problem, nothing sent",
     [at(30, "c9|support|SIP/1001|CONNECT")], [], ["without holdtime in data1"]),
    ("COMPLETE never seen, no calltime: a problem",
     [at(30, "c9|support|SIP/1001|COMPLETEAGENT|5")], [], ["without calltime in data2"]),
    ("ABANDON never seen, no waittime: a problem",
     [at(30, "c9|support|NONE|ABANDON|1|1")], [], ["without waittime in data3"]),
    ("A call verb with callid NONE is not a call",
     [at(0, "NONE|support|NONE|ENTERQUEUE||5551234|1")], [], ["callid 'NONE': not a call"]),
    ("A call verb without a queue",
     [at(0, "c1|NONE|NONE|ENTERQUEUE||5551234|1")], [], ["ENTERQUEUE without a queue"]),
    ("ENTERQUEUE twice: the second is a problem",
     [at(0, "c1|support|NONE|ENTERQUEUE||1|1"), at(1, "c1|support|NONE|ENTERQUEUE||1|1")],
     [off("support", "c1", T)], [None, "already in the queue"]),
    ("CONNECT twice: the second is a problem",
     [at(0, "c1|sales|NONE|ENTERQUEUE||1|1"), at(5, "c1|sales|PJSIP/1002|CONNECT|5|x|1"),
      at(6, "c1|sales|PJSIP/1002|CONNECT|6|x|1")],
     [off("sales", "c1", T), ans("sales", "c1", T + 5, 5.0, "a2"),
      st("a2", "talking", T + 5, queue="sales", call="c1")],
     [None, None, "already answered"]),
    ("A line about a call after it ended is not a new call",
     [at(0, "c1|sales|NONE|ENTERQUEUE||1|1"), at(9, "c1|sales|NONE|ABANDON|1|1|9"),
      at(10, "c1|sales|PJSIP/1002|CONNECT|10|x|1")],
     [off("sales", "c1", T), gone("sales", "c1", T + 9, 9.0)],
     [None, None, "after it ended"]),
    ("ABANDON of an answered call is a problem",
     [at(0, "c1|sales|NONE|ENTERQUEUE||1|1"), at(5, "c1|sales|PJSIP/1002|CONNECT|5|x|1"),
      at(9, "c1|sales|NONE|ABANDON|1|1|9")],
     [off("sales", "c1", T), ans("sales", "c1", T + 5, 5.0, "a2"),
      st("a2", "talking", T + 5, queue="sales", call="c1")],
     [None, None, "already answered"]),
    ("CONNECT without an agent",
     [at(0, "c1|sales|NONE|ENTERQUEUE||1|1"), at(5, "c1|sales|NONE|CONNECT|5|x|1")],
     [off("sales", "c1", T)], [None, "CONNECT without an agent"]),
    ("A member verb without a member", [at(0, "NONE|support|NONE|PAUSE|x")], [],
     ["PAUSE without an agent"]),
    ("A callid with slashes becomes a valid derived call id",
     [at(0, "pbx/7/42|sales|NONE|ENTERQUEUE||1|1"), at(5, "pbx/7/42|sales|NONE|ABANDON|1|1|5")],
     [off("sales", "pbx-7-42-cc445117", T), gone("sales", "pbx-7-42-cc445117", T + 5, 5.0)],
     [None, None]),
    ("A pause reason with control characters is cleaned to a label",
     [at(0, "NONE|support|Sathish|PAUSE|Lun\x1bch\u2028" + "x" * 100)],
     [st("a3", "break", T, queue="support", desk="d3", reason="Lunch" + "x" * 59)],
     [None]),
    ("Garbage and bad lines are problems and change nothing",
     ["\x00\x00\x00", "garbage", f"{T}|c1|support", at(0, "c1|support|NONE|ENTERQUEUE||1|1")],
     [off("support", "c1", T)], ["NUL byte", "1 fields", "3 fields", None]),
]


@pytest.mark.parametrize(("lines", "expected", "problems"), [c[1:] for c in MESS],
                         ids=[c[0] for c in MESS])
def test_the_mess_is_handled_and_explained(lines, expected, problems):
    messages, results = run(lines)
    assert messages == expected
    assert len(results) == len(problems)
    for result, problem in zip(results, problems, strict=True):
        if problem is None:
            assert result.problem is None
        else:
            assert result.problem is not None
            assert problem in result.problem


def test_the_slash_call_id_in_the_table_is_the_derived_one():
    import hashlib

    assert hashlib.sha256(b"pbx/7/42").hexdigest()[:8] == "cc445117"


def test_unknown_and_known_verbs_are_counted_bad_lines_too():
    core = AsteriskCore(CONFIG, site="hq")
    for line in [at(0, "c1|NONE|NONE|DID|1"), at(1, "c1|NONE|NONE|DID|2"),
                 at(2, "c1|support|NONE|ENTERQUEUE||1|1"), at(3, "NONE|NONE|NONE|QUEUESTART|"),
                 "\xff\xfe", at(4, "c1|support|a|OUTDIAL|5")]:
        result = core.feed(line.encode("latin-1"))
        assert result.known == (result.verb in VERBS)
    assert core.counts == {"DID": 2, "ENTERQUEUE": 1, "QUEUESTART": 1, "(bad line)": 1,
                           "OUTDIAL": 1}


def test_many_distinct_unknown_verbs_are_counted_together_past_fifty():
    core = AsteriskCore(CONFIG, site="hq")
    for i in range(80):
        core.feed(at(i, f"NONE|NONE|NONE|VENDOR{i}|x").encode())
    assert len(core.counts) == 51
    assert core.counts["(other unknown)"] == 30


def test_an_unmapped_member_or_queue_is_warned_about_once():
    _, results = run([at(0, "c1|q7|NONE|ENTERQUEUE||1|1"), at(5, "c1|q7|PJSIP/9|CONNECT|5|x|1"),
                      at(9, "c2|q7|NONE|ENTERQUEUE||1|1"), at(9, "NONE|q7|PJSIP/9|PAUSE|x")])
    warnings = [w for r in results for w in r.warnings]
    assert warnings == [
        "queue 'q7' is not in telephony.queues: shown as queue 'q7'",
        "member 'PJSIP/9' is not in telephony.members: shown as agent "
        "'PJSIP-9-" + __import__("hashlib").sha256(b"PJSIP/9").hexdigest()[:8] + "'",
    ]


def test_a_rebuilt_call_is_warned_about():
    _, results = run([at(30, "c9|support|SIP/1001|CONNECT|12|x|3")])
    assert any("never seen to enter" in w for w in results[0].warnings)


def test_a_line_more_than_a_day_ahead_of_the_shells_clock_is_refused():
    core = AsteriskCore(CONFIG, site="hq")
    result = core.feed(at(2 * 86_400, "c1|support|NONE|ENTERQUEUE||1|1").encode(), now=T)
    assert result.messages == ()
    assert result.problem == "ENTERQUEUE dated more than a day in the future"
    assert core.feed(at(60, "c1|support|NONE|ENTERQUEUE||1|1").encode(), now=T).messages


def test_topics_are_under_the_configured_root_and_site():
    core = AsteriskCore(CONFIG, site="paris", root="acme/wb")
    (env,) = core.feed(at(0, "c1|support|NONE|ENTERQUEUE||1|1").encode()).messages
    assert str(env.topic) == "acme/wb/paris/queue/support/call"


def test_due_ends_wrap_ups_by_the_shells_clock():
    core = AsteriskCore(CONFIG, site="hq")
    for line in [at(0, "c1|support|NONE|ENTERQUEUE||1|1"),
                 at(5, "c1|support|SIP/1001|CONNECT|5|x|1"),
                 at(65, "c1|support|SIP/1001|COMPLETEAGENT|5|60|1")]:
        core.feed(line.encode())
    assert core.due(T + 74) == ()
    assert [rendered(e) for e in core.due(T + 80)] == [
        st("a1", "available", T + 75, queue="support", **A1)]
    assert core.due(T + 1000) == ()


def test_a_new_call_in_wrap_up_voids_the_wrap_up_end():
    """Two queues, two wrap-ups: the agent answering again must not turn available mid-call."""
    core = AsteriskCore(CONFIG, site="hq")
    for line in [at(0, "c1|support|NONE|ENTERQUEUE||1|1"),
                 at(5, "c1|support|SIP/1001|CONNECT|5|x|1"),
                 at(65, "c1|support|SIP/1001|COMPLETEAGENT|5|60|1"),
                 at(66, "c2|sales|NONE|ENTERQUEUE||1|1"),
                 at(68, "c2|sales|SIP/1001|CONNECT|2|x|1")]:
        core.feed(line.encode())
    assert core.due(T + 100) == ()


def call_paths(lines: list[str]) -> dict[str, list[str]]:
    """Each call's events, in the order the core sent them."""
    paths: dict[str, list[str]] = {}
    for topic, payload in run(lines)[0]:
        if topic.endswith("/call"):
            paths.setdefault(payload["call"], []).append(payload["event"])
    return paths


ENDINGS = {  # a line ending an answered call, or one still waiting, by verb
    "COMPLETEAGENT": "c1|sales|PJSIP/1002|COMPLETEAGENT|5|60|1",
    "COMPLETECALLER": "c1|sales|PJSIP/1002|COMPLETECALLER|5|60|1",
    "BLINDTRANSFER": "c1|sales|PJSIP/1002|BLINDTRANSFER|200|ctx|5|60|1",
    "ATTENDEDTRANSFER": "c1|sales|PJSIP/1002|ATTENDEDTRANSFER|BRIDGE|x|5|60|1",
    "TRANSFER": "c1|sales|PJSIP/1002|TRANSFER|200|ctx|5|60",
    "ABANDON": "c1|sales|NONE|ABANDON|1|1|5",
    "EXITEMPTY": "c1|sales|NONE|EXITEMPTY|1|1|5",
    "EXITWITHTIMEOUT": "c1|sales|NONE|EXITWITHTIMEOUT|1|1|5",
    "EXITWITHKEY": "c1|sales|NONE|EXITWITHKEY|1|1|1|5",
    "WITHDRAW": "c1|sales|NONE|WITHDRAW|1|1|5|x",
}


@pytest.mark.parametrize("verb", sorted(ENDINGS))
@pytest.mark.parametrize("entered", [True, False], ids=["seen entering", "never seen entering"])
def test_every_call_verb_is_a_path_through_the_call_lifecycle(verb, entered):
    """The core's call events follow wallboard/floor/calls.py's CALL_TRANSITIONS, and what
    CALL_EVENTS says each verb sends."""
    answered = CALL_EVENTS[verb] == ("completed",)
    lines = [at(0, "c1|sales|NONE|ENTERQUEUE||1|1")] if entered else []
    if answered:
        lines.append(at(5, "c1|sales|PJSIP/1002|CONNECT|5|x|1"))
    lines.append(at(65, ENDINGS[verb]))
    (path,) = call_paths(lines).values()
    assert call_path_ok(path)
    expected = ["offered", *(["answered"] if answered else []), *CALL_EVENTS[verb]]
    assert path == expected


def test_a_complete_without_connect_is_a_path_too():
    (path,) = call_paths([at(0, "c1|sales|NONE|ENTERQUEUE||1|1"),
                          at(65, ENDINGS["COMPLETEAGENT"])]).values()
    assert path == ["offered", "answered", "completed"]
    assert call_path_ok(path)


def test_verbs_cover_the_issue_table():
    assert {"ENTERQUEUE", "CONNECT", "COMPLETEAGENT", "COMPLETECALLER", "ABANDON", "EXITEMPTY",
            "EXITWITHTIMEOUT", "EXITWITHKEY", "BLINDTRANSFER", "ATTENDEDTRANSFER",
            "RINGNOANSWER", "RINGCANCELED", "PAUSE", "UNPAUSE", "PAUSEALL", "UNPAUSEALL",
            "ADDMEMBER", "REMOVEMEMBER", "AGENTLOGIN", "AGENTLOGOFF"} <= set(VERBS)
    assert set(CALL_EVENTS) <= set(VERBS)
    assert {v for v, row in VERBS.items() if row.counts_as == "abandon"} == {"ABANDON"}
    assert {v for v, row in VERBS.items() if row.counts_as == "overflow"} == {
        "EXITEMPTY", "EXITWITHTIMEOUT", "EXITWITHKEY", "WITHDRAW"}


def test_ended_calls_are_forgotten_and_memory_stays_bounded():
    core = AsteriskCore(CONFIG, site="hq")
    n = ENDED_REMEMBERED + 500
    for i in range(n):
        core.feed(at(i, f"c{i}|sales|NONE|ENTERQUEUE||1|1").encode())
        core.feed(at(i, f"c{i}|sales|NONE|ABANDON|1|1|0").encode())
    assert core.calls_open == 0
    assert len(core._ended) == ENDED_REMEMBERED


def test_calls_whose_end_was_lost_are_forgotten_after_a_day():
    core = AsteriskCore(CONFIG, site="hq")
    for i in range(100):
        core.feed(at(i, f"lost{i}|sales|NONE|ENTERQUEUE||1|1").encode())
    assert core.calls_open == 100
    for i in range(PRUNE_EVERY):
        core.feed(at(86_500 + i, "NONE|NONE|NONE|QUEUESTART|").encode())
    assert core.calls_open == 0


# ---- a scripted log whose KPIs are worked out by hand ---------------------------------------

SCRIPT = [
    at(-60, "NONE|support|SIP/1001|ADDMEMBER|"),
    at(-60, "NONE|support|PJSIP/1002|ADDMEMBER|"),
    at(-60, "NONE|support|Sathish|ADDMEMBER|"),
    at(-50, "NONE|NONE|NONE|QUEUESTART|"),
    at(0, "c1|support|NONE|ENTERQUEUE||5550001|1"),
    at(8, "c1|support|SIP/1001|CONNECT|8|x|2"),
    at(10, "c2|support|NONE|ENTERQUEUE||5550002|1"),
    at(20, "c3|support|NONE|ENTERQUEUE||5550003|2"),
    at(23, "c3|support|NONE|ABANDON|2|2|3"),
    at(30, "c4|support|NONE|ENTERQUEUE||5550004|2"),
    at(40, "c2|support|PJSIP/1002|CONNECT|30|x|2"),
    at(45, "c4|support|NONE|ABANDON|1|2|15"),
    at(50, "c5|support|NONE|ENTERQUEUE||5550005|1"),
    at(60, "c6|support|NONE|ENTERQUEUE||5550006|2"),
    at(72, "c6|support|Sathish|CONNECT|12|x|2"),
    "\x1f\x8b\x08\x00garbage",
    at(90, "c9|NONE|NONE|DID|5550009"),
    at(100, "c2|support|PJSIP/1002|COMPLETECALLER|30|60|1"),
    at(110, "c5|support|NONE|EXITWITHTIMEOUT|1|1|60"),
    at(128, "c1|support|SIP/1001|COMPLETEAGENT|8|120|1"),
    at(200, "c6|support|Sathish|COMPLETEAGENT|12|128|2"),
    at(300, "c7|support|NONE|ENTERQUEUE||5550007|1"),
    at(302, "c7|support|SIP/1001|CONNECT|2|x|1"),
    at(310, "c8|support|NONE|ENTERQUEUE||5550008|1"),
]


def test_a_scripted_log_gives_the_kpis_worked_out_by_hand():
    """Defaults: SL threshold 20 s, short abandon under 5 s, abandons count against SL.

    Offered 8 (c1..c8). Answered 4: c1 after 8 s, c2 30 s, c6 12 s, c7 2 s. Abandoned 3: c3
    after 3 s (short), c4 15 s, c5 60 s (EXITWITHTIMEOUT, overflow, sent as abandoned).
    c8 still waiting. Calls whose wait ended, short abandons out: 4 + 3 - 1 = 6.
    Service level: answered within 20 s (c1, c6, c7) 3 / 6 = 0.5.
    ASA: (8 + 30 + 12 + 2) / 4 = 13 s. Abandon rate: (3 - 1) / 6 = 1/3.
    Completed 3, handle = calltime + 10 s wrap-up: 130 + 70 + 138 = 338, AHT 338 / 3 s.
    Agents: a1 talking (c7); a2 and a3 available after their wrap-ups.
    """
    core = AsteriskCore(CONFIG, site="hq")
    floor = FloorCore()
    for line in SCRIPT:
        for env in core.feed(line.encode("latin-1")).messages:
            rendered(env)
            folded = floor.fold(env)
            assert folded.outcome == "applied", (str(env.topic), env.message, folded.reason)
    queues, floor_kpi = floor.snapshots(T + 400)
    (support,) = [q for q in queues if q.queue == "support"]
    today = support.today
    assert (today.offered, today.answered, today.abandoned, today.short_abandoned) == (8, 4, 3, 1)
    assert today.answered_in_sl == 3
    assert today.service_level == pytest.approx(0.5)
    assert today.asa_s == pytest.approx(13.0)
    assert today.abandon_rate == pytest.approx(1 / 3)
    assert today.completed == 3
    assert today.aht_s == pytest.approx(338 / 3)
    assert support.waiting == 1
    assert support.longest_wait_s == pytest.approx(90.0)
    assert (floor_kpi.agents_available, floor_kpi.agents_busy, floor_kpi.agents_logged_in) == (
        2, 1, 3)


def test_a_handler_that_makes_an_invalid_message_gives_a_problem_not_a_traceback(monkeypatch):
    from wallboard.messages import CallEvent
    from wallboard.telephony import asterisk_core

    def broken(core, line, out):
        CallEvent(ts=line.ts, call="c1", event="answered")  # no wait_s: invalid

    monkeypatch.setitem(asterisk_core.VERBS, "QUEUESTART",
                        asterisk_core.Verb(broken, "nothing", "housekeeping"))
    result = AsteriskCore(CONFIG, site="hq").feed(at(0, "NONE|NONE|NONE|QUEUESTART|").encode())
    assert result.messages == ()
    assert result.problem is not None
    assert result.problem.startswith("QUEUESTART gave an invalid message: ")
