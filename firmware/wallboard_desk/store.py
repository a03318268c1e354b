"""The desk's latest help request on disk, so a press survives a reboot before delivery.

One small JSON file, replaced atomically (write, fsync, rename), so a power cut leaves either
the old request or the new one. A file that cannot be read is logged and ignored: the broker's
retained copy then decides (``desk.py``, ``_reconcile``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from wallboard.validation import field_and_reason
from wallboard_desk.desk import Request

log = logging.getLogger(__name__)

FILE_NAME = "request.json"


# The file holds a Request as JSON; pydantic validates it against the dataclass itself.
_FORMAT = TypeAdapter(Request)


class RequestStore:
    """Load and save the one request this desk remembers."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / FILE_NAME

    def load(self) -> Request | None:
        """The saved request, or None if there is none or it cannot be read."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.error("desk state %s: cannot read: %s", self.path, exc)
            return None
        try:
            return _FORMAT.validate_json(raw, strict=True)
        except ValidationError as exc:
            log.error("desk state %s: ignored, %s: %s", self.path,
                      *field_and_reason(exc, whole="(file)"))
            return None

    def save(self, request: Request | None) -> None:
        """Replace the saved request atomically; None removes it."""
        if request is None:
            self.path.unlink(missing_ok=True)
            return
        data = _FORMAT.dump_json(request)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        # The rename itself is only durable once the directory is synced.
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_NOTHING = object()


class SaveBehind:
    """Saves the latest request on its own thread, so the unit never waits for the disk.

    An fsync on an SD card can take tens of milliseconds; an acknowledgement arriving then
    would wait for it. Only the newest request matters, so saves that queue up collapse
    into one. ``close`` writes whatever is still pending.
    """

    def __init__(self, store: RequestStore, on_error: Callable[[OSError], None]) -> None:
        self.store = store
        self._on_error = on_error
        self._pending: object = _NOTHING
        self._closing = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="desk-save", daemon=True)
        self._thread.start()

    def save(self, request: Request | None) -> None:
        """Save ``request`` soon (None removes the file)."""
        with self._cond:
            self._pending = request
            self._cond.notify()

    def close(self, timeout: float = 10.0) -> None:
        """Write what is pending, then stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is _NOTHING and not self._closing:
                    self._cond.wait()
                if self._pending is _NOTHING:
                    return
                request, self._pending = self._pending, _NOTHING
            try:
                self.store.save(request)  # type: ignore[arg-type]  # never _NOTHING here
            except OSError as exc:  # a full or read-only card must not stop the light
                self._on_error(exc)
