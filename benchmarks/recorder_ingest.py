"""The real recorder process between a real mosquitto and a real influxd: messages stored per
second for a QoS 1 stream, against two references measured in the same run, and its memory
while InfluxDB is down.

Stream: the first ``--messages`` of a simulated 500-agent floor from a busy Monday 09:00
(call events, agent states, signals, help), moved to end a minute ago and encoded up front,
published at QoS 1 as fast as one paho client can, followed by a sentinel help request and
a tail of ``TAIL`` more messages, so the sentinel's batch fills instead of waiting out the
linger: the rate is the sustained one. Timed from the first publish until the sentinel is
in InfluxDB (the recorder writes batches in order, so everything before it is too); the
stored counts are then checked against the stream.

Two layouts, each round running both: ``shared``, where every process may run on every CPU,
and ``own CPU``, where the producer (this process's publisher, and mosquitto) is held to
CPU 0 and the receiver under test (with influxd, for the recorder) to CPU 1, alike for every
receiver. On a machine with fewer CPUs than busy processes, the shared layout also measures
how much CPU a receiver takes from the producer; the other measures whether the receiver
keeps up with what the producer delivers.

References, in the same run, fed the same stream: ``mosquitto_sub -V mqttv5 -q 1`` (the
broker-side limit: the broker and the publisher with a consumer that does nothing), and
InfluxDB's bulk-write rate for the same points (the recorder's lines, written 5,000 to a
request, one request at a time, from this process). Each of ``--repeats`` rounds runs every
receiver in turn; medians are reported.

Outage: a fresh recorder, influxd stopped, ``--outage`` messages published in four parts;
after each part, once the recorder's health shows them spooled, its resident memory is read
from /proc. Then influxd starts again and the spool's drain is timed.

Run with ``make bench``; ``--write docs/benchmarks.md`` records the result.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from controller_live import Wire, stream
from doc_section import replace_section
from paho.mqtt.enums import CallbackAPIVersion

from wallboard.adapters.mqtt import LinkSettings, MqttLink
from wallboard.config import parse_config
from wallboard.devservices import Influxd, Mosquitto, find_binary, tail, wait_for
from wallboard.messages import DeskHelp, Envelope, decode, encode
from wallboard.recorder.schema import message_row
from wallboard.services.database_setup import init_database
from wallboard.topics import Kind, build

ROOT_DIR = Path(__file__).resolve().parents[1]
SITE = "bench"
TAIL = 10_000
BATCH = 5_000
TARGET_RATIO = 0.8
BEGIN, END = "<!-- recorder_ingest:begin -->", "<!-- recorder_ingest:end -->"
# What a site broker logs: not a line per message, which would slow the broker down.
BROKER_LOG = ("error", "warning", "notice", "information")


@dataclass(frozen=True)
class Layout:
    """Which CPUs the producer and the receiver under test may use; all of them if None."""

    name: str
    producer: frozenset[int] | None = None
    receiver: frozenset[int] | None = None

    def place(self, broker: Mosquitto, influxd: Influxd) -> None:
        """Move this process (the publisher), the broker and influxd to their CPUs."""
        every = frozenset(range(os.cpu_count() or 1))
        pin(os.getpid(), self.producer or every)
        pin(broker.pid, self.producer or every)
        pin(influxd.pid, self.receiver or every)

    def child(self) -> Callable[[], None] | None:
        """For ``Popen(preexec_fn=...)``: start a receiver on its CPUs."""
        cpus = self.receiver
        return None if cpus is None else lambda: os.sched_setaffinity(0, cpus)


SHARED = Layout("shared")
OWN_CPU = Layout("own CPU", frozenset({0}), frozenset({1}))


def pin(pid: int | None, cpus: frozenset[int]) -> None:
    """Every thread of ``pid`` to ``cpus``; threads it starts later inherit them."""
    if pid is None:
        raise RuntimeError("process not running")
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError):  # a thread that has just ended
            os.sched_setaffinity(int(task.name), cpus)


class Publisher:
    """One paho client (the project's link) publishing a stream as fast as paho takes it."""

    def __init__(self, broker: Mosquitto) -> None:
        self.link = MqttLink(LinkSettings(broker.host, broker.port, f"bench-pub-{os.getpid()}"))
        if not self.link.start():
            raise RuntimeError("publisher could not connect")

    def blast(self, wire: Wire) -> float:
        """Publish ``wire`` in order; return the time of the first publish."""
        start = time.perf_counter()
        info = None
        for i, (topic, payload) in enumerate(wire):
            info = self.link.publish(topic, payload)
            if i % 20_000 == 19_999:  # paho has 65,535 message ids
                info.wait_for_publish(60)
        if info is not None:
            info.wait_for_publish(60)
        return start

    def close(self) -> None:
        """Disconnect."""
        self.link.stop()


class Health:
    """The recorders' retained health messages, as they arrive."""

    def __init__(self, broker: Mosquitto) -> None:
        self.latest: dict[str, dict[str, Any]] = {}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-health-"
                                  f"{uuid.uuid4().hex[:8]}")
        self.client.on_message = self._message
        self.client.connect(broker.host, broker.port)
        self.client.subscribe(f"wallboard/{SITE}/service/recorder/+", 1)
        self.client.loop_start()

    def _message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.latest[msg.topic.rsplit("/", 1)[1]] = json.loads(msg.payload)

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


