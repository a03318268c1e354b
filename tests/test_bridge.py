"""The shipped bridge (``kiosk/mosquitto/bridge.conf``) between two real brokers on loopback.

Both brokers run the shipped site config (``wallboard.conf``: TLS, logins, ACL), as
``docs/deploy.md`` says the central one does. The site broker also loads the bridge file,
with only its placeholders filled in (site id, the central broker's address and the bridge's
password), so the bridge crosses TLS and logs in as the shipped lines say. The central
broker's ACL for the bridge is the block the bridge file's closing comment gives.

As in ``tests/test_broker_security.py``, every "never arrives" is checked only after a later
message that would have had to arrive behind it, on the same path, has arrived.
"""

from __future__ import annotations

import io
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from tests.live import ROOT_DIR, Recorder, require
from wallboard.devservices import SiteMosquitto, wait_for
from wallboard.security.provision import run_provision
from wallboard.topics import TOPICS, Kind, build

MOSQUITTO_DIR = ROOT_DIR / "kiosk" / "mosquitto"
BRIDGE = MOSQUITTO_DIR / "bridge.conf"
CONF = MOSQUITTO_DIR / "wallboard.conf"
MAKE_CERTS = MOSQUITTO_DIR / "make-certs.sh"
SITE, OTHER = "hq", "north"
HQ = f"wallboard/{SITE}"
STATE = f"$SYS/broker/connection/bridge-{SITE}/state"
# A central operator's login: it may read which sites' bridges are up, as docs/deploy.md shows.
OPS_BLOCK = "user ops\ntopic read $SYS/broker/connection/+/state\n"
HUB_ROLES = {"controller", "recorder"}  # on the hub: the plain loopback listener
SITE_DEVICES = [("telephony", "pbx"), ("desk", "d-1"), ("supervisor-kiosk", "wall-2"),
                ("controller", SITE), ("recorder", "main")]
CENTRAL_DEVICES = [("supervisor-kiosk", "c-1", SITE), ("floor-kiosk", "c-2", SITE),
                   ("floor-kiosk", "c-3", SITE), ("supervisor-kiosk", "c-9", OTHER)]


def filled_bridge(text: str, *, host: str, port: int, password: str) -> str:
    """The shipped bridge file with its placeholders filled, as an installer fills them."""
    assert "address <central-host>:8883\n" in text
    filled = (text.replace("<central-host>:8883", f"{host}:{port}")
              .replace("<site>", SITE).replace("<password>", password))
    active = [line for line in filled.splitlines() if not line.startswith("#")]
    assert not [line for line in active if "<" in line], "a placeholder is left"
    return filled


def central_acl_block(text: str) -> str:
    """The central broker's ACL block for the bridge, from the bridge file's last comment."""
    lines = text.splitlines()
    start = lines.index("#   user bridge-<site>")
    block = []
    for line in lines[start:]:
        if not line.startswith("#   "):
            break
        block.append(line.removeprefix("#   ").replace("<site>", SITE))
    return "\n".join(block) + "\n"


def bridge_topics(text: str) -> list[tuple[str, str]]:
    """Each active ``topic`` line of the filled bridge file as (filter, direction)."""
    found = []
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["topic"]:
            assert len(words) == 4 and words[3] == "1", f"QoS 1 on every topic: {line}"
            found.append((words[1], words[2]))
    return found


@dataclass(frozen=True)
class Login:
    """A user name, its password, and whether it logs in on the plain (hub) listener."""

    username: str
    password: str
    plain: bool


@dataclass
class Broker:
    """One running broker with its CA and the logins made before it started."""

    broker: SiteMosquitto
    ca: Path
    logins: dict[str, Login]

    def client(self, device: str, topic_filter: str, persistent: bool = False) -> Recorder:
        """A recording client logged in as ``device`` ("role:id"); TLS unless on the hub.
        ``persistent`` keeps its session (the broker makes the user name its client id)."""
        login = self.logins[device]
        client_id = login.username if persistent else None
        if login.plain:
            return Recorder(self.broker, topic_filter, client_id,
                            login=(login.username, login.password))
        return Recorder(self.broker, topic_filter, client_id,
                        login=(login.username, login.password),
                        tls_port=self.broker.tls_port, ca_file=self.ca)


