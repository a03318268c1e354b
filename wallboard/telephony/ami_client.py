"""The AMI client (shell): connect, log in, ask ``QueueStatus``, then stream events.

One thread owns the connection. Each session:

1. connects over TCP, or TLS with the configured CA file, and reads the banner;
2. logs in with ``Username``, the ``Secret`` read from the environment variable the config
   names (read at every connect, so a changed password needs no restart) and ``Events``;
3. sends ``QueueStatus`` and collects its event list up to ``QueueStatusComplete``; the
   list goes to ``on_snapshot`` as the floor as it is now, so a restart of the adapter or of
   Asterisk leaves nothing stale. Events that arrive meanwhile are held and delivered after;
4. reports the link up, then hands every event to ``on_event`` in arrival order, and sends
   ``Ping`` every ``keepalive_s``: no answer within ``timeout_s`` means the link is dead.

Any failure (refused connection, login refused, a dead link, the server closing) reports
the link down with a one-line reason, waits a capped, jittered, growing backoff and starts
again. Callbacks run on the client's thread; one that raises is logged and counted, never
fatal. ``stop()`` logs off and ends the thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from wallboard.errors import WallboardError, one_line
from wallboard.log_limit import LogLimiter
from wallboard.telephony.ami_wire import (
    AmiMessage,
    AmiParser,
    BadAction,
    BadFrame,
    Banner,
    Frame,
    encode_action,
)

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AmiEndpoint:
    """Where and how to reach AMI; the first six fields match ``[telephony.ami]``."""

    host: str = "localhost"
    port: int = 5038
    tls: bool = False
    ca_file: Path | None = None  # TLS: the CA that signed Asterisk's certificate; None: system CAs
    username: str = "wallboard"
    password_env: str = "WALLBOARD_AMI_PASSWORD"
    events: str = "on"  # Login's Events: "on", or event classes such as "agent,call"
    keepalive_s: float = 20.0  # send Ping this often
    timeout_s: float = 10.0  # connect, banner, login, QueueStatus and Ping answers
    backoff_min_s: float = 1.0
    backoff_max_s: float = 60.0

    @property
    def address(self) -> str:
        """``host:port``, as reasons name it."""
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """The answer to ``QueueStatus``: QueueParams, QueueMember and QueueEntry events in order."""

    events: tuple[AmiMessage, ...]

    def named(self, event: str) -> list[AmiMessage]:
        """The events called ``event`` (any case)."""
        return [e for e in self.events if (e.event or "").lower() == event.lower()]


@dataclass(frozen=True, slots=True)
class LinkChange:
    """The AMI link went up or down; ``reason`` is one line."""

    up: bool
    reason: str


EventHandler = Callable[[AmiMessage], None]
SnapshotHandler = Callable[[QueueStatus], None]
LinkHandler = Callable[[LinkChange], None]


class LinkDown(WallboardError, ConnectionError):
    """The session cannot go on; ``str()`` is the one-line reason."""


def backoff_delay(attempt: int, low: float, high: float, jitter: float) -> float:
    """Seconds to wait before retry ``attempt`` (0 first): doubling from ``low``, capped at
    ``high``, scaled by ``jitter`` in [0, 1] into its upper half so clients spread out."""
    base = min(high, low * 2.0 ** min(attempt, 32))
    return base * (0.5 + 0.5 * jitter)


@dataclass
class ClientStats:
    """Counts a status page or test can read."""

    sessions: int = 0  # sessions that got as far as the QueueStatus snapshot
    events: int = 0
    bad_frames: int = 0
    handler_errors: int = 0


class AmiClient:
    """Keeps one AMI session alive and hands what it reads to the callbacks."""

    def __init__(self, endpoint: AmiEndpoint, *, on_event: EventHandler,
                 on_snapshot: SnapshotHandler, on_link: LinkHandler | None = None,
                 environ: Mapping[str, str] | None = None,
                 rng: random.Random | None = None) -> None:
        self.endpoint = endpoint
        self.on_event, self.on_snapshot, self.on_link = on_event, on_snapshot, on_link
        self.environ = os.environ if environ is None else environ
        self.rng = rng or random.Random()
        self.stats = ClientStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._up = False
        self._last_down: str | None = None
        self._limiter = LogLimiter()
        self._action_no = 0
        self._up_this_round = False  # the last session delivered a snapshot

    # Lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background and keep reconnecting until ``stop()``."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ami-client", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Log off, close the connection and end the thread."""
        self._stop.set()  # reads wake at least every 0.5 s to see it
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def up(self) -> bool:
        """True while a session is streaming events."""
        return self._up

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                self._session()
            except LinkDown as exc:
                reason = str(exc)
            except Exception as exc:  # never let the thread die: report it as a link failure
                log.exception("AMI %s: unexpected error", self.endpoint.address)
                reason = f"unexpected error: {one_line(str(exc))}"
            else:
                reason = "stopped"
            if self._stop.is_set():
                break
            self._down(reason)
            if self._up_this_round:
                attempt = 0
            delay = backoff_delay(attempt, self.endpoint.backoff_min_s,
                                  self.endpoint.backoff_max_s, self.rng.random())
            attempt += 1
            self._stop.wait(delay)
        if self._up:
            self._down("stopped")

    # One session -----------------------------------------------------------------------

    def _session(self) -> None:
        ep = self.endpoint
        self._up_this_round = False
        conn = _Connection.open(ep, self._stop, self._bad_frame)
        try:
            if self._stop.is_set():
                return
            banner = conn.banner(time.monotonic() + ep.timeout_s)
            self._login(conn)
            status, held = self._queue_status(conn)
            self.stats.sessions += 1
            self._up_this_round = True
            self._call(self.on_snapshot, status)
            self._mark_up(f"logged in to {ep.address} ({banner.text})")
            for event in held:
                self._deliver(event)
            self._stream(conn)
        finally:
            if self._stop.is_set():
                conn.logoff(self._next_id("logoff"))
            conn.close()

    def _login(self, conn: _Connection) -> None:
        ep = self.endpoint
        secret = self.environ.get(ep.password_env)
        if not secret:
            raise LinkDown(f"AMI {ep.address}: environment variable {ep.password_env} "
                           f"(the AMI password) is not set")
        action_id = self._next_id("login")
        try:
            conn.send(encode_action("Login", action_id, [
                ("Username", ep.username), ("Secret", secret), ("Events", ep.events)]))
        except BadAction as exc:
            raise LinkDown(f"AMI {ep.address}: cannot log in: {exc}") from None
        answer, _ = conn.answer(action_id, time.monotonic() + ep.timeout_s, "Login")
        if (answer.response or "").lower() != "success":
            message = one_line(answer.get("Message", "no reason given"))
            raise LinkDown(f"AMI {ep.address}: login refused for user {ep.username!r}: "
                           f"{message}")

    def _queue_status(self, conn: _Connection) -> tuple[QueueStatus, list[AmiMessage]]:
        ep = self.endpoint
        action_id = self._next_id("queuestatus")
        conn.send(encode_action("QueueStatus", action_id))
        deadline = time.monotonic() + ep.timeout_s
        answer, held = conn.answer(action_id, deadline, "QueueStatus")
        if (answer.response or "").lower() != "success":
            message = one_line(answer.get("Message", "no reason given"))
            raise LinkDown(f"AMI {ep.address}: QueueStatus refused: {message}")
        listed: list[AmiMessage] = []
        while True:
            frame = conn.next_message(deadline, "the QueueStatus list")
            if frame.action_id == action_id and frame.event is not None:
                if frame.event.lower() == "queuestatuscomplete":
                    return QueueStatus(tuple(listed)), held
                listed.append(frame)
            elif frame.event is not None:
                held.append(frame)  # a live event: it comes after the snapshot

    def _stream(self, conn: _Connection) -> None:
        ep = self.endpoint
        next_ping = time.monotonic() + ep.keepalive_s
        pending: tuple[str, float] | None = None  # Ping's ActionID and when its answer is due
        while not self._stop.is_set():
            now = time.monotonic()
            if pending is None and now >= next_ping:
                ping_id = self._next_id("ping")
                conn.send(encode_action("Ping", ping_id))
                pending = (ping_id, now + ep.timeout_s)
            if pending is not None and now >= pending[1]:
                raise LinkDown(f"AMI {ep.address}: no answer to Ping within "
                               f"{ep.timeout_s:g} s")
            due = pending[1] if pending is not None else next_ping
            frame = conn.poll(min(due, now + 0.5))
            if not isinstance(frame, AmiMessage):
                continue
            if frame.event is not None:
                self._deliver(frame)
            elif pending is not None and frame.action_id == pending[0]:
                pending = None
                next_ping = time.monotonic() + ep.keepalive_s

    # Callbacks and state ---------------------------------------------------------------

    def _deliver(self, event: AmiMessage) -> None:
        self.stats.events += 1
        self._call(self.on_event, event)

    def _call(self, handler: Callable[[T], None], value: T) -> None:
        try:
            handler(value)
        except Exception:
            self.stats.handler_errors += 1
            if self._limiter.allow(time.monotonic()):
                log.exception("AMI %s: handler failed on %s", self.endpoint.address,
                              one_line(repr(value))[:200])

    def _bad_frame(self, frame: BadFrame) -> None:
        self.stats.bad_frames += 1
        if self._limiter.allow(time.monotonic()):
            log.warning("AMI %s: skipped bad input: %s", self.endpoint.address, frame.reason)

    def _mark_up(self, reason: str) -> None:
        self._up, self._last_down = True, None
        log.info("AMI link up: %s", reason)
        if self.on_link is not None:
            self._call(self.on_link, LinkChange(True, reason))

    def _down(self, reason: str) -> None:
        """Report the link down once for each new reason (a retry loop repeats itself)."""
        was_up, self._up = self._up, False
        if not was_up and reason == self._last_down:
            return
        self._last_down = reason
        log.warning("AMI link down: %s; retrying with backoff", reason)
        if self.on_link is not None:
            self._call(self.on_link, LinkChange(False, reason))

    def _next_id(self, what: str) -> str:
        self._action_no += 1
        return f"wallboard-{what}-{self._action_no}"


