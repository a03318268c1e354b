"""docs/protocol.md is generated from the code and must never drift from it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from wallboard import protocol_doc
from wallboard.errors import BadMessage
from wallboard.messages import CLEARABLE, MODELS, Cleared, decode
from wallboard.topics import DEFAULT_ROOT, ID_PATTERN, TOPICS

DOC = Path(__file__).resolve().parents[1] / "docs" / "protocol.md"
REGENERATE = "python -m wallboard.protocol_doc --write docs/protocol.md (or: make docs)"


@pytest.fixture(scope="module")
def rendered() -> str:
    return protocol_doc.render()


def test_committed_doc_matches_the_code(rendered):
    assert DOC.is_file(), f"docs/protocol.md is missing: run {REGENERATE}"
    current = DOC.read_text(encoding="utf-8")
    assert current == rendered, f"docs/protocol.md is stale: run {REGENERATE}"


def test_render_is_deterministic(rendered):
    assert protocol_doc.render() == rendered


def test_render_is_tidy_markdown(rendered):
    assert rendered.endswith("\n") and not rendered.endswith("\n\n")
    assert all(line == line.rstrip() for line in rendered.splitlines()), "trailing whitespace"
    assert rendered.count("```") % 2 == 0, "unbalanced code fences"


@pytest.mark.parametrize("spec", TOPICS, ids=[spec.kind.value for spec in TOPICS])
def test_every_topic_and_model_is_documented(rendered, spec):
    model = MODELS[spec.kind]
    assert f"`{spec.pattern}`" in rendered
    assert model.__name__ in rendered
    # the topic table row names the pattern, QoS / retained and the model
    row = next(line for line in rendered.splitlines() if line.startswith(f"| `{spec.pattern}` |"))
    assert f"{spec.qos} / {'retained' if spec.retained else 'not retained'}" in row
    assert f"[{model.__name__}]" in row
    # the section carries the exact schema and a row per field
    schema = json.dumps(model.model_json_schema(), indent=2, sort_keys=True, ensure_ascii=False)
    assert f"```json\n{schema}\n```" in rendered
    for name in model.model_fields:
        assert f"| `{name}` |" in rendered


def test_intro_states_the_ground_rules(rendered):
    for fact in (
        f"`{DEFAULT_ROOT}`",
        "`{root}/{site}/`",
        ID_PATTERN,
        "65536 bytes",
        "64 KiB",
        "Unix epoch seconds",
        "`NaN`",
        "`Infinity`",
        "Unknown fields are rejected",
        "empty retained payload",
        "`topic: field: reason`",
        "wallboard check-message",
        "`today` and `sliding`",
        "`sl_treatment`",
        "`short_abandon_s`",
        "`waiting`",
        "`longest_wait_s`",
    ):
        assert fact in rendered, fact


def test_the_empty_payload_rule_names_exactly_the_topics_decode_clears(rendered):
    rule = next(line for line in rendered.splitlines() if "empty retained payload" in line)
    named = {spec.kind for spec in TOPICS if f"`{spec.pattern}`" in rule}
    assert named == CLEARABLE and len(named) >= 3
    for spec in TOPICS:  # and decode agrees, topic by topic
        topic = "wallboard/hq/" + re.sub(r"\{[a-z]+\}", "x1", spec.pattern)
        if spec.kind in CLEARABLE:
            assert isinstance(decode(topic, b"", now=0.0), Cleared), topic
        else:
            with pytest.raises(BadMessage):
                decode(topic, b"", now=0.0)


def test_error_examples_come_from_decode(rendered):
    assert "wallboard/hq/queue/sales/call: wait_s: required when event is 'answered'" in rendered
    assert "wallboard/hq/desk/d-04/status: colour: unknown field" in rendered


def test_every_model_validator_has_a_documented_rule():
    with_validators = {
        model.__name__ for model in MODELS.values()
        if model.__pydantic_decorators__.model_validators
    }
    assert with_validators == set(protocol_doc.CROSS_FIELD_RULES)


def test_check_and_write(tmp_path):
    target = tmp_path / "sub" / "protocol.md"
    run = [sys.executable, "-m", "wallboard.protocol_doc"]

    missing = subprocess.run([*run, "--check", str(target)], capture_output=True, text=True)
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"{target} is stale: run `make docs`"

    written = subprocess.run([*run, "--write", str(target)], capture_output=True, text=True)
    assert written.returncode == 0, written.stderr
    assert target.read_text(encoding="utf-8") == protocol_doc.render()
    assert protocol_doc.main(["--check", str(target)]) == 0

    target.write_text(protocol_doc.render() + "edited by hand\n", encoding="utf-8")
    assert protocol_doc.main(["--check", str(target)]) == 1


def test_check_message_names_the_stale_file(capsys):
    assert protocol_doc.main(["--check", "no-such-dir/docs/protocol.md"]) == 1
    assert capsys.readouterr().err == (
        "no-such-dir/docs/protocol.md is stale: run `make docs`\n")