@dataclass
class Link:
    """A site broker bridged to a central broker."""

    site: Broker
    central: Broker

    def wait_until_up(self, timeout: float = 60.0) -> None:
        """Send probes both ways until one crosses each way: the bridge connects on its own
        schedule (at once at start, after 5 to 15 s when the link broke)."""
        site_out = self.site.client("telephony:pbx", f"{HQ}/queue/probe/call")
        central_in = self.central.client("supervisor-kiosk:c-1", f"{HQ}/desk/probe/cmd")
        desk_side = self.site.client("supervisor-kiosk:wall-2", f"{HQ}/desk/probe/cmd")
        central_side = self.central.client("floor-kiosk:c-3", f"{HQ}/queue/probe/call")
        try:
            send_until(lambda: site_out.publish(f"{HQ}/queue/probe/call", b"{}"),
                       lambda: bool(central_side.on(f"{HQ}/queue/probe/call")),
                       timeout, "a site message to reach the central broker")
            send_until(lambda: central_in.publish(f"{HQ}/desk/probe/cmd", b"{}"),
                       lambda: bool(desk_side.on(f"{HQ}/desk/probe/cmd")),
                       timeout, "a central command to reach the site")
        finally:
            for client in (site_out, central_in, desk_side, central_side):
                client.close()


def send_until(send: Callable[[], None], arrived: Callable[[], bool], timeout: float,
               what: str) -> None:
    """Call ``send`` every 0.25 s until ``arrived``; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        send()
        try:
            wait_for(arrived, 0.25, what=what)
            return
        except AssertionError:
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}"
                                     ) from None


def provision(broker: SiteMosquitto, role: str, device_id: str, site: str) -> Login:
    """Run provision-device's code on the broker's files; keep the password it shows."""
    out, err = io.StringIO(), io.StringIO()
    code = run_provision(role=role, device_id=device_id, site=site, root="wallboard",
                         password_file=broker.etc / "wallboard.passwd",
                         acl_file=broker.etc / "wallboard.acl", broker_host="127.0.0.1",
                         broker_port=None, out=out, err=err)
    assert code == 0, err.getvalue()
    password = re.search(r"^password \(shown once[^)]*\): (\S+)$", err.getvalue(), re.M)
    username = re.search(r'^username = "(\S+)"$', out.getvalue(), re.M)
    assert password is not None and username is not None, out.getvalue() + err.getvalue()
    return Login(username[1], password[1], plain=role in HUB_ROLES)


def add_login(broker: SiteMosquitto, username: str, acl_block: str) -> str:
    """A hand-made login, as docs/deploy.md makes the bridge's: ``mosquitto_passwd`` (the
    password on its prompt), and the ACL block appended; return the password."""
    password = secrets.token_urlsafe(24)
    done = subprocess.run([require("mosquitto_passwd", "mosquitto"),
                           str(broker.etc / "wallboard.passwd"), username],
                          input=f"{password}\n{password}\n", capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    with (broker.etc / "wallboard.acl").open("a") as acl:
        acl.write("\n" + acl_block)
    return password


def make_certs(out: Path) -> Path:
    """A CA and a broker certificate for 127.0.0.1 and localhost, made as documented."""
    done = subprocess.run(["bash", str(MAKE_CERTS), str(out), "localhost", "127.0.0.1"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def install_certs(broker: SiteMosquitto, certs: Path) -> None:
    """The broker's own CA, certificate and key where wallboard.conf names them."""
    (broker.etc / "certs").mkdir(exist_ok=True)
    for name in ("ca.crt", "server.crt", "server.key"):
        shutil.copy(certs / name, broker.etc / "certs" / name)


@pytest.fixture(scope="module")
def link(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Link]:
    """The central broker, then the site broker with the bridge to it; both up and linked."""
    binary = require("mosquitto", "mosquitto")
    require("mosquitto_passwd", "mosquitto")
    require("openssl", "openssl")
    central_certs = make_certs(tmp_path_factory.mktemp("central-ca"))
    site_certs = make_certs(tmp_path_factory.mktemp("site-ca"))
    shipped = BRIDGE.read_text()
    central = SiteMosquitto(CONF.read_text(), binary)
    site: SiteMosquitto | None = None
    try:
        install_certs(central, central_certs)
        central_logins = {f"{role}:{device_id}": provision(central, role, device_id, where)
                          for role, device_id, where in CENTRAL_DEVICES}
        bridge_password = add_login(central, f"bridge-{SITE}", central_acl_block(shipped))
        central_logins["ops"] = Login("ops", add_login(central, "ops", OPS_BLOCK), plain=True)
        central.start()

        bridge = filled_bridge(shipped, host=central.host, port=central.tls_port,
                               password=bridge_password)
        site = SiteMosquitto(CONF.read_text() + "\n" + bridge, binary)
        install_certs(site, site_certs)
        shutil.copy(central_certs / "ca.crt", site.etc / "certs" / "central-ca.crt")
        site_logins = {f"{role}:{device_id}": provision(site, role, device_id, SITE)
                       for role, device_id in SITE_DEVICES}
        site.start()

        linked = Link(Broker(site, site_certs / "ca.crt", site_logins),
                      Broker(central, central_certs / "ca.crt", central_logins))
        try:
            linked.wait_until_up()
        except AssertionError as err:
            raise AssertionError(f"{err}\nsite:\n{site.logs(60)}\ncentral:\n{central.logs(60)}"
                                 ) from None
        yield linked
    finally:
        if site is not None:
            site.close()
        central.close()


