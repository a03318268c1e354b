"""Lines per second of ``wallboard asterisk translate`` on a generated month of a 200-agent site.

The queue_log (about 500,000 lines: members logging in and out, pauses, calls entering,
ringing, answered, completed, transferred, abandoned and leaving on timeout) is written to a
temporary file, then timed two ways in the same run: the reference reads the file and
splits each line on ``|`` and nothing else; ``translate`` reads, parses, translates, builds
and validates every contract message and writes it as a JSON line (to the null device).
The core alone (no JSON out) is timed too, to show where the time goes.
Run with ``make bench``; ``--write docs/benchmarks.md`` records the result there.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from doc_section import replace_section

from wallboard.messages import Message
from wallboard.telephony.asterisk_core import AsteriskCore
from wallboard.telephony.queue_log import parse_line
from wallboard.telephony.settings import TelephonyConfig
from wallboard.telephony.translate_cli import open_log, translate_file

START = 1_795_420_800  # a fixed Monday 00:00 UTC, so every run translates the same month
TARGET = 100_000
TARGET_RATIO = 0.3
SAMPLE = 50_000  # lines whose messages are built again to time pydantic alone
QUEUES = ("sales", "support", "billing", "retention", "tech", "general")
BEGIN, END = "<!-- asterisk_translate:begin -->", "<!-- asterisk_translate:end -->"


def generate(agents: int, days: int, calls_per_day: int, seed: int = 1) -> list[bytes]:
    """A month of queue_log lines, in time order, as Asterisk 16+ writes them."""
    rng = random.Random(seed)
    out: list[tuple[int, int, bytes]] = []
    seq = 0

    def log(ts: float, callid: str, queue: str, agent: str, verb: str, *data: object) -> None:
        nonlocal seq
        seq += 1
        fields = [str(int(ts)), callid, queue, agent, verb, *(str(d) for d in data)]
        out.append((int(ts), seq, "|".join(fields).encode() + b"\n"))

    names = [f"PJSIP/{1000 + i}" for i in range(agents)]
    home = {name: QUEUES[i % len(QUEUES)] for i, name in enumerate(names)}
    by_queue = {q: [n for n in names if home[n] == q] for q in QUEUES}
    for day in range(days):
        base = START + day * 86_400
        open_s, close_s = base + 8 * 3600, base + 18 * 3600
        log(base + 7 * 3600, "NONE", "NONE", "NONE", "QUEUESTART", "")
        free = {}
        for name in names:
            login = open_s + rng.uniform(-900, 900)
            log(login, "NONE", home[name], name, "ADDMEMBER", "")
            free[name] = login
            for _ in range(3):  # breaks
                at = rng.uniform(open_s + 3600, close_s - 3600)
                log(at, "NONE", home[name], name, "PAUSE", rng.choice(("lunch", "coffee", "")))
                log(at + rng.uniform(300, 1800), "NONE", home[name], name, "UNPAUSE", "")
            log(close_s + rng.uniform(0, 900), "NONE", home[name], name, "REMOVEMEMBER", "")
        arrivals = sorted(rng.uniform(open_s, close_s) for _ in range(calls_per_day))
        for n, t in enumerate(arrivals):
            queue = rng.choice(QUEUES)
            callid = f"{int(t)}.{day * calls_per_day + n}"
            log(t, callid, queue, "NONE", "ENTERQUEUE", "", f"0{rng.randrange(10**9)}", 1)
            team = by_queue[queue]
            agent = min(team, key=lambda a: free[a])
            wait = max(1.0, free[agent] - t) + rng.uniform(1, 8)
            if wait > 120 or rng.random() < 0.05:
                left = min(wait, rng.uniform(3, 120))
                verb = "EXITWITHTIMEOUT" if left > 110 else "ABANDON"
                log(t + left, callid, queue, "NONE", verb, 1, 1, int(left))
                continue
            if rng.random() < 0.2:
                log(t + wait - 1, callid, queue, agent, "RINGNOANSWER", 15000)
            talk = rng.expovariate(1 / 240)
            log(t + wait, callid, queue, agent, "CONNECT", int(wait), f"{int(t)}.9", 4)
            end = t + wait + talk
            if rng.random() < 0.05:
                log(end, callid, queue, agent, "BLINDTRANSFER", "200", "from-internal",
                    int(wait), int(talk), 1)
            else:
                verb = "COMPLETECALLER" if rng.random() < 0.5 else "COMPLETEAGENT"
                log(end, callid, queue, agent, verb, int(wait), int(talk), 1)
            free[agent] = end + 15
    out.sort()
    return [line for _, _, line in out]


def _split_only(path: Path) -> int:
    n = 0
    with path.open("rb") as log:
        for raw in log:
            raw.split(b"|")
            n += 1
    return n


def _parse_only(path: Path) -> int:
    n = 0
    with path.open("rb") as log:
        for raw in log:
            parse_line(raw)
            n += 1
    return n


def _core_only(path: Path, config: TelephonyConfig) -> int:
    core = AsteriskCore(config, site="hq")
    feed = core.feed
    n = 0
    with open_log(path) as log:
        for raw in log:
            feed(raw)
            n += 1
    return n


def _sample(lines: list[bytes], config: TelephonyConfig) -> list[Message]:
    """The messages of the first SAMPLE lines (all of them would not fit in memory well)."""
    core = AsteriskCore(config, site="hq")
    return [env.message for raw in lines[:SAMPLE] for env in core.feed(raw).messages]


def _validate_again(made: list[Message]) -> None:
    """What building the same messages costs in pydantic alone."""
    for msg in made:
        type(msg)(**msg.__dict__)


def run(agents: int, days: int, calls_per_day: int, repeats: int) -> dict[str, float | int | str]:
    """Measure and return the numbers for one benchmark run."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # "one core" means one core
    lines = generate(agents, days, calls_per_day)
    config = TelephonyConfig.model_validate({
        "members": {f"PJSIP/{1000 + i}": {"agent": f"a{1000 + i}", "desk": f"d{i}"}
                    for i in range(agents)},
        "queues": {q: {"wrapuptime_s": 15.0} for q in QUEUES}})
    ref, parse, full, core, valid = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "queue_log"
        path.write_bytes(b"".join(lines))
        size = path.stat().st_size
        messages = 0
        made = _sample(lines, config)
        for _ in range(repeats):
            t = time.perf_counter()
            _split_only(path)
            ref.append(time.perf_counter() - t)
            t = time.perf_counter()
            _parse_only(path)
            parse.append(time.perf_counter() - t)
            out = io.StringIO()
            with open(os.devnull, "w", encoding="utf-8") as null:
                t = time.perf_counter()
                translate_file(path, config, site="hq", root="wallboard", out=null, err=out,
                               now=None)
                full.append(time.perf_counter() - t)
            summary = out.getvalue().strip().splitlines()[-1]
            messages = int(summary.split(", ")[1].split()[0])
            t = time.perf_counter()
            _core_only(path, config)
            core.append(time.perf_counter() - t)
            t = time.perf_counter()
            _validate_again(made)
            valid.append((time.perf_counter() - t) / min(SAMPLE, len(lines)))
    n = len(lines)
    full_rate, ref_rate = n / statistics.median(full), n / statistics.median(ref)
    return {
        "lines": n, "messages": messages, "mib": round(size / 2**20, 1), "agents": agents,
        "days": days, "repeats": repeats,
        "translate_per_s": round(full_rate), "translate_best_per_s": round(n / min(full)),
        "core_per_s": round(n / statistics.median(core)),
        "parse_per_s": round(n / statistics.median(parse)),
        "us_split": round(statistics.median(ref) / n * 1e6, 2),
        "us_parse": round(statistics.median(parse) / n * 1e6, 2),
        "us_core": round(statistics.median(core) / n * 1e6, 2),
        "us_full": round(statistics.median(full) / n * 1e6, 2),
        "us_validate": round(statistics.median(valid) * 1e6, 2),
        "split_per_s": round(ref_rate), "ratio": round(full_rate / ref_rate, 3),
        "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count() or 0,
    }


