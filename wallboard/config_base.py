"""The base of every config section, shared by ``wallboard.toml``'s modules and the desk unit."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Base for config sections: unknown keys are errors, values are immutable."""

    # Strict: TOML has real types, so "yes" for a bool or "20" for a number is a typo.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
