"""Table-driven tests of ``wallboard.toml`` parsing: defaults, the example, and every error."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel

from wallboard.config import (
    AgentInfo,
    ControllerConfig,
    HelpConfig,
    HoldConfig,
    InfluxConfig,
    MqttConfig,
    QueueOverride,
    QueuePolicyConfig,
    SiteConfig,
    WallboardConfig,
    load_config,
    parse_config,
)
from wallboard.errors import ConfigError
from wallboard.floor.settings import QueuePolicy
from wallboard.floor.strain import Rule, default_rules
from wallboard.floor.wellbeing_config import WellbeingConfig
from wallboard.kiosk.config import KioskConfig
from wallboard.recorder.config import RecorderConfig

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "wallboard.example.toml"


def value_at(config: WallboardConfig, dotted: str) -> Any:
    target: Any = config
    for part in dotted.split("."):
        target = target[part] if isinstance(target, dict) else getattr(target, part)
    return target


# --- defaults -------------------------------------------------------------------------------

DEFAULTS = [
    ("site.id", "main"),
    ("site.timezone", "UTC"),
    ("site.day_start", dt.time(0, 0)),
    ("site.sliding_window_min", 30),
    ("mqtt.host", "localhost"),
    ("mqtt.port", 1883),
    ("mqtt.topic_root", "wallboard"),
    ("mqtt.username", None),
    ("mqtt.password_env", "WALLBOARD_MQTT_PASSWORD"),
    ("mqtt.tls", False),
    ("mqtt.ca_file", None),
    ("influx.url", "http://localhost:8086"),
    ("influx.database", "wallboard"),
    ("influx.username", None),
    ("influx.password_env", "WALLBOARD_INFLUX_PASSWORD"),
    ("influx.token_env", "WALLBOARD_INFLUX_TOKEN"),
    ("kpi.sl_threshold_s", 20.0),
    ("kpi.sl_target", 0.8),
    ("kpi.short_abandon_s", 5.0),
    ("kpi.sl_treatment", "count_against"),
    ("queues", {}),
    ("help.escalate_after_s", 60.0),
    ("hold.remind_after_s", 60.0),
    ("controller.client_id", None),
    ("controller.session_expiry_s", 86_400),
    ("controller.state_dir", Path("/var/lib/wallboard/controller")),
    ("controller.publish_min_interval_s", 1.0),
    ("controller.publish_max_interval_s", 5.0),
]


@pytest.mark.parametrize(("key", "expected"), DEFAULTS, ids=[key for key, _ in DEFAULTS])
@pytest.mark.parametrize("text", ["", "# nothing but a comment\n", "[site]\n[mqtt]\n[kpi]\n"],
                         ids=["empty", "comment", "empty-sections"])
def test_defaults(text, key, expected):
    assert value_at(parse_config(text), key) == expected


def test_defaults_cover_every_key():
    sections: dict[str, type[BaseModel]] = {"site": SiteConfig, "mqtt": MqttConfig,
                                            "influx": InfluxConfig, "kpi": QueuePolicyConfig,
                                            "help": HelpConfig, "hold": HoldConfig,
                                            "controller": ControllerConfig}
    # [kiosk] defaults are tested in test_kiosk_config.py.
    documented = {key for key, _ in DEFAULTS}
    for section, model in sections.items():
        for name in model.model_fields:
            assert f"{section}.{name}" in documented, f"{section}.{name} has no default test"


def test_default_floor_settings_match_the_floor_model_defaults():
    settings = parse_config("").floor_settings()
    assert settings.timezone == ZoneInfo("UTC")
    assert settings.day_start == dt.time(0, 0)
    assert settings.window_s == 1800.0
    assert settings.default == QueuePolicy()
    assert settings.queues == {}
    assert (settings.escalate_after_s, settings.hold_remind_s) == (60.0, 60.0)


# --- good values ----------------------------------------------------------------------------

GOOD = [
    ('[site]\nid = "london-1"', "site.id", "london-1"),
    ('[site]\ntimezone = "Europe/London"', "site.timezone", "Europe/London"),
    ('[site]\ntimezone = "America/Argentina/Buenos_Aires"', "site.timezone",
     "America/Argentina/Buenos_Aires"),
    ("[site]\nday_start = 06:00:00", "site.day_start", dt.time(6, 0)),
    ("[site]\nday_start = 05:30:00", "site.day_start", dt.time(5, 30)),
    ("[site]\nsliding_window_min = 1", "site.sliding_window_min", 1),
    ("[site]\nsliding_window_min = 1440", "site.sliding_window_min", 1440),
    ("[mqtt]\nport = 1", "mqtt.port", 1),
    ("[mqtt]\nport = 65535", "mqtt.port", 65535),
    ('[mqtt]\ntopic_root = "acme/wb"', "mqtt.topic_root", "acme/wb"),
    ('[mqtt]\ntopic_root = "a/b/c"', "mqtt.topic_root", "a/b/c"),
    ("[mqtt]\ntls = true", "mqtt.tls", True),
    ('[mqtt]\nca_file = "certs/ca.pem"', "mqtt.ca_file", Path("certs/ca.pem")),
    ('[mqtt]\nusername = "wb"', "mqtt.username", "wb"),
    ('[influx]\nurl = "https://influx.example:8086"', "influx.url", "https://influx.example:8086"),
    ('[influx]\ndatabase = "floor_2"', "influx.database", "floor_2"),
    ("[kpi]\nsl_threshold_s = 30", "kpi.sl_threshold_s", 30.0),
    ("[kpi]\nsl_target = 0.95", "kpi.sl_target", 0.95),
    ("[kpi]\nshort_abandon_s = 0", "kpi.short_abandon_s", 0.0),
    ("[kpi]\nshort_abandon_s = 19.9", "kpi.short_abandon_s", 19.9),
    ('[kpi]\nsl_treatment = "ignore"', "kpi.sl_treatment", "ignore"),
    ('[kpi]\nsl_treatment = "count_in_favour"', "kpi.sl_treatment", "count_in_favour"),
    ('[queues.sales]\nname = "Sales"', "queues.sales.name", "Sales"),
    ('[queues."tech.support-2"]\nsl_target = 0.7', "queues.tech.support-2.sl_target", 0.7),
]


@pytest.mark.parametrize(("text", "key", "expected"), GOOD,
                         ids=[f"{key}={expected!s}" for _, key, expected in GOOD])
def test_good_values(text, key, expected):
    config = parse_config(text)
    if key.startswith("queues."):
        queue, field = key.removeprefix("queues.").rsplit(".", 1)
        assert getattr(config.queues[queue], field) == expected
    else:
        assert value_at(config, key) == expected


# --- the example file -----------------------------------------------------------------------

def test_example_loads_cleanly():
    config = load_config(EXAMPLE)
    assert config.site.id == "london-1"
    assert config.site.timezone == "Europe/London"
    assert config.site.day_start == dt.time(6, 0)
    assert config.mqtt.topic_root == "acme/wb"
    assert config.mqtt.port == 8883
    assert config.mqtt.tls is True
    assert config.influx.database == "wallboard"
    assert config.kpi == QueuePolicyConfig()
    assert set(config.queues) == {"sales", "support", "billing"}
    assert config.queues["sales"] == QueueOverride(name="Sales", sl_threshold_s=30.0,
                                                   sl_target=0.9)


def test_example_shows_every_section_and_key():
    text = EXAMPLE.read_text(encoding="utf-8")
    sections: dict[str, type[BaseModel]] = {"site": SiteConfig, "mqtt": MqttConfig,
                                            "influx": InfluxConfig, "kpi": QueuePolicyConfig,
                                            "help": HelpConfig, "hold": HoldConfig,
                                            "controller": ControllerConfig,
                                            "kiosk": KioskConfig, "recorder": RecorderConfig,
                                            "wellbeing": WellbeingConfig}
    for section, model in sections.items():
        match = re.search(rf"^\[{section}\]\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
        assert match, f"[{section}] missing from the example"
        for name in model.model_fields:
            assert re.search(rf"^(# )?{name} = ", match.group(1), re.M), f"{section}.{name}"
    queue_text = text[text.index("[queues."):]
    for name in QueueOverride.model_fields:
        assert re.search(rf"^{name} = ", queue_text, re.M), f"queues.<id>.{name}"
    agent_text = text[text.index("[agents."):]
    for name in AgentInfo.model_fields:
        assert re.search(rf"^{name} = ", agent_text, re.M), f"agents.<id>.{name}"


def test_agent_display_names():
    config = load_config(EXAMPLE)
    assert config.agents == {"emp-4017": AgentInfo(name="Jane Smith")}
    assert parse_config("").agents == {}
    with pytest.raises(ConfigError, match=r"agents\.a017\.name"):
        parse_config('[agents.a017]\nname = ""')
    with pytest.raises(ConfigError, match=r"agents\.a017\.nmae.*unknown key"):
        parse_config('[agents.a017]\nname = "Jane"\nnmae = "Jane"')


def test_example_commented_keys_are_valid_when_uncommented():
    text = EXAMPLE.read_text(encoding="utf-8")
    uncommented = re.sub(r"^# (\w+ = )", r"\1", text, flags=re.M)
    assert uncommented != text
    config = parse_config(uncommented, str(EXAMPLE))
    assert config.mqtt.username == "wallboard"
    assert config.mqtt.ca_file == Path("certs/broker-ca.pem")
    assert config.influx.username == "wallboard"
    assert config.kiosk.alert_sound == Path("/usr/share/sounds/wallboard/chime.wav")
    assert config.recorder.share_group == "recorders"
    assert config.recorder_client_id == "wallboard-recorder-london-1-hub-1"


def test_example_per_queue_policies():
    config = load_config(EXAMPLE)
    assert config.policy_config("sales") == QueuePolicyConfig(
        sl_threshold_s=30.0, sl_target=0.9, short_abandon_s=5.0, sl_treatment="count_against")
    assert config.policy_config("support") == QueuePolicyConfig(
        sl_threshold_s=20.0, sl_target=0.8, short_abandon_s=10.0, sl_treatment="ignore")
    assert config.policy_config("billing").sl_treatment == "count_in_favour"
    assert config.policy_config("not-configured") == config.kpi

    settings = config.floor_settings()
    assert settings.timezone == ZoneInfo("Europe/London")
    assert settings.day_start == dt.time(6, 0)
    assert settings.window_s == 30 * 60.0
    assert settings.default == QueuePolicy(20.0, 5.0, "count_against", 0.8)
    assert settings.queues == {
        "sales": QueuePolicy(30.0, 5.0, "count_against", 0.9),
        "support": QueuePolicy(20.0, 10.0, "ignore", 0.8),
        "billing": QueuePolicy(20.0, 5.0, "count_in_favour", 0.8),
    }
    assert settings.policy("support").short_abandon_s == 10.0
    assert settings.policy("elsewhere") == settings.default


# --- overrides --------------------------------------------------------------------------------

OVERRIDES = [
    # (toml, queue, expected policy)
    ("[queues.sales]\nname = \"Sales\"", "sales", QueuePolicyConfig()),
    ("[queues.sales]\nsl_threshold_s = 40", "sales", QueuePolicyConfig(sl_threshold_s=40)),
    ("[kpi]\nsl_threshold_s = 30\nshort_abandon_s = 8\n[queues.sales]\nsl_target = 0.6",
     "sales", QueuePolicyConfig(sl_threshold_s=30, short_abandon_s=8, sl_target=0.6)),
    ("[kpi]\nsl_treatment = \"ignore\"\n[queues.sales]\nsl_treatment = \"count_against\"",
     "sales", QueuePolicyConfig(sl_treatment="count_against")),
    ("[kpi]\nsl_treatment = \"ignore\"\n[queues.sales]\nsl_target = 0.5", "sales",
     QueuePolicyConfig(sl_treatment="ignore", sl_target=0.5)),
    ("[kpi]\nsl_threshold_s = 30\n[queues.sales]\nsl_target = 0.5", "support",
     QueuePolicyConfig(sl_threshold_s=30)),
]


@pytest.mark.parametrize(("text", "queue", "expected"), OVERRIDES,
                         ids=[f"override-{i}" for i in range(len(OVERRIDES))])
def test_policy_config_merges_override_with_defaults(text, queue, expected):
    config = parse_config(text)
    assert config.policy_config(queue) == expected
    policy = config.floor_settings().policy(queue)
    assert (policy.sl_threshold_s, policy.short_abandon_s, policy.sl_treatment,
            policy.sl_target) == (expected.sl_threshold_s, expected.short_abandon_s,
                                  expected.sl_treatment, expected.sl_target)


# --- errors -----------------------------------------------------------------------------------

BAD = [
    # (id, toml, dotted key, reason fragment)
    ("unknown-top-level", "colour = \"red\"", "colour", "unknown key"),
    ("wellbeing-group-too-small", "[wellbeing]\nmin_group = 2", "wellbeing.min_group",
     "greater than or equal to 3"),
    ("wellbeing-unknown-rule", "[wellbeing.rules.mood]\nfree = 0\nper = 1\ncap = 1",
     "wellbeing.rules", "unknown component 'mood'"),
    ("wellbeing-rule-no-cap", "[wellbeing.rules.pending_help]\nfree = 0\nper = 1",
     "wellbeing.rules.pending_help.cap", "Field required"),
    ("wellbeing-negative-per", "[wellbeing.rules.pending_help]\nfree = 0\nper = -1\ncap = 5",
     "wellbeing.rules.pending_help.per", "greater than or equal to 0"),
    ("unknown-section", "[mqqt]\nhost = \"x\"", "mqqt", "unknown key"),
    ("typo-nested", "[kpi]\nsl_treshold_s = 30", "kpi.sl_treshold_s", "unknown key"),
    ("typo-site", "[site]\ntimezon = \"UTC\"", "site.timezon", "unknown key"),
    ("typo-queue", "[queues.sales]\nsl_tresh = 3", "queues.sales.sl_tresh", "unknown key"),
    ("kpi-key-in-site", "[site]\nsl_target = 0.8", "site.sl_target", "unknown key"),
    ("timezone-unknown", "[site]\ntimezone = \"Mars/Base\"", "site.timezone",
     "unknown time zone 'Mars/Base'"),
    ("timezone-empty", "[site]\ntimezone = \"\"", "site.timezone", "unknown time zone"),
    ("timezone-path", "[site]\ntimezone = \"../../etc/passwd\"", "site.timezone",
     "unknown time zone"),
    ("site-id-space", "[site]\nid = \"head office\"", "site.id", "should match pattern"),
    ("site-id-plus", "[site]\nid = \"hq+\"", "site.id", "should match pattern"),
    ("day-start-datetime", "[site]\nday_start = 1979-05-27T07:32:00", "site.day_start",
     "valid time"),
    ("window-zero", "[site]\nsliding_window_min = 0", "site.sliding_window_min",
     "greater than or equal to 1"),
    ("window-too-long", "[site]\nsliding_window_min = 1441", "site.sliding_window_min",
     "less than or equal to 1440"),
    ("window-fraction", "[site]\nsliding_window_min = 30.5", "site.sliding_window_min",
     "valid integer"),
    ("port-zero", "[mqtt]\nport = 0", "mqtt.port", "greater than or equal to 1"),
    ("port-too-big", "[mqtt]\nport = 65536", "mqtt.port", "less than or equal to 65535"),
    ("host-empty", "[mqtt]\nhost = \"\"", "mqtt.host", "at least 1 character"),
    ("root-plus", "[mqtt]\ntopic_root = \"wall+board\"", "mqtt.topic_root", "every level"),
    ("root-hash", "[mqtt]\ntopic_root = \"acme/#\"", "mqtt.topic_root", "every level"),
    ("root-empty-level", "[mqtt]\ntopic_root = \"acme//wb\"", "mqtt.topic_root", "every level"),
    ("root-trailing-slash", "[mqtt]\ntopic_root = \"acme/\"", "mqtt.topic_root", "every level"),
    ("root-empty", "[mqtt]\ntopic_root = \"\"", "mqtt.topic_root", "every level"),
    ("influx-url-scheme", "[influx]\nurl = \"influx:8086\"", "influx.url", "should match"),
    ("influx-db-space", "[influx]\ndatabase = \"my db\"", "influx.database", "should match"),
    ("sl-target-one", "[kpi]\nsl_target = 1.0", "kpi.sl_target", "less than 1"),
    ("sl-target-zero", "[kpi]\nsl_target = 0", "kpi.sl_target", "greater than 0"),
    ("sl-target-percent", "[kpi]\nsl_target = 80", "kpi.sl_target", "less than 1"),
    ("sl-target-nan", "[kpi]\nsl_target = nan", "kpi.sl_target", "finite number"),
    ("threshold-zero", "[kpi]\nsl_threshold_s = 0", "kpi.sl_threshold_s", "greater than 0"),
    ("threshold-nan", "[kpi]\nsl_threshold_s = nan", "kpi.sl_threshold_s", "finite number"),
    ("short-negative", "[kpi]\nshort_abandon_s = -1", "kpi.short_abandon_s",
     "greater than or equal to 0"),
    ("short-equals-threshold", "[kpi]\nshort_abandon_s = 20", "kpi",
     "short_abandon_s must be below sl_threshold_s"),
    ("short-above-threshold", "[kpi]\nsl_threshold_s = 10\nshort_abandon_s = 15", "kpi",
     "short_abandon_s must be below sl_threshold_s"),
    ("treatment-unknown", "[kpi]\nsl_treatment = \"count_for\"", "kpi.sl_treatment",
     "'ignore', 'count_against' or 'count_in_favour'"),
    ("queue-id-space", "[queues.\"a b\"]\nname = \"A B\"", "queues.a b.[key]",
     "should match pattern"),
    ("queue-id-plus", "[queues.\"a+b\"]\nname = \"A\"", "queues.a+b.[key]",
     "should match pattern"),
    ("queue-name-too-long", f"[queues.sales]\nname = \"{'x' * 65}\"", "queues.sales.name",
     "at most 64 characters"),
    ("queue-target-one", "[queues.sales]\nsl_target = 1", "queues.sales.sl_target",
     "less than 1"),
    ("queue-not-a-table", "[queues]\nsales = 3", "queues.sales", "valid dictionary"),
    ("queues-not-a-table", "queues = 3", "queues", "valid dictionary"),
    ("section-not-a-table", "site = \"hq\"", "site", "valid dictionary"),
    ("escalate-zero", "[help]\nescalate_after_s = 0", "help.escalate_after_s", "greater than 0"),
    ("remind-too-long", "[hold]\nremind_after_s = 7200", "hold.remind_after_s",
     "less than or equal to 3600"),
    ("client-id-hash", "[controller]\nclient_id = \"ctl#1\"", "controller.client_id",
     "should match pattern"),
    ("publish-min-above-max", "[controller]\npublish_min_interval_s = 10",
     "controller", "publish_min_interval_s must not exceed publish_max_interval_s"),
    ("expiry-negative", "[controller]\nsession_expiry_s = -1", "controller.session_expiry_s",
     "greater than or equal to 0"),
]


@pytest.mark.parametrize(("text", "key", "reason"), [pytest.param(*row[1:], id=row[0])
                                                     for row in BAD])
def test_bad_values_name_file_key_and_reason(text, key, reason):
    with pytest.raises(ConfigError) as info:
        parse_config(text, "conf/wallboard.toml")
    err = info.value
    assert err.path == "conf/wallboard.toml"
    assert err.key == key
    assert reason in err.reason
    assert str(err) == f"conf/wallboard.toml: {key}: {err.reason}"
    assert len(str(err).splitlines()) == 1
    assert not err.reason.startswith("Value error")


def test_bad_queue_override_combination_is_rejected():
    # the merged per-queue policy is validated too, even though each value is fine on its own
    text = "[kpi]\nsl_threshold_s = 20\n[queues.sales]\nshort_abandon_s = 30"
    with pytest.raises(ConfigError) as info:
        parse_config(text, "w.toml")
    assert str(info.value).startswith("w.toml: ")
    assert "queues.sales" in str(info.value)
    assert "short_abandon_s must be below sl_threshold_s" in str(info.value)


def test_bad_queue_override_combination_names_the_queue_key():
    text = "[kpi]\nsl_threshold_s = 20\n[queues.sales]\nshort_abandon_s = 30"
    with pytest.raises(ConfigError) as info:
        parse_config(text, "w.toml")
    assert info.value.key.startswith("queues.sales")
    assert "Value error" not in info.value.reason


def test_timezone_naming_a_zone_directory_is_a_config_error():
    with pytest.raises(ConfigError) as info:
        parse_config("[site]\ntimezone = \"Europe\"", "w.toml")
    assert info.value.key == "site.timezone"


def test_infinite_sl_threshold_is_rejected():
    with pytest.raises(ConfigError) as info:
        parse_config("[kpi]\nsl_threshold_s = inf", "w.toml")
    assert info.value.key == "kpi.sl_threshold_s"


SYNTAX = [
    ("unclosed-table", "[kpi\n"),
    ("unquoted-string", "[site]\ntimezone = Europe/London"),
    ("duplicate-key", "[site]\nid = \"a\"\nid = \"b\""),
    ("duplicate-table", "[site]\nid = \"a\"\n[site]\nid = \"b\""),
    ("bad-time", "[site]\nday_start = 25:00:00"),
    ("missing-value", "[mqtt]\nport ="),
]


@pytest.mark.parametrize("text", [pytest.param(t, id=i) for i, t in SYNTAX])
def test_toml_syntax_error(text):
    with pytest.raises(ConfigError) as info:
        parse_config(text, "w.toml")
    assert info.value.path == "w.toml"
    assert info.value.key == "(syntax)"
    assert re.search(r"\(at (line \d+, column \d+|end of document)\)$", info.value.reason)
    assert len(str(info.value).splitlines()) == 1


# --- files ------------------------------------------------------------------------------------

def test_load_config_reads_a_file(tmp_path):
    path = tmp_path / "wallboard.toml"
    path.write_text("[site]\nid = \"hq\"\nday_start = 06:00:00\n", encoding="utf-8")
    config = load_config(path)
    assert config.site.id == "hq"
    assert config.site.day_start == dt.time(6, 0)


def test_load_config_names_the_file_in_value_errors(tmp_path):
    path = tmp_path / "wallboard.toml"
    path.write_text("[mqtt]\nport = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: mqtt.port: ")


@pytest.mark.parametrize("make", ["missing", "directory", "not-utf8"])
def test_unreadable_file(tmp_path, make):
    path = tmp_path / "wallboard.toml"
    if make == "directory":
        path.mkdir()
    elif make == "not-utf8":
        path.write_bytes(b"[site]\nid = \"caf\xe9\"\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.path == str(path)
    assert info.value.key == "(file)"
    assert info.value.reason
    if make == "not-utf8":
        assert info.value.reason == "not UTF-8"


def test_config_is_immutable():
    config = parse_config("")
    with pytest.raises(ValueError, match="frozen"):
        config.site.id = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[mqtt]\ntls = "yes"', "mqtt.tls"),  # TOML has booleans: a string is a typo
        ('[kpi]\nsl_threshold_s = "20"', "kpi.sl_threshold_s"),
        ("[mqtt]\nport = 1883.5", "mqtt.port"),
    ],
)
def test_values_of_the_wrong_toml_type_are_rejected(text, key):
    with pytest.raises(ConfigError) as info:
        parse_config(text, "w.toml")
    assert info.value.key == key


def test_wellbeing_rules_override_the_defaults_one_by_one():
    config = parse_config("[wellbeing]\nmin_group = 7\n"
                          "[wellbeing.rules.pending_help]\nfree = 1\nper = 20\ncap = 40\n")
    policy = config.floor_settings().strain
    assert policy.min_group == 7
    assert policy.rules["pending_help"] == Rule(1, 20, 40)
    assert policy.rules["abusive_last_hour"] == default_rules()["abusive_last_hour"]
