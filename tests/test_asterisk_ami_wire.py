"""The AMI wire parser and action encoder (wallboard/telephony/ami_wire.py), table-driven.

The transcripts in tests/ami_transcripts/ follow Asterisk's documented formats; cutting one
at every byte boundary, or feeding it a byte at a time, must give the same frames.
"""

from __future__ import annotations

import itertools

import pytest

from tests.ami_server import TRANSCRIPTS
from wallboard.telephony.ami_wire import (
    MAX_LINE_BYTES,
    AmiMessage,
    AmiParser,
    BadAction,
    BadFrame,
    Banner,
    Frame,
    encode_action,
    parse_all,
)

NAMES = sorted(p.stem for p in TRANSCRIPTS.glob("*.txt"))


def wire(name: str, newline: bytes = b"\r\n") -> bytes:
    """A transcript's bytes as Asterisk sends them (CRLF), or with another line end."""
    return (TRANSCRIPTS / f"{name}.txt").read_bytes().replace(b"\n", newline)


def feed_in(data: bytes, cuts: list[int]) -> list[Frame]:
    """Feed ``data`` cut at ``cuts`` and collect every frame, then finish."""
    parser = AmiParser()
    out: list[Frame] = []
    edges = [0, *cuts, len(data)]
    for start, end in itertools.pairwise(edges):
        out += parser.feed(data[start:end])
    return out + parser.finish()


def events(frames: list[Frame]) -> list[str | None]:
    return [f.event or f.response for f in frames if isinstance(f, AmiMessage)]


def test_the_live_floor_transcript_parses_into_its_messages():
    frames = parse_all(wire("floor_live"))
    assert frames[0] == Banner("Asterisk Call Manager/9.0.0", "9.0.0")
    assert events(frames) == [
        "Success", "FullyBooted", "Success", "QueueParams", "QueueMember", "QueueMember",
        "QueueEntry", "QueueStatusComplete", "AgentCalled", "Newexten", "AgentConnect", "Hold",
        "Unhold", "AgentComplete", "QueueMemberPause", "QueueCallerJoin", "QueueCallerAbandon",
        "QueueCallerLeave"]
    assert not [f for f in frames if isinstance(f, BadFrame)]
    member = next(f for f in frames if isinstance(f, AmiMessage) and f.event == "QueueMember")
    assert member["Location"] == "PJSIP/1001" and member["PausedReason"] == "Lunch"
    newexten = next(f for f in frames if isinstance(f, AmiMessage) and f.event == "Newexten")
    assert newexten["AppData"] == "__QUEUE_NOTE=vip: call back at 17:30"  # ':' kept whole
    pause = next(f for f in frames if isinstance(f, AmiMessage) and f.event == "QueueMemberPause")
    assert pause["PausedReason"] == "" and pause["Paused"] == "0"


def test_follows_bodies_old_and_new_command_output():
    frames = parse_all(wire("command_follows"))
    assert frames[0] == Banner("Asterisk Call Manager/1.1", "1.1")
    messages = [f for f in frames if isinstance(f, AmiMessage)]
    assert [m.get("ActionID") for m in messages] == ["1", "2", None, "3", None, "4", "5"]
    old = messages[1]
    assert old.response == "Follows" and old["Privilege"] == "Command"
    assert old.body == (
        "Name/username              Host            Dyn Nat ACL Port     Status",
        "1001/1001                  10.0.0.21        D   N      5060     OK (12 ms)",
        "",
        "1 sip peers [Monitored: 1 online, 0 offline]",
        'Queue note: "sales" has 1 member')
    assert "Queue note" not in old  # a raw line with a colon stays body, not a key
    assert messages[2].event == "QueueMemberStatus"
    assert messages[3].body == ("No such command 'quux' (type 'core show help quux' for "
                                "other possible commands)",)
    assert messages[4].body == ("Uptime: 5 minutes", "Last reload: 5 minutes")
    assert messages[5].values_of("Output") == ["System uptime: 2 hours, 3 minutes",
                                               "Last reload: 2 hours, 3 minutes"]
    assert messages[5]["output"] == "Last reload: 2 hours, 3 minutes"  # the last, any case
    assert messages[6]["Ping"] == "Pong"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("newline", [b"\r\n", b"\n"])
def test_a_cut_at_every_byte_boundary_gives_the_same_frames(name, newline):
    data = wire(name, newline)
    whole = parse_all(data)
    assert len(whole) > 3 and not [f for f in whole if isinstance(f, BadFrame)]
    for cut in range(1, len(data)):
        assert feed_in(data, [cut]) == whole, f"cut at byte {cut}"


@pytest.mark.parametrize("name", NAMES)
def test_one_byte_at_a_time_gives_the_same_frames(name):
    data = wire(name)
    assert feed_in(data, list(range(1, len(data)))) == parse_all(data)


def test_crlf_and_lf_give_the_same_messages():
    assert parse_all(wire("floor_live", b"\n")) == parse_all(wire("floor_live"))


GOOD = b"Event: QueueCallerJoin\r\nQueue: sales\r\nUniqueid: 1.1\r\n\r\n"


