"""``wallboard init``: a starter config derived from docs/wallboard.example.toml, valid, with
every key and comment of the example, set for services on this machine; never overwrites."""

from __future__ import annotations

import io
import os
import tomllib

import pytest

from wallboard.cli import main
from wallboard.config import load_config, parse_config
from wallboard.errors import ConfigError
from wallboard.init_config import (
    EXAMPLE,
    Starter,
    broker_address,
    local_timezone,
    set_values,
    starter_config,
    toml_value,
    write_starter,
)

EXAMPLE_TEXT = EXAMPLE.read_text(encoding="utf-8")


def flat(data: dict[str, object], prefix: str = "") -> dict[str, object]:
    """Nested TOML tables as dotted keys."""
    out: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_the_starter_is_the_example_with_only_the_local_values_changed(tmp_path):
    starter = Starter(data_dir=tmp_path / "wallboard-data", broker_port=1884,
                      timezone="Europe/Paris")
    text = starter_config(EXAMPLE_TEXT, starter)
    example, written = flat(tomllib.loads(EXAMPLE_TEXT)), flat(tomllib.loads(text))
    changed = {key for key in example if written.get(key) != example[key]}
    assert changed <= {f"{section}.{key}" for section, keys in starter.values().items()
                       for key in keys}
    assert written.keys() == example.keys()  # every key of the example, no other
    assert written["mqtt.port"] == 1884 and written["mqtt.tls"] is False
    assert written["site.timezone"] == "Europe/Paris"
    assert written["controller.state_dir"] == str(tmp_path / "wallboard-data" / "controller")
    # Every comment of the example stays, so each key is still explained.
    comments = [line for line in EXAMPLE_TEXT.splitlines()[1:] if line.startswith("#")]
    kept = text.splitlines()
    assert all(line in kept for line in comments)
    config = parse_config(text)
    assert (config.mqtt.host, config.influx.url) == ("127.0.0.1", "http://127.0.0.1:8086")


def test_a_key_that_left_the_example_stops_the_starter():
    with pytest.raises(ConfigError, match=r"mqtt\.host: not set in the example"):
        set_values("[mqtt]\n# host = \"commented out\"\nport = 1\n", {"mqtt": {"host": "h"}},
                   "example.toml")


def test_set_values_touches_only_its_section():
    text = "[a]\nx = 1\n[b]\nx = 2\n"
    assert set_values(text, {"b": {"x": 3}}, "t") == "[a]\nx = 1\n[b]\nx = 3\n"


@pytest.mark.parametrize("value", ["plain", 'quote " and \\ backslash', "tab\tand ünïcode",
                                   "/dir/with spaces/it's"])
def test_strings_read_back_as_written(value):
    assert tomllib.loads(f"k = {toml_value(value)}")["k"] == value


def test_a_state_dir_with_awkward_characters_still_parses(tmp_path):
    awkward = tmp_path / 'a "quoted" dir\\x'
    text = starter_config(EXAMPLE_TEXT, Starter(data_dir=awkward))
    assert parse_config(text).recorder.spool_dir == awkward / "recorder"


def test_write_starter_writes_a_config_that_loads(tmp_path):
    path = tmp_path / "wallboard.toml"
    err = io.StringIO()
    assert write_starter(path, Starter(data_dir=tmp_path / "d"), err=err) == 0
    assert load_config(path).site.id == "main"
    assert err.getvalue().startswith(f"wrote {path}: broker 127.0.0.1:1883")


def test_init_never_overwrites(tmp_path):
    path = tmp_path / "wallboard.toml"
    path.write_text("# mine\n")
    err = io.StringIO()
    assert write_starter(path, Starter(data_dir=tmp_path), err=err) == 2
    assert err.getvalue() == (f"not overwriting {path}: it already exists (remove it, or "
                              "name another FILE)\n")
    assert path.read_text() == "# mine\n"


def test_init_into_a_missing_folder_says_so_in_one_line(tmp_path):
    err = io.StringIO()
    path = tmp_path / "no-such-dir" / "wallboard.toml"
    assert write_starter(path, Starter(data_dir=tmp_path), err=err) == 1
    assert err.getvalue() == f"cannot write {path}: No such file or directory\n"


def test_init_without_the_example_says_so_in_one_line(tmp_path):
    err = io.StringIO()
    code = write_starter(tmp_path / "w.toml", Starter(data_dir=tmp_path),
                         example=tmp_path / "missing.toml", err=err)
    assert code == 1 and err.getvalue().count("\n") == 1
    assert "cannot read the example config" in err.getvalue()


def test_init_command_takes_broker_and_influx(tmp_path, capsys):
    path = tmp_path / "site.toml"
    assert main(["init", str(path), "--broker", "[::1]:1999",
                 "--influx", "http://db.example:8086"]) == 0
    config = load_config(path)
    assert (config.mqtt.host, config.mqtt.port) == ("::1", 1999)
    assert config.influx.url == "http://db.example:8086"
    assert config.recorder.spool_dir == tmp_path.resolve() / "wallboard-data" / "recorder"


@pytest.mark.parametrize(("argv", "error"), [
    (["--broker", "localhost"], "--broker: must be HOST:PORT"),
    (["--broker", "h:0"], "--broker: must be HOST:PORT"),
    (["--influx", "db:8086"], "--influx: must start with http:// or https://"),
])
def test_init_refuses_bad_options(tmp_path, capsys, argv, error):
    with pytest.raises(SystemExit) as stopped:
        main(["init", str(tmp_path / "w.toml"), *argv])
    assert stopped.value.code == 2
    assert error in capsys.readouterr().err
    assert not (tmp_path / "w.toml").exists()


@pytest.mark.parametrize(("text", "address"), [
    ("127.0.0.1:1883", ("127.0.0.1", 1883)),
    ("hub.floor.example:8883", ("hub.floor.example", 8883)),
    ("[::1]:1883", ("::1", 1883)),
])
def test_broker_address(text, address):
    assert broker_address(text) == address


def test_local_timezone_from_tz_then_localtime(tmp_path):
    zone = tmp_path / "zoneinfo" / "Europe" / "Berlin"
    zone.parent.mkdir(parents=True)
    zone.write_bytes(b"")
    localtime = tmp_path / "localtime"
    os.symlink(zone, localtime)
    assert local_timezone({"TZ": "America/New_York"}, localtime) == "America/New_York"
    assert local_timezone({"TZ": "Not/AZone"}, localtime) == "Europe/Berlin"
    assert local_timezone({}, tmp_path / "none") is None
    assert local_timezone({"TZ": ":Asia/Tokyo"}, tmp_path / "none") == "Asia/Tokyo"