class _Connection:
    """One socket and its parser; every failure becomes ``LinkDown`` with a reason."""

    def __init__(self, sock: socket.socket, endpoint: AmiEndpoint, stop: threading.Event,
                 on_bad: Callable[[BadFrame], None]) -> None:
        self.sock, self.endpoint, self.stop, self.on_bad = sock, endpoint, stop, on_bad
        self.parser = AmiParser()
        self.frames: deque[Frame] = deque()
        self.closed = False

    @classmethod
    def open(cls, ep: AmiEndpoint, stop: threading.Event,
             on_bad: Callable[[BadFrame], None]) -> _Connection:
        """Connect (and do the TLS handshake) or raise ``LinkDown`` saying why not."""
        try:
            sock = socket.create_connection((ep.host, ep.port), timeout=ep.timeout_s)
        except OSError as exc:
            raise LinkDown(f"AMI {ep.address}: cannot connect: {_os_reason(exc)}") from None
        if ep.tls:
            try:
                context = ssl.create_default_context(
                    cafile=str(ep.ca_file) if ep.ca_file else None)
                sock = context.wrap_socket(sock, server_hostname=ep.host)
            except (OSError, ssl.SSLError) as exc:
                sock.close()
                raise LinkDown(f"AMI {ep.address}: TLS failed: {_os_reason(exc)}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock, ep, stop, on_bad)

    def send(self, data: bytes) -> None:
        """Write ``data`` or raise ``LinkDown``."""
        try:
            self.sock.settimeout(self.endpoint.timeout_s)
            self.sock.sendall(data)
        except OSError as exc:
            raise LinkDown(f"AMI {self.endpoint.address}: send failed: "
                           f"{_os_reason(exc)}") from None

    def poll(self, until: float) -> AmiMessage | Banner | None:
        """The next good frame, or None if none came by ``until`` (monotonic)."""
        while True:
            while not self.frames:
                if self.stop.is_set():
                    return None
                left = until - time.monotonic()
                if left <= 0:
                    return None
                self._read(min(left, 0.5))
            frame = self.frames.popleft()
            if not isinstance(frame, BadFrame):
                return frame
            self.on_bad(frame)

    def _read(self, timeout: float) -> None:
        try:
            self.sock.settimeout(max(timeout, 0.001))
            data = self.sock.recv(65536)
        except (TimeoutError, ssl.SSLWantReadError):
            return
        except OSError as exc:
            if self.stop.is_set():
                return
            raise LinkDown(f"AMI {self.endpoint.address}: connection lost: "
                           f"{_os_reason(exc)}") from None
        if not data:
            if self.stop.is_set():
                return
            raise LinkDown(f"AMI {self.endpoint.address}: connection closed by the server")
        self.frames.extend(self.parser.feed(data))

    def banner(self, deadline: float) -> Banner:
        """Wait for the banner line AMI sends first."""
        frame = self.poll(deadline)
        if isinstance(frame, Banner):
            return frame
        if frame is None and self.stop.is_set():
            raise LinkDown("stopped")
        raise LinkDown(f"AMI {self.endpoint.address}: no 'Asterisk Call Manager' banner "
                       f"(is this an AMI port?)")

    def next_message(self, deadline: float, what: str) -> AmiMessage:
        """The next message (banners are ignored), or ``LinkDown`` at ``deadline``."""
        while True:
            frame = self.poll(deadline)
            if frame is None:
                if self.stop.is_set():
                    raise LinkDown("stopped")
                raise LinkDown(f"AMI {self.endpoint.address}: no answer for {what} within "
                               f"{self.endpoint.timeout_s:g} s")
            if isinstance(frame, AmiMessage):
                return frame

    def answer(self, action_id: str, deadline: float,
               action: str) -> tuple[AmiMessage, list[AmiMessage]]:
        """The response to ``action_id``, and the events that came before it."""
        held: list[AmiMessage] = []
        while True:
            message = self.next_message(deadline, action)
            if message.response is not None and message.action_id in (action_id, None):
                return message, held
            if message.event is not None:
                held.append(message)

    def logoff(self, action_id: str) -> None:
        """Say goodbye, best effort: the server may already be gone."""
        if self.closed:
            return
        with contextlib.suppress(OSError):
            self.sock.settimeout(1.0)
            self.sock.sendall(encode_action("Logoff", action_id))

    def close(self) -> None:
        """Close the socket."""
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.close()


def _os_reason(exc: BaseException) -> str:
    """A short reason from a socket or TLS error."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate not trusted ({exc.verify_message})"
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return one_line(text or type(exc).__name__)
