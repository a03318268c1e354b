"""Every image in the README and docs is one `make screenshots` renders, and none is left over."""

from __future__ import annotations

import re

from tests.live import ROOT_DIR
from tests.test_report_week import DOC_SCREENSHOT
from wallboard.kiosk.screenshots import AUDIENCES

SHOTS = ROOT_DIR / "docs" / "screenshots"
RENDERED = {f"kiosk-{audience}.png" for audience in AUDIENCES} | {DOC_SCREENSHOT.name}
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)]+)\)")


def referenced_images() -> dict[str, set[str]]:
    """Image paths (resolved) by the Markdown file that shows them."""
    found: dict[str, set[str]] = {}
    for page in [ROOT_DIR / "README.md", *sorted((ROOT_DIR / "docs").glob("*.md"))]:
        for target in IMAGE.findall(page.read_text(encoding="utf-8")):
            found.setdefault(page.name, set()).add(str((page.parent / target).resolve()))
    return found


def test_every_image_shown_is_rendered_by_make_screenshots():
    shown = set().union(*referenced_images().values())
    assert shown, "the README shows the wall screen"
    assert shown <= {str((SHOTS / name).resolve()) for name in RENDERED}, shown


def test_every_rendered_image_is_shown_and_committed():
    shown = set().union(*referenced_images().values())
    for name in RENDERED:
        assert (SHOTS / name).is_file(), name
        assert str((SHOTS / name).resolve()) in shown, f"{name} is rendered but shown nowhere"
    assert {p.name for p in SHOTS.iterdir()} == RENDERED, "a stale image in docs/screenshots"
