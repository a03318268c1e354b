"""``wallboard asterisk translate FILE``: JSON lines out, bad lines and a summary on stderr."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from typing import Any

from wallboard.cli import main
from wallboard.messages import Envelope, decode

T = 1_795_420_800 + 9 * 3600

LOG = "".join(f"{T + dt}|{rest}\n" for dt, rest in [
    (0, "NONE|NONE|NONE|QUEUESTART|"),
    (1, "NONE|support|PJSIP/1001|ADDMEMBER|"),
    (10, "c1|support|NONE|ENTERQUEUE||5551234|1"),
    (15, "c1|support|PJSIP/1001|CONNECT|5|x|3"),
    (20, "c1|NONE|NONE|DID|18005551234"),
    (75, "c1|support|PJSIP/1001|COMPLETEAGENT|5|60|1"),
    (80, "c2|support|NONE|ENTERQUEUE||5551235|1"),
    (99, "c2|support|NONE|EXITWITHTIMEOUT|1|1|19"),
]).encode() + b"\x00\x00\x00garbage\n" + f"{T + 100}|c3|support".encode()  # no final newline

CONFIG = """
[site]
id = "paris"

[mqtt]
topic_root = "acme/wb"

[telephony.members."PJSIP/1001"]
agent = "a1"
desk = "d1"

[telephony.queues.support]
wrapuptime_s = 30.0
"""


def translate(tmp_path, capsys, log: bytes,
              *options: str) -> tuple[int, list[dict[str, Any]], list[str]]:
    path = tmp_path / "queue_log"
    path.write_bytes(log)
    code = main(["asterisk", "translate", str(path), *options])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err.splitlines()


def test_prints_each_message_as_json_under_the_configured_root_and_site(tmp_path, capsys):
    config = tmp_path / "wallboard.toml"
    config.write_text(CONFIG)
    code, objects, err = translate(tmp_path, capsys, LOG, "--config", str(config))
    assert code == 0
    assert [(o["topic"], o["payload"].get("event") or o["payload"]["state"]) for o in objects] \
        == [("acme/wb/paris/agent/a1/state", "available"),
            ("acme/wb/paris/queue/support/call", "offered"),
            ("acme/wb/paris/queue/support/call", "answered"),
            ("acme/wb/paris/agent/a1/state", "talking"),
            ("acme/wb/paris/queue/support/call", "completed"),
            ("acme/wb/paris/agent/a1/state", "wrap_up"),
            ("acme/wb/paris/queue/support/call", "offered"),
            ("acme/wb/paris/queue/support/call", "abandoned"),
            ("acme/wb/paris/agent/a1/state", "available")]  # wrap-up ends after the file
    assert objects[4]["payload"] == {"ts": T + 75, "call": "c1", "event": "completed",
                                     "agent": "a1", "handle_s": 90.0, "hold_s": "unknown"}
    assert objects[-1]["payload"]["since"] == T + 105
    for o in objects:  # each line is a message a subscriber accepts
        result = decode(o["topic"], json.dumps(o["payload"]).encode(), now=T + 200,
                        root="acme/wb")
        assert isinstance(result, Envelope)
    assert err[0] == "line 9: NUL byte at byte 0"
    assert err[1] == "line 10: 3 fields, need at least 5 (epoch|callid|queue|agent|event)"
    assert err[-1] == ("10 lines, 9 messages; QUEUESTART=1 ADDMEMBER=1 ENTERQUEUE=2 CONNECT=1 "
                       "COMPLETEAGENT=1 EXITWITHTIMEOUT=1; unknown verbs: DID=1; bad lines: 2")
    assert len(err) == 3


def test_runs_without_a_config_on_defaults_and_warns_about_unmapped_names(tmp_path, capsys):
    code, objects, err = translate(tmp_path, capsys, LOG)
    assert code == 0
    assert objects[0]["topic"].startswith("wallboard/main/agent/PJSIP-1001-")
    assert sorted(line.split(":")[2] for line in err[:2]) == [
        " member 'PJSIP/1001' is not in telephony.members",
        " queue 'support' is not in telephony.queues"]
    assert all(line.startswith("line 2: warning:") for line in err[:2])


def test_a_gzip_compressed_rotated_log_is_read_as_it_is(tmp_path, capsys):
    plain = translate(tmp_path, capsys, LOG)
    packed = translate(tmp_path, capsys, gzip.compress(LOG))
    assert packed == plain


def test_a_file_of_nothing_but_garbage_exits_0_with_every_line_reported(tmp_path, capsys):
    garbage = bytes(range(256)) * 20 + b"\n|||||\n\n"
    code, objects, err = translate(tmp_path, capsys, garbage)
    assert code == 0
    assert objects == []
    lines = garbage.count(b"\n")
    assert err[-1].startswith(f"{lines} lines, 0 messages; no known verbs;")


def test_a_file_that_cannot_be_read_exits_1_with_one_line(tmp_path, capsys):
    code = main(["asterisk", "translate", str(tmp_path / "missing")])
    assert code == 1
    err = capsys.readouterr().err
    assert err == f"cannot read {tmp_path / 'missing'}: No such file or directory\n"


def test_a_truncated_gzip_file_exits_1_without_a_traceback(tmp_path, capsys):
    path = tmp_path / "queue_log.1.gz"
    path.write_bytes(gzip.compress(LOG * 50)[:60])
    code = main(["asterisk", "translate", str(path)])
    assert code == 1
    assert capsys.readouterr().err.splitlines()[-1].startswith(f"cannot read {path}")


def test_the_console_command_works_end_to_end(tmp_path):
    """The same through the installed entry point, as an integrator runs it."""
    path = tmp_path / "queue_log"
    path.write_bytes(LOG)
    done = subprocess.run([sys.executable, "-m", "wallboard.cli", "asterisk", "translate",
                           str(path)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 8  # no wrap-up by default: one state fewer
    assert "Traceback" not in done.stderr


def test_the_config_may_come_before_the_command(tmp_path, capsys):
    config = tmp_path / "wallboard.toml"
    config.write_text(CONFIG)
    path = tmp_path / "queue_log"
    path.write_bytes(LOG)
    assert main(["asterisk", "--config", str(config), "translate", str(path)]) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["topic"] == "acme/wb/paris/agent/a1/state"


def test_a_bad_telephony_section_stops_with_the_key(tmp_path, capsys):
    config = tmp_path / "wallboard.toml"
    config.write_text('[telephony.members."SIP/1"]\nagent = "a1"\nagnt = "a1"\n')
    path = tmp_path / "queue_log"
    path.write_bytes(LOG)
    assert main(["asterisk", "translate", str(path), "--config", str(config)]) == 2
    assert "telephony.members.SIP/1.agnt: unknown key" in capsys.readouterr().err
