"""``python -m wallboard.grafana --out grafana/dashboards``: write every dashboard's JSON.

``make grafana`` runs it. Files are written only when their text changes, and a JSON file
in the directory that no dashboard writes any more is named, so it can be removed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from wallboard.grafana.dashboards import generate


def main(argv: Sequence[str] | None = None) -> int:
    """Write the dashboards; 0 on success."""
    parser = argparse.ArgumentParser(prog="python -m wallboard.grafana",
                                     description="Write the Wallboard Grafana dashboards.")
    parser.add_argument("--out", type=Path, required=True,
                        help="directory for the dashboards' JSON (grafana/dashboards)")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    files = generate()
    for name, text in files.items():
        path = out / name
        if path.exists() and path.read_text(encoding="utf-8") == text:
            print(f"{path}: unchanged")
            continue
        path.write_text(text, encoding="utf-8")
        print(f"{path}: written")
    for stale in sorted(set(p.name for p in out.glob("*.json")) - files.keys()):
        print(f"{out / stale}: no dashboard writes this any more; remove it", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
