"""The real controller process on a real mosquitto: reply latency and sustained throughput.

Everything runs on loopback: a private mosquitto (``wallboard.devservices.Mosquitto``), the
controller as a subprocess (``python -m wallboard.cli controller``) with the production
pacing (a snapshot topic at most once per ``publish_min_interval_s``, at least once per
``publish_max_interval_s``), and this process as the load generator and observer.

Latency: samples go out on a fixed 25 ms schedule, round robin over 50 queues (or desks), so
one queue sees an event only every 1.25 s and its snapshot goes out on the pacing's leading
edge instead of waiting out the minimum interval. Each sample is timed from just before the
publish to the arrival of the reply: the ``kpi/queue/{queue}`` snapshot whose ``today.offered``
reached the sample's count, or the ``help/{desk}`` state naming the sample's request. Two
rounds of warm-up (creating every queue and desk) are left out.

Throughput: the first ``--events`` messages of a simulated 500-agent floor from a busy
Monday 09:00, moved in time to end a minute ago and encoded up front, published at QoS 1 as
fast as one paho client can, then a help request on a sentinel desk. The controller has
folded the stream when its ``help/{desk}`` reply for the sentinel arrives (it folds in
order, on one thread); the retained ``kpi/floor`` must then show exactly the counts the same
stream gives when folded through ``FloorCore`` in this process. The controller's business
day (``site.day_start``) starts just before the stream, so "today" holds all of it at any
hour. Each of ``--repeats`` rounds feeds every receiver in turn (a fresh controller and site
each round) and the medians are reported.

References, measured in the same run because these machines are noisy: the broker round
trip (publish to a plain subscriber, same client and schedule) for latency; ``mosquitto_sub``
and a do-nothing paho subscriber in their own processes, fed the same stream, for
throughput. Run with ``make bench``; ``--write docs/benchmarks.md`` records the result.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import json
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import paho.mqtt.client as mqtt
from doc_section import replace_section
from paho.mqtt.enums import CallbackAPIVersion

from wallboard.config import WallboardConfig, parse_config
from wallboard.devservices import Mosquitto, find_binary, tail, wait_for
from wallboard.floor.core import FloorCore
from wallboard.messages import AgentState, CallEvent, DeskHelp, HelpState, decode, encode
from wallboard.services.controller import input_subscriptions
from wallboard.sim.floor import SimSettings, simulate
from wallboard.topics import DEFAULT_ROOT, Kind, build, subscription

ROOT_DIR = Path(__file__).resolve().parents[1]
SIM_START = 1_795_424_400.0  # 09:00 UTC on a fixed Monday: a busy morning, the same every run
AGENTS = 500
LATENCY_SITE, RATE_SITE = "bench-latency", "bench-rate"
SPREAD = 50  # queues (and desks) the latency samples rotate over
INTERVAL_S = 0.025  # one sample every 25 ms: a queue's turn comes every SPREAD * 25 ms = 1.25 s
WARMUP_ROUNDS = 2
LEAD_S = 60.0  # the stream's last event is this long before the run starts
SETTLE_S = 1.0  # between throughput runs: the last run's PUBACKs and disconnects finish
SENTINEL_DESK = "bench-sentinel"
HELP_P99_TARGET_MS = 50.0
RATE_TARGET = 5_000
BEGIN, END = "<!-- controller_live:begin -->", "<!-- controller_live:end -->"

Wire = list[tuple[str, bytes]]
Matcher = Callable[[str, bytes], Iterable[str]]  # a reply -> the sample keys it answers
Sender = Callable[[int], tuple[str, float]]  # sample index -> (reply key, send time)
Result = dict[str, float | int | str]


def _percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile, so the number is a latency that was actually measured."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def _rate(n: int, seconds: float) -> float:
    """Events per second."""
    return n / seconds if seconds > 0 else float("inf")


def _no_match(topic: str, payload: bytes) -> Iterable[str]:
    """Match nothing (between phases)."""
    return ()


class Probe:
    """A plain paho client in this process: it publishes, and stamps the replies it matches."""

    def __init__(self, broker: Mosquitto, filters: Sequence[str], name: str,
                 nodelay: bool = False) -> None:
        """Connect, subscribe to ``filters`` at QoS 1 and wait for the SUBACK."""
        self.arrived: dict[str, float] = {}  # written by paho's thread, read by the main one
        self.match: Matcher = _no_match
        self.error: Exception | None = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"bench-{name}-{uuid.uuid4().hex[:8]}")
        # No cap on unacknowledged publishes: the stream must not stall on PUBACKs.
        self.client.max_inflight_messages_set(0)
        self.client.max_queued_messages_set(0)
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.connect(broker.host, broker.port, keepalive=60)
        # For latency the measuring client adds no Nagle delay of its own (paho leaves
        # Nagle on): what is left is the broker's and the controller's, as configured.
        sock = self.client.socket()
        if nodelay and isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client.loop_start()
        self.client.subscribe([(f, 1) for f in filters])
        if not subscribed.wait(10):
            self.close()
            raise RuntimeError(f"probe {name}: subscription not acknowledged")

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        """Stamp before matching, so parsing the reply does not count as latency."""
        now = time.perf_counter()
        try:
            keys = self.match(msg.topic, bytes(msg.payload))
        except Exception as exc:  # raised in the main thread by has(), not lost in paho's
            self.error = exc
            return
        for key in keys:
            self.arrived.setdefault(key, now)

    def has(self, key: str) -> bool:
        """True once a reply for ``key`` arrived; raise the error a matcher hit, if any."""
        if self.error is not None:
            raise RuntimeError(f"bad reply: {self.error!r}") from self.error
        return key in self.arrived

    def publish(self, topic: str, payload: bytes) -> float:
        """Publish at QoS 1; return the time just before paho got the message."""
        t = time.perf_counter()
        self.client.publish(topic, payload, qos=1)
        return t

    def close(self) -> None:
        """Disconnect (the broker may already be gone after Ctrl-C) and stop paho's thread."""
        with contextlib.suppress(Exception):
            self.client.disconnect()
        self.client.loop_stop()


