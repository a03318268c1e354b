"""The AMI client (wallboard/telephony/ami_client.py) against a real scripted AMI TCP server.

The server (tests/ami_server.py) plays transcripts written from Asterisk's documented wire
format: login, QueueStatus on every connect, events in order, slow and split streams, a
dropped connection, Asterisk restarting mid-call, a dead link, TLS.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ami_server import AmiServer, Script
from tests.live import ROOT_DIR, require
from wallboard.devservices import wait_for
from wallboard.telephony.ami_client import (
    AmiClient,
    AmiEndpoint,
    LinkChange,
    QueueStatus,
    backoff_delay,
)
from wallboard.telephony.ami_wire import AmiMessage

PASSWORD_ENV = "WALLBOARD_TEST_AMI_PASSWORD"
FLOOR_EVENTS = ["FullyBooted", "AgentCalled", "Newexten", "AgentConnect", "Hold", "Unhold",
                "AgentComplete", "QueueMemberPause", "QueueCallerJoin", "QueueCallerAbandon",
                "QueueCallerLeave"]


class Seen:
    """What the client handed to its callbacks, kept under a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[AmiMessage] = []
        self.snapshots: list[QueueStatus] = []
        self.links: list[LinkChange] = []
        self.order: list[str] = []  # "snapshot" or the event name, as delivered

    def on_event(self, event: AmiMessage) -> None:
        with self.lock:
            self.events.append(event)
            self.order.append(event.event or "?")

    def on_snapshot(self, status: QueueStatus) -> None:
        with self.lock:
            self.snapshots.append(status)
            self.order.append("snapshot")

    def on_link(self, change: LinkChange) -> None:
        with self.lock:
            self.links.append(change)

    def names(self) -> list[str]:
        with self.lock:
            return [e.event or "?" for e in self.events]

    def downs(self) -> list[str]:
        with self.lock:
            return [c.reason for c in self.links if not c.up]

    def ups(self) -> int:
        with self.lock:
            return sum(c.up for c in self.links)


def endpoint(server: AmiServer, **changes: object) -> AmiEndpoint:
    """The endpoint for ``server``, with short timings so failures show fast."""
    values: dict[str, object] = dict(host=server.host, port=server.port, username="wallboard",
                                     password_env=PASSWORD_ENV, keepalive_s=5.0, timeout_s=3.0,
                                     backoff_min_s=0.05, backoff_max_s=0.2)
    values.update(changes)
    return AmiEndpoint(**values)  # type: ignore[arg-type]


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def run(seen: Seen) -> Iterator[list[AmiClient]]:
    """Clients started by a test; every one is stopped at the end."""
    clients: list[AmiClient] = []
    yield clients
    for client in clients:
        client.stop()


def start(run: list[AmiClient], seen: Seen, ep: AmiEndpoint,
          password: str | None = "s3cret") -> AmiClient:
    environ = {PASSWORD_ENV: password} if password is not None else {}
    client = AmiClient(ep, on_event=seen.on_event, on_snapshot=seen.on_snapshot,
                       on_link=seen.on_link, environ=environ)
    run.append(client)
    client.start()
    return client


def test_login_queue_status_on_connect_and_events_in_order(seen, run):
    with AmiServer(Script.named("floor_live")) as server:
        client = start(run, seen, endpoint(server, events="agent,call"))
        wait_for(lambda: seen.names() == FLOOR_EVENTS, 10, what="every event, in order")
        login = server.received("Login")[0]
        assert (login["Username"], login["Secret"], login["Events"]) == (
            "wallboard", "s3cret", "agent,call")
        assert len(server.received("QueueStatus")) == 1
        [status] = seen.snapshots
        assert [e.event for e in status.events] == [
            "QueueParams", "QueueMember", "QueueMember", "QueueEntry"]
        assert status.named("queuemember")[0]["PausedReason"] == "Lunch"
        assert status.named("QueueEntry")[0]["Wait"] == "14"
        # The snapshot comes first; FullyBooted, sent before it, is delivered after it.
        assert seen.order[0] == "snapshot"
        assert seen.links[0].up and "Asterisk Call Manager/9.0.0" in seen.links[0].reason
        assert client.up and client.stats.events == len(FLOOR_EVENTS)
        assert seen.events[3]["DestUniqueid"] == "1717581515.43"  # extra keys kept


