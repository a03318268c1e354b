"""What the MQTT link's fast receive path buys: the controller on it and on stock paho.

The link (``wallboard/adapters/mqtt.py``) receives either on its fast path
(``wallboard/adapters/mqtt_fast.py``, which overrides private parts of paho) or on stock paho
(``WALLBOARD_MQTT_FAST=0``). This runs the real controller process both ways on a private
mosquitto on loopback, fed from this process, with ``mosquitto_sub`` as the reference.

Site load: a 2,000-agent site peaks at about 500 events a second. The first ``--paced``
messages of a simulated floor (as in ``controller_live.py``) go out at QoS 1 at 500 a second,
then a help request as a sentinel. Measured: the CPU time (user and system, from ``/proc``)
each receiver spends from the first publish until it has everything, per message, and as a
share of one core. The controller also works when nothing arrives (its 0.2 s timers and
snapshot refreshes), so its CPU over the 5 s before the stream is measured too.

Saturation: the first ``--events`` messages published as fast as one paho client can;
messages a second until the controller's reply to the sentinel (``mosquitto_sub``: until it
has them all). Every run must end with ``kpi/floor`` showing exactly the counts the stream
gives folded here. Each of ``--repeats`` rounds runs every receiver, the two paths in
alternating order; medians are reported. ``--write docs/benchmarks.md`` records the result.
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
import time
import uuid
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path

from controller_live import (
    Controller,
    Probe,
    Wire,
    _await_suback,
    _day_start,
    _for_site,
    _log_size,
    _mosquitto_version,
    _no_match,
    _timeout,
    expected_today,
    stream,
)
from doc_section import replace_section

from wallboard.adapters.mqtt import FAST_ENV
from wallboard.devservices import Mosquitto, find_binary, tail, wait_for
from wallboard.messages import DeskHelp, encode
from wallboard.services.controller import input_subscriptions
from wallboard.topics import DEFAULT_ROOT, Kind, build, subscription

SITE_RATE = 500.0  # events a second at a 2,000-agent site's peak
IDLE_S = 5.0  # the controller's own CPU with no input, measured over this long
SENTINEL_DESK = "bench-sentinel"
SETTLE_S = 1.0
RATE_SITE = "bench-rate"  # the site controller_live.stream() writes; each run moves it
TICK_S = 1 / os.sysconf("SC_CLK_TCK")
PATHS = {"fast": "1", "stock": "0"}  # the link's receive path -> WALLBOARD_MQTT_FAST
BEGIN, END = "<!-- mqtt_fast_path:begin -->", "<!-- mqtt_fast_path:end -->"

Publish = Callable[[Probe, Wire], float]  # publishes the stream; returns the first's time


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid`` so far (a zombie's stays readable until reaped)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_S  # utime, stime


def blast(probe: Probe, wire: Wire) -> float:
    """Publish as fast as paho takes it; return the time of the first."""
    publish = probe.client.publish
    start = time.perf_counter()
    for topic, payload in wire:
        publish(topic, payload, qos=1)
    return start


def paced(probe: Probe, wire: Wire, rate: float = SITE_RATE) -> float:
    """Publish on a fixed schedule of ``rate`` a second; return the time of the first."""
    publish = probe.client.publish
    start = time.perf_counter()
    for i, (topic, payload) in enumerate(wire):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        publish(topic, payload, qos=1)
    return start


def mosquitto_sub_run(broker: Mosquitto, probe: Probe, wire: Wire, filters: list[str],
                      publish: Publish) -> tuple[float, float]:
    """Seconds and CPU seconds until ``mosquitto_sub -C N`` has the stream and exits."""
    binary = find_binary("mosquitto_sub")
    if binary is None:
        raise RuntimeError("mosquitto_sub is not installed (mosquitto-clients)")
    client_id = f"bench-sub-{uuid.uuid4().hex[:8]}"
    offset = _log_size(broker)
    argv = [binary, "-h", broker.host, "-p", str(broker.port), "-V", "mqttv5", "-q", "1",
            "-i", client_id, "-C", str(len(wire)), *[a for f in filters for a in ("-t", f)]]
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        _await_suback(broker, client_id, offset, lambda: process.poll() is None,
                      "mosquitto_sub")
        before = cpu_seconds(process.pid)
        start = publish(probe, wire)

        def exited() -> bool:  # without reaping it, so its CPU time can still be read
            info = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
            return info is not None

        wait_for(exited, _timeout(len(wire)), interval=0.005, what="mosquitto_sub")
        seconds = time.perf_counter() - start
        cpu = cpu_seconds(process.pid) - before
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"mosquitto_sub exited with {process.returncode}")
    return seconds, cpu


def controller_run(probe: Probe, wire: Wire, controller: Controller,
                   expected: tuple[int, ...], publish: Publish) -> tuple[float, float, float]:
    """Seconds and CPU seconds until the sentinel's reply, and the idle CPU share before.

    The run only counts if ``kpi/floor`` then shows exactly the ``expected`` counts.
    """
    assert controller.process is not None
    pid, site = controller.process.pid, controller.config.site.id
    sentinel = f"s{uuid.uuid4().hex[:12]}"
    floor_topic = build(Kind.KPI_FLOOR, site=site)
    shown: list[tuple[int, ...]] = []

    def match(topic: str, payload: bytes) -> Iterable[str]:
        if topic == floor_topic:
            today = json.loads(payload)["today"]
            shown.append(tuple(int(today[k]) for k in ("offered", "answered", "abandoned",
                                                       "completed")))
            return ("floor",) if shown[-1] == expected else ()
        if topic.endswith("/" + SENTINEL_DESK) and json.loads(payload)["request"] == sentinel:
            return ("sentinel",)
        return ()

    idle_from, idle_t = cpu_seconds(pid), time.perf_counter()
    time.sleep(IDLE_S)
    idle_share = (cpu_seconds(pid) - idle_from) / (time.perf_counter() - idle_t)
    probe.arrived.clear()
    probe.match = match
    before = cpu_seconds(pid)
    start = publish(probe, wire)
    probe.publish(build(Kind.DESK_HELP, site=site, desk=SENTINEL_DESK),
                  encode(DeskHelp(ts=time.time(), request=sentinel, state="requested")))
    wait_for(lambda: probe.has("sentinel"), _timeout(len(wire)), interval=0.002,
             what="the controller to fold the stream")
    seconds = probe.arrived["sentinel"] - start
    cpu = cpu_seconds(pid) - before
    limit = controller.config.controller.publish_max_interval_s + 5.0
    with contextlib.suppress(AssertionError):
        wait_for(lambda: probe.has("floor"), limit, what="kpi/floor")
    probe.match = _no_match
    if "floor" not in probe.arrived:
        raise RuntimeError(f"kpi/floor never showed today's counts {expected}; last "
                           f"{shown[-1:]}\ncontroller log:\n{tail(controller.log_path)}")
    return seconds, cpu, idle_share


def measure(broker: Mosquitto, work: Path, events: int, paced_events: int, repeats: int
            ) -> dict[str, dict[str, list[float]]]:
    """Every receiver, paced and flat out, ``repeats`` times: rates and CPU µs a message."""
    wire = stream(max(events, paced_events), RATE_SITE, time.time() - 60)
    day_start = _day_start(json.loads(wire[0][1])["ts"] - 60)
    loads: dict[str, tuple[Wire, Publish]] = {"site": (wire[:paced_events], paced),
                                             "saturation": (wire[:events], blast)}
    results: dict[str, dict[str, list[float]]] = {}
    probe = Probe(broker, [subscription(Kind.KPI_FLOOR), subscription(Kind.HELP)], "fastpath")
    expected: dict[str, tuple[int, ...]] = {}
    try:
        for round_no in range(1, repeats + 1):
            order = list(PATHS) if round_no % 2 else list(reversed(PATHS))
            for load, (load_wire, publish) in loads.items():
                n = len(load_wire)
                site = f"bench-fp-{load}-{round_no}"
                run_wire = _for_site(load_wire, site)
                filters = [f for f, _ in input_subscriptions(DEFAULT_ROOT, site)]
                seconds, cpu = mosquitto_sub_run(broker, probe, run_wire, filters, publish)
                _add(results, f"{load}:sub", n, seconds, cpu)
                time.sleep(SETTLE_S)
                for path in order:
                    os.environ[FAST_ENV] = PATHS[path]  # the controller inherits it
                    controller = Controller(broker, work, f"{site}-{path}", day_start)
                    run_wire = _for_site(load_wire, controller.config.site.id)
                    if load not in expected:
                        expected[load] = expected_today(controller.config, run_wire,
                                                        time.time())
                    with controller:
                        seconds, cpu, idle = controller_run(probe, run_wire, controller,
                                                            expected[load], publish)
                    _check_path(controller, path)
                    _add(results, f"{load}:{path}", n, seconds, cpu)
                    results[f"{load}:{path}"].setdefault("idle", []).append(idle)
                    time.sleep(SETTLE_S)
                print(f"round {round_no}, {load}: done", file=sys.stderr)
    finally:
        probe.close()
        os.environ.pop(FAST_ENV, None)
    return results


def _check_path(controller: Controller, path: str) -> None:
    """Make sure the controller ran on the path asked for, not on a fallback."""
    said = "fast receive path" if path == "fast" else "stock paho receive path"
    if said not in controller.log_path.read_text(encoding="utf-8"):
        raise RuntimeError(f"the controller did not say '{said}':\n{tail(controller.log_path)}")


def _add(results: dict[str, dict[str, list[float]]], key: str, n: int, seconds: float,
         cpu: float) -> None:
    """Record one run: messages a second, and CPU µs a message."""
    entry = results.setdefault(key, {})
    entry.setdefault("rate", []).append(n / seconds)
    entry.setdefault("cpu_us", []).append(cpu / n * 1e6)


def summary(results: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    """Medians of every measure."""
    return {key: {name: statistics.median(values) for name, values in entry.items()}
            for key, entry in results.items()}


def _runs(values: list[float], digits: int = 0) -> str:
    """Every run's value in run order."""
    return ", ".join(f"{v:,.{digits}f}" for v in values)