def _log_size(broker: Mosquitto) -> int:
    """Bytes in the broker's log now, so a later search reads only what follows."""
    return broker.log_path.stat().st_size if broker.log_path.exists() else 0


def _await_suback(broker: Mosquitto, client_id: str, offset: int,
                  alive: Callable[[], bool], what: str) -> None:
    """Wait until the broker log says it acknowledged ``client_id``'s subscription."""
    needle = f"Sending SUBACK to {client_id}\n".encode()

    def acknowledged() -> bool:
        if not alive():
            raise RuntimeError(f"{what} exited before subscribing")
        with broker.log_path.open("rb") as log:
            log.seek(offset)
            return needle in log.read()

    wait_for(acknowledged, 30, what=f"{what} to subscribe")


class Controller:
    """``wallboard controller`` as a subprocess with its own config and journal dir."""

    def __init__(self, broker: Mosquitto, work: Path, site: str, day_start: dt.time) -> None:
        """Write the config: production pacing (the defaults), the business day given."""
        self.broker = broker
        self.dir = work / site
        self.dir.mkdir()
        # day_start is moved so no business day ends during the run: the counts the
        # benchmark waits for would start again from zero.
        text = "\n".join([
            "[site]", f'id = "{site}"', f"day_start = {day_start:%H:%M:%S}", "",
            "[mqtt]", f'host = "{broker.host}"', f"port = {broker.port}", "",
            "[controller]", f'state_dir = "{self.dir / "state"}"', "",
        ])
        self.config: WallboardConfig = parse_config(text, "benchmark config")
        self.config_path = self.dir / "wallboard.toml"
        self.config_path.write_text(text, encoding="utf-8")
        self.log_path = self.dir / "controller.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Controller:
        """Start it and return once the broker has acknowledged its subscriptions."""
        offset = _log_size(self.broker)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "wallboard.cli", "controller", "--config",
                 str(self.config_path)],
                cwd=ROOT_DIR, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            _await_suback(self.broker, self.config.controller_client_id, offset,
                          lambda: self.process is not None and self.process.poll() is None,
                          "the controller")
        except BaseException as exc:
            self.__exit__(None, None, None)
            if isinstance(exc, Exception):  # Ctrl-C stays Ctrl-C
                raise RuntimeError(f"controller did not start:\n{tail(self.log_path)}") from exc
            raise
        return self

    def __exit__(self, *_: object) -> None:
        """SIGTERM, then SIGKILL if it does not stop in time."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _day_start(ts: float) -> dt.time:
    """The UTC minute at or before ``ts``: a business day that starts there holds the run."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).time().replace(second=0, microsecond=0)