def test_a_live_event_inside_the_queue_status_list_comes_after_the_snapshot(seen, run):
    script = Script.named("floor_live")
    live = "Event: QueueMemberStatus\nPrivilege: agent,all\nQueue: sales\nMemberName: SIP/1002"
    script.queue_status.insert(2, live)  # Asterisk interleaves live events (no ActionID)
    with AmiServer(script) as server:
        start(run, seen, endpoint(server))
        wait_for(lambda: len(seen.names()) == len(FLOOR_EVENTS) + 1, 10, what="every event")
        assert seen.order[:3] == ["snapshot", "FullyBooted", "QueueMemberStatus"]
        assert seen.names()[2:] == FLOOR_EVENTS[1:]
        assert len(seen.snapshots[0].events) == 4  # the live event is not part of the list


@pytest.mark.parametrize(("chunk", "delay_s", "newline"), [
    (1, 0.0, b"\r\n"),
    (7, 0.001, b"\r\n"),
    (3, 0.0, b"\n"),
])
def test_a_slow_and_split_stream_gives_the_same_events(seen, run, chunk, delay_s, newline):
    with AmiServer(Script.named("floor_live"), chunk=chunk, delay_s=delay_s,
                   newline=newline) as server:
        start(run, seen, endpoint(server))
        wait_for(lambda: seen.names() == FLOOR_EVENTS, 30, what="every event, in order")
    reference = Seen()
    with AmiServer(Script.named("floor_live")) as server:
        start(run, reference, endpoint(server))
        wait_for(lambda: reference.names() == FLOOR_EVENTS, 10, what="the reference events")
    assert seen.events == reference.events
    assert seen.snapshots == reference.snapshots


def test_a_wrong_password_is_refused_with_a_reason_and_retried(seen, run):
    with AmiServer(Script.named("floor_live")) as server:
        client = start(run, seen, endpoint(server), password="wrong")
        wait_for(lambda: len(server.received("Login")) >= 3, 10, what="retries")
        [reason] = seen.downs()  # said once, not once per retry
        assert "login refused for user 'wallboard': Authentication failed" in reason
        assert "\n" not in reason and "wrong" not in reason  # never the secret
        assert seen.ups() == 0 and not seen.snapshots and not client.up
        assert not server.received("QueueStatus")


def test_a_missing_password_variable_is_a_reason_not_a_crash(seen, run):
    with AmiServer(Script.named("floor_live")) as server:
        client = start(run, seen, endpoint(server), password=None)
        wait_for(seen.downs, 10, what="a link-down reason")
        assert f"environment variable {PASSWORD_ENV}" in seen.downs()[0]
        assert not server.received("Login") and not client.up


def test_nothing_listening_is_a_reason(seen, run):
    server = AmiServer(Script.named("floor_live"))  # never started: the port is closed
    start(run, seen, endpoint(server))
    wait_for(seen.downs, 10, what="a link-down reason")
    assert f"AMI {server.host}:{server.port}: cannot connect" in seen.downs()[0]


def test_reconnects_after_the_server_drops_and_asks_queue_status_again(seen, run):
    with AmiServer(Script.named("floor_live")) as server:
        start(run, seen, endpoint(server))
        wait_for(lambda: seen.names() == FLOOR_EVENTS, 10, what="the first session")
        server.drop()
        wait_for(lambda: seen.names() == FLOOR_EVENTS * 2, 10, what="the second session")
        assert len(server.received("QueueStatus")) == 2 and len(seen.snapshots) == 2
        ups = [c.up for c in seen.links]
        assert ups[0] and ups[-1] and ups.count(True) == 2 and not ups[1]
        assert "connection" in seen.downs()[0]


def test_asterisk_restarting_mid_call(seen, run):
    with AmiServer(Script.named("floor_live")) as server:
        start(run, seen, endpoint(server))
        wait_for(lambda: "AgentConnect" in seen.names(), 10, what="the call connected")
        server.restart(Script.named("after_restart"), down_s=0.5)
        wait_for(lambda: len(seen.snapshots) == 2, 10, what="a new QueueStatus after restart")
        wait_for(lambda: seen.names()[-1] == "QueueMemberStatus", 10, what="new events")
        assert len(server.received("QueueStatus")) == 2 and server.logins == 2
        after = seen.snapshots[1]
        # The floor as the restarted Asterisk has it: the call is gone, the member is free.
        assert not after.named("QueueEntry")
        assert [m["InCall"] for m in after.named("QueueMember")] == ["0"]
        # Up, then down (its reason updated as it changes: closed, refused...), then up.
        ups = [c.up for c in seen.links]
        assert ups[0] and ups[-1] and ups.count(True) == 2 and not ups[1]
        assert any("cannot connect: Connection refused" in r for r in seen.downs())
        assert seen.events[-2].event == "FullyBooted"  # of the new session, after its snapshot


