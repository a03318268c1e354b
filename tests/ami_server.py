"""A scripted AMI server for tests: a real TCP (or TLS) listener on a free loopback port.

It plays a transcript in tests/ami_transcripts/: what an Asterisk server sent in one session,
exactly as on the wire (LF line ends in the file, sent as CRLF). The transcript is cut the
way Asterisk's ``main/manager.c`` and ``apps/app_queue.c`` answer:

- the first line is the banner, sent on connect;
- the first ``Response:`` block answers ``Login`` (when the username and secret match;
  otherwise ``Response: Error`` / ``Message: Authentication failed`` and the connection
  closes, as Asterisk does), and event blocks after it are sent straight after login;
- the next ``Response:`` block, up to the ``QueueStatusComplete`` event, answers each
  ``QueueStatus``; the ``ActionID`` lines in it carry the request's ActionID;
- every block after that is an event played once the QueueStatus answer is out, optionally
  in tiny chunks with a delay between them.

``Ping`` gets ``Response: Success`` / ``Ping: Pong`` (unless ``answer_ping`` is off),
``Logoff`` gets ``Response: Goodbye``. ``drop()`` cuts every connection; ``restart()``
does that and closes the port for a moment, like Asterisk restarting; ``load()`` changes
the transcript for the next connections. The server parses actions with its own few lines
of code, not with ``wallboard.telephony.ami_wire``, so a parser bug cannot hide itself.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from wallboard.devservices import free_port

TRANSCRIPTS = Path(__file__).resolve().parent / "ami_transcripts"
HOST = "127.0.0.1"


@dataclass
class Script:
    """A transcript cut into what the server sends when."""

    banner: str
    login_ok: str
    after_login: list[str]
    queue_status: list[str]
    events: list[str]

    @classmethod
    def parse(cls, text: str) -> Script:
        """Cut a transcript's text (see the module docstring)."""
        banner, _, rest = text.replace("\r\n", "\n").partition("\n")
        blocks = [b.strip("\n") for b in rest.split("\n\n") if b.strip("\n")]
        responses = [i for i, b in enumerate(blocks) if b.startswith("Response:")]
        assert len(responses) >= 2, "a transcript needs a Login and a QueueStatus answer"
        login, status = responses[0], responses[1]
        end = next(i for i in range(status, len(blocks))
                   if blocks[i].startswith("Event: QueueStatusComplete"))
        return cls(banner, blocks[login], blocks[login + 1:status], blocks[status:end + 1],
                   blocks[end + 1:])

    @classmethod
    def named(cls, name: str) -> Script:
        """The transcript ``tests/ami_transcripts/{name}.txt``."""
        return cls.parse((TRANSCRIPTS / f"{name}.txt").read_text())


def _with_action_id(block: str, action_id: str | None) -> str:
    """``block`` with its ActionID lines set to ``action_id`` (or left out)."""
    lines = []
    for line in block.split("\n"):
        if line.lower().startswith("actionid:"):
            if action_id is not None:
                lines.append(f"ActionID: {action_id}")
        else:
            lines.append(line)
    return "\n".join(lines)


@dataclass
class _Session:
    """One connection. Only its own thread reads and writes the socket: a TLS socket must not
    be used from two threads at once."""

    sock: socket.socket
    outbox: deque[tuple[bytes, float]] = field(default_factory=deque)  # data, pause after
    closed: bool = False  # set by drop(): the session's thread closes the socket
    hang_up: bool = False  # close once the outbox is sent


