"""InfluxDB over its 1.x HTTP API: line protocol to ``/write``, InfluxQL on ``/query``.

InfluxDB 1.x serves this API natively; 2.x (with DBRP mappings) and 3.x serve it for
compatibility, so the recorder and the reports work with all three. Credentials come from
the environment: a token is sent as ``Authorization: Token ...``, otherwise a username and
password as HTTP basic auth.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import urllib3

from wallboard.adapters.mqtt import password_from_env
from wallboard.errors import WallboardError

if TYPE_CHECKING:
    from wallboard.config import InfluxConfig

log = logging.getLogger(__name__)

_DROPPED = re.compile(r"dropped=(\d+)")


class InfluxUnavailable(WallboardError, ConnectionError):
    """The write or query did not happen, but may work later: keep the data, try again."""


class InfluxRefused(WallboardError, ValueError):
    """InfluxDB answered that the request itself is wrong; sending it again will not help."""


@dataclass(frozen=True, slots=True)
class Written:
    """The outcome of a write InfluxDB answered: how many points it dropped, and why."""

    dropped: int = 0
    reason: str = ""


class InfluxHttp:
    """One InfluxDB database over HTTP, with keep-alive connections."""

    def __init__(self, url: str, database: str, *, username: str | None = None,
                 password: str | None = None, token: str | None = None,
                 timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.database = database
        headers = {"User-Agent": "wallboard"}
        if token:
            headers["Authorization"] = f"Token {token}"
        elif username:
            headers.update(urllib3.make_headers(basic_auth=f"{username}:{password or ''}"))
        self._headers = headers
        self._timeout = urllib3.Timeout(connect=min(timeout_s, 3.0), read=timeout_s)
        # No retries here: the caller decides, and spools meanwhile.
        self._http = urllib3.PoolManager(num_pools=2, maxsize=2, retries=False)

    @classmethod
    def from_config(cls, config: InfluxConfig, timeout_s: float = 10.0) -> InfluxHttp:
        """The database a config's ``[influx]`` names, with secrets from the environment."""
        return cls(config.url, config.database, username=config.username,
                   password=password_from_env(config.password_env),
                   token=password_from_env(config.token_env), timeout_s=timeout_s)

    def write(self, lines: bytes, *, policy: str | None = None) -> Written:
        """Write line protocol (nanosecond times) to ``policy``.

        Raises ``InfluxUnavailable`` if nothing was written and trying again may help (down,
        overloaded, no database yet, bad credentials), ``InfluxRefused`` if the request is
        wrong. A partial write (some points refused, e.g. beyond retention) returns them.
        """
        params = {"db": self.database, "precision": "ns"}
        if policy:
            params["rp"] = policy
        status, body = self._post("/write", params, lines,
                                  {"Content-Type": "text/plain; charset=utf-8"})
        if status == 204:
            return Written()
        reason = _error_text(body)
        # 1.x answers 400, 2.x 422 (beyond retention): the other points were written.
        if status in (400, 422) and "partial write" in reason:
            match = _DROPPED.search(reason)
            return Written(int(match.group(1)) if match else 1, reason)
        if status in (400, 413, 422):
            raise InfluxRefused(f"influxdb /write: HTTP {status}: {reason}")
        if "retention policy not found" in reason:  # kept until someone sets the database up
            reason += "; run `wallboard recorder --init-db`"
        raise InfluxUnavailable(f"influxdb /write: HTTP {status}: {reason}")

    def query(self, q: str, *, database: bool = True) -> list[dict[str, Any]]:
        """Run InfluxQL (POST, so statements that change things work too); one result each.

        Raises ``InfluxRefused`` naming the statement if any statement failed.
        """
        params = {"q": q}
        if database:
            params["db"] = self.database
        status, body = self._post("/query", params, b"",
                                  {"Content-Type": "application/x-www-form-urlencoded"})
        if status >= 500 or status in (401, 403, 404):
            raise InfluxUnavailable(f"influxdb /query: HTTP {status}: {_error_text(body)}")
        try:
            data = json.loads(body)
        except ValueError:
            raise InfluxUnavailable(f"influxdb /query: HTTP {status}: not JSON") from None
        if status != 200 or "error" in data:
            raise InfluxRefused(f"influxdb: {q[:200]}: {data.get('error', status)}")
        results: list[dict[str, Any]] = data.get("results", [])
        for result in results:
            if "error" in result:
                raise InfluxRefused(f"influxdb: {q[:200]}: {result['error']}")
        return results

    def close(self) -> None:
        """Close the kept-alive connections."""
        self._http.clear()

    def _post(self, path: str, params: dict[str, str], body: bytes,
              headers: dict[str, str]) -> tuple[int, bytes]:
        try:
            response = self._http.request(
                "POST", f"{self.url}{path}?{urlencode(params)}", body=body,
                headers={**self._headers, **headers}, timeout=self._timeout)
        except urllib3.exceptions.HTTPError as exc:  # refused, reset, timed out
            raise InfluxUnavailable(f"influxdb {path}: {type(exc).__name__}: {exc}") from None
        return response.status, response.data


def _error_text(body: bytes) -> str:
    """InfluxDB's error message from a response body, on one line."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:300] or "(no body)"
    message = data.get("error") or data.get("message") if isinstance(data, dict) else None
    return str(message or text)[:300]
