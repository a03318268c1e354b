"""Parsing one queue_log line: the documented format, and the mess real files hold."""

from __future__ import annotations

import pytest

from wallboard.telephony.queue_log import BadLine, QueueLogLine, number, parse_line

GOOD = [
    # (raw line, ts, callid, queue, agent, verb, data)
    (b"1366720340|1366720340.303267|support|NONE|ENTERQUEUE||5551234|1\n",
     1366720340.0, "1366720340.303267", "support", "NONE", "ENTERQUEUE", ("", "5551234", "1")),
    (b"1366720350|1366720340.303267|support|SIP/1001|CONNECT|10|1366720346.303268|4\r\n",
     1366720350.0, "1366720340.303267", "support", "SIP/1001", "CONNECT",
     ("10", "1366720346.303268", "4")),
    (b"1366720000|NONE|NONE|NONE|QUEUESTART|", 1366720000.0, "NONE", "NONE", "NONE",
     "QUEUESTART", ("",)),
    (b"1366720000|MANAGER|support|Local/1127@from-queue/n|ADDMEMBER|PAUSED\n", 1366720000.0,
     "MANAGER", "support", "Local/1127@from-queue/n", "ADDMEMBER", ("PAUSED",)),
    (b"1366720000|NONE|NONE|PJSIP/1001|PAUSEALL|Lunch", 1366720000.0, "NONE", "NONE",
     "PJSIP/1001", "PAUSEALL", ("Lunch",)),
    # No data fields at all: five fields are enough.
    (b"1366720000|NONE|support|Sathish|REMOVEMEMBER", 1366720000.0, "NONE", "support",
     "Sathish", "REMOVEMEMBER", ()),
    # Vendor verbs are lines like any other: the core decides what they mean.
    (b"1366720000|1366720000.1|NONE|NONE|DID|18005551234", 1366720000.0, "1366720000.1",
     "NONE", "NONE", "DID", ("18005551234",)),
    # A fractional epoch (some realtime back ends) is accepted.
    (b"1366720000.250|c/1|q|a|OUTDIAL|x", 1366720000.25, "c/1", "q", "a", "OUTDIAL", ("x",)),
    # A caller name in another encoding costs nothing: replaced, the line is kept.
    (b"1366720000|c1|support|NONE|ENTERQUEUE||Jos\xe9|1", 1366720000.0, "c1", "support",
     "NONE", "ENTERQUEUE", ("", "Jos\ufffd", "1")),
]


@pytest.mark.parametrize(("raw", "ts", "callid", "queue", "agent", "verb", "data"), GOOD)
def test_a_good_line_is_split_into_its_fields(raw, ts, callid, queue, agent, verb, data):
    assert parse_line(raw) == QueueLogLine(ts, callid, queue, agent, verb, data)


BAD = [
    (b"", "empty line"),
    (b"\n", "empty line"),
    (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xed\x9d", "NUL byte at byte 3"),
    (b"\x00\x00\x00\x00\x00\x00", "NUL byte at byte 0"),
    (b"\xff\xfe\xfa|x|y|z|CONNECT", "not UTF-8 in the first five fields"),
    (b"1366720000|c1|support|CONNECT", "4 fields, need at least 5"),
    (b"just some text", "1 fields, need at least 5"),
    (b"13667x0000|c1|support|NONE|ENTERQUEUE", "epoch '13667x0000' is not a number"),
    (b"-1366720000|c1|support|NONE|ENTERQUEUE", "is not a number of seconds"),
    (b"|c1|support|NONE|ENTERQUEUE", "epoch '' is not a number"),
    (b"12|c1|support|NONE|ENTERQUEUE", "epoch 12 is outside 2000-2099"),
    (b"99999999999|c1|support|NONE|ENTERQUEUE", "outside 2000-2099"),
    (b"1366720000|c1|support|NONE|", "event '' is not a name"),
    (b"1366720000|c1|support|NONE|ENTER QUEUE", "is not a name"),
    (b"1366720000|c\x07|support|NONE|ENTERQUEUE", "callid 'c\\x07' has control characters"),
    (b"1366720000|c1|support|NONE|ENTERQUEUE|" + b"x" * 9000, "over the 8192-byte limit"),
    (b"1366720000|" + b"c" * 300 + b"|support|NONE|ENTERQUEUE", "over 200 characters"),
]


@pytest.mark.parametrize(("raw", "reason"), BAD)
def test_a_bad_line_gets_a_reason_and_no_exception(raw, reason):
    result = parse_line(raw)
    assert isinstance(result, BadLine)
    assert reason in result.reason
    assert "\n" not in result.reason


def test_a_line_separator_in_a_data_field_is_cleaned_not_fatal():
    """Only the first five fields must be clean; the core cleans the data it uses."""
    result = parse_line("1366720000|c1|support|a|PAUSE|Lunch\u2028".encode())
    assert isinstance(result, QueueLogLine)
    assert result.data == ("Lunch\u2028",)


@pytest.mark.parametrize(("raw", "n", "expected"), [
    (b"1366720000|c|q|a|V|1|2", 2, "2"),
    (b"1366720000|c|q|a|V|1|2", 3, ""),
    (b"1366720000|c|q|a|V", 1, ""),
    (b"1366720000|c|q|a|V|1", 0, ""),
])
def test_field_is_empty_past_the_end(raw, n, expected):
    line = parse_line(raw)
    assert isinstance(line, QueueLogLine)
    assert line.field(n) == expected


@pytest.mark.parametrize(("text", "value"), [
    ("10", 10.0), (" 7 ", 7.0), ("2.5", 2.5), ("", None), ("abc", None), ("-3", None),
    ("nan", None), ("inf", None), ("1e12", None), ("\u0663", None), ("604800", 604800.0),
    ("604801", None), ("999999999", None),
])
def test_number_takes_only_plain_non_negative_numbers(text, value):
    assert number(text) == value


def test_random_bytes_never_raise():
    """Rotated logs hold garbage: whatever the bytes, the answer is a line or a reason."""
    import random

    rng = random.Random(19)
    for _ in range(3000):
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(60)))
        if rng.random() < 0.5:
            raw = b"1366720000|" + raw.replace(b"\n", b"")
        assert isinstance(parse_line(raw), QueueLogLine | BadLine)