def test_every_topic_of_the_contract_crosses_one_way_or_stays():
    topics = bridge_topics(filled_bridge(BRIDGE.read_text(), host="central.example",
                                         port=8883, password="secret"))
    stays = {Kind.AGENT_WELLBEING}  # individual strain: the site's supervisors only
    comes_in = {Kind.DESK_CMD}
    for spec in TOPICS:
        ids = {segment[1:-1]: "x-1" for segment in spec.segments if segment.startswith("{")}
        topic = build(spec.kind, site=SITE, **ids)
        directions = {d for f, d in topics if mqtt.topic_matches_sub(f, topic)}
        expected = set() if spec.kind in stays else {"in"} if spec.kind in comes_in else {"out"}
        assert directions == expected, f"{topic}: bridged {directions or 'nowhere'}"
        # Another site's topics never cross this site's bridge, either way.
        other = build(spec.kind, site=OTHER, **ids)
        assert not [f for f, _ in topics if mqtt.topic_matches_sub(f, other)], other


def test_the_central_broker_sees_the_site_linked(link):
    ops = link.central.client("ops", STATE)
    try:
        wait_for(lambda: ops.on(STATE), what="the bridge's state notification")
        assert ops.messages[-1] == (STATE, b"1", True)
    finally:
        ops.close()


def test_a_site_message_reaches_the_central_broker_once_and_never_comes_back(link):
    central = link.central.client("supervisor-kiosk:c-1", f"{HQ}/#")
    site_view = link.site.client("supervisor-kiosk:wall-2", f"{HQ}/#")
    pbx = link.site.client("telephony:pbx", f"{HQ}/none")
    call, marker = f"{HQ}/queue/sales/call", f"{HQ}/queue/marker/call"
    try:
        pbx.publish(call, b'{"call": "c-1"}')
        pbx.publish(marker, b'{"call": "marker"}')
        wait_for(lambda: central.on(marker), what="the marker at the central broker")
        assert central.on(call) == [b'{"call": "c-1"}']
        # Had the central broker sent the call back over the bridge, it would have been
        # queued there before this command, which takes the same path to the site after it.
        central.publish(f"{HQ}/desk/marker/cmd", b'{"cmd": "marker"}')
        wait_for(lambda: site_view.on(f"{HQ}/desk/marker/cmd"), what="the command marker")
        assert site_view.on(call) == [b'{"call": "c-1"}']
    finally:
        for client in (central, site_view, pbx):
            client.close()


def test_a_retained_snapshot_is_held_by_the_central_broker(link):
    controller = link.site.client("controller:hq", f"{HQ}/none")
    live = link.central.client("floor-kiosk:c-2", f"{HQ}/kpi/#")
    snapshot = b'{"snapshot": "bridged"}'
    try:
        controller.publish(f"{HQ}/kpi/floor", snapshot, retain=True)
        wait_for(lambda: snapshot in live.on(f"{HQ}/kpi/floor"), what="the snapshot, live")
    finally:
        live.close()
        controller.close()
    # A screen at the central broker that subscribes afterwards gets it from there, retained.
    late = link.central.client("floor-kiosk:c-2", f"{HQ}/kpi/floor")
    try:
        wait_for(lambda: late.on(f"{HQ}/kpi/floor"), what="the retained snapshot")
        assert late.messages[-1] == (f"{HQ}/kpi/floor", snapshot, True)
    finally:
        late.close()


