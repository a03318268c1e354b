"""The desk unit's config (``desk.toml``) and its command line: the example, every error,
and what the firmware imports."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from tests.live import ROOT_DIR
from wallboard.errors import ConfigError
from wallboard_desk.config import (
    ButtonConfig,
    ButtonPin,
    DeskMqttConfig,
    DeskSection,
    HelpLightConfig,
    Lamp,
    load_desk_config,
    parse_desk_config,
)

EXAMPLE = ROOT_DIR / "firmware" / "desk.example.toml"
MINIMAL = '[desk]\nid = "d1"\nsite = "lon"\n'


def test_minimal_config_takes_the_documented_defaults():
    config = parse_desk_config(MINIMAL)
    assert config.button.long_press_s == 2.0
    assert config.help.escalate_after_s == 60.0
    assert (config.pins.button.pin, config.pins.red.pin, config.pins.amber.pin,
            config.pins.green.pin, config.pins.buzzer.pin) == (24, 17, 27, 22, 23)
    assert config.pins.button.pull_up and config.pins.red.active_high
    assert config.mqtt.keepalive_s == 10
    assert config.client_id == "wallboard-desk-lon-d1"


def test_example_loads_and_shows_every_key():
    config = load_desk_config(EXAMPLE)
    assert (config.desk.id, config.desk.site, config.mqtt.tls) == ("d12", "london-1", True)
    text = EXAMPLE.read_text(encoding="utf-8")
    sections: dict[str, type[BaseModel]] = {
        "desk": DeskSection, "mqtt": DeskMqttConfig, "pins.button": ButtonPin,
        "pins.red": Lamp, "pins.amber": Lamp, "pins.green": Lamp, "pins.buzzer": Lamp,
        "button": ButtonConfig, "help": HelpLightConfig}
    for section, model in sections.items():
        match = re.search(rf"^\[{re.escape(section)}\]\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
        assert match, f"[{section}] missing from the example"
        for name in model.model_fields:
            assert re.search(rf"^(# )?{name} = ", match.group(1), re.M), f"{section}.{name}"
    uncommented = re.sub(r"^# (\w+ = )", r"\1", text, flags=re.M)
    assert parse_desk_config(uncommented).desk.agent == "a1042"


ERRORS = [
    ("no [desk]", "", "desk", "Field required"),
    ("desk id missing", '[desk]\nsite = "lon"\n', "desk.id", "Field required"),
    ("desk id with a slash", '[desk]\nid = "d/1"\nsite = "lon"\n', "desk.id",
     "should match pattern"),
    ("typo in a key", MINIMAL + "[button]\nlong_pres_s = 3\n", "button.long_pres_s",
     "unknown key"),
    ("long press too short", MINIMAL + "[button]\nlong_press_s = 0.1\n",
     "button.long_press_s", "greater than or equal to 0.5"),
    ("pin out of range", MINIMAL + "[pins.red]\npin = 40\n", "pins.red.pin",
     "less than or equal to 27"),
    ("two outputs on one pin", MINIMAL + "[pins.green]\npin = 17\n", "pins",
     "green.pin 17 is also red.pin"),
    ("button on a lamp's pin", MINIMAL + "[pins.button]\npin = 23\n", "pins",
     "buzzer.pin 23 is also button.pin"),
    ("active level as a string", MINIMAL + '[pins.amber]\npin = 27\nactive_high = "no"\n',
     "pins.amber.active_high", "valid boolean"),
    ("keepalive too short for a last will", MINIMAL + "[mqtt]\nkeepalive_s = 1\n",
     "mqtt.keepalive_s", "greater than or equal to 2"),
    ("TOML syntax", "[desk\n", "(syntax)", ""),
]


@pytest.mark.parametrize(("text", "key", "reason"), [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])
def test_errors_name_the_file_key_and_reason(text, key, reason):
    with pytest.raises(ConfigError) as caught:
        parse_desk_config(text, "/etc/wallboard/desk.toml")
    err = caught.value
    assert (err.path, err.key) == ("/etc/wallboard/desk.toml", key)
    assert reason in err.reason
    assert "\n" not in str(err)


def test_cli_stops_on_a_bad_config_with_one_line(tmp_path: Path):
    path = tmp_path / "desk.toml"
    path.write_text(MINIMAL + "[button]\nlong_press_s = -1\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "wallboard_desk.cli", "--config", str(path)],
                          cwd=ROOT_DIR, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"wallboard-desk: {path}: button.long_press_s: "
                                   "Input should be greater than or equal to 0.5")
    missing = subprocess.run([sys.executable, "-m", "wallboard_desk.cli", "--config",
                              str(tmp_path / "nope.toml")],
                             cwd=ROOT_DIR, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "(file): No such file or directory" in missing.stderr


def test_firmware_imports_neither_kivy_nor_the_influxdb_client():
    code = ("import sys, wallboard_desk.cli, wallboard_desk.bootstrap, wallboard_desk.virtual\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('kivy', 'influxdb_client', 'plotly'))\n"
            "print(bad)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT_DIR, capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_firmware_loads_no_service_config():
    """The desk unit takes the shared pieces from config_base, not wallboard.toml's modules
    (which pull in every service's section: floor, kiosk, recorder)."""
    code = ("import sys, wallboard_desk.config, wallboard_desk.cli, wallboard_desk.bootstrap\n"
            "bad = sorted(m for m in sys.modules if m == 'wallboard.config' or m.startswith(("
            "'wallboard.floor', 'wallboard.kiosk', 'wallboard.recorder', 'wallboard.bootstrap')))\n"
            "assert 'wallboard.config_base' in sys.modules\n"
            "print(bad)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT_DIR, capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
