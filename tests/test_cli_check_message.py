"""The real ``wallboard`` command line, run as a separate process like an integrator would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
NOW = 1_700_000_000
CALL_TOPIC = "wallboard/hq/queue/sales/call"
ANSWERED = json.dumps({"ts": NOW - 3, "call": "c-1001", "event": "answered", "wait_s": 12.5,
                       "agent": "a-17"})


def installed_script() -> Path:
    """The ``wallboard`` console script next to this interpreter (venv bin/ or Scripts/)."""
    folder = Path(sys.executable).parent
    for name in ("wallboard", "wallboard.exe"):
        if (folder / name).is_file():
            return folder / name
    pytest.fail(f"the wallboard console script is not installed next to {sys.executable}")


def run(
    *args: str, stdin: bytes | None = None, script: bool = False
) -> subprocess.CompletedProcess[str]:
    command = [str(installed_script())] if script else [sys.executable, "-m", "wallboard.cli"]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run([*command, *args], input=stdin, capture_output=True, timeout=60,
                            env=env, check=False)
    return subprocess.CompletedProcess(result.args, result.returncode,
                                       result.stdout.decode("utf-8"),
                                       result.stderr.decode("utf-8"))


def parsed_body(stdout: str) -> dict[str, object]:
    """The JSON after the model name on an ``ok:`` line."""
    line = stdout.strip()
    body: dict[str, object] = json.loads(line[line.index("{"):])
    return body


# --- check-message: good --------------------------------------------------------------------

@pytest.mark.parametrize("script", [False, True], ids=["python-m", "console-script"])
def test_good_message(script):
    result = run("check-message", CALL_TOPIC, ANSWERED, "--now", str(NOW), script=script)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("ok: call site=hq queue=sales: CallEvent {")
    assert result.stdout.count("\n") == 1
    assert parsed_body(result.stdout) == {"ts": NOW - 3, "call": "c-1001", "event": "answered",
                                          "wait_s": 12.5, "agent": "a-17"}


def test_good_kpi_floor_message_from_stdin():
    from tests.test_messages import VALID
    from wallboard.topics import Kind

    payload = json.dumps(VALID[Kind.KPI_FLOOR], indent=2).encode() + b"\n"
    result = run("check-message", "wallboard/hq/kpi/floor", "-", "--now", str(NOW), stdin=payload)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: kpi_floor site=hq: FloorKpi {")
    body = parsed_body(result.stdout)
    assert body["queues"] == ["sales", "support", "billing"]
    assert body["today"]["offered"] == 412  # type: ignore[index]


def test_stdin_with_crlf_and_custom_root():
    payload = json.dumps({"ts": NOW, "online": False}).encode() + b"\r\n"
    result = run("check-message", "acme/wb/london-1/desk/d-04/status", "-", "--root", "acme/wb",
                 "--now", str(NOW), stdin=payload)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: desk_status site=london-1 desk=d-04: DeskStatus {")
    assert parsed_body(result.stdout) == {"ts": NOW, "online": False}


def test_empty_payload_clears_an_alert():
    result = run("check-message", "wallboard/hq/alert/sl-sales", "")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok: alert site=hq alert=sl-sales: cleared (empty retained payload)\n"


# --- check-message: bad ---------------------------------------------------------------------

BAD = [
    pytest.param(["check-message", CALL_TOPIC,
                  json.dumps({"ts": NOW, "call": "c-1", "event": "answered", "agent": "a-1"})],
                 None, f"{CALL_TOPIC}: wait_s: required when event is 'answered'",
                 id="missing-wait"),
    pytest.param(["check-message", CALL_TOPIC, '{"ts": NaN, "call": "c-1", "event": "offered"}'],
                 None, f"{CALL_TOPIC}: ts: Input should be a finite number (got nan)", id="nan"),
    pytest.param(["check-message", CALL_TOPIC, "-"], b"[1, 2]\n",
                 f"{CALL_TOPIC}: payload: must be a JSON object", id="stdin-array"),
    pytest.param(["check-message", CALL_TOPIC, "-"], b'{"ts": 1, "call": "\xff"}',
                 f"{CALL_TOPIC}: payload: not UTF-8 (byte 19)", id="stdin-not-utf8"),
    pytest.param(["check-message", "wallboard/hq/desk/d-04/status",
                  '{"ts": 1, "online": true, "colour": "red"}'], None,
                 "wallboard/hq/desk/d-04/status: colour: unknown field", id="unknown-field"),
    pytest.param(["check-message", "wallboard/hq/queue/a+b/call", "{}"], None,
                 "wallboard/hq/queue/a+b/call: queue: invalid id 'a+b': must match "
                 "[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", id="topic-id"),
    pytest.param(["check-message", "wallboard/hq/kpi/floor", "{}", "--root", "acme/wb"], None,
                 "wallboard/hq/kpi/floor: topic: not under the topic root 'acme/wb'",
                 id="root-mismatch"),
    pytest.param(["check-message", "wallboard/hq/queue/sales/call", ""], None,
                 f"{CALL_TOPIC}: payload: empty", id="empty-on-call"),
]


@pytest.mark.parametrize(("args", "stdin", "line"), BAD)
def test_bad_message(args, stdin, line):
    result = run(*args, "--now", str(NOW), stdin=stdin)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"bad message: {line}\n"
    assert len(result.stderr.splitlines()) == 1


def test_bad_message_through_the_console_script():
    result = run("check-message", CALL_TOPIC, '{"ts": "soon"}', "--now", str(NOW), script=True)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"bad message: {CALL_TOPIC}: ts: Input should be a valid number")


def test_now_makes_the_future_check_deterministic():
    payload = json.dumps({"ts": 2_000_000_000, "call": "c-1", "event": "offered"})
    late = run("check-message", CALL_TOPIC, payload, "--now", str(2_000_000_000 - 86_000))
    assert late.returncode == 0, late.stderr
    early = run("check-message", CALL_TOPIC, payload, "--now", str(NOW))
    assert early.returncode == 1
    assert early.stderr == (f"bad message: {CALL_TOPIC}: ts: more than a day in the future "
                            "(got 2000000000)\n")


def test_missing_arguments_is_a_usage_error():
    result = run("check-message", CALL_TOPIC)
    assert result.returncode == 2
    assert "usage:" in result.stderr


# --- check-config ---------------------------------------------------------------------------

def test_check_config_good_file():
    result = run("check-config", str(DOCS / "wallboard.example.toml"), script=True)
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)
    assert settings["site"]["id"] == "london-1"
    assert settings["site"]["day_start"] == "06:00:00"
    assert settings["mqtt"]["topic_root"] == "acme/wb"
    assert settings["queues"]["sales"]["sl_threshold_s"] == 30.0


def test_check_config_typo_key(tmp_path):
    path = tmp_path / "wallboard.toml"
    path.write_text('[site]\nid = "hq"\n\n[kpi]\nsl_treshold_s = 30\n', encoding="utf-8")
    result = run("check-config", str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"bad config: {path}: kpi.sl_treshold_s: unknown key\n"


def test_check_config_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    result = run("check-config", str(path))
    assert result.returncode == 1
    assert result.stderr.startswith(f"bad config: {path}: (file): ")
    assert len(result.stderr.splitlines()) == 1