class AmiServer:
    """The scripted server; use as a context manager."""

    def __init__(self, script: Script, *, username: str = "wallboard",
                 secret: str = "s3cret", chunk: int | None = None, delay_s: float = 0.0,
                 newline: bytes = b"\r\n", answer_ping: bool = True,
                 tls: ssl.SSLContext | None = None) -> None:
        self.script, self.username, self.secret = script, username, secret
        self.chunk, self.delay_s, self.newline = chunk, delay_s, newline
        self.answer_ping, self.tls = answer_ping, tls
        self.host, self.port = HOST, free_port()
        self.lock = threading.Lock()
        self.actions: list[dict[str, str]] = []  # every action received, in order
        self.connections = 0
        self.logins = 0
        self._sessions: list[_Session] = []
        self._listener: socket.socket | None = None
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []

    # Control ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Listen on the port and accept connections in the background."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(8)
        listener.settimeout(0.1)
        self._listener = listener
        self._closing.clear()
        self._spawn(self._accept, listener)
        return self

    def drop(self) -> None:
        """Cut every open connection (the listener stays)."""
        with self.lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.closed = True
        for thread in self._threads:
            if thread.name.startswith("ami-session"):
                thread.join(5)

    def restart(self, script: Script | None = None, down_s: float = 0.2) -> None:
        """Asterisk restarting: cut everything, refuse connections for ``down_s``, come back
        on the same port, with ``script`` if given."""
        self.close()
        if script is not None:
            self.script = script
        time.sleep(down_s)  # the port is closed meanwhile: a reconnect must be refused
        self.start()

    def load(self, script: Script) -> None:
        """Play ``script`` to the connections made from now on."""
        self.script = script

    def close(self) -> None:
        """Stop listening and cut every connection."""
        self._closing.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
            self._listener = None
        self.drop()
        for thread in self._threads:
            thread.join(5)
        self._threads = [t for t in self._threads if t.is_alive()]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def received(self, action: str) -> list[dict[str, str]]:
        """The actions called ``action`` (any case) received so far."""
        with self.lock:
            return [a for a in self.actions if a.get("Action", "").lower() == action.lower()]

    # Serving ---------------------------------------------------------------------------

    def _spawn(self, target: object, *args: object, name: str = "ami-server") -> None:
        thread = threading.Thread(target=target, args=args, daemon=True,  # type: ignore[arg-type]
                                  name=name)
        thread.start()
        self._threads.append(thread)

    def _accept(self, listener: socket.socket) -> None:
        while not self._closing.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls is not None:
                try:
                    sock.settimeout(5)
                    sock = self.tls.wrap_socket(sock, server_side=True)
                except (OSError, ssl.SSLError):
                    sock.close()
                    continue
            session = _Session(sock)
            with self.lock:
                self._sessions.append(session)
                self.connections += 1
            self._spawn(self._serve, session, self.script, name="ami-session")

    def _send(self, session: _Session, text: str, *, paced: bool = False) -> None:
        """Queue ``text`` (LF line ends) to go out as AMI sends it: CRLF unless told otherwise,
        in ``chunk``-byte pieces ``delay_s`` apart when ``paced``."""
        data = text.replace("\n", "\r\n").encode() if self.newline == b"\r\n" else text.encode()
        step = self.chunk if paced and self.chunk else len(data)
        for start in range(0, len(data), step):
            session.outbox.append((data[start:start + step], self.delay_s if paced else 0.0))

    def _flush(self, session: _Session, now: float, send_at: float) -> float:
        """Send what is due; return when the next piece may go."""
        while session.outbox and now >= send_at:
            data, pause = session.outbox.popleft()
            session.sock.sendall(data)
            send_at = now + pause
        return send_at

    def _serve(self, session: _Session, script: Script) -> None:
        self._send(session, script.banner + "\n")
        buffer = b""
        logged_in = False
        send_at = 0.0
        try:
            while not session.closed and not self._closing.is_set():
                send_at = self._flush(session, time.monotonic(), send_at)
                if session.hang_up and not session.outbox:
                    session.sock.shutdown(socket.SHUT_RDWR)
                    break
                session.sock.settimeout(0.005 if session.outbox else 0.05)
                try:
                    data = session.sock.recv(4096)
                except TimeoutError:
                    continue
                if not data:
                    break
                buffer += data
                while True:
                    raw, sep, rest = buffer.replace(b"\r\n", b"\n").partition(b"\n\n")
                    if not sep:
                        break
                    buffer = rest
                    action = _parse_action(raw.decode("utf-8", "replace"))
                    with self.lock:
                        self.actions.append(action)
                    logged_in = self._answer(session, script, action, logged_in)
        except OSError:
            pass  # the client went away
        finally:
            session.closed = True
            with contextlib.suppress(OSError):
                session.sock.close()

    def _answer(self, session: _Session, script: Script, action: dict[str, str],
                logged_in: bool) -> bool:
        """Answer one action as Asterisk would; return whether the session is logged in."""
        name = action.get("Action", "").lower()
        action_id = action.get("ActionID")
        echo = f"ActionID: {action_id}\n" if action_id is not None else ""
        if name == "login":
            if action.get("Username") == self.username and action.get("Secret") == self.secret:
                with self.lock:
                    self.logins += 1
                self._send(session, _with_action_id(script.login_ok, action_id) + "\n\n")
                for block in script.after_login:
                    self._send(session, block + "\n\n")
                return True
            self._send(session, f"Response: Error\n{echo}Message: Authentication failed\n\n")
            self._hang_up(session)
            return False
        if not logged_in:
            self._send(session, f"Response: Error\n{echo}Message: Permission denied\n\n")
            return False
        if name == "queuestatus":
            answer = "".join(_with_action_id(b, action_id) + "\n\n" for b in script.queue_status)
            self._send(session, answer)
            for block in script.events:
                self._send(session, block + "\n\n", paced=True)
        elif name == "ping":
            if self.answer_ping:
                self._send(session, f"Response: Success\n{echo}Ping: Pong\n"
                                    f"Timestamp: {time.time():.6f}\n\n")
        elif name == "logoff":
            self._send(session, f"Response: Goodbye\n{echo}Message: Thanks for all the fish.\n\n")
            self._hang_up(session)
        else:
            self._send(session, f"Response: Error\n{echo}Message: Invalid/unknown command\n\n")
        return True

    def _hang_up(self, session: _Session) -> None:
        session.hang_up = True


def _parse_action(text: str) -> dict[str, str]:
    """One action block as a dict (the last value of a repeated key wins)."""
    action: dict[str, str] = {}
    for line in text.split("\n"):
        key, _, value = line.partition(":")
        if key.strip():
            action[key.strip()] = value.strip()
    return action
