"""Compare KPI snapshots field by field, floats within rounding (sums added in another order)."""

from __future__ import annotations

import math

from pydantic import BaseModel


def flat(*snapshots: BaseModel) -> dict[str, object]:
    """Snapshots as one flat dict of dotted paths, keyed by snapshot type and queue."""
    out: dict[str, object] = {}

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}", v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(f"{prefix}[{i}]", v)
        else:
            out[prefix] = value

    for snap in snapshots:
        walk(type(snap).__name__ + str(getattr(snap, "queue", "")), snap.model_dump())
    return out


def differences(got: BaseModel, want: BaseModel, rel: float = 1e-9) -> list[str]:
    """Every path where ``got`` and ``want`` differ beyond float rounding."""
    a, b = flat(got), flat(want)
    diffs = [f"{key}: missing" for key in b.keys() - a.keys()]
    diffs += [f"{key}: unexpected" for key in a.keys() - b.keys()]
    for key in a.keys() & b.keys():
        x, y = a[key], b[key]
        if isinstance(x, float) and isinstance(y, float):
            if not math.isclose(x, y, rel_tol=rel, abs_tol=1e-9):
                diffs.append(f"{key}: {x!r} != {y!r}")
        elif x != y:
            diffs.append(f"{key}: {x!r} != {y!r}")
    return sorted(diffs)