# -- latency -------------------------------------------------------------------------------


def _sample(probe: Probe, send: Sender, samples: int, warmup: int, what: str) -> list[float]:
    """Send on the fixed schedule and wait for every reply; latencies in ms, warm-up left out."""
    sent: list[tuple[str, float]] = []
    start = time.perf_counter()
    for i in range(warmup + samples):
        # A fixed schedule, not send-after-reply: a slow reply must not thin out the load.
        delay = start + i * INTERVAL_S - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent.append(send(i))
    measured = sent[warmup:]

    def missing() -> int:
        return sum(1 for key, _ in measured if not probe.has(key))

    with contextlib.suppress(AssertionError):
        wait_for(lambda: missing() == 0, 30.0, what=what)
    if missing():
        raise RuntimeError(f"{what}: {missing()} of {samples} replies never arrived")
    return [(probe.arrived[key] - t) * 1000 for key, t in measured]


def _match_ref(topic: str, payload: bytes) -> Iterable[str]:
    """A reference message is answered by itself; its key is the last topic level."""
    return ("ref" + topic.rsplit("/", 1)[1],) if "/bench/ref/" in topic else ()


def _queue_matcher() -> Matcher:
    """Match queue snapshots to samples by the count of calls offered today."""
    seen: dict[str, int] = {}

    def match(topic: str, payload: bytes) -> Iterable[str]:
        if "/kpi/queue/" not in topic:
            return ()
        queue = topic.rsplit("/", 1)[1]
        offered = int(json.loads(payload)["today"]["offered"])
        low = seen.get(queue, 0)
        if offered <= low:
            return ()
        seen[queue] = offered
        # One snapshot that took in two samples at once answers both.
        return [f"{queue}:{n}" for n in range(low + 1, offered + 1)]

    return match


def _match_help(topic: str, payload: bytes) -> Iterable[str]:
    """A help state answers the sample that requested it; the cancellations answer nothing."""
    if "/help/" not in topic:
        return ()
    data = json.loads(payload)
    return (str(data["request"]),) if data["state"] == "requested" else ()


