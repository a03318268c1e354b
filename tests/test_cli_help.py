"""Every ``--help`` of ``wallboard`` and ``wallboard-desk`` reads as plain text and explains
every option: no docstring markup, no option without a line of help."""

from __future__ import annotations

import argparse

import pytest

from wallboard.cli import build_parser
from wallboard.cli_help import plain
from wallboard_desk.cli import build_parser as build_desk_parser


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser of each sub-command, by name."""
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


WALLBOARD_COMMANDS = sorted(subcommands(build_parser()))


def help_of(argv: list[str], parser: argparse.ArgumentParser,
            capsys: pytest.CaptureFixture[str]) -> str:
    """What ``--help`` prints, having checked that it exits 0."""
    with pytest.raises(SystemExit) as stopped:
        parser.parse_args([*argv, "--help"])
    assert stopped.value.code == 0
    return capsys.readouterr().out


def all_parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    """wallboard, each of its sub-commands, and wallboard-desk."""
    top = build_parser()
    return [("wallboard", top), *((f"wallboard {name}", sub)
                                  for name, sub in sorted(subcommands(top).items())),
            ("wallboard-desk", build_desk_parser())]


def test_every_subcommand_is_checked():
    """The list grows with the parser: a new sub-command is checked without editing this."""
    assert {"init", "check-config", "controller", "recorder", "simulate", "demo", "watch",
            "kiosk", "report", "staffing"} <= set(WALLBOARD_COMMANDS)


@pytest.mark.parametrize("command", ["", *WALLBOARD_COMMANDS])
def test_wallboard_help_has_no_docstring_markup(command, capsys):
    text = help_of([command] if command else [], build_parser(), capsys)
    assert "usage: wallboard" in text
    assert "``" not in text


def test_desk_help_has_no_docstring_markup(capsys):
    text = help_of([], build_desk_parser(), capsys)
    assert "--virtual" in text
    assert "``" not in text


@pytest.mark.parametrize(("name", "parser"), all_parsers(),
                         ids=[name for name, _ in all_parsers()])
def test_every_option_has_help(name, parser):
    missing = [action.dest for action in parser._actions
               if not isinstance(action, argparse._SubParsersAction)
               and (action.help is None or not action.help.strip())]
    assert not missing, f"{name}: options without help: {missing}"


@pytest.mark.parametrize(("text", "shown"), [
    ("The ``wallboard`` command", "The wallboard command"),
    ("``--virtual`` or ``--config FILE``", "--virtual or --config FILE"),
    ("a lone `` stays", "a lone `` stays"),
    ("single `ticks` stay", "single `ticks` stay"),
])
def test_plain_takes_off_literal_markup(text, shown):
    assert plain(text) == shown