class RecorderProcess:
    """``wallboard recorder`` as a subprocess with its own id, database and spool."""

    def __init__(self, broker: Mosquitto, influxd: Influxd, work: Path, name: str,
                 health: Health, layout: Layout = SHARED) -> None:
        self.name, self.health = name, health
        self.db = f"bench_{name}"
        spool = work / "spool"
        self.config_path = work / f"{name}.toml"
        self.config_path.write_text(
            f'[site]\nid = "{SITE}"\n[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
            f'[influx]\nurl = "{influxd.url}"\ndatabase = "{self.db}"\n'
            f'[recorder]\nid = "{name}"\nspool_dir = "{spool}"\nretry_s = 0.5\n'
            f'health_interval_s = 1.0\n')
        config = parse_config(self.config_path.read_text(), str(self.config_path))
        self.config = config
        from wallboard.adapters.influx import InfluxHttp
        init_database(InfluxHttp.from_config(config.influx), config.recorder.retention)
        self.log_path = work / f"{name}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "wallboard.cli", "recorder", "--config",
                 str(self.config_path)], cwd=ROOT_DIR, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, preexec_fn=layout.child())
        wait_for(lambda: name in health.latest, 30, what=f"recorder {name} to report")

    def rss_mib(self) -> float:
        """Resident memory of the process, MiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        """SIGTERM, and wait."""
        self.process.terminate()
        if self.process.wait(30) != 0:
            raise RuntimeError(f"recorder exited {self.process.returncode}\n"
                               + tail(self.log_path))


def stored(influxd: Influxd, db: str) -> int:
    """Points in the raw policy, all measurements but the recorder's own reports."""
    total = 0
    for result in influxd.query('SELECT count("n") FROM "raw"./.*/', db=db)["results"]:
        for series in result.get("series", []):
            if series["name"] not in ("recorder_health", "service_status"):
                total += series["values"][0][1]
    return total


def sentinel_stored(influxd: Influxd, db: str, request: str) -> bool:
    """True once the sentinel help request is in InfluxDB."""
    result = influxd.query(f"SELECT count(\"n\") FROM \"raw\".\"desk_help\" WHERE "
                           f"\"request\" = '{request}'", db=db)["results"][0]
    return bool(result.get("series"))


def with_sentinel(wire: Wire, extra: Wire, request: str) -> Wire:
    """The stream, a sentinel help request, then the tail."""
    message = DeskHelp(ts=time.time(), request=request, state="requested")
    return [*wire, (build(Kind.DESK_HELP, site=SITE, desk="sentinel"), encode(message)),
            *extra]


def cpu_seconds(pid: int | None) -> float:
    """CPU time (user and system) a process has used so far."""
    if pid is None:
        raise RuntimeError("process not running")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def recorder_round(broker: Mosquitto, influxd: Influxd, work: Path, health: Health,
                   wire: Wire, extra: Wire, name: str, layout: Layout
                   ) -> tuple[float, dict[str, float]]:
    """Seconds from the first publish until the sentinel is stored, and each process's CPU
    seconds meanwhile; counts checked."""
    recorder = RecorderProcess(broker, influxd, work, name, health, layout)
    request = f"sentinel-{name}"
    publisher = Publisher(broker)
    pids = {"publisher": os.getpid(), "broker": broker.pid, "influxd": influxd.pid,
            "recorder": recorder.process.pid}
    try:
        full = with_sentinel(wire, extra, request)
        result: dict[str, float] = {}
        thread = threading.Thread(target=lambda: result.update(start=publisher.blast(full)))
        cpu_before = {role: cpu_seconds(pid) for role, pid in pids.items()}
        thread.start()
        wait_for(lambda: sentinel_stored(influxd, recorder.db, request), 600, interval=0.05,
                 what="the sentinel in InfluxDB")
        done = time.perf_counter()
        cpu = {role: cpu_seconds(pid) - cpu_before[role] for role, pid in pids.items()}
        thread.join()
        wait_for(lambda: stored(influxd, recorder.db) >= len(full), 120, interval=0.5,
                 what="the whole stream in InfluxDB")
        time.sleep(1)
        count = stored(influxd, recorder.db)
        if count != len(full):
            raise RuntimeError(f"stored {count} points for {len(full)} messages")
        return done - result["start"], cpu
    finally:
        publisher.close()
        recorder.stop()


