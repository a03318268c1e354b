"""The shipped site broker config on a real mosquitto: TLS from certificates made by
``kiosk/mosquitto/make-certs.sh``, and logins and ACL written by ``provision-device``.

Everything is judged by what arrives at real clients, and every "never arrives" is checked
only after a later message from the same sender has arrived, so no test sleeps and hopes.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.live import ROOT_DIR, Recorder, ServiceProcess, require
from wallboard.adapters.mqtt import MqttLink
from wallboard.cli import main
from wallboard.devservices import SiteMosquitto, connack, wait_for
from wallboard.messages import MAX_PAYLOAD_BYTES, DeskCommand, DeskHelp, encode
from wallboard.security.device_config import DEVICE_CA_FILE
from wallboard.security.provision import run_provision
from wallboard_desk.bootstrap import link_settings as desk_link_settings
from wallboard_desk.config import parse_desk_config
from wallboard_desk.unit import Topics

SITE = "wallboard/hq"
CONF = ROOT_DIR / "kiosk" / "mosquitto" / "wallboard.conf"
MAKE_CERTS = ROOT_DIR / "kiosk" / "mosquitto" / "make-certs.sh"
HUB_ROLES = {"controller", "recorder"}  # on the hub: the plain loopback listener
DEVICES = [("desk", "d-1"), ("desk", "d-2"), ("floor-kiosk", "wall-1"),
           ("floor-kiosk", "wall-3"), ("supervisor-kiosk", "wall-2"), ("controller", "hq"),
           ("telephony", "pbx")]
REFUSED = {"Not authorized", "Bad user name or password"}


@dataclass(frozen=True)
class Login:
    """A provisioned device: what provision-device printed, and the password it showed."""

    role: str
    username: str
    password: str
    config: str


@dataclass
class Site:
    """The running broker, the site CA and the devices provisioned before it started."""

    broker: SiteMosquitto
    ca: Path
    logins: dict[str, Login]

    def client(self, device: str, topic_filter: str, client_id: str | None = None
               ) -> Recorder:
        """A recording client logged in as ``device`` ("role:id"); TLS unless on the hub."""
        login = self.logins[device]
        if login.role in HUB_ROLES:
            return Recorder(self.broker, topic_filter, client_id,
                            login=(login.username, login.password))
        return Recorder(self.broker, topic_filter, client_id,
                        login=(login.username, login.password),
                        tls_port=self.broker.tls_port, ca_file=self.ca)


def provision(broker: SiteMosquitto, role: str, device_id: str, port: int | None = None
              ) -> Login:
    """Run provision-device's code on the broker's files; keep the password it shows."""
    out, err = io.StringIO(), io.StringIO()
    code = run_provision(role=role, device_id=device_id, site="hq", root="wallboard",
                         password_file=broker.etc / "wallboard.passwd",
                         acl_file=broker.etc / "wallboard.acl", broker_host="127.0.0.1",
                         broker_port=port, out=out, err=err)
    assert code == 0, err.getvalue()
    found = re.search(r"^password \(shown once[^)]*\): (\S+)$", err.getvalue(), re.M)
    assert found is not None, err.getvalue()
    username = re.search(r'^username = "(\S+)"$', out.getvalue(), re.M)
    assert username is not None, out.getvalue()
    return Login(role, username[1], found[1], out.getvalue())


def reload(broker: SiteMosquitto) -> None:
    """What `systemctl reload mosquitto` does: the password file and ACL are read again."""
    assert broker.pid is not None
    os.kill(broker.pid, signal.SIGHUP)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site CA and a broker certificate for 127.0.0.1 and localhost, made as documented."""
    require("openssl", "openssl")
    out = tmp_path_factory.mktemp("certs")
    done = subprocess.run(["bash", str(MAKE_CERTS), str(out), "localhost", "127.0.0.1"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.fixture(scope="module")
def site(certs: Path) -> Iterator[Site]:
    """The shipped config on a real broker, with the devices of DEVICES provisioned."""
    binary = require("mosquitto", "mosquitto")
    require("mosquitto_passwd", "mosquitto")
    broker = SiteMosquitto(CONF.read_text(), binary)
    try:
        (broker.etc / "certs").mkdir()
        for name in ("ca.crt", "server.crt", "server.key"):
            shutil.copy(certs / name, broker.etc / "certs" / name)
        logins = {f"{role}:{device_id}": provision(broker, role, device_id)
                  for role, device_id in DEVICES}
        broker.start()
        yield Site(broker, certs / "ca.crt", logins)
    finally:
        broker.close()


def tls_connack(site: Site, username: str | None, password: str | None,
                ca: Path | None) -> Any:
    """The CONNACK reason a TLS login gets (``ca`` None: the system's CAs), or None."""
    result: list[Any] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"tls-{uuid.uuid4().hex[:8]}")
    client.on_connect = lambda c, u, f, reason, p: result.append(reason)
    client.tls_set(ca_certs=str(ca) if ca else None)
    if username is not None:
        client.username_pw_set(username, password)
    client.connect(site.broker.host, site.broker.tls_port, keepalive=5)
    try:
        deadline = time.monotonic() + 5
        while not result and time.monotonic() < deadline:
            client.loop(timeout=0.05)
    finally:
        client.disconnect()
    return result[0] if result else None


def broker_log(site: Site) -> str:
    """Everything the broker has logged."""
    return site.broker.log_path.read_text(errors="replace")


def test_a_desk_cannot_publish_another_desks_help(site):
    supervisor = site.client("supervisor-kiosk:wall-2", f"{SITE}/#")
    desk = site.client("desk:d-1", f"{SITE}/desk/d-1/cmd")
    try:
        desk.publish(f"{SITE}/desk/d-2/help", b'{"spoofed": true}')
        desk.publish(f"{SITE}/desk/d-1/help", b'{"own": true}')  # the marker, sent after
        wait_for(lambda: supervisor.on(f"{SITE}/desk/d-1/help"), what="d-1's own help")
        assert supervisor.on(f"{SITE}/desk/d-2/help") == []
        # Refused, not lost: the broker says so.
        assert re.search(rf"Denied PUBLISH from desk-d-1 \(.*'{SITE}/desk/d-2/help'",
                         broker_log(site))
    finally:
        desk.close()
        supervisor.close()


def test_a_floor_kiosk_receives_no_individual_wellbeing(site):
    floor = site.client("floor-kiosk:wall-1", f"{SITE}/#")
    supervisor = site.client("supervisor-kiosk:wall-2", f"{SITE}/#")
    controller = site.client("controller:hq", f"{SITE}/queue/+/call")
    agent, team = f"{SITE}/agent/a-7/wellbeing", f"{SITE}/team/t-1/wellbeing"
    marker = f"{SITE}/kpi/floor"
    try:
        controller.publish(agent, b'{"agent": "strain"}', retain=True)
        controller.publish(team, b'{"team": "strain"}', retain=True)
        controller.publish(marker, b'{"kpi": 1}', retain=True)
        wait_for(lambda: floor.on(marker), what="the marker at the floor kiosk")
        assert floor.on(team) == [b'{"team": "strain"}']
        assert floor.on(agent) == []
        wait_for(lambda: supervisor.on(marker), what="the marker at the supervisor kiosk")
        assert supervisor.on(agent) == [b'{"agent": "strain"}']
        assert supervisor.on(team) == [b'{"team": "strain"}']
    finally:
        floor.close()
        supervisor.close()
    # Retained, to a floor kiosk that subscribes afterwards to everything there is.
    late = site.client("floor-kiosk:wall-3", "#")
    try:
        # Published after its SUBACK, so after the retained messages mosquitto queued then.
        controller.publish(f"{SITE}/kpi/queue/late", b'{"kpi": 2}')
        wait_for(lambda: late.on(f"{SITE}/kpi/queue/late"), what="the late marker")
        assert late.on(marker) and late.on(team)
        assert late.on(agent) == []
    finally:
        late.close()
        controller.close()


def test_anonymous_and_wrong_logins_are_refused(site):
    b = site.broker
    anonymous = connack(b.host, b.port)
    assert anonymous is not None and str(anonymous) in REFUSED
    desk = site.logins["desk:d-1"]
    assert str(connack(b.host, b.port, desk.username, "not-the-password")) in REFUSED
    assert str(connack(b.host, b.port, "nobody", desk.password)) in REFUSED
    assert str(tls_connack(site, None, None, site.ca)) in REFUSED
    # The same check passes the right login, so the refusals above are about the login.
    assert str(connack(b.host, b.port, desk.username, desk.password)) == "Success"


def test_the_tls_listener_refuses_plain_mqtt_and_accepts_tls_with_the_site_ca(site):
    b, desk = site.broker, site.logins["desk:d-1"]
    assert connack(b.host, b.tls_port, desk.username, desk.password) is None
    # A bare MQTT CONNECT: mosquitto reads it as a broken TLS hello and hangs up.
    with socket.create_connection((b.host, b.tls_port), timeout=5) as sock:
        sock.sendall(b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00")
        received = b""
        try:
            while chunk := sock.recv(4096):
                received += chunk
        except ConnectionResetError:
            pass
    assert not received.startswith(b"\x20")  # whatever came back, it was not a CONNACK
    assert str(tls_connack(site, desk.username, desk.password, site.ca)) == "Success"
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_connack(site, desk.username, desk.password, None)  # a CA the site never used


def test_the_plain_listener_is_on_loopback_only(site):
    listeners = [line for line in CONF.read_text().splitlines() if line.startswith("listener")]
    assert listeners == ["listener 8883", "listener 1883 127.0.0.1"]
    # 127.0.0.2 reaches this machine (loopback is a /8), but not the plain listener, which
    # the test broker binds to the address the shipped line gives.
    with socket.create_server(("127.0.0.2", 0)) as server:
        socket.create_connection(server.getsockname(), timeout=2).close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.2", site.broker.port), timeout=2)


def test_provisioning_again_rotates_the_password_and_keeps_one_entry(site):
    b = site.broker
    first = provision(b, "desk", "d-9")
    reload(b)
    wait_for(lambda: str(connack(b.host, b.port, first.username, first.password)) == "Success",
             what="the new desk to log in after the reload")
    second = provision(b, "desk", "d-9")
    assert second.password != first.password and second.config == first.config
    reload(b)
    wait_for(lambda: str(connack(b.host, b.port, first.username, first.password)) in REFUSED,
             what="the old password to stop working after the reload")
    assert str(connack(b.host, b.port, second.username, second.password)) == "Success"
    acl = (b.etc / "wallboard.acl").read_text()
    assert acl.count("user desk-d-9\n") == 1
    assert acl.count("# wallboard device desk-d-9:") == 1
    passwd = (b.etc / "wallboard.passwd").read_text().splitlines()
    assert [line.split(":")[0] for line in passwd].count("desk-d-9") == 1


def test_provision_device_on_the_command_line_twice(tmp_path, capsys):
    require("mosquitto_passwd", "mosquitto")
    passwd, acl = tmp_path / "wallboard.passwd", tmp_path / "wallboard.acl"
    argv = ["provision-device", "--role", "desk", "--id", "d-017", "--site", "hq",
            "--password-file", str(passwd), "--acl-file", str(acl),
            "--broker-host", "hub.floor.example"]
    passwords = []
    for _ in range(2):
        assert main(argv) == 0
        out, err = capsys.readouterr()
        passwords.append(re.findall(r"^password \(shown once[^)]*\): (\S+)$", err, re.M))
        assert 'username = "desk-d-017"' in out and "tls = true" in out
        assert "port = 8883" in out and "WALLBOARD_MQTT_PASSWORD" in err
        assert passwords[-1][0] not in out  # the password is never in the printed config
    assert len(passwords[0]) == len(passwords[1]) == 1 and passwords[0] != passwords[1]
    assert acl.read_text().count("user desk-d-017\n") == 1
    assert [line.split(":")[0] for line in passwd.read_text().splitlines()] == ["desk-d-017"]
    assert oct(acl.stat().st_mode & 0o777) == "0o600"
    assert oct(passwd.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(("role", "device_id", "broker", "ca_file", "section"), [
    ("desk", "d-json", {"host": "127.0.0.1", "port": 8883, "tls": True}, DEVICE_CA_FILE,
     "desk"),
    ("controller", "json", {"host": "127.0.0.1", "port": 1883, "tls": False}, None, "site"),
])
def test_provision_device_json_is_one_object_whose_login_works(site, capsys, role, device_id,
                                                               broker, ca_file, section):
    b = site.broker
    files = {"password_file": str(b.etc / "wallboard.passwd"),
             "acl_file": str(b.etc / "wallboard.acl")}
    argv = ["provision-device", "--role", role, "--id", device_id, "--site", "hq",
            "--password-file", files["password_file"], "--acl-file", files["acl_file"],
            "--broker-host", "127.0.0.1"]
    assert main([*argv, "--json"]) == 0
    out, err = capsys.readouterr()
    login = json.loads(out)  # all of stdout is the one object
    username = f"{role}-{device_id}"
    password = login.pop("password")
    assert login == {"role": role, "id": device_id, "site": "hq", "root": "wallboard",
                     "username": username, "password_env": "WALLBOARD_MQTT_PASSWORD",
                     "broker": broker, "ca_file": ca_file, **files,
                     "config": login["config"]}
    config = tomllib.loads(login["config"])
    assert config["mqtt"]["username"] == username and section in config
    assert password not in out.replace(f'"password": "{password}"', "")  # only there
    assert password not in err and "sudo systemctl reload mosquitto" in err
    reload(b)
    wait_for(lambda: str(connack(b.host, b.port, username, password)) == "Success",
             what="the JSON's login to work after the reload")
    # The plain output prints the same config (and rotates the password).
    assert main(argv) == 0
    assert capsys.readouterr().out == login["config"]


@pytest.mark.parametrize(("args", "error"), [
    (["--role", "desk", "--id", "d/1"], "bad option: --id: 'd/1' is not an id"),
    (["--role", "desk", "--id", "d-1", "--site", "h q"], "bad option: --site: 'h q' is not"),
    (["--role", "desk", "--id", "d-1", "--broker-host", "a b"],
     "bad option: --broker-host: 'a b' is not a host name or IP address"),
    (["--role", "desk", "--id", "d-1", "--broker-host", "h", "--broker-port", "0"],
     "bad option: --broker-port: Input should be greater than or equal to 1"),
    (["--role", "recorder", "--id", "status"], "bad option: --id: 'status' cannot be"),
    (["--role", "desk", "--id", "d-1", "--root", "wallboard/#"], "bad option: --root: every"),
])
def test_provision_device_names_the_bad_argument_in_one_line(tmp_path, capsys, args, error):
    paths = ["--password-file", str(tmp_path / "p"), "--acl-file", str(tmp_path / "a")]
    assert main(["provision-device", *args, *paths]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(error) and err.count("\n") == 1
    assert not (tmp_path / "p").exists() and not (tmp_path / "a").exists()


def test_a_packet_over_the_limit_disconnects_its_sender(site):
    supervisor = site.client("supervisor-kiosk:wall-2", f"{SITE}/kpi/#")
    controller = site.client("controller:hq", f"{SITE}/queue/+/call")
    try:
        largest = b"x" * MAX_PAYLOAD_BYTES  # the contract's limit still gets through
        controller.publish(f"{SITE}/kpi/queue/largest", largest)
        wait_for(lambda: supervisor.on(f"{SITE}/kpi/queue/largest") == [largest],
                 what="the largest allowed message")
        dropped = threading.Event()
        controller.client.on_disconnect = lambda *a: dropped.set()
        controller.client.publish(f"{SITE}/kpi/queue/flood", b"x" * 70_000, qos=1)
        assert dropped.wait(5), "the broker kept a client that sent a 70 kB packet"
    finally:
        controller.close()
    marker = site.client("controller:hq", f"{SITE}/queue/+/call")
    try:
        marker.publish(f"{SITE}/kpi/queue/after", b"{}")
        wait_for(lambda: supervisor.on(f"{SITE}/kpi/queue/after"), what="the marker")
        assert supervisor.on(f"{SITE}/kpi/queue/flood") == []
    finally:
        marker.close()
        supervisor.close()


def test_one_login_cannot_take_over_another_clients_session(site):
    supervisor = site.client("supervisor-kiosk:wall-2", f"{SITE}/kpi/#")
    controller = site.client("controller:hq", f"{SITE}/queue/+/call", "wallboard-controller-hq")
    kicked = threading.Event()
    controller.client.on_disconnect = lambda *a: kicked.set()
    # A floor kiosk's login with the controller's client id: mosquitto names the client
    # after the user instead, so the controller is not disconnected.
    intruder = site.client("floor-kiosk:wall-1", f"{SITE}/#", "wallboard-controller-hq")
    try:
        controller.publish(f"{SITE}/kpi/queue/still-here", b"{}")
        wait_for(lambda: supervisor.on(f"{SITE}/kpi/queue/still-here"), what="the controller")
        assert not kicked.is_set()
        assert "as kiosk-floor-wall-1 " in broker_log(site)
    finally:
        intruder.close()
        controller.close()
        supervisor.close()


def test_a_desk_unit_and_the_controller_work_from_their_printed_configs(site, tmp_path,
                                                                         monkeypatch):
    """The real desk link over TLS and the real controller process, each configured only
    from what provision-device printed: the role table fits what the programs do."""
    b = site.broker
    desk = provision(b, "desk", "d-5", port=b.tls_port)
    controller = provision(b, "controller", "wiring", port=b.port)
    reload(b)
    wait_for(lambda: str(connack(b.host, b.port, desk.username, desk.password)) == "Success",
             what="the new logins after the reload")
    config = parse_desk_config(desk.config.replace(DEVICE_CA_FILE, str(site.ca)))
    topics = Topics.of(config.mqtt.topic_root, config.desk.site, config.desk.id)
    monkeypatch.setenv("WALLBOARD_MQTT_PASSWORD", desk.password)
    received: list[tuple[str, bytes]] = []
    link = MqttLink(desk_link_settings(config, topics, time.time),
                    on_message=lambda topic, payload, retained: received.append((topic, payload)))
    supervisor = site.client("supervisor-kiosk:wall-2", f"{SITE}/#")
    state = tmp_path / "state"
    toml = tmp_path / "wallboard.toml"
    toml.write_text(controller.config + f'\n[controller]\nstate_dir = "{state}"\n')
    monkeypatch.setenv("WALLBOARD_MQTT_PASSWORD", controller.password)
    service = ServiceProcess(toml, tmp_path / "controller.log")
    try:
        assert link.start(10), "the desk unit did not connect over TLS"
        service.start()
        supervisor.wait_json(f"{SITE}/desk/d-5/status", lambda s: s["online"] is True)
        supervisor.wait_json(f"{SITE}/service/controller/status", lambda s: s["online"] is True)
        now = time.time()
        link.publish(topics.help, encode(DeskHelp(ts=now, request="r-1", state="requested")),
                     retain=True)
        supervisor.wait_json(f"{SITE}/help/d-5", lambda h: h["state"] == "requested")
        supervisor.publish(topics.cmd, encode(DeskCommand(ts=now, cmd="ack", request="r-1",
                                                      by="wall-2")))
        wait_for(lambda: any(t == topics.cmd for t, _ in received), what="the ack at the desk")
    finally:
        code = service.stop()
        link.stop()
        supervisor.close()
    assert code == 0, service.logs()