def test_a_link_that_stops_answering_ping_is_dead(seen, run):
    with AmiServer(Script.named("floor_live"), answer_ping=False) as server:
        start(run, seen, endpoint(server, keepalive_s=0.2, timeout_s=0.5))
        wait_for(seen.downs, 10, what="the dead link noticed")
        assert "no answer to Ping within 0.5 s" in seen.downs()[0]
        wait_for(lambda: len(server.received("QueueStatus")) >= 2, 10, what="a reconnect")


def test_a_live_link_answers_ping_and_stays_up(seen, run):
    with AmiServer(Script.named("floor_live")) as server:
        client = start(run, seen, endpoint(server, keepalive_s=0.1, timeout_s=2.0))
        wait_for(lambda: len(server.received("Ping")) >= 5, 10, what="five pings")
        assert client.up and seen.ups() == 1 and not seen.downs()
        assert server.connections == 1


def test_bad_input_and_a_failing_handler_do_not_stop_the_stream(seen, run):
    script = Script.named("floor_live")
    script.events = ["\x00\x01\x02 garbage", "Event: Hold\nUniqueid: 1.1",
                     "not an AMI line at all", "Event: Unhold\nUniqueid: 1.1"]
    with AmiServer(script) as server:
        broken: list[str] = []

        def on_event(event: AmiMessage) -> None:
            broken.append(event.event or "")
            seen.on_event(event)
            if event.event == "Hold":
                raise RuntimeError("handler bug")

        client = AmiClient(endpoint(server), on_event=on_event, on_snapshot=seen.on_snapshot,
                           on_link=seen.on_link, environ={PASSWORD_ENV: "s3cret"})
        run.append(client)
        client.start()
        wait_for(lambda: seen.names() == ["FullyBooted", "Hold", "Unhold"], 10, what="events")
        assert client.stats.bad_frames == 2 and client.stats.handler_errors == 1
        assert client.up and not seen.downs()


def test_stop_logs_off_and_ends_the_thread(seen, run):
    with AmiServer(Script.named("floor_live")) as server:
        client = start(run, seen, endpoint(server))
        wait_for(lambda: client.up, 10, what="the link up")
        client.stop()
        wait_for(lambda: server.received("Logoff"), 5, what="Logoff")
        assert not client.up and seen.links[-1] == LinkChange(False, "stopped")
        assert client._thread is None


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site CA and a server certificate for 127.0.0.1, made by the shipped script."""
    require("openssl", "openssl")
    out = tmp_path_factory.mktemp("amicerts")
    done = subprocess.run(["bash", str(ROOT_DIR / "kiosk" / "mosquitto" / "make-certs.sh"),
                           str(out), "127.0.0.1"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def tls_server(certs: Path) -> AmiServer:
    import ssl
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs / "server.crt", certs / "server.key")
    return AmiServer(Script.named("floor_live"), tls=context)


def test_tls_with_the_configured_ca(seen, run, certs):
    with tls_server(certs) as server:
        start(run, seen, endpoint(server, tls=True, ca_file=certs / "ca.crt"))
        wait_for(lambda: seen.names() == FLOOR_EVENTS, 10, what="events over TLS")


def test_tls_refuses_a_server_the_ca_did_not_sign(seen, run, certs):
    with tls_server(certs) as server:
        start(run, seen, endpoint(server, tls=True, ca_file=None))  # system CAs only
        wait_for(seen.downs, 10, what="a TLS failure")
        assert "TLS failed: certificate not trusted" in seen.downs()[0]
        assert not server.received("Login")


@pytest.mark.parametrize(("attempt", "jitter", "delay"), [
    (0, 1.0, 1.0), (0, 0.0, 0.5), (1, 1.0, 2.0), (3, 1.0, 8.0), (6, 1.0, 60.0),
    (60, 1.0, 60.0), (10_000, 0.5, 45.0),
])
def test_backoff_doubles_is_capped_and_jittered(attempt, jitter, delay):
    assert backoff_delay(attempt, 1.0, 60.0, jitter) == pytest.approx(delay)
