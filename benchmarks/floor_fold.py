"""Events folded per second by the pure floor model, on a simulated 500-agent floor.

Reference measured in the same run: ``json.loads`` over the same payloads (the C-speed
floor under any Python consumer), so a noisy machine moves both numbers together.
Run with ``make bench``; ``--write docs/benchmarks.md`` records the result there.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from doc_section import replace_section

from wallboard.floor.model import FloorModel
from wallboard.messages import Envelope, decode
from wallboard.sim.event_mix import MixSettings, generate, payloads

START = 1_795_420_800.0  # a fixed Monday, so every run folds the same stream
TARGET = 100_000
BEGIN, END = "<!-- floor_fold:begin -->", "<!-- floor_fold:end -->"


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def run(agents: int, hours: float, repeats: int) -> dict[str, float | int | str]:
    """Measure and return the numbers for one benchmark run."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # "one core" means one core
    wire = list(payloads(generate(START, hours * 3600, MixSettings(agents=agents))))
    now = START + hours * 3600
    envelopes = []
    t = time.perf_counter()
    for topic, body in wire:
        result = decode(topic, body, now=now)
        assert isinstance(result, Envelope)
        envelopes.append(result)
    decode_s = time.perf_counter() - t

    fold, ref = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        for _topic, body in wire:
            json.loads(body)
        ref.append(time.perf_counter() - t)
        model = FloorModel()
        apply = model.apply
        t = time.perf_counter()
        for env in envelopes:
            apply(env)
        fold.append(time.perf_counter() - t)
    t = time.perf_counter()
    model.snapshots(now)
    snapshot_s = time.perf_counter() - t

    n = len(envelopes)
    fold_rate = _rate(n, statistics.median(fold))
    ref_rate = _rate(n, statistics.median(ref))
    return {
        "events": n, "agents": agents, "hours": hours, "repeats": repeats,
        "fold_per_s": round(fold_rate), "fold_best_per_s": round(_rate(n, min(fold))),
        "json_loads_per_s": round(ref_rate), "fold_vs_json_loads": round(fold_rate / ref_rate, 3),
        "decode_per_s": round(_rate(n, decode_s)),
        "snapshot_ms": round(snapshot_s * 1000, 1),
        "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count() or 0,
    }


def markdown(r: dict[str, float | int | str]) -> str:
    """The result as the section of docs/benchmarks.md that this benchmark owns."""
    verdict = "meets" if float(r["fold_per_s"]) >= TARGET else "MISSES"
    return "\n".join([
        BEGIN,
        "## Floor model fold rate (`benchmarks/floor_fold.py`)",
        "",
        f"{r['events']:,} events from a simulated {r['agents']}-agent floor over "
        f"{r['hours']} h (call events and agent state changes), pre-validated, folded into a "
        f"fresh `FloorModel` on one pinned core; median of {r['repeats']} runs. "
        f"Python {r['python']} on {r['machine']}, {r['cpus']} CPUs.",
        "",
        "| measure | per second | note |",
        "|---|---:|---|",
        f"| fold (median) | {r['fold_per_s']:,} | target ≥ {TARGET:,}: {verdict} |",
        f"| fold (best) | {r['fold_best_per_s']:,} | |",
        f"| reference: `json.loads` of the same payloads | {r['json_loads_per_s']:,} | "
        "measured in the same run |",
        f"| fold ÷ reference | {r['fold_vs_json_loads']} | above 1 means folding costs less "
        "than parsing the JSON |",
        f"| decode (parse + validate with pydantic) | {r['decode_per_s']:,} | the boundary, "
        "once per message |",
        "",
        f"One full snapshot of every queue and the floor at the end: {r['snapshot_ms']} ms.",
        END,
    ])


def main() -> int:
    """Run the benchmark, print the result, optionally record it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write", type=Path, help="record the result in this Markdown file")
    args = parser.parse_args()
    result = run(args.agents, args.hours, args.repeats)
    section = markdown(result)
    print(section)
    if args.write:
        replace_section(args.write, BEGIN, END, section)
    return 0 if float(result["fold_per_s"]) >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
