"""systemd's notify protocol: READY once the screen is up, then WATCHDOG pings from the UI.

The pings are sent from the Kivy clock, so they stop when the UI thread freezes and systemd
restarts the kiosk (``WatchdogSec``). The protocol is one datagram to ``$NOTIFY_SOCKET``;
outside systemd the variable is unset and every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


class Notifier:
    """Sends sd_notify messages, if systemd asked for them."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        # An abstract socket is written with a leading "@" and means a leading NUL byte.
        self.address = "\0" + address[1:] if address.startswith("@") else address
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        wanted = usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid()))
        self.watchdog_s: float | None = int(usec) / 1e6 if wanted else None

    @property
    def ping_every_s(self) -> float | None:
        """How often to ping: half the watchdog interval, as systemd recommends."""
        return None if self.watchdog_s is None else self.watchdog_s / 2

    def notify(self, state: str) -> bool:
        """Send one state line ("READY=1", "WATCHDOG=1"); False if not under systemd."""
        if not self.address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(self.address)
                sock.sendall(state.encode("utf-8"))
        except OSError as exc:
            log.warning("sd_notify %s failed: %s", state, exc)
            return False
        return True
