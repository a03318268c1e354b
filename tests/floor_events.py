"""Helpers for floor-model tests: build validated envelopes tersely."""

from __future__ import annotations

import json
from typing import Any

from wallboard.messages import Envelope, decode


def env(topic: str, **payload: Any) -> Envelope:
    """Decode ``payload`` on ``wallboard/hq/<topic>`` exactly as the services will."""
    result = decode(f"wallboard/hq/{topic}", json.dumps(payload).encode(), now=payload["ts"])
    assert isinstance(result, Envelope)
    return result


def offered(q: str, call: str, ts: float) -> Envelope:
    return env(f"queue/{q}/call", ts=ts, call=call, event="offered")


def answered(q: str, call: str, ts: float, wait: float, agent: str = "a1") -> Envelope:
    return env(f"queue/{q}/call", ts=ts, call=call, event="answered", wait_s=wait, agent=agent)


def abandoned(q: str, call: str, ts: float, wait: float) -> Envelope:
    return env(f"queue/{q}/call", ts=ts, call=call, event="abandoned", wait_s=wait)


def completed(q: str, call: str, ts: float, handle: float, hold: float = 0.0,
              agent: str = "a1") -> Envelope:
    return env(f"queue/{q}/call", ts=ts, call=call, event="completed", agent=agent,
               handle_s=handle, hold_s=hold)


def state(agent: str, st: str, since: float, ts: float | None = None, **extra: Any) -> Envelope:
    return env(f"agent/{agent}/state", ts=since if ts is None else ts, state=st, since=since,
               **extra)
