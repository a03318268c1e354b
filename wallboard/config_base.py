"""The base of every config section, shared by ``wallboard.toml``'s modules and the desk unit."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict

MAX_ID = 64  # MQTT client ids and contract ids alike


class Section(BaseModel):
    """Base for config sections: unknown keys are errors, values are immutable."""

    # Strict: TOML has real types, so "yes" for a bool or "20" for a number is a typo.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def fit_id(text: str, limit: int = MAX_ID) -> str:
    """``text`` if it fits in ``limit`` characters; else cut, ending in a hash of the whole,
    so two long names (two recorders of a long-named site) never become the same id."""
    if len(text) <= limit:
        return text
    return f"{text[:limit - 9]}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
