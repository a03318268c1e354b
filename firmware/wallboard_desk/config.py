"""The desk unit's config file (``desk.toml``), validated by pydantic.

A typo or a bad value stops start-up with ``ConfigError`` naming the file, the dotted key and
the reason, the same way as ``wallboard.toml``. Pins use BCM numbering.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, model_validator

from wallboard.config_base import MqttConfig, Section, fit_id, read_text, validate_toml
from wallboard.messages import Id

Bcm = Annotated[int, Field(ge=2, le=27, description="BCM GPIO number")]
Seconds = Annotated[float, Field(gt=0, strict=False)]  # TOML `2` is as good as `2.0` here


class DeskSection(Section):
    """Who this unit is."""

    id: Id = Field(description="Desk id, as in the topics: desk/{desk}/...")
    site: Id = Field(description="Site id, as in the topics")
    agent: Id | None = Field(None, description="Agent at this desk, if fixed; sent with help")
    state_dir: Annotated[Path, Field(strict=False)] = Field(
        Path("/var/lib/wallboard-desk"), description="Where an undelivered request is kept")


class DeskMqttConfig(MqttConfig):
    """The broker connection, plus the unit's keepalive and session."""

    keepalive_s: int = Field(
        10, ge=2, le=600,
        description="The broker sends the offline last will within 1.5 times this")
    session_expiry_s: int = Field(
        600, ge=0, description="How long the broker keeps commands for an offline unit")


class Lamp(Section):
    """One output: a lamp or the buzzer, on a relay board or an LED tower."""

    pin: Bcm
    active_high: bool = Field(True, description="False for relay boards that switch on low")


class ButtonPin(Section):
    """The "supervisor needed" button."""

    pin: Bcm = 24
    pull_up: bool = Field(True, description="True: wired between the pin and ground")


class PinsConfig(Section):
    """The GPIO wiring; docs/desk-unit.md has the table."""

    button: ButtonPin = ButtonPin()
    red: Lamp = Lamp(pin=17)
    amber: Lamp = Lamp(pin=27)
    green: Lamp = Lamp(pin=22)
    buzzer: Lamp = Lamp(pin=23)

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        seen: dict[int, str] = {}
        for name in ("button", "red", "amber", "green", "buzzer"):
            pin = getattr(self, name).pin
            if pin in seen:
                raise ValueError(f"{name}.pin {pin} is also {seen[pin]}.pin")
            seen[pin] = name
        return self


class ButtonConfig(Section):
    """How presses are read."""

    long_press_s: Seconds = Field(2.0, ge=0.5, description="Held this long: cancel")
    bounce_s: Seconds = Field(0.05, le=0.5, description="Edges closer than this are bounce")


class HelpLightConfig(Section):
    """The ``[help]`` section: when the desk's own red lamp shows an unanswered request."""

    escalate_after_s: Seconds = Field(
        60.0, description="Unacknowledged this long: red fast; counted on the unit, offline too")


class DeskConfig(Section):
    """The whole ``desk.toml``."""

    desk: DeskSection
    mqtt: DeskMqttConfig = DeskMqttConfig()
    pins: PinsConfig = PinsConfig()
    button: ButtonConfig = ButtonConfig()
    help: HelpLightConfig = HelpLightConfig()

    @property
    def client_id(self) -> str:
        """Fixed, so the broker keeps this unit's session (and its commands) across drops."""
        return fit_id(f"wallboard-desk-{self.desk.site}-{self.desk.id}")


VIRTUAL_DESK = {"id": "d-virtual", "site": "main"}
VIRTUAL_BROKER = {"host": "127.0.0.1", "port": 1883}


def virtual_desk_config(state_dir: Path) -> DeskConfig:
    """``--virtual`` without ``--config``: desk d-virtual of site main, on a broker here."""
    return DeskConfig.model_validate({"desk": {**VIRTUAL_DESK, "state_dir": state_dir},
                                      "mqtt": VIRTUAL_BROKER})


def parse_desk_config(text: str, path: str = "desk.toml") -> DeskConfig:
    """Validate TOML text; raise ``ConfigError`` naming ``path``, the key and the reason."""
    return validate_toml(text, path, DeskConfig)


def load_desk_config(path: Path) -> DeskConfig:
    """Read and validate the desk config file at ``path``."""
    return parse_desk_config(read_text(path), str(path))