def markdown(r: dict[str, float | int | str]) -> str:
    """The result as the section of docs/benchmarks.md that this benchmark owns."""
    rate_ok = float(r["translate_per_s"]) >= TARGET
    ratio_ok = float(r["ratio"]) >= TARGET_RATIO
    return "\n".join([
        BEGIN,
        "## Asterisk queue_log translation (`benchmarks/asterisk_translate.py`)",
        "",
        f"{r['days']} generated days of a {r['agents']}-agent site: {r['lines']:,} "
        f"queue_log lines ({r['mib']} MiB) that become {r['messages']:,} contract messages. "
        f"Timed on one pinned core, median of {r['repeats']} runs, each measure in the same "
        f"run. Python {r['python']} on {r['machine']}, {r['cpus']} CPUs.",
        "",
        "| measure | lines per second | note |",
        "|---|---:|---|",
        f"| `translate` (median) | {r['translate_per_s']:,} | target ≥ {TARGET:,}: "
        f"{'meets' if rate_ok else 'MISSES'} |",
        f"| `translate` (best) | {r['translate_best_per_s']:,} | |",
        f"| the core alone (parse, translate, validate; no JSON out) | {r['core_per_s']:,} | "
        "where the time goes |",
        f"| parse only (`queue_log.parse_line`) | {r['parse_per_s']:,} | |",
        f"| reference: read the file and split each line on `\\|` | {r['split_per_s']:,} | "
        "measured in the same run |",
        f"| `translate` ÷ reference | {r['ratio']} | target ≥ {TARGET_RATIO}: "
        f"{'meets' if ratio_ok else 'MISSES'} |",
        "",
        f"Where a line's time goes: {r['us_split']} µs to read and split it, "
        f"{round(float(r['us_parse']) - float(r['us_split']), 2)} µs more to parse and check "
        f"it, {round(float(r['us_core']) - float(r['us_parse']), 2)} µs to translate it and "
        "build and validate its messages with the contract's pydantic models, and "
        f"{round(float(r['us_full']) - float(r['us_core']), 2)} µs to encode them as JSON "
        f"lines. Of the translation, {r['us_validate']} µs per line is pydantic building and "
        "validating the messages (measured alone, building the messages of the first "
        f"{SAMPLE:,} lines again): a "
        f"line becomes {round(float(r['messages']) / float(r['lines']), 2)} messages on "
        "average, and every `CallEvent` and `AgentState` runs the contract's validators, "
        "some of them in Python. The split-only "
        "reference does no per-line Python work at all"
        + ("; the adapter keeps validation even so, since a message that breaks the contract "
           "must never reach the broker." if not (rate_ok and ratio_ok) else "."),
        END,
    ])


def main() -> int:
    """Run the benchmark, print the result, optionally record it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--calls-per-day", type=int, default=4800)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", type=Path, help="record the result in this Markdown file")
    args = parser.parse_args()
    result = run(args.agents, args.days, args.calls_per_day, args.repeats)
    section = markdown(result)
    print(section)
    if args.write:
        replace_section(args.write, BEGIN, END, section)
    ok = float(result["translate_per_s"]) >= TARGET and float(result["ratio"]) >= TARGET_RATIO
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
