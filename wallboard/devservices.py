"""Local mosquitto and influxd processes, each in its own temp dir on free loopback ports.

The tests start them from fixtures and `wallboard demo` starts them for the demo; neither
needs, or touches, a broker or database the machine already runs.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

T = TypeVar("T")

HOST = "127.0.0.1"
SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin")
START_ATTEMPTS = 3
MAX_QUEUED_MESSAGES = 500_000
# The site broker config's listeners and its directory (kiosk/mosquitto/wallboard.conf).
SITE_PLAIN_PORT, SITE_TLS_PORT = 1883, 8883
SITE_ETC = "/etc/mosquitto/"
# Localhost services must never be reached through an http_proxy from the environment.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServiceError(RuntimeError):
    """A service failed to start or answered with an error."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def find_binary(name: str) -> str | None:
    """Find an executable on PATH or in the sbin dirs a non-root PATH often lacks."""
    found = shutil.which(name)
    if found:
        return found
    for directory in SBIN_DIRS:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def wait_for(
    predicate: Callable[[], T],
    timeout: float = 5.0,
    interval: float = 0.02,
    what: str = "condition",
) -> T:
    """Poll predicate until it returns something truthy and return it; AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(interval)


def tail(path: Path, lines: int = 30) -> str:
    """Return the last lines of a text file, or a note if it does not exist."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"({path.name} does not exist)"
    return "\n".join(text.splitlines()[-lines:])


class _Service:
    """A process started from a config file in a private temp dir, stopped on close()."""

    name = "service"

    def __init__(
        self,
        binary: str | None = None,
        extra_config: Sequence[str] = (),
        start_timeout: float = 15.0,
    ) -> None:
        """Prepare a temp dir; extra_config lines are appended to the generated config."""
        found = binary or find_binary(self.name)
        if found is None:
            raise ServiceError(f"{self.name} binary not found")
        self.binary = found
        self.extra_config = list(extra_config)
        self.start_timeout = start_timeout
        self.host = HOST
        self.dir = Path(tempfile.mkdtemp(prefix=f"wallboard-{self.name}-"))
        self.config_path = self.dir / f"{self.name}.conf"
        self.output_path = self.dir / "output.log"
        self._process: subprocess.Popen[bytes] | None = None

    def _choose_ports(self) -> None:
        """Pick fresh free ports for the next start."""
        raise NotImplementedError

    def _config(self) -> str:
        """Return the config file text."""
        raise NotImplementedError

    def _command(self) -> list[str]:
        """Return the argv that starts the service."""
        raise NotImplementedError

    def _ready(self) -> bool:
        """True once the service answers real requests."""
        raise NotImplementedError

    def _log_paths(self) -> list[Path]:
        """Files to show when start fails: captured output first."""
        return [self.output_path]

    def start(self) -> Self:
        """Start on fresh ports, retrying on new ones if another process took a port first."""
        for attempt in range(1, START_ATTEMPTS + 1):
            self._choose_ports()
            if self._launch(retry_port_clash=attempt < START_ATTEMPTS):
                return self
        raise AssertionError("unreachable")

    def restart(self) -> Self:
        """Stop and start again on the same ports with the same data dir."""
        self.stop()
        self._launch(retry_port_clash=False)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the process, killing it if it does not exit in time; keep the temp dir."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def close(self) -> None:
        """Stop the process and delete the temp dir."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def pid(self) -> int | None:
        """The running process's id (benchmarks read its CPU time)."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._process is not None and self._process.poll() is None

    def logs(self, lines: int = 30) -> str:
        """Return the tail of every log file the service writes."""
        return "\n".join(f"--- {p.name} ---\n{tail(p, lines)}" for p in self._log_paths())

    def _launch(self, retry_port_clash: bool) -> bool:
        """Start the process and wait until ready; False if it lost a port race and may retry."""
        self.config_path.write_text(self._config())
        with self.output_path.open("ab") as output:
            output_start = output.tell()
            self._process = subprocess.Popen(
                self._command(),
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                # A session of its own: a Ctrl-C or hang-up from the terminal reaches only the
                # program that started it, which stops its clients before the service.
                start_new_session=True,
            )
        process = self._process
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self._process = None
                if retry_port_clash and self._port_clash(output_start):
                    return False
                raise ServiceError(
                    f"{self.name} exited with code {process.returncode} during start\n"
                    + self.logs()
                )
            if self._ready():
                return True
            time.sleep(0.02)
        self.stop()
        raise ServiceError(f"{self.name} not ready after {self.start_timeout:.0f}s\n" + self.logs())

    def _port_clash(self, output_start: int) -> bool:
        """True if this launch's output or logs say a port was already taken."""
        with self.output_path.open("rb") as output:
            output.seek(output_start)
            text = output.read().decode(errors="replace")
        text += "".join(tail(p) for p in self._log_paths()[1:])
        return "address already in use" in text.lower()

    def __enter__(self) -> Self:
        """Start, cleaning up the temp dir if start fails."""
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop and delete the temp dir."""
        self.close()


def _tcp_open(host: str, port: int) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Mosquitto(_Service):
    """A mosquitto broker with anonymous access and on-disk persistence."""

    name = "mosquitto"

    def __init__(
        self,
        binary: str | None = None,
        extra_config: Sequence[str] = (),
        start_timeout: float = 10.0,
        log_types: Sequence[str] = ("all",),
    ) -> None:
        """Prepare a broker; call start() or use it as a context manager.

        Tests log everything, to debug a failure; benchmarks log only what a site broker does,
        since writing a line per message slows the broker down.
        """
        super().__init__(binary, extra_config, start_timeout)
        self.log_types = tuple(log_types)
        self.port = 0
        self.data_dir = self.dir / "data"
        self.data_dir.mkdir()
        self.log_path = self.dir / "mosquitto.log"

    def _choose_ports(self) -> None:
        """Pick one free port for the listener."""
        self.port = free_port()

    def _config(self) -> str:
        """Localhost listener, anonymous access, persistence and logs in the temp dir."""
        lines = [
            f"listener {self.port} {self.host}",
            "allow_anonymous true",
            "persistence true",
            # mosquitto joins location and file name without a separator.
            f"persistence_location {self.data_dir}/",
            f"log_dest file {self.log_path}",
            *(f"log_type {kind}" for kind in self.log_types),
            # The default (1000) drops QoS 1 messages queued for a stopped or busy controller
            # within seconds of a peak; the site broker config raises it the same way.
            f"max_queued_messages {MAX_QUEUED_MESSAGES}",
            # Small messages (a help request, its state) go out at once, not after an ACK.
            "set_tcp_nodelay true",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # As root it would switch to the mosquitto user, who cannot write our temp dir.
            lines.append("user root")
        return "\n".join([*lines, *self.extra_config, ""])

    def _command(self) -> list[str]:
        """Run mosquitto on the config file."""
        return [self.binary, "-c", str(self.config_path)]

    def _log_paths(self) -> list[Path]:
        """Captured output, then mosquitto's own log."""
        return [self.output_path, self.log_path]

    def _ready(self) -> bool:
        """A TCP connect and a full MQTT CONNECT/CONNACK both succeed."""
        return _tcp_open(self.host, self.port) and self._mqtt_connects()

    def _mqtt_connects(self) -> bool:
        """True if a full MQTT CONNECT/CONNACK round trip succeeds."""
        reason = connack(self.host, self.port)
        return reason is not None and not reason.is_failure


