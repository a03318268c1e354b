"""Asterisk member and queue names as contract ids, and the ``[telephony]`` config section."""

from __future__ import annotations

import hashlib

import pytest

from wallboard.config import parse_config
from wallboard.config_base import validate_toml
from wallboard.errors import ConfigError
from wallboard.telephony.identity import MAX_REMEMBERED, Agent, Identities, call_id, derive_id
from wallboard.telephony.settings import TelephonyConfig
from wallboard.topics import is_id


def h(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:8]


CONFIG = TelephonyConfig.model_validate({
    "members": {"SIP/1001": {"agent": "a1", "desk": "d1", "team": "blue"},
                "Sathish": {"agent": "sathish"},
                "Local/1127@from-queue": {"agent": "a4"}},
    "queues": {"support": {"wrapuptime_s": 10.0}, "Sales Desk": {"id": "sales"}},
})


@pytest.mark.parametrize(("name", "expected"), [
    ("SIP/1001", Agent("a1", "d1", "blue")),
    ("Sathish", Agent("sathish")),
    ("Local/1127@from-queue", Agent("a4")),
    ("Local/1127@from-queue/n", Agent("a4")),  # the channel's /n suffix
    ("PJSIP/1001", Agent(f"PJSIP-1001-{h('PJSIP/1001')}")),
    ("Agent/1127", Agent(f"Agent-1127-{h('Agent/1127')}")),
    ("Priya", Agent("Priya")),  # already a valid id: kept as it is
    ("Anne Marie", Agent(f"Anne-Marie-{h('Anne Marie')}")),
    ("Zoë", Agent(f"Zo-{h('Zoë')}")),
    ("ÅÅÅ", Agent(f"agent-{h('ÅÅÅ')}")),  # nothing left of the name: the kind and the hash
])
def test_members_map_to_agents(name, expected):
    assert Identities(CONFIG).agent(name)[0] == expected


@pytest.mark.parametrize(("name", "expected"), [
    ("support", "support"),
    ("Sales Desk", "sales"),
    ("billing", "billing"),
    ("billing queue", f"billing-queue-{h('billing queue')}"),
    ("q/1", f"q-1-{h('q/1')}"),
])
def test_queues_map_to_ids(name, expected):
    assert Identities(CONFIG).queue(name)[0] == expected


def test_an_unknown_name_is_warned_about_once_a_known_one_never():
    ids = Identities(CONFIG)
    assert ids.agent("SIP/1001")[1] is None
    first = ids.agent("PJSIP/7")[1]
    assert first == (f"member 'PJSIP/7' is not in telephony.members: shown as agent "
                     f"'PJSIP-7-{h('PJSIP/7')}'")
    assert ids.agent("PJSIP/7")[1] is None
    assert ids.queue("support")[1] is None
    assert ids.queue("q9")[1] == "queue 'q9' is not in telephony.queues: shown as queue 'q9'"
    assert ids.queue("q9")[1] is None


def test_past_the_memory_limit_one_last_warning_then_none():
    ids = Identities(CONFIG)
    for i in range(MAX_REMEMBERED):
        ids.queue(f"q{i}")
    assert ids.queue("one more")[1] == (
        f"over {MAX_REMEMBERED} distinct names: unknown names are no longer reported")
    assert ids.queue("and another")[1] is None
    assert ids.queue("and another")[0] == f"and-another-{h('and another')}"


@pytest.mark.parametrize("name", [
    "SIP/1001", "SIP-1001", "a b", "x" * 300, "/", "-lead", ".", "Ü", "\u2028", "a\x00b", "",
])
def test_derived_ids_are_valid_deterministic_and_distinct(name):
    derived = derive_id(name)
    assert is_id(derived)
    assert derive_id(name) == derived


def test_similar_names_do_not_collide():
    assert derive_id("SIP/1001") != derive_id("SIP-1001") == "SIP-1001"
    assert derive_id("a b") != derive_id("a/b")


@pytest.mark.parametrize(("callid", "expected"), [
    ("1366720340.303267", "1366720340.303267"),
    ("pbx/7/42", f"pbx-7-42-{h('pbx/7/42')}"),
])
def test_call_ids(callid, expected):
    assert call_id(callid) == expected


# ---- the [telephony] section ------------------------------------------------------------------


def test_defaults():
    config = TelephonyConfig()
    assert str(config.queue_log) == "/var/log/asterisk/queue_log"
    assert config.ami is None
    assert config.wrapuptime("anything") == 0.0


def test_a_full_section_loads_from_wallboard_toml():
    config = parse_config("""
[telephony]
queue_log = "/srv/asterisk/queue_log"
wrapuptime_s = 5.0

[telephony.queues.support]
id = "support"
wrapuptime_s = 15.0

[telephony.queues."Sales Desk"]
id = "sales"

[telephony.members."PJSIP/1001"]
agent = "a1001"
desk = "d12"
team = "blue"

[telephony.ami]
host = "pbx.example"
tls = true
port = 5039
""")
    tel = config.telephony
    assert tel is not None
    assert tel.wrapuptime("support") == 15.0
    assert tel.wrapuptime("Sales Desk") == 5.0
    assert tel.members["PJSIP/1001"].desk == "d12"
    assert tel.ami is not None and tel.ami.port == 5039
    assert tel.ami.password_env == "WALLBOARD_AMI_PASSWORD"


@pytest.mark.parametrize(("toml", "key", "reason"), [
    ('[telephony]\nqueue_logg = "x"', "telephony.queue_logg", "unknown key"),
    ('[telephony.members."SIP/1"]\nagent = "bad id!"', 'telephony.members.SIP/1.agent', ""),
    ('[telephony.members."SIP/1"]\ndesk = "d1"', "telephony.members.SIP/1.agent", "Field required"),
    ('[telephony.queues.support]\nwrapuptime_s = -1.0', "telephony.queues.support.wrapuptime_s",
     "greater than or equal to 0"),
    ('[telephony.queues.support]\nwrapuptime_s = "10"', "telephony.queues.support.wrapuptime_s",
     ""),
    ('[telephony.ami]\nport = 70000', "telephony.ami.port", "less than or equal to 65535"),
    ('[telephony.queues.""]\nid = "x"', "telephony.queues", "queue name ''"),
    ('[telephony.members."a\\u0007"]\nagent = "x"', "telephony.members", "printable"),
])
def test_a_bad_telephony_section_names_the_key(toml, key, reason):
    with pytest.raises(ConfigError) as err:
        parse_config(toml, "wallboard.toml")
    assert key in str(err.value)
    assert reason in str(err.value)


def test_the_section_validates_on_its_own_too():
    """The adapter can load only this section's model, as the desk loads only its own."""
    with pytest.raises(ConfigError, match=r"ami\.username"):
        validate_toml('[ami]\nusername = ""', "telephony.toml", TelephonyConfig)