def mosquitto_sub_round(broker: Mosquitto, wire: Wire, extra: Wire, layout: Layout) -> float:
    """Seconds from the first publish until ``mosquitto_sub -C N`` has the sentinel."""
    binary = find_binary("mosquitto_sub")
    if binary is None:
        raise RuntimeError("mosquitto_sub not installed: make bench installs it")
    client_id = f"bench-sub-{uuid.uuid4().hex[:8]}"
    base = [binary, "-h", broker.host, "-p", str(broker.port), "-V", "mqttv5", "-q", "1",
            "-i", client_id, "-c", "-x", "600", "-t", f"wallboard/{SITE}/#"]
    # A persistent session subscribed before the stream: nothing is missed while it starts.
    subprocess.run([*base, "-E"], check=True)
    full = with_sentinel(wire, extra, "sentinel-sub")
    publisher = Publisher(broker)
    stamps: dict[str, float] = {}
    process = subprocess.Popen([*base, "-C", str(len(wire) + 1)], stdout=subprocess.DEVNULL,
                               preexec_fn=layout.child())

    def watch() -> None:
        process.wait()
        stamps["done"] = time.perf_counter()

    threading.Thread(target=watch, daemon=True).start()
    try:
        start = publisher.blast(full)
        wait_for(lambda: "done" in stamps, 600, what="mosquitto_sub")
        if process.returncode != 0:
            raise RuntimeError(f"mosquitto_sub exited with {process.returncode}")
        return float(stamps["done"] - start)
    finally:
        publisher.close()
        if process.poll() is None:
            process.kill()


def sink_round(broker: Mosquitto, wire: Wire, extra: Wire, layout: Layout) -> float:
    """Seconds from the first publish until a do-nothing paho subscriber (MQTT 5, in its own
    process) has the sentinel: what the client library alone costs."""
    full = with_sentinel(wire, extra, "sentinel-sink")
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--sink", broker.host,
         str(broker.port), str(len(wire) + 1)], stdout=subprocess.PIPE, cwd=ROOT_DIR,
        preexec_fn=layout.child())
    assert process.stdout is not None
    try:
        if process.stdout.readline().strip() != b"ready":
            raise RuntimeError("the paho subscriber did not subscribe")
        stamps: dict[str, float] = {}

        def watch() -> None:
            process.wait()
            stamps["done"] = time.perf_counter()

        threading.Thread(target=watch, daemon=True).start()
        publisher = Publisher(broker)
        try:
            start = publisher.blast(full)
        finally:
            publisher.close()
        wait_for(lambda: "done" in stamps, 600, what="the paho subscriber")
        return float(stamps["done"] - start)
    finally:
        if process.poll() is None:
            process.kill()


def sink(host: str, port: int, count: int) -> int:
    """The paho subscriber: take ``count`` messages, acknowledging each, then exit."""
    done = threading.Event()
    got = [0]

    def handle(topic: str, payload: bytes, retained: bool) -> None:
        got[0] += 1
        if got[0] >= count:
            done.set()

    link = MqttLink(LinkSettings(host, port, f"bench-sink-{os.getpid()}",
                                 subscriptions=((f"wallboard/{SITE}/#", 1),)), on_message=handle)
    link.on_connected = lambda: print("ready", flush=True)
    link.start()
    done.wait(600)
    link.stop()
    return 0


def bulk_write_seconds(influxd: Influxd, wire: Wire, name: str) -> float:
    """Seconds to write the stream's points, 5,000 lines a request, one after another."""
    now = time.time()
    lines = []
    for topic, payload in wire:
        result = decode(topic, payload, now=now)
        assert isinstance(result, Envelope)
        lines.append(message_row(result, payload, topic).line())
    db = f"bench_bulk_{name}"
    influxd.query(f'CREATE DATABASE "{db}"')
    bodies = [b"\n".join(lines[i:i + BATCH]) for i in range(0, len(lines), BATCH)]
    start = time.perf_counter()
    for body in bodies:
        influxd.write(db, body, precision="ns")
    return time.perf_counter() - start