def connack(host: str, port: int, username: str | None = None, password: str | None = None
            ) -> Any:
    """The reason code of the CONNACK an anonymous (or given) MQTT 3.1.1 login gets, or None
    if none arrives within 2 s."""
    result: list[Any] = []

    def on_connect(
        client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, props: Any
    ) -> None:
        """Record the broker's answer."""
        result.append(reason_code)

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"probe-{uuid.uuid4().hex[:12]}"
    )
    client.on_connect = on_connect
    if username is not None:
        client.username_pw_set(username, password)
    try:
        client.connect(host, port, keepalive=5)
    except OSError:
        return None
    try:
        deadline = time.monotonic() + 2.0
        while not result and time.monotonic() < deadline:
            client.loop(timeout=0.05)
    finally:
        # Sends DISCONNECT and closes the socket, whether or not CONNACK arrived.
        client.disconnect()
    return result[0] if result else None


class SiteMosquitto(Mosquitto):
    """A mosquitto started from a site config (``kiosk/mosquitto/wallboard.conf``) laid out as
    on a Debian hub, with only its listener ports and ``/etc/mosquitto/`` paths moved here.

    Put the files it names (certificates, password file, ACL) under ``etc`` before
    ``start()``. ``port`` is the plain listener, ``tls_port`` the TLS one.
    """

    def __init__(self, site_config: str, binary: str | None = None,
                 start_timeout: float = 10.0) -> None:
        """Prepare a broker for ``site_config``, the text of the site's conf.d file."""
        super().__init__(binary, (), start_timeout)
        self.site_config = site_config
        self.etc = self.dir / "etc"
        self.etc.mkdir()
        self.tls_port = 0

    def _choose_ports(self) -> None:
        """Two distinct free ports: plain and TLS."""
        self.port = free_port()
        self.tls_port = free_port()
        while self.tls_port == self.port:
            self.tls_port = free_port()

    def _config(self) -> str:
        """What Debian's mosquitto.conf sets, then the site config its include_dir reads."""
        lines = [
            "persistence true",
            f"persistence_location {self.data_dir}/",
            f"log_dest file {self.log_path}",
            *(f"log_type {kind}" for kind in self.log_types),
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            lines.append("user root")  # as in Mosquitto._config
        site = relocate_site_config(self.site_config, etc=self.etc,
                                    ports={SITE_PLAIN_PORT: self.port,
                                           SITE_TLS_PORT: self.tls_port})
        return "\n".join([*lines, site, ""])

    def _ready(self) -> bool:
        """Both listeners accept TCP, and the plain one answers a CONNECT (with a refusal)."""
        return (_tcp_open(self.host, self.port) and _tcp_open(self.host, self.tls_port)
                and connack(self.host, self.port) is not None)


def relocate_site_config(text: str, *, etc: Path, ports: dict[int, int]) -> str:
    """The site config with its ``/etc/mosquitto/`` paths under ``etc`` and its listener
    ports swapped by ``ports``; a listener with no address gets loopback, since a test
    broker never listens on the network."""
    out = []
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["listener"]:
            port = int(words[1])
            if port not in ports:
                raise ServiceError(f"site config listens on {port}: no test port for it")
            address = words[2] if len(words) > 2 else HOST
            line = f"listener {ports[port]} {address}"
        out.append(line.replace(SITE_ETC, f"{etc}/"))
    return "\n".join(out)


class Influxd(_Service):
    """An InfluxDB 1.x server with HTTP on a free port and quiet logs."""

    name = "influxd"

    def __init__(
        self,
        binary: str | None = None,
        extra_config: Sequence[str] = (),
        start_timeout: float = 30.0,
    ) -> None:
        """Prepare a server; call start() or use it as a context manager."""
        super().__init__(binary, extra_config, start_timeout)
        self.port = 0
        self.rpc_port = 0
        self.data_dir = self.dir / "data"

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://{self.host}:{self.port}"

    def _choose_ports(self) -> None:
        """Pick free ports for HTTP and the backup/restore RPC service."""
        self.port = free_port()
        self.rpc_port = free_port()

    def _config(self) -> str:
        """Localhost-only, quiet server with all state in the temp dir."""
        # Top-level keys must precede every [table]; extra_config lands at the end.
        return "\n".join(
            [
                # Upstream spells it reporting-disabled, Debian's build reporting-enabled;
                # each ignores the other's key.
                "reporting-disabled = true",
                "reporting-enabled = false",
                f'bind-address = "{self.host}:{self.rpc_port}"',
                "[meta]",
                f'  dir = "{self.dir / "meta"}"',
                "  logging-enabled = false",
                "[data]",
                f'  dir = "{self.data_dir}"',
                f'  wal-dir = "{self.dir / "wal"}"',
                "  query-log-enabled = false",
                "[http]",
                f'  bind-address = "{self.host}:{self.port}"',
                "  log-enabled = false",
                "[monitor]",
                "  store-enabled = false",
                "[continuous_queries]",
                "  log-enabled = false",
                "[logging]",
                '  level = "warn"',
                "  suppress-logo = true",
                *self.extra_config,
                "",
            ]
        )

    def _command(self) -> list[str]:
        """Run influxd on the config file."""
        return [self.binary, "-config", str(self.config_path)]

    def _ready(self) -> bool:
        """GET /ping answers 204 No Content."""
        try:
            with _HTTP.open(f"{self.url}/ping", timeout=1.0) as response:
                return int(response.status) == 204
        except (OSError, urllib.error.URLError):
            return False

    def _request(self, path: str, params: dict[str, str], body: bytes | None = None) -> bytes:
        """POST to the HTTP API and return the body, raising ServiceError on HTTP errors."""
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        request = urllib.request.Request(url, data=body or b"", method="POST")
        try:
            with _HTTP.open(request, timeout=10.0) as response:
                data: bytes = response.read()
                return data
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")
            raise ServiceError(f"influxd {path} failed: HTTP {err.code}: {detail}") from err

    def query(self, q: str, db: str | None = None) -> dict[str, Any]:
        """Run InfluxQL and return the decoded JSON; raise ServiceError if a statement failed."""
        params = {"q": q}
        if db is not None:
            params["db"] = db
        result: dict[str, Any] = json.loads(self._request("/query", params))
        errors = [r["error"] for r in result.get("results", []) if "error" in r]
        if "error" in result:
            errors.append(result["error"])
        if errors:
            raise ServiceError(f"influxd query {q!r} failed: {'; '.join(errors)}")
        return result

    def write(self, db: str, lines: str | bytes, precision: str = "s") -> None:
        """Write line protocol to db."""
        body = lines.encode() if isinstance(lines, str) else lines
        self._request("/write", {"db": db, "precision": precision}, body)


class Xvfb(_Service):
    """A virtual X display for the kiosk's window: tests, screenshots and benchmarks."""

    name = "Xvfb"

    def __init__(self, binary: str | None = None, *, width: int = 3840, height: int = 2160
                 ) -> None:
        """A screen big enough for a 4K window, so every size can be tried on one display."""
        super().__init__(binary)
        self.screen = f"{width}x{height}x24"
        self.display: str | None = None

    def _choose_ports(self) -> None:
        self.display = None  # Xvfb picks a free display itself (-displayfd)

    def _config(self) -> str:
        return ""

    def _command(self) -> list[str]:
        return [self.binary, "-displayfd", "1", "-screen", "0", self.screen,
                "-nolisten", "tcp", "-noreset"]

    def _ready(self) -> bool:
        numbers = [line.strip() for line in tail(self.output_path, 50).splitlines()
                   if line.strip().isdigit()]
        if not numbers:
            return False
        self.display = f":{numbers[-1]}"
        return Path(f"/tmp/.X11-unix/X{numbers[-1]}").exists()
