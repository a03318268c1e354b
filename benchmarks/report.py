"""``wallboard report`` for one simulated week of a 300-agent site: how long the whole command
takes, against the time InfluxDB needs for the same queries.

Setup (not timed): a private influxd; a Monday-to-Sunday week of the simulated site, run
through the real controller on a simulated clock and stored as the recorder stores it (every
retention policy, aggregates filled), as the tests' simulated week is, but with 300 agents.

Measured, ``--repeats`` times each, medians reported:

- **the command**: ``wallboard report --from --to --config --out`` as a subprocess, from start
  to exit: Python start-up and imports, every query, shaping, figures, and the 5 MB page
  written (plotly.js inlined);
- **in process**: the same report built by ``build_report`` in this process, imports done:
  queries, shaping, figures and the page, without Python start-up or writing the file;
- **the queries alone**: the very query strings the report sends, run one after another with
  ``InfluxHttp`` from this process: what InfluxDB itself needs.

The ratio of the two is what the report adds on top of InfluxDB. Target: at most 10 s for
the whole command. Run with ``make bench``; ``--write docs/benchmarks.md`` records the result.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from doc_section import replace_section

from wallboard.adapters.influx import InfluxHttp
from wallboard.devservices import Influxd
from wallboard.recorder.downsampling import Retention
from wallboard.report.period import period_of
from wallboard.report.queries import report_queries
from wallboard.report.run import build_report
from wallboard.report.scope import ReportScope
from wallboard.services.database_setup import init_database
from wallboard.services.history import DAY, last_full_week, site_history, store_history
from wallboard.sim.floor import SimSettings

ROOT_DIR = Path(__file__).resolve().parents[1]
SITE = "hq"
DB = "bench_report"
TARGET_S = 10.0
BEGIN, END = "<!-- report:begin -->", "<!-- report:end -->"



def load_week(influxd: Influxd, agents: int, queues: int) -> tuple[float, int]:
    """Store the simulated week; return its start and the points written."""
    start = last_full_week(time.time())
    db = InfluxHttp(influxd.url, DB, timeout_s=300)
    init_database(db, Retention())
    sim = SimSettings(agents=agents, queues=queues, site=SITE, seed=7)
    points = store_history(db, site_history(sim, start, start + 7 * DAY), start,
                           start + 7 * DAY, root=sim.root)
    db.close()
    return start, points


def command_seconds(config: Path, first: dt.date, last: dt.date, out: Path) -> float:
    """Wall time of one ``wallboard report`` subprocess."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "wallboard.cli", "report", "--from", first.isoformat(),
                    "--to", last.isoformat(), "--config", str(config), "--out", str(out)],
                   cwd=ROOT_DIR, check=True, capture_output=True)
    return time.perf_counter() - started


def in_process_seconds(influxd: Influxd, scope: ReportScope) -> float:
    """Seconds ``build_report`` takes here, with every import already done."""
    db = InfluxHttp(influxd.url, DB, timeout_s=120)
    try:
        started = time.perf_counter()
        build_report(scope, db, time.time())
        return time.perf_counter() - started
    finally:
        db.close()


def query_seconds(influxd: Influxd, texts: list[tuple[str, str]]) -> dict[str, float]:
    """Seconds for each of the report's queries, sent directly, one after another."""
    db = InfluxHttp(influxd.url, DB, timeout_s=120)
    took = {}
    try:
        for name, text in texts:
            started = time.perf_counter()
            db.query(text)
            took[name] = time.perf_counter() - started
    finally:
        db.close()
    return took


def run(agents: int, queues: int, repeats: int) -> dict[str, Any]:
    """Load the week, then time the command and the queries ``repeats`` times each."""
    work = Path(tempfile.mkdtemp(prefix="wallboard-bench-report-"))
    with Influxd() as influxd:
        started = time.perf_counter()
        start, points = load_week(influxd, agents, queues)
        load_s = time.perf_counter() - started
        first = dt.datetime.fromtimestamp(start, dt.UTC).date()
        last = first + dt.timedelta(days=6)
        config = work / "wallboard.toml"
        config.write_text(f'[site]\nid = "{SITE}"\ntimezone = "UTC"\n'
                          f'[influx]\nurl = "{influxd.url}"\ndatabase = "{DB}"\n')
        scope = ReportScope(SITE, "UTC", period_of(first, last, ZoneInfo("UTC")))
        # The report decides from the clock whether raw still covers the range; so does this.
        texts = [(q.name, q.text) for q in report_queries(scope, time.time())]
        out = work / "report.html"
        command_seconds(config, first, last, out)  # warm InfluxDB's caches and the OS's
        in_process_seconds(influxd, scope)  # the imports, once
        commands, builds, queries = [], [], []
        for n in range(repeats):
            commands.append(command_seconds(config, first, last, out))
            builds.append(in_process_seconds(influxd, scope))
            queries.append(query_seconds(influxd, texts))
            print(f"round {n + 1}: command {commands[-1]:.2f} s, in process "
                  f"{builds[-1]:.2f} s, queries {sum(queries[-1].values()):.2f} s",
                  file=sys.stderr)
        influx_version = subprocess.run([influxd.binary, "version"], capture_output=True,
                                        text=True).stdout.strip()
    return {"agents": agents, "queues": queues, "points": points, "load_s": load_s,
            "first": first, "last": last, "commands": commands, "builds": builds,
            "queries": queries, "bytes": out.stat().st_size, "influx": influx_version}


def section(r: dict[str, Any]) -> str:
    """The benchmark's section of docs/benchmarks.md."""
    command = statistics.median(r["commands"])
    build = statistics.median(r["builds"])
    totals = [sum(round_.values()) for round_ in r["queries"]]
    queries = statistics.median(totals)
    verdict = "meets" if command <= TARGET_S else "misses"
    runs = ", ".join(f"{s:.2f}" for s in r["commands"])
    per_query = "\n".join(
        f"| `{name}` | {statistics.median(round_[name] for round_ in r['queries']) * 1000:,.0f} |"
        for name in r["queries"][0])
    rows = "\n".join([
        f"| `wallboard report`, the whole command | {command:.2f} | target ≤ {TARGET_S:.0f} s: "
        f"{verdict}; runs: {runs} |",
        f"| the report built in process (imports done, file not written) | {build:.2f} | "
        f"queries, shaping, figures, page |",
        f"| the same {len(r['queries'][0])} queries sent directly with `InfluxHttp` | "
        f"{queries:.2f} | what InfluxDB needs |",
        f"| command ÷ queries | **{command / queries:.1f}** | the rest: Python start-up, "
        f"imports, shaping, figures, writing the {r['bytes'] / 1e6:.1f} MB page |",
        f"| in process ÷ queries | {build / queries:.1f} | |"])
    return f"""{BEGIN}
## Report (`benchmarks/report.py`)

`wallboard report` for one simulated week ({r['first']} to {r['last']}) of a {r['agents']}-agent,
{r['queues']}-queue site: {r['points']:,} points stored as the recorder stores them (every
retention policy, aggregates filled; loading took {r['load_s']:.0f} s, not timed), in a private
{r['influx']} on loopback. Python {platform.python_version()} on {platform.machine()}. Median of
{len(r['commands'])} runs after one warm-up.

| measure | seconds | note |
|---|---:|---|
{rows}

Each query (median, ms):

| query | ms |
|---|---:|
{per_query}
{END}"""


def main() -> int:
    """Run, print, and optionally record the section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=300)
    parser.add_argument("--queues", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    text = section(run(args.agents, args.queues, args.repeats))
    print(text)
    if args.write:
        replace_section(args.write, BEGIN, END, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