def markdown(results: dict[str, dict[str, list[float]]], info: dict[str, str]) -> str:
    """The result as the section of docs/benchmarks.md that this benchmark owns."""
    m = summary(results)
    site, sat = "site", "saturation"
    lines = [
        BEGIN,
        "## The MQTT link's fast path (`benchmarks/mqtt_fast_path.py`)",
        "",
        f"The real controller process on the link's fast receive path and on stock paho "
        f"(`WALLBOARD_MQTT_FAST=0`), paho-mqtt {info['paho']}, on a private mosquitto "
        f"{info['mosquitto']} on loopback; load from a third process, `mosquitto_sub -V mqttv5 "
        f"-q 1 -C N` as the reference, all in the same run. Python {info['python']} on "
        f"{info['machine']}, {info['cpus']} CPUs (load average {info['load']}). "
        f"Median of {info['repeats']} rounds; each "
        "round runs every receiver, the two paths in alternating order, and every controller "
        "run ended with `kpi/floor` showing exactly the counts of the stream folded here.",
        "",
        f"**Site load**: {info['paced']} messages of a simulated 500-agent floor at QoS 1, "
        f"paced at {SITE_RATE:,.0f} a second (a 2,000-agent site's peak). CPU time of the "
        "receiving process (user and system) from the first publish until it had everything:",
        "",
        "| receiver | CPU µs a message | share of one core | note |",
        "|---|---:|---:|---|",
    ]
    for key, name in ((f"{site}:fast", "controller, fast path"),
                      (f"{site}:stock", "controller, stock paho"),
                      (f"{site}:sub", "reference: `mosquitto_sub`")):
        cpu = m[key]["cpu_us"]
        share = cpu * SITE_RATE / 1e6
        note = f"runs: {_runs(results[key]['cpu_us'])}"
        if "idle" in m[key]:
            note += (f"; with no input it takes {m[key]['idle']:.1%} of a core "
                     "(timers, snapshot refreshes)")
        lines.append(f"| {name} | {cpu:,.0f} | {share:.1%} | {note} |")
    fast, stock = m[f"{site}:fast"]["cpu_us"], m[f"{site}:stock"]["cpu_us"]
    lines += [
        "",
        f"At site load stock paho costs the controller {stock - fast:,.0f} µs a message more "
        f"({stock / fast:.2f} times the fast path's): "
        f"{(stock - fast) * SITE_RATE / 1e6:.1%} of one core.",
        "",
        f"**Saturation**: {info['events']} messages of the same floor published as fast as one "
        "paho client can; messages a second from the first publish until the controller's "
        "reply to a sentinel help request (for `mosquitto_sub`, until it has them all):",
        "",
        "| receiver | messages a second | ÷ `mosquitto_sub` | CPU µs a message | runs |",
        "|---|---:|---:|---:|---|",
    ]
    sub_rate = m[f"{sat}:sub"]["rate"]
    for key, name in ((f"{sat}:fast", "controller, fast path"),
                      (f"{sat}:stock", "controller, stock paho"),
                      (f"{sat}:sub", "reference: `mosquitto_sub`")):
        rate = m[key]["rate"]
        lines.append(f"| {name} | {rate:,.0f} | {rate / sub_rate:.2f} | "
                     f"{m[key]['cpu_us']:,.0f} | {_runs(results[key]['rate'])} |")
    fast_rate, stock_rate = m[f"{sat}:fast"]["rate"], m[f"{sat}:stock"]["rate"]
    lines += [
        "",
        f"Flat out the fast path takes {fast_rate / stock_rate:.2f} times as many messages a "
        "second as stock paho. On these 2 CPUs the publisher and the broker share the "
        "machine with the controller, so the saturation rates are lower than on a hub "
        "whose broker and controller have cores of their own.",
        END,
    ]
    return "\n".join(lines)


