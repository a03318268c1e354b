"""Generate ``docs/protocol.md``, the MQTT contract for integrators, from the code alone.

The topic table comes from ``wallboard.topics.TOPICS``, the field tables and JSON Schemas from
the pydantic models in ``wallboard.messages.MODELS``, and the example error lines from running
``decode`` on bad messages. The output is deterministic, so CI can check the committed file::

    python -m wallboard.protocol_doc --write docs/protocol.md   # regenerate
    python -m wallboard.protocol_doc --check docs/protocol.md   # exit 1 if stale
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wallboard.errors import BadMessage
from wallboard.messages import (
    CLEARABLE,
    MAX_FUTURE_S,
    MAX_PAYLOAD_BYTES,
    MODELS,
    Message,
    decode,
)
from wallboard.topics import DEFAULT_ROOT, ID_PATTERN, SPECS, TOPICS, Kind, TopicSpec, build

STALE_MESSAGE = "is stale: run `make docs`"

# Rules that span fields live in model validators, which a JSON Schema cannot express.
# tests/test_protocol_doc.py fails if a model gains a validator without an entry here.
CROSS_FIELD_RULES: dict[str, tuple[str, ...]] = {
    "CallEvent": (
        "`wait_s` is required when `event` is `answered` or `abandoned`.",
        "`agent` is required when `event` is `answered` or `completed`.",
        "`handle_s` and `hold_s` are required when `event` is `completed`.",
        "`hold_s` cannot exceed `handle_s` (when it is a number).",
    ),
    "AgentState": ("`since` cannot be later than `ts`.",),
    "DeskCommand": ("`request` is required when `cmd` is `ack` or `resolve`.",),
    "HelpStatus": (
        "`max_level` cannot be below `level`.",
        "`max_level_at` is given exactly when `max_level` is 1 or 2.",
    ),
}

_EXAMPLE_SITE = "hq"
_EXAMPLE_NOW = 1_700_000_000
_ID_SCHEMA_PATTERN = f"^{ID_PATTERN}$"


def _cell(text: str) -> str:
    """Make ``text`` safe inside one Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ").strip() or "—"


def _code(text: str) -> str:
    """Inline code, using a longer fence when the text itself holds backticks."""
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _anchor(kind: Kind) -> str:
    return f"topic-{kind.value.replace('_', '-')}"


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _bounds(node: dict[str, Any]) -> str:
    low = node.get("minimum", node.get("exclusiveMinimum"))
    high = node.get("maximum", node.get("exclusiveMaximum"))
    low_op = ">" if "exclusiveMinimum" in node else "≥"
    high_op = "<" if "exclusiveMaximum" in node else "≤"
    if low is not None and high is not None and low_op == "≥" and high_op == "≤":
        return f" {_number(low)} to {_number(high)}"
    parts = []
    if low is not None:
        parts.append(f" {low_op} {_number(low)}")
    if high is not None:
        parts.append(f" {high_op} {_number(high)}")
    return ",".join(parts)


def _type(node: dict[str, Any]) -> str:
    """A short human-readable type for one JSON Schema node."""
    if "$ref" in node:
        name = str(node["$ref"]).rsplit("/", 1)[-1]
        return f"object {name}"
    if "anyOf" in node:
        options = [opt for opt in node["anyOf"] if opt.get("type") != "null"]
        nullable = len(options) != len(node["anyOf"])
        text = " or ".join(_type(opt) for opt in options)
        return f"{text} or null" if nullable else text
    if "enum" in node:
        return "one of " + ", ".join(_code(str(value)) for value in node["enum"])
    if "const" in node:
        return f"the string {_code(str(node['const']))}"
    kind = node.get("type")
    if kind == "string":
        if node.get("pattern") == _ID_SCHEMA_PATTERN:
            return "id"
        extras = []
        if "maxLength" in node:
            extras.append(f"≤ {node['maxLength']} chars")
        if "pattern" in node:
            extras.append(f"matching {_code(str(node['pattern']))}")
        return "string" + (f" ({', '.join(extras)})" if extras else "")
    if kind in ("number", "integer"):
        return f"{kind}{_bounds(node)}"
    if kind == "array":
        limit = f", at most {node['maxItems']}" if "maxItems" in node else ""
        return f"array of {_type(node.get('items', {}))}{limit}"
    if kind == "object":
        values = node.get("additionalProperties")
        if isinstance(values, dict):
            names = node.get("propertyNames")
            key = _type(names) if isinstance(names, dict) else "string"
            return f"object mapping {key} → {_type(values)}"
        return "object"
    if isinstance(kind, str):
        return kind
    return "any"


def _description(node: dict[str, Any]) -> str:
    """The field's own description, else the description of its (non-null) type."""
    if "description" in node:
        return str(node["description"])
    for option in node.get("anyOf", []):
        if "description" in option:
            return str(option["description"])
    return ""


