"""Table-driven tests of which retention policy each line of a batch goes to."""

import pytest

from wallboard.recorder.routing import by_policy

CALL = b'call,site=hq,queue=sales,event=offered call="c-1",n=1i 1'
TEAM = b"team_wellbeing,site=hq,team=t1 agents=5i,n=1i 2"
AGENT = b"agent_wellbeing,site=hq,agent=a-1 score=40,n=1i 3"
BARE = b"agent_wellbeing score=40 4"  # no tags: the name ends at a space
# The measurement's name inside another point's text does not move that point.
MENTION = b'rejected,kind=agent_wellbeing topic="agent_wellbeing,x",n=1i 5'
LOOKALIKE = b"agent_wellbeing_old,site=hq n=1i 6"

ROUTES = [
    ("empty", b"", []),
    ("raw-only", CALL + b"\n" + TEAM, [("raw", CALL + b"\n" + TEAM)]),
    ("wellbeing-only", AGENT, [("wellbeing", AGENT)]),
    ("mixed-keeps-order-within-each", b"\n".join([AGENT, CALL, BARE, TEAM]),
     [("raw", CALL + b"\n" + TEAM), ("wellbeing", AGENT + b"\n" + BARE)]),
    ("mention-and-lookalike-stay-raw", b"\n".join([MENTION, LOOKALIKE, AGENT]),
     [("raw", MENTION + b"\n" + LOOKALIKE), ("wellbeing", AGENT)]),
]


@pytest.mark.parametrize(("lines", "expected"), [r[1:] for r in ROUTES],
                         ids=[r[0] for r in ROUTES])
def test_by_policy(lines, expected):
    assert by_policy(lines) == expected


def test_by_policy_takes_the_site_s_table_and_default():
    assert by_policy(CALL + b"\n" + AGENT, {"call": "calls"}, "autogen") == [
        ("autogen", AGENT), ("calls", CALL)]