@pytest.mark.parametrize(("bad", "reason"), [
    (b"\x00\x01\x02\xff\xfe garbage\r\n\r\n", "control characters"),
    (b"Event: Hold\r\nUniq\x00ueid: 1.2\r\n\r\n", "control characters"),
    (b"Event: Hold\r\njust some words\r\n\r\n", "without 'Key: Value'"),
    (b"Event: Hold\r\n: no key\r\n\r\n", "without 'Key: Value'"),
    (b"Event: Hold\r\nData: " + b"x" * (1024 * 1024) + b"\r\n\r\n", "longer than"),
    (b"x" * (2 * MAX_LINE_BYTES) + b"\r\nEvent: Hold\r\n\r\n", "longer than"),
])
def test_bad_input_gives_one_reason_and_the_next_message_still_parses(bad, reason):
    data = GOOD + bad + GOOD
    for cuts in ([], list(range(4096, len(data), 4096)), [len(GOOD) + 3]):
        frames = feed_in(data, cuts)
        problems = [f for f in frames if isinstance(f, BadFrame)]
        assert len(problems) == 1, frames
        assert reason in problems[0].reason and "\n" not in problems[0].reason
        assert len(problems[0].reason) < 200
        assert [f for f in frames if isinstance(f, AmiMessage)] == parse_all(GOOD) * 2


def test_a_huge_line_fed_a_byte_at_a_time_is_dropped_without_holding_it():
    parser = AmiParser()
    frames: list[Frame] = []
    for _ in range(MAX_LINE_BYTES + 10):
        frames += parser.feed(b"y")
    assert len(parser._buf) <= MAX_LINE_BYTES  # nothing piles up while it is skipped
    frames += parser.feed(b"\r\n\r\n" + GOOD)
    assert [type(f) for f in frames] == [BadFrame, AmiMessage]


def test_a_message_of_too_many_lines_is_dropped():
    many = b"Event: VarSet\r\n" + b"Variable: x\r\n" * 100_000 + b"\r\n"
    frames = parse_all(many + GOOD)
    assert [type(f) for f in frames] == [BadFrame, AmiMessage]
    assert "message longer than" in frames[0].reason  # type: ignore[union-attr]


@pytest.mark.parametrize(("data", "expected"), [
    # Latin-1 caller name: replaced, the event kept.
    (b"Event: QueueCallerJoin\r\nCallerIDName: Jos\xe9\r\n\r\n",
     [AmiMessage([("Event", "QueueCallerJoin"), ("CallerIDName", "Jos\ufffd")])]),
    # No space after the colon, tabs, blank lines between messages, unknown keys.
    (b"\r\n\r\nEvent:Hold\r\nX-Vendor:\tyes\r\n\r\n\r\n",
     [AmiMessage([("Event", "Hold"), ("X-Vendor", "yes")])]),
    # A repeated key keeps both values.
    (b"Event: VarSet\r\nValue: 1\r\nValue: 2\r\n\r\n",
     [AmiMessage([("Event", "VarSet"), ("Value", "1"), ("Value", "2")])]),
    # A banner from a fork, then a message.
    (b"OpenPBX Call Manager/1.0\r\nResponse: Success\r\n\r\n",
     [Banner("OpenPBX Call Manager/1.0", "1.0"), AmiMessage([("Response", "Success")])]),
    # The last message of a file that ends without its blank line.
    (b"Event: Hold\r\nUniqueid: 1.2", [AmiMessage([("Event", "Hold"), ("Uniqueid", "1.2")])]),
])
def test_tolerated_input(data, expected):
    assert parse_all(data) == expected


def test_a_follows_body_cut_off_by_the_end_of_the_stream_is_reported():
    frames = parse_all(b"Response: Follows\r\nPrivilege: Command\r\nsome output\r\n\r\nmore")
    assert [type(f) for f in frames] == [BadFrame]
    assert "--END COMMAND--" in frames[0].reason  # type: ignore[union-attr]


def test_message_lookups():
    msg = parse_all(b"Event: QueueMember\r\nUniqueID: 9.1\r\nQueue: sales\r\n\r\n")[0]
    assert isinstance(msg, AmiMessage)
    assert msg["uniqueid"] == msg["Uniqueid"] == "9.1" and "UNIQUEID" in msg
    assert list(msg) == ["Event", "UniqueID", "Queue"] and len(msg) == 3
    assert msg.event == "QueueMember" and msg.response is None and msg.action_id is None
    assert msg.get("Missing") is None and dict(msg)["Queue"] == "sales"


def test_encode_action():
    assert encode_action("Login", "wb-1", {"Username": "wallboard", "Secret": "a:b c",
                                           "Events": "agent,call"}) == (
        b"Action: Login\r\nActionID: wb-1\r\nUsername: wallboard\r\nSecret: a:b c\r\n"
        b"Events: agent,call\r\n\r\n")
    assert encode_action("Ping", "wb-2") == b"Action: Ping\r\nActionID: wb-2\r\n\r\n"
    # What the encoder writes, the parser reads back.
    assert parse_all(encode_action("QueueStatus", "x", [("Queue", "sales")])) == [
        AmiMessage([("Action", "QueueStatus"), ("ActionID", "x"), ("Queue", "sales")])]


@pytest.mark.parametrize(("fields", "words"), [
    ({"Secret": "pw\r\nAction: Originate"}, "line break"),
    ({"Secret": "pw\n"}, "line break"),
    ({"Bad: key": "v"}, "bad key"),
    ({"": "v"}, "bad key"),
])
def test_encode_refuses_what_would_break_the_framing(fields, words):
    with pytest.raises(BadAction, match=words):
        encode_action("Login", "wb-1", fields)
    with pytest.raises(ValueError):
        encode_action("Login", "wb-1", fields)