def outage(broker: Mosquitto, influxd: Influxd, work: Path, health: Health,
           wire: Wire) -> dict[str, Any]:
    """RSS while the stream is spooled with influxd down; then the drain time."""
    recorder = RecorderProcess(broker, influxd, work, "outage", health)
    publisher = Publisher(broker)
    try:
        rss = [recorder.rss_mib()]
        influxd.stop()
        parts = 4
        size = len(wire) // parts
        for n in range(parts):
            publisher.blast(wire[n * size:(n + 1) * size])
            goal = (n + 1) * size
            wait_for(lambda goal=goal: health.latest["outage"]["spooled"] >= goal, 300,  # type: ignore[misc]
                     interval=0.2, what="the recorder to spool")
            rss.append(recorder.rss_mib())
        spooled = health.latest["outage"]["spooled"]
        start = time.perf_counter()
        influxd.restart()
        wait_for(lambda: health.latest["outage"]["spooled"] == 0, 600, interval=0.1,
                 what="the spool to drain")
        drain = time.perf_counter() - start
        stored_points = stored(influxd, recorder.db)
        if stored_points != parts * size:
            raise RuntimeError(f"stored {stored_points} of {parts * size} after the outage")
        return {"rss": rss, "size": size, "spooled": spooled, "drain_s": drain}
    finally:
        publisher.close()
        recorder.stop()


def version(binary: str, flag: str) -> str:
    """The first line a binary prints about its version."""
    out = subprocess.run([binary, flag], capture_output=True, text=True)
    return (out.stdout or out.stderr).splitlines()[0].strip()


def run(messages: int, repeats: int, outage_messages: int) -> dict[str, Any]:
    """Every measurement; medians over ``repeats`` rounds."""
    work = Path(tempfile.mkdtemp(prefix="wallboard-bench-recorder-"))
    end = time.time() - 60
    everything = stream(messages + TAIL, SITE, end)
    wire, extra = everything[:messages], everything[messages:]
    result: dict[str, Any] = {"messages": messages, "rounds": []}
    # Holding the producer and the receiver to a CPU each needs two of them.
    layouts = (SHARED, OWN_CPU) if (os.cpu_count() or 1) >= 2 else (SHARED,)
    result["layouts"] = [layout.name for layout in layouts]
    with Mosquitto(log_types=BROKER_LOG) as broker, Influxd() as influxd:
        result["broker"] = version(broker.binary, "-h")
        result["influx"] = version(influxd.binary, "version")
        health = Health(broker)
        try:
            for n in range(repeats):
                round_: dict[str, float] = {}
                for layout in layouts:
                    layout.place(broker, influxd)
                    sub_s = mosquitto_sub_round(broker, wire, extra, layout)
                    sink_s = sink_round(broker, wire, extra, layout)
                    rec_s, cpu = recorder_round(broker, influxd, work, health, wire, extra,
                                                f"r{n}{layout.name[0]}", layout)
                    # Per message received by then: the stream, the sentinel, part of the tail.
                    round_.update({
                        f"{layout.name}:sub": messages / sub_s,
                        f"{layout.name}:recorder": messages / rec_s,
                        f"{layout.name}:sink": messages / sink_s,
                        **{f"{layout.name}:cpu_{role}": seconds / messages * 1e6
                           for role, seconds in cpu.items()},
                        f"{layout.name}:cpu_share":
                            sum(cpu.values()) / rec_s / (os.cpu_count() or 1)})
                SHARED.place(broker, influxd)
                round_["bulk"] = messages / bulk_write_seconds(influxd, wire, f"b{n}")
                result["rounds"].append(round_)
                print(f"round {n + 1}: {round_}", file=sys.stderr)
            out_wire = stream(outage_messages, SITE, time.time() - 60)
            result["outage"] = outage(broker, influxd, work, health, out_wire)
        finally:
            health.close()
    return result


