"""``--help`` as plain text: the docstrings and field descriptions argparse shows use the
reStructuredText ``literal`` markup, which means nothing on a terminal."""

from __future__ import annotations

import argparse
import re
from typing import Any

_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)


def plain(text: str) -> str:
    """``text`` with ``literal`` markup taken off: ``--virtual`` becomes --virtual."""
    return _LITERAL.sub(r"\1", text)


class PlainHelpFormatter(argparse.HelpFormatter):
    """Formats descriptions and option help without the docstring markup."""

    def _format_text(self, text: str) -> str:
        return super()._format_text(plain(text))

    def _expand_help(self, action: argparse.Action) -> str:
        return plain(super()._expand_help(action))


class PlainParser(argparse.ArgumentParser):
    """An ArgumentParser whose help is plain text; its sub-commands' parsers are too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", PlainHelpFormatter)
        super().__init__(*args, **kwargs)
