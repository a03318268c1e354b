"""Every Markdown file the docs and the code refer to is in the repository.

docs/managers.md and docs/wellbeing.md once sent readers to a ``kpi-definitions.md`` that
was never part of it; what they needed now lives in docs/kpi.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Written docs, and the code and config whose comments and docstrings point readers at them.
SCANNED = sorted(
    path for pattern in ("*.md", "docs/**/*.md", "firmware/**/*.md", "kiosk/**/*.md",
                         "wallboard/**/*.py", "firmware/**/*.py", "benchmarks/**/*.py",
                         "kiosk/**/*.sh", "docs/*.toml", "firmware/*.toml")
    for path in ROOT.glob(pattern))
# A file name ending in .md, with any folders before it, not inside a URL or a longer name.
REFERENCE = re.compile(r"(?<![\w/.:-])((?:[\w.-]+/)*[\w-]+\.md)\b")


def references(text: str) -> list[str]:
    """The .md paths ``text`` names."""
    return REFERENCE.findall(text)


def test_the_scan_sees_the_docs():
    names = {path.relative_to(ROOT).as_posix() for path in SCANNED}
    assert {"README.md", "docs/kpi.md", "docs/managers.md", "docs/wellbeing.md",
            "wallboard/staffing/erlang_c.py"} <= names


@pytest.mark.parametrize(("text", "found"), [
    ("see `kpi-definitions.md` (\"Erlang C\")", ["kpi-definitions.md"]),
    ("in docs/kpi.md, and ../README.md", ["docs/kpi.md", "../README.md"]),
    ("https://example.org/a/b.md and foo.mdx", []),
])
def test_references_are_found(text, found):
    assert references(text) == found


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_referenced_markdown_file_exists(path):
    text = path.read_text(encoding="utf-8")
    missing = [ref for ref in references(text)
               if not (ROOT / ref).is_file() and not (path.parent / ref).is_file()]
    assert not missing, f"{path.relative_to(ROOT)} refers to files not in the repository: " \
                        f"{missing}"