def run(events: int, paced_events: int, repeats: int) -> str:
    """Start a broker, measure, and return the Markdown section."""
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="wallboard-bench-") as tmp, Mosquitto() as broker:
        results = measure(broker, Path(tmp), events, paced_events, repeats)
        info = {"load": f"{load_before:.2f} before the run, {os.getloadavg()[0]:.2f} after",
                "paho": metadata.version("paho-mqtt"),
                "mosquitto": _mosquitto_version(broker.binary),
                "python": platform.python_version(), "machine": platform.machine(),
                "cpus": str(os.cpu_count() or 0), "repeats": str(repeats),
                "events": f"{events:,}", "paced": f"{paced_events:,}"}
        return markdown(results, info)


def main() -> int:
    """Run the benchmark, print the result, optionally record it."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=60_000, help="messages, flat out")
    parser.add_argument("--paced", type=int, default=15_000,
                        help=f"messages at {SITE_RATE:g} a second")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (median)")
    parser.add_argument("--write", type=Path, help="record the result in this Markdown file")
    args = parser.parse_args()
    if args.events < 1000 or args.paced < 1000 or args.repeats < 1:
        parser.error("use at least 1,000 messages each way and 1 repeat")
    section = run(args.events, args.paced, args.repeats)
    print(section)
    if args.write:
        replace_section(args.write, BEGIN, END, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