def _field_table(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    lines = ["| Field | Type | Required | Description |", "|---|---|---|---|"]
    for name, node in schema.get("properties", {}).items():
        lines.append(
            f"| {_cell(_code(name))} | {_cell(_type(node))} | "
            f"{'yes' if name in required else 'no'} | {_cell(_description(node))} |"
        )
    return lines


def _error_line(kind: Kind, payload: dict[str, Any] | str, **ids: str) -> str:
    """Run ``decode`` on a bad example and return its one-line error."""
    topic = build(kind, site=_EXAMPLE_SITE, **ids)
    raw = payload if isinstance(payload, str) else json.dumps(payload)
    try:
        decode(topic, raw.encode("utf-8"), now=_EXAMPLE_NOW)
    except BadMessage as exc:
        return str(exc)
    raise AssertionError(f"example for {topic} was expected to be rejected")  # pragma: no cover


def _intro() -> list[str]:
    call_topic = build(Kind.CALL, site=_EXAMPLE_SITE, queue="sales")
    # From the contract's own set, so the doc cannot drift from what decode() accepts.
    clearable = ", ".join(_code(spec.pattern) for spec in TOPICS if spec.kind in CLEARABLE)
    kpi_queue, kpi_floor = SPECS[Kind.KPI_QUEUE].pattern, SPECS[Kind.KPI_FLOOR].pattern
    kpi_topics = f"{_code(kpi_queue)} and {_code(kpi_floor)}"
    example = json.dumps({"ts": _EXAMPLE_NOW, "call": "c-1001", "event": "offered"})
    errors = [
        _error_line(Kind.CALL, {"ts": _EXAMPLE_NOW, "call": "c-1001", "event": "answered",
                                "agent": "a-17"}, queue="sales"),
        _error_line(Kind.CALL, {"ts": _EXAMPLE_NOW, "call": "c-1001", "event": "offerd"},
                    queue="sales"),
        _error_line(Kind.AGENT_STATE, {"ts": "1700000000", "state": "available",
                                       "since": _EXAMPLE_NOW}, agent="a-17"),
        _error_line(Kind.DESK_STATUS, {"ts": _EXAMPLE_NOW, "online": True, "colour": "red"},
                    desk="d-04"),
        _error_line(Kind.DESK_HELP, "[1, 2]", desk="d-04"),
    ]
    max_kib = MAX_PAYLOAD_BYTES // 1024
    hours = _number(MAX_FUTURE_S / 3600)
    return [
        "# Wallboard MQTT protocol",
        "",
        "<!-- Generated by `python -m wallboard.protocol_doc --write docs/protocol.md` "
        "(`make docs`) from wallboard/topics.py and wallboard/messages.py. Do not edit by hand: "
        "CI fails when this file differs from the code. -->",
        "",
        "This is the contract between everything that talks to Wallboard over MQTT: telephony "
        "adapters, desk units, the controller and the screens. Every Wallboard service checks "
        "each message against it on arrival and drops (and logs) any message that breaks it.",
        "",
        "## Topics and ids",
        "",
        f"Every topic is `{{root}}/{{site}}/` followed by one of the patterns in the "
        f"[topic table](#topic-table). The root is configurable (`mqtt.topic_root` in "
        f"`wallboard.toml`, one or more levels such as `acme/wb`); the default is "
        f"{_code(DEFAULT_ROOT)}. `{{site}}` is the site id. For example, a call event for queue "
        f"`sales` at site `{_EXAMPLE_SITE}` is published on {_code(call_topic)}.",
        "",
        f"Every id (the site, each `{{name}}` segment of a topic and every field of type *id* "
        f"in a payload) must match {_code(ID_PATTERN)}: a letter or digit, then letters, digits, "
        f"`_`, `.` or `-`, 64 characters at most. So ids never hold `+`, `#`, `/`, spaces or "
        f"control characters, and can always be used as one topic level.",
        "",
        "## Payloads",
        "",
        f"- A payload is one UTF-8 encoded JSON object of at most {MAX_PAYLOAD_BYTES} bytes "
        f"({max_kib} KiB). Arrays, strings, numbers, `null`, malformed JSON, bytes that are not "
        f"UTF-8 and empty payloads (except where an empty payload clears, below) are "
        f"rejected.",
        "- Every payload has `ts`, the event time: Unix epoch seconds as a JSON number "
        "(integer or fraction, never a string), not negative.",
        f"- A `ts` more than {_number(MAX_FUTURE_S)} s ({hours} hours) ahead of the receiver's "
        f"clock is rejected as a broken clock; up to a day ahead is accepted. (The controller "
        f"is stricter about what it counts: `docs/controller.md` says how it treats events "
        f"from the future.)",
        "- Numbers must be finite: `NaN`, `Infinity`, `-Infinity` and literals that overflow a "
        "double (such as `1e400`) are rejected.",
        "- Types are strict: strings are never converted to numbers, `true`/`false` are not "
        "numbers, `1` is not `true`, and a number with a decimal point (even `2.0`) is not an "
        "integer. Integers are fine where a number is expected.",
        "- Durations (fields ending in `_s`) are seconds and never negative.",
        "- Unknown fields are rejected, so a misspelt field is an error instead of being "
        "silently ignored. Optional fields may be left out or set to `null`; Wallboard's own "
        "publishers leave them out.",
        f"- An empty retained payload clears what the topic held on {clearable}: the "
        f"alert, or the wellbeing of an agent who logged off or a team that fell below the "
        f"privacy minimum. An empty payload on any other topic is an error.",
        "",
        "## KPI snapshots",
        "",
        f"The controller publishes retained KPI snapshots on {kpi_topics}. The live values "
        "(`waiting`, `longest_wait_s`, `agents_available`, `agents_busy`, `agents_on_break`, "
        "`agents_logged_in`) are at the top level. `today` and `sliding` each carry the "
        "counters and rates for one window (offered, answered, abandoned, short abandons, "
        "answered and abandoned within the service level threshold, completed, then service "
        "level, ASA, abandon rate, AHT and occupancy, which are `null` when there is nothing "
        "to measure) together with the window's name, start, end and SL threshold. The service "
        "level treatment of abandons (`sl_treatment`) and the short-abandon threshold "
        "(`short_abandon_s`) in force are part of the payload, so screens can print which "
        "variant of the service level they show.",
        "",
        "## Errors",
        "",
        "A message that breaks the contract is rejected as a whole, and the reason is one "
        "line: `topic: field: reason`. The field is the dotted path into the payload "
        "(e.g. `today.service_level`), `payload` when the payload as a whole is wrong, and "
        "`topic`, `site` or the id's name when the topic is wrong. When a message has several "
        "problems the first is named and the rest are counted as `(+N more)`. Examples:",
        "",
        "```text",
        *errors,
        "```",
        "",
        "## Checking a message",
        "",
        "Integrators can check a message exactly the way every Wallboard service will with "
        "`wallboard check-message TOPIC PAYLOAD` (`-` reads the payload from stdin, where trailing "
        "newlines are ignored). It exits 0 and prints the kind, the ids and the "
        "parsed fields, or exits 1 with the one-line reason on stderr. `--root` sets a custom "
        "topic root and `--now` the epoch seconds to judge `ts` against (default: the clock).",
        "",
        "```sh",
        f"wallboard check-message {call_topic} '{example}'",
        f"echo '{example}' | wallboard check-message {call_topic} -",
        "```",
        "",
    ]


def _topic_table() -> list[str]:
    lines = [
        '<a id="topic-table"></a>',
        "",
        "## Topic table",
        "",
        "| Pattern under `{root}/{site}/` | Published by | QoS / retained | Purpose | Payload |",
        "|---|---|---|---|---|",
    ]
    for spec in TOPICS:
        model = MODELS[spec.kind].__name__
        retained = "retained" if spec.retained else "not retained"
        lines.append(
            f"| {_cell(_code(spec.pattern))} | {_cell(spec.publisher)} | "
            f"{spec.qos} / {retained} | {_cell(spec.purpose)} | "
            f"[{model}](#{_anchor(spec.kind)}) |"
        )
    lines.append("")
    return lines


def _section(spec: TopicSpec) -> list[str]:
    model: type[Message] = MODELS[spec.kind]
    schema = model.model_json_schema()
    retained = "retained" if spec.retained else "not retained"
    lines = [
        f'<a id="{_anchor(spec.kind)}"></a>',
        "",
        f"### {_code(spec.pattern)}: {model.__name__}",
        "",
        f"{spec.purpose} Published by {spec.publisher}; QoS {spec.qos}, {retained}.",
        "",
    ]
    doc = (model.__doc__ or "").strip()
    if doc:
        lines += [doc, ""]
    lines += _field_table(schema)
    lines.append("")
    for name, nested in sorted(schema.get("$defs", {}).items()):
        lines += [f"Object {_code(name)}: {nested.get('description', '').strip()}", ""]
        lines += _field_table(nested)
        lines.append("")
    rules = CROSS_FIELD_RULES.get(model.__name__, ())
    if rules:
        lines += ["Rules across fields:", ""]
        lines += [f"- {rule}" for rule in rules]
        lines.append("")
    lines += [
        "JSON Schema:",
        "",
        "```json",
        json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False),
        "```",
        "",
    ]
    return lines


def render() -> str:
    """The full Markdown of ``docs/protocol.md``; the same code always gives the same text."""
    lines = _intro() + _topic_table()
    lines += [
        "## Payloads by topic",
        "",
        "Each section lists the payload's fields and its JSON Schema. The schema describes the "
        "shape; the rules across fields and the future-`ts` check are enforced as well.",
        "",
    ]
    for spec in TOPICS:
        lines += _section(spec)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m wallboard.protocol_doc [--check PATH | --write PATH]``; prints without flags."""
    parser = argparse.ArgumentParser(
        prog="python -m wallboard.protocol_doc", description=(__doc__ or "").split("\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", metavar="PATH", help="exit 1 if PATH differs from the code")
    group.add_argument("--write", metavar="PATH", help="write the document to PATH")
    args = parser.parse_args(argv)
    text = render()
    if args.check is not None:
        path = Path(args.check)
        try:
            current = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            current = None
        if current != text:
            print(f"{args.check} {STALE_MESSAGE}", file=sys.stderr)
            return 1
        return 0
    if args.write is not None:
        path = Path(args.write)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