def test_a_central_command_reaches_its_sites_desk_only(link):
    desk = link.site.client("desk:d-1", f"{HQ}/desk/d-1/cmd")
    everything = link.site.client("recorder:main", "wallboard/#")  # every site, if it came
    hq_supervisor = link.central.client("supervisor-kiosk:c-1", f"{HQ}/#")
    north_supervisor = link.central.client("supervisor-kiosk:c-9", f"wallboard/{OTHER}/#")
    pbx = link.site.client("telephony:pbx", f"{HQ}/none")
    ack = b'{"cmd": "ack", "request": "r-1", "by": "c-1"}'
    north = f"wallboard/{OTHER}/desk/d-1/cmd"
    try:
        north_supervisor.publish(north, b'{"cmd": "ack", "request": "r-2", "by": "c-9"}')
        hq_supervisor.publish(f"{HQ}/desk/d-1/cmd", ack)  # after the broker took north's
        wait_for(lambda: desk.on(f"{HQ}/desk/d-1/cmd"), what="the command at the desk")
        assert desk.on(f"{HQ}/desk/d-1/cmd") == [ack]
        wait_for(lambda: everything.on(f"{HQ}/desk/d-1/cmd"), what="the command at the site")
        assert everything.on(north) == []
        # Nor does the command go back out: that copy would reach the central broker
        # before this site message, which it sends after the command arrived.
        pbx.publish(f"{HQ}/queue/marker/call", b'{"call": "after-ack"}')
        wait_for(lambda: hq_supervisor.on(f"{HQ}/queue/marker/call"), what="the site marker")
        assert hq_supervisor.on(f"{HQ}/desk/d-1/cmd") == [ack]  # its own publish, once
    finally:
        for client in (desk, everything, hq_supervisor, north_supervisor, pbx):
            client.close()


def test_the_sites_own_commands_stay_on_the_site(link):
    desk = link.site.client("desk:d-1", f"{HQ}/desk/d-1/cmd")
    site_supervisor = link.site.client("supervisor-kiosk:wall-2", f"{HQ}/none")
    pbx = link.site.client("telephony:pbx", f"{HQ}/none")
    central = link.central.client("supervisor-kiosk:c-1", f"{HQ}/#")
    nudge = b'{"cmd": "nudge"}'
    try:
        site_supervisor.publish(f"{HQ}/desk/d-1/cmd", nudge)
        pbx.publish(f"{HQ}/queue/marker/call", b'{"call": "after-nudge"}')
        wait_for(lambda: central.on(f"{HQ}/queue/marker/call"), what="the marker centrally")
        assert central.on(f"{HQ}/desk/d-1/cmd") == []
        wait_for(lambda: desk.on(f"{HQ}/desk/d-1/cmd"), what="the nudge at the desk")
        assert desk.on(f"{HQ}/desk/d-1/cmd") == [nudge]
    finally:
        for client in (desk, site_supervisor, pbx, central):
            client.close()


def test_nothing_is_lost_while_the_link_is_down(link):
    # Sessions that outlive a broker restart, so what arrives after it is kept for them.
    desk = link.site.client("desk:d-1", f"{HQ}/desk/d-1/cmd", persistent=True)
    central = link.central.client("floor-kiosk:c-3", f"{HQ}/queue/+/call", persistent=True)
    try:
        # The central broker goes away: the site broker keeps what the site publishes.
        link.central.broker.stop()
        pbx = link.site.client("telephony:pbx", f"{HQ}/none")
        try:
            pbx.publish(f"{HQ}/queue/sales/call", b'{"call": "while-central-down"}')
        finally:
            pbx.close()
        link.central.broker.restart()
        wait_for(lambda: central.on(f"{HQ}/queue/sales/call"), 60,
                 what="the site's message after the central broker came back")
        assert central.on(f"{HQ}/queue/sales/call") == [b'{"call": "while-central-down"}']

        # The site broker goes away: the central broker keeps the site's commands.
        link.site.broker.stop()
        supervisor = link.central.client("supervisor-kiosk:c-1", f"{HQ}/none")
        try:
            supervisor.publish(f"{HQ}/desk/d-1/cmd", b'{"cmd": "while-site-down"}')
        finally:
            supervisor.close()
        link.site.broker.restart()
        wait_for(lambda: desk.on(f"{HQ}/desk/d-1/cmd"), 60,
                 what="the central command after the site broker came back")
        assert desk.on(f"{HQ}/desk/d-1/cmd") == [b'{"cmd": "while-site-down"}']
    finally:
        desk.close()
        central.close()
    link.wait_until_up()