def latencies(broker: Mosquitto, work: Path, samples: int) -> dict[str, list[float]]:
    """Broker round trip, call → queue snapshot and help → help state, in ms."""
    site, root = LATENCY_SITE, DEFAULT_ROOT
    warmup = WARMUP_ROUNDS * SPREAD
    probe = Probe(broker, [f"{root}/{site}/bench/ref/+", subscription(Kind.KPI_QUEUE, site=site),
                           subscription(Kind.HELP, site=site)], "latency", nodelay=True)
    try:
        with Controller(broker, work, site, _day_start(time.time() - 3600)) as controller:
            pacing = controller.config.controller
            # The schedule only measures the leading edge if a queue's turn comes back
            # after the minimum interval, with room to spare for a slow reply.
            if pacing.publish_min_interval_s + 0.2 > SPREAD * INTERVAL_S:
                raise RuntimeError("too few queues for the schedule and the pacing")
            queues = [f"lq{n:02d}" for n in range(SPREAD)]
            desks = [f"ld{n:02d}" for n in range(SPREAD)]
            body = encode(CallEvent(ts=time.time(), call="ref", event="offered"))

            def send_ref(i: int) -> tuple[str, float]:
                return f"ref{i}", probe.publish(f"{root}/{site}/bench/ref/{i}", body)

            counts = dict.fromkeys(queues, 0)

            def send_call(i: int) -> tuple[str, float]:
                queue = queues[i % SPREAD]
                counts[queue] += 1
                payload = encode(CallEvent(ts=time.time(), call=f"c{i}", event="offered"))
                topic = build(Kind.CALL, site=site, queue=queue)
                return f"{queue}:{counts[queue]}", probe.publish(topic, payload)

            def help_message(i: int, state: HelpState) -> tuple[str, bytes]:
                desk = desks[i % SPREAD]
                message = DeskHelp(ts=time.time(), request=f"r{i}", state=state,
                                   agent=f"a{desk}")
                return build(Kind.DESK_HELP, site=site, desk=desk), encode(message)

            def send_help(i: int) -> tuple[str, float]:
                t = probe.publish(*help_message(i, "requested"))
                # Close the request sent half a round ago, after this one goes out, so its
                # desk is free again when its turn comes and the closing is not queued ahead.
                if i >= SPREAD // 2:
                    probe.publish(*help_message(i - SPREAD // 2, "cancelled"))
                return f"r{i}", t

            result = {}
            probe.match = _match_ref
            result["ref"] = _sample(probe, send_ref, samples, warmup, "broker round trips")
            probe.match = _queue_matcher()
            result["queue"] = _sample(probe, send_call, samples, warmup, "queue snapshots")
            probe.match = _match_help
            result["help"] = _sample(probe, send_help, samples, warmup, "help states")
            return result
    finally:
        probe.close()


# -- throughput ----------------------------------------------------------------------------


def stream(events: int, site: str, end: float) -> Wire:
    """The first ``events`` messages of the simulated floor, moved so the last is at ``end``.

    Moved into the recent past because the controller reads "today" from the wall clock and
    refuses events more than a day ahead; a whole second keeps the millisecond timestamps.
    """
    messages = list(itertools.islice(
        simulate(SimSettings(agents=AGENTS, site=site), SIM_START), events))
    if len(messages) < events:
        raise RuntimeError(f"the simulator gave only {len(messages)} events")
    shift = round(end - messages[-1][1].ts)
    wire: Wire = []
    for topic, msg in messages:
        update = {"ts": round(msg.ts + shift, 3)}
        if isinstance(msg, AgentState):
            update["since"] = round(msg.since + shift, 3)
        wire.append((topic, encode(msg.model_copy(update=update))))
    return wire


def expected_today(config: WallboardConfig, wire: Wire, now: float) -> tuple[int, ...]:
    """Today's offered, answered, abandoned and completed after folding ``wire`` here."""
    core = FloorCore(config.floor_settings())
    for topic, payload in wire:
        core.fold(decode(topic, payload, now=now))
    today = core.snapshots(now)[1].today
    return today.offered, today.answered, today.abandoned, today.completed


def _blast(probe: Probe, wire: Wire) -> float:
    """Publish the whole stream as fast as paho takes it; return the time of the first."""
    publish = probe.client.publish
    start = time.perf_counter()
    for topic, payload in wire:
        publish(topic, payload, qos=1)
    return start


def _watch_exit(process: subprocess.Popen[bytes]) -> dict[str, float]:
    """Stamp the moment ``process`` exits, from a thread started before the stream."""
    stamps: dict[str, float] = {}

    def wait() -> None:
        process.wait()
        stamps["done"] = time.perf_counter()

    threading.Thread(target=wait, daemon=True).start()
    return stamps


def _watch_lines(stdout: IO[bytes]) -> dict[str, float]:
    """Stamp each line a child prints (``ready``, ``done``) as it arrives."""
    stamps: dict[str, float] = {}

    def read() -> None:
        for line in stdout:
            stamps.setdefault(line.decode().strip(), time.perf_counter())

    threading.Thread(target=read, daemon=True).start()
    return stamps


@contextlib.contextmanager
def _child(argv: list[str], stdout: int) -> Iterator[subprocess.Popen[bytes]]:
    """A child process that is killed if still running when the block ends."""
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout, cwd=ROOT_DIR)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def _timeout(events: int) -> float:
    """How long to wait for a stream to be taken in: generous, at 1,000 events/s."""
    return max(60.0, events / 1000)


def mosquitto_sub_seconds(broker: Mosquitto, probe: Probe, wire: Wire,
                          filters: list[str]) -> float | None:
    """Seconds from the first publish until ``mosquitto_sub -C N`` exits; None if not installed."""
    binary = find_binary("mosquitto_sub")
    if binary is None:
        return None
    client_id = f"bench-sub-{uuid.uuid4().hex[:8]}"
    topics = [arg for f in filters for arg in ("-t", f)]
    offset = _log_size(broker)
    argv = [binary, "-h", broker.host, "-p", str(broker.port), "-V", "mqttv5", "-q", "1",
            "-i", client_id, "-C", str(len(wire)), *topics]
    with _child(argv, subprocess.DEVNULL) as process:
        _await_suback(broker, client_id, offset, lambda: process.poll() is None,
                      "mosquitto_sub")
        stamps = _watch_exit(process)
        start = _blast(probe, wire)
        wait_for(lambda: "done" in stamps, _timeout(len(wire)), what="mosquitto_sub")
        if process.returncode != 0:
            raise RuntimeError(f"mosquitto_sub exited with {process.returncode}")
    return stamps["done"] - start


def sink_seconds(broker: Mosquitto, probe: Probe, wire: Wire, filters: list[str]) -> float:
    """Seconds from the first publish until a do-nothing paho subscriber has the whole stream."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--sink", broker.host,
            str(broker.port), str(len(wire)), *filters]
    with _child(argv, subprocess.PIPE) as process:
        assert process.stdout is not None
        stamps = _watch_lines(process.stdout)
        wait_for(lambda: "ready" in stamps or process.poll() is not None, 30,
                 what="the paho subscriber")
        if "ready" not in stamps:
            raise RuntimeError("the paho subscriber exited before subscribing")
        start = _blast(probe, wire)
        wait_for(lambda: "done" in stamps, _timeout(len(wire)), what="the paho subscriber")
    return stamps["done"] - start


def controller_seconds(probe: Probe, wire: Wire, controller: Controller,
                       expected: tuple[int, ...]) -> tuple[float, float]:
    """Seconds from the first publish until the sentinel reply, and until ``kpi/floor`` agrees."""
    site = controller.config.site.id
    sentinel = f"s{uuid.uuid4().hex[:12]}"
    wrong: list[tuple[int, ...]] = []
    floor_topic = build(Kind.KPI_FLOOR, site=site)

    def match(topic: str, payload: bytes) -> Iterable[str]:
        if topic == floor_topic:
            today = json.loads(payload)["today"]
            counts = tuple(int(today[k]) for k in ("offered", "answered", "abandoned",
                                                   "completed"))
            if counts == expected:
                return ("floor",)
            if any(c > e for c, e in zip(counts, expected, strict=True)):
                wrong.append(counts)  # more than the stream holds: the run is not exact
        elif topic.endswith("/" + SENTINEL_DESK) and json.loads(payload)["request"] == sentinel:
            return ("sentinel",)
        return ()

    probe.arrived.clear()
    probe.match = match
    desk_help = DeskHelp(ts=time.time(), request=sentinel, state="requested")
    start = _blast(probe, wire)
    probe.publish(build(Kind.DESK_HELP, site=site, desk=SENTINEL_DESK), encode(desk_help))
    wait_for(lambda: probe.has("sentinel") or wrong,
             _timeout(len(wire)), what="the controller to fold the stream")
    # The floor snapshot is paced (at most once per publish_min_interval_s), so allow for it.
    limit = controller.config.controller.publish_max_interval_s + 5.0
    with contextlib.suppress(AssertionError):
        wait_for(lambda: probe.has("floor") or wrong, limit,
                 what="kpi/floor")
    if wrong or "floor" not in probe.arrived:
        raise RuntimeError(f"kpi/floor never showed today's counts {expected}"
                           + (f"; it showed {wrong[-1]}" if wrong else "")
                           + f"\ncontroller log:\n{tail(controller.log_path)}")
    probe.match = _no_match
    return probe.arrived["sentinel"] - start, probe.arrived["floor"] - start


def _for_site(wire: Wire, site: str) -> Wire:
    """The stream with its topics moved to ``site``: each run gets a fresh controller and site."""
    old = f"{DEFAULT_ROOT}/{RATE_SITE}/"
    return [(f"{DEFAULT_ROOT}/{site}/" + topic.removeprefix(old), payload)
            for topic, payload in wire]


def _runs(rates: list[float]) -> str:
    """Every run's rate, in run order, for the note next to the median."""
    return ", ".join(f"{r:,.0f}" for r in rates)


def throughput(broker: Mosquitto, work: Path, events: int, repeats: int) -> Result:
    """The same stream into mosquitto_sub, a do-nothing paho subscriber and the controller.

    Each of ``repeats`` rounds runs all three in turn, so a noisy spell hits a whole round;
    the medians are reported.
    """
    wire = stream(events, RATE_SITE, time.time() - LEAD_S)
    first_ts, last_ts = (json.loads(wire[i][1])["ts"] for i in (0, -1))
    day_start = _day_start(first_ts - 60)
    expected: tuple[int, ...] = ()
    pacing = parse_config("").controller
    rates: dict[str, list[float]] = {"sub": [], "sink": [], "fold": [], "floor": []}
    n = len(wire)
    # Nothing in the stream is retained, so each run sees only what is sent to it.
    probe = Probe(broker, [subscription(Kind.KPI_FLOOR), subscription(Kind.HELP)], "rate")
    try:
        for round_no in range(1, repeats + 1):
            site = f"{RATE_SITE}-{round_no}"
            run_wire = _for_site(wire, site)
            controller = Controller(broker, work, site, day_start)
            pacing = controller.config.controller
            if not expected:
                expected = expected_today(controller.config, run_wire, time.time())
            filters = [f for f, _ in input_subscriptions(DEFAULT_ROOT, site)]
            sub_s = mosquitto_sub_seconds(broker, probe, run_wire, filters)
            if sub_s is not None:
                rates["sub"].append(_rate(n, sub_s))
            time.sleep(SETTLE_S)
            rates["sink"].append(_rate(n, sink_seconds(broker, probe, run_wire, filters)))
            time.sleep(SETTLE_S)
            with controller:
                fold_s, floor_s = controller_seconds(probe, run_wire, controller, expected)
            rates["fold"].append(_rate(n, fold_s))
            rates["floor"].append(_rate(n, floor_s))
            time.sleep(SETTLE_S)
    finally:
        probe.close()
    offered, answered, abandoned, completed = expected
    fold, sink_rate = statistics.median(rates["fold"]), statistics.median(rates["sink"])
    result: Result = {
        "events": n, "agents": AGENTS, "stream_h": round((last_ts - first_ts) / 3600, 1),
        "repeats": repeats,
        "offered": offered, "answered": answered, "abandoned": abandoned,
        "completed": completed,
        "fold_per_s": round(fold), "fold_runs": _runs(rates["fold"]),
        "floor_per_s": round(statistics.median(rates["floor"])),
        "floor_runs": _runs(rates["floor"]),
        "sink_per_s": round(sink_rate), "sink_runs": _runs(rates["sink"]),
        "fold_vs_sink": round(fold / sink_rate, 3),
        "sub_per_s": "", "sub_runs": "", "fold_vs_sub": "",
        "min_interval_s": pacing.publish_min_interval_s,
        "max_interval_s": pacing.publish_max_interval_s,
    }
    if rates["sub"]:
        sub_rate = statistics.median(rates["sub"])
        result.update(sub_per_s=round(sub_rate), sub_runs=_runs(rates["sub"]),
                      fold_vs_sub=round(fold / sub_rate, 3))
    return result


# -- the run -------------------------------------------------------------------------------


def _mosquitto_version(binary: str) -> str:
    """The broker's version, from the first line of ``mosquitto -h``."""
    out = subprocess.run([binary, "-h"], capture_output=True, text=True, check=False).stdout
    words = out.split()
    return words[2] if len(words) > 2 and words[1] == "version" else "(unknown)"


def run(samples: int, events: int, repeats: int, broker_config: Sequence[str] = ()
        ) -> Result:
    """Start a broker, measure latency then throughput, and return the numbers."""
    with tempfile.TemporaryDirectory(prefix="wallboard-bench-") as tmp, \
            Mosquitto(extra_config=broker_config) as broker:
        work = Path(tmp)
        lat = latencies(broker, work, samples)
        result = throughput(broker, work, events, repeats)
        result.update({
            "samples": samples, "spread": SPREAD, "interval_ms": round(INTERVAL_S * 1000),
            "mosquitto": _mosquitto_version(broker.binary),
            "broker_config": "; ".join(broker_config),
            "python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count() or 0,
        })
        for name, values in lat.items():
            result[f"{name}_p50_ms"] = round(_percentile(values, 50), 2)
            result[f"{name}_p99_ms"] = round(_percentile(values, 99), 2)
        return result


def meets(r: Result) -> dict[str, bool]:
    """Each target and whether this run meets it."""
    return {"help": float(r["help_p99_ms"]) <= HELP_P99_TARGET_MS,
            "rate": float(r["fold_per_s"]) >= RATE_TARGET}


def _over(r: Result, name: str) -> str:
    """Controller latency against the broker round trip: the difference and the ratio."""
    cells = []
    for p in ("p50", "p99"):
        value, ref = float(r[f"{name}_{p}_ms"]), float(r[f"ref_{p}_ms"])
        ratio = f"{value / ref:.1f} times" if ref > 0 else "n/a"
        cells.append(f"+{value - ref:.2f} ms ({ratio})")
    return " / ".join(cells)


def markdown(r: Result) -> str:
    """The result as the section of docs/benchmarks.md that this benchmark owns."""
    ok = meets(r)
    help_verdict = "meets" if ok["help"] else "MISSES"
    rate_verdict = "meets" if ok["rate"] else "MISSES"
    sub_row = (f"| reference: `mosquitto_sub -V mqttv5 -q 1 -C N` | {r['sub_per_s']:,} | "
               f"controller ÷ reference: {r['fold_vs_sub']}; runs: {r['sub_runs']} |"
               if r["sub_per_s"] != "" else "| reference: `mosquitto_sub` | n/a | not installed |")
    return "\n".join([
        BEGIN,
        "## Controller, live (`benchmarks/controller_live.py`)",
        "",
        "The real controller process (`wallboard controller`, production pacing: a snapshot "
        f"topic at most every {r['min_interval_s']} s, at least every {r['max_interval_s']} s) "
        f"on a private mosquitto {r['mosquitto']} on loopback "
        + (f"(test broker config plus `{r['broker_config']}`)" if r["broker_config"]
           else "(the test broker's config)")
        + "; load and timing from a third process. "
        f"Python {r['python']} on {r['machine']}, {r['cpus']} CPUs.",
        "",
        f"Latency: {r['samples']:,} samples each, one every {r['interval_ms']} ms round robin "
        f"over {r['spread']} queues (or desks), so every snapshot goes out on the pacing's "
        "leading edge; two warm-up rounds left out. Timed from the publish to the reply's "
        "arrival at the sender, whose socket has Nagle off so any delay left is the broker's "
        "or the controller's.",
        "",
        "| measure | p50 ms | p99 ms | over the broker round trip (p50 / p99) | note |",
        "|---|---:|---:|---|---|",
        f"| reference: broker round trip (QoS 1 publish → plain subscriber) | "
        f"{r['ref_p50_ms']} | {r['ref_p99_ms']} | | measured in the same run |",
        f"| call `offered` → `kpi/queue/{{queue}}` with the new count | {r['queue_p50_ms']} | "
        f"{r['queue_p99_ms']} | {_over(r, 'queue')} | two broker hops, a fold, and "
        "one pass over every snapshot |",
        f"| desk help `requested` → `help/{{desk}}` | {r['help_p50_ms']} | {r['help_p99_ms']} "
        f"| {_over(r, 'help')} | target p99 ≤ {HELP_P99_TARGET_MS:g} ms: {help_verdict} |",
        "",
        "Latencies near multiples of the sample interval would mean a reply waited for the "
        "next sample's traffic: TCP held it back (Nagle's algorithm against delayed ACKs), "
        "which the broker (`set_tcp_nodelay true`) and every client must switch off.",
        "",
        f"Throughput: {r['events']:,} messages of a simulated {r['agents']}-agent floor "
        f"({r['stream_h']} h of a Monday from 09:00: call events, agent states, signals and "
        "help), encoded up front and published at QoS 1, not retained, as fast as one paho "
        "client can, then one help request as a sentinel. Counted from the first publish; "
        f"median of {r['repeats']} rounds, each running every receiver in turn (a fresh "
        "controller and site each round).",
        "",
        "| measure | events per second | note |",
        "|---|---:|---|",
        f"| controller: stream folded (sentinel's `help/{{desk}}` arrives) | "
        f"{r['fold_per_s']:,} | target ≥ {RATE_TARGET:,}: {rate_verdict}; runs: "
        f"{r['fold_runs']} |",
        f"| controller: until `kpi/floor` shows the final counts | {r['floor_per_s']:,} | "
        f"includes up to {r['min_interval_s']} s of snapshot pacing; runs: {r['floor_runs']} |",
        sub_row,
        f"| reference: paho subscriber (MQTT 5) that does nothing | {r['sink_per_s']:,} | "
        f"controller ÷ reference: {r['fold_vs_sink']}; runs: {r['sink_runs']} |",
        "",
        f"Every round's final `kpi/floor` matched the stream folded through `FloorCore` here: "
        f"{r['offered']:,} offered, {r['answered']:,} answered, {r['abandoned']:,} abandoned, "
        f"{r['completed']:,} completed. Method: the stream is moved to end a minute before "
        "the run and the controller's business day (`site.day_start`) to start just before "
        "its first event, so \"today\" holds all of it at any hour and the counts are exact; "
        "the references take the same stream on the controller's input topics, each in its "
        "own process.",
        END,
    ])


def sink(host: str, port: int, count: int, filters: Sequence[str]) -> int:
    """The reference subscriber (a child process): count messages, print ready and done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which kills us
    received = 0
    done = threading.Event()

    def on_message(client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        nonlocal received
        received += 1
        if received >= count:
            done.set()

    # MQTT 5 like the controller's link, so both parse the same packets.
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5,
                         client_id=f"bench-sink-{uuid.uuid4().hex[:8]}")
    client.on_message = on_message
    client.on_subscribe = lambda *_: print("ready", flush=True)
    client.connect(host, port, keepalive=60)
    client.loop_start()
    client.subscribe([(f, 1) for f in filters])
    finished = done.wait(_timeout(count) + 30)
    if finished:
        print("done", flush=True)
    client.disconnect()
    client.loop_stop()
    return 0 if finished else 1


def _stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so the with-blocks stop the controller and the broker."""
    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def main() -> int:
    """Run the benchmark, print the result, optionally record it."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=1000, help="latency samples per measure")
    parser.add_argument("--events", type=int, default=60_000, help="messages in the stream")
    parser.add_argument("--repeats", type=int, default=3, help="throughput rounds (median)")
    parser.add_argument("--write", type=Path, help="record the result in this Markdown file")
    parser.add_argument("--broker-config", action="append", default=[], metavar="LINE",
                        help="extra mosquitto.conf line, e.g. 'set_tcp_nodelay true'")
    parser.add_argument("--sink", nargs="+", help=argparse.SUPPRESS)  # the reference child
    args = parser.parse_args()
    if args.sink:
        host, port, count, *filters = args.sink
        return sink(host, int(port), int(count), filters)
    if args.samples < 100 or args.events < 1000 or args.repeats < 1:
        parser.error("use at least 100 samples, 1,000 events and 1 repeat")
    _stop_on_sigterm()
    result = run(args.samples, args.events, args.repeats, args.broker_config)
    section = markdown(result)
    print(section)
    if args.write:
        replace_section(args.write, BEGIN, END, section)
    return 0 if all(meets(result).values()) else 1


if __name__ == "__main__":
    sys.exit(main())