def section(r: dict[str, Any]) -> str:
    """The benchmark's section of docs/benchmarks.md."""
    def median(key: str) -> float:
        return float(statistics.median(round_[key] for round_ in r["rounds"]))

    def runs(key: str) -> str:
        return ", ".join(f"{round_[key]:,.0f}" for round_ in r["rounds"])

    cpus = os.cpu_count() or 1
    rows, cpu_lines = [], []
    for name in r["layouts"]:
        sub, rec, paho = (median(f"{name}:{k}") for k in ("sub", "recorder", "sink"))
        ratio = rec / sub
        verdict = "meets" if ratio >= TARGET_RATIO else "misses"
        rows += [
            f"| {name} | recorder: stored in InfluxDB | {rec:,.0f} | recorder ÷ "
            f"`mosquitto_sub`: **{ratio:.2f}**, target ≥ {TARGET_RATIO}: {verdict}; runs: "
            f"{runs(f'{name}:recorder')} |",
            f"| {name} | reference: `mosquitto_sub -V mqttv5 -q 1 -C N` | {sub:,.0f} | the "
            f"broker-side limit with this publisher; runs: {runs(f'{name}:sub')} |",
            f"| {name} | reference: paho subscriber (MQTT 5) that does nothing | {paho:,.0f} | "
            f"the client library alone, in its own process; recorder ÷ this: "
            f"{rec / paho:.2f}; runs: {runs(f'{name}:sink')} |"]
        cpu = {role: median(f"{name}:cpu_{role}")
               for role in ("publisher", "broker", "influxd", "recorder")}
        total = sum(cpu.values())
        cpu_lines.append(
            f"- **{name}**: this benchmark's process (the publisher, and the polling for the "
            f"sentinel) {cpu['publisher']:.0f}, mosquitto {cpu['broker']:.0f}, influxd "
            f"{cpu['influxd']:.0f}, recorder {cpu['recorder']:.0f}: {total:.0f} together, "
            f"which keeps {median(f'{name}:cpu_share'):.0%} of the {cpus} CPUs busy. At that, "
            f"{cpus} CPUs allow at most {cpus * 1e6 / total:,.0f} messages a second.")
    bulk = median("bulk")
    rows.append(f"| shared | reference: InfluxDB bulk write of the same points | {bulk:,.0f} | "
                f"5,000 lines a request, one at a time; runs: {runs('bulk')} |")
    table = "\n".join(rows)
    cpu_text = "\n".join(cpu_lines)
    o = r["outage"]
    rss = ", ".join(f"{v:.1f}" for v in o["rss"])
    growth = (o["rss"][-1] - o["rss"][1]) / o["rss"][1] * 100
    return f"""{BEGIN}
## Recorder ingest (`benchmarks/recorder_ingest.py`)

The real recorder process (`wallboard recorder`, batches of 5,000 lines, 1 s linger) between
a private {r['broker']} and {r['influx']} on loopback; the broker logs what a site broker
does, not every message. Load from a third process. Python {platform.python_version()} on
{platform.machine()}, {cpus} CPUs.

Stream: {r['messages']:,} messages of a simulated 500-agent floor (call events, agent states,
signals, help), published at QoS 1 as fast as one paho client can, then a sentinel and
{TAIL:,} more, so the last batch fills rather than lingers. Timed from the first publish to the
sentinel's arrival (in InfluxDB, for the recorder); every round then checked that InfluxDB
holds exactly one point per message. Median of {len(r['rounds'])} rounds, each running every
receiver in each layout in turn. Layouts: **shared**, every process on any CPU; **own CPU**,
the publisher and mosquitto held to CPU 0 and the receiver (with influxd, for the recorder)
to CPU 1, alike for every receiver.

| layout | measure | messages per second | note |
|---|---|---:|---|
{table}

CPU time per message in the recorder's rounds (user and system, from `/proc`, over the same
interval as its rate; medians, µs):
{cpu_text}

InfluxDB down: {4 * o['size']:,} messages published in four parts of {o['size']:,} while
influxd was stopped; the recorder's resident memory before the outage and after each part
(MiB): {rss}. From the first part to the last it changed by {growth:+.1f} %: the spool is on
disk. Once influxd was back, the {o['spooled']:,} spooled messages drained in
{o['drain_s']:.1f} s ({o['spooled'] / o['drain_s']:,.0f} per second), and InfluxDB held
exactly one point per message.
{END}"""


def main() -> int:
    """Run, print, and optionally record the section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--outage", type=int, default=100_000)
    parser.add_argument("--write", type=Path, default=None)
    parser.add_argument("--sink", nargs=3, metavar=("HOST", "PORT", "COUNT"),
                        help=argparse.SUPPRESS)  # the do-nothing subscriber, run as a child
    args = parser.parse_args()
    if args.sink:
        return sink(args.sink[0], int(args.sink[1]), int(args.sink[2]))
    result = run(args.messages, args.repeats, args.outage)
    text = section(result)
    print(text)
    if args.write:
        replace_section(args.write, BEGIN, END, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
