"""What every config file shares: the section base, the broker connection, reading and
validating TOML. ``wallboard.toml``'s modules, the desk unit and the telephony adapter import
it, so a process loads only the sections it uses, not every service's config."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from wallboard.errors import ConfigError
from wallboard.topics import DEFAULT_ROOT, is_id
from wallboard.validation import field_and_reason

MAX_ID = 64  # MQTT client ids and contract ids alike

Port = Annotated[int, Field(ge=1, le=65535)]
M = TypeVar("M", bound=BaseModel)


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


class MqttConfig(Section):
    """The broker connection."""

    host: str = Field("localhost", min_length=1)
    port: Port = 1883
    topic_root: str = Field(DEFAULT_ROOT, description="First topic level(s), before the site")
    username: str | None = None
    password_env: str = Field(
        "WALLBOARD_MQTT_PASSWORD", description="Environment variable holding the password")
    tls: bool = False
    ca_file: Annotated[Path, Field(strict=False)] | None = Field(
        None, description="CA bundle for TLS; system CAs if unset")

    @field_validator("topic_root")
    @classmethod
    def _root_levels_are_ids(cls, root: str) -> str:
        if not all(is_id(level) for level in root.split("/")):
            raise ValueError("every level must be an id (no wildcards, spaces or empty levels)")
        return root


def validate_toml(text: str, path: str, model: type[M]) -> M:
    """Parse TOML text into ``model``; raise ``ConfigError`` naming ``path``, key and reason."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "(syntax)", str(exc)) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, *describe(exc)) from None


def describe(exc: ValidationError) -> tuple[str, str]:
    """The first error as (dotted key, reason)."""
    return field_and_reason(exc, whole="(top level)", reasons={"extra_forbidden": "unknown key"})


def read_text(path: Path) -> str:
    """A config file's text; ``ConfigError`` if it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), "(file)", exc.strerror or str(exc)) from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "(file)", "not UTF-8") from None
