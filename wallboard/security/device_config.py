"""The config a provisioned device needs, as TOML text to paste into its config file.

A desk unit gets a ``desk.toml`` fragment; kiosks, services and adapters get the
``wallboard.toml`` sections that differ from the defaults. The password is never in it:
only ``password_env``, the name of the environment variable the device reads it from.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field

from wallboard.security.acl import Device, Role, rules

PLAIN_PORT = 1883  # the hub's loopback-only listener
TLS_PORT = 8883
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Services that run on the hub itself, next to the broker, and so may use the plain listener.
HUB_ROLES = frozenset({Role.CONTROLLER, Role.RECORDER})
PASSWORD_ENV = "WALLBOARD_MQTT_PASSWORD"
DEVICE_CA_FILE = "/etc/wallboard/broker-ca.pem"


class BrokerAddress(BaseModel):
    """Where a device reaches the broker, and whether over TLS."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A host name or an IP address: nothing that needs quoting in TOML or a shell.
    host: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,253}$")
    port: int = Field(ge=1, le=65535)
    tls: bool


def broker_for(role: Role, host: str | None, port: int | None, hub_name: str
               ) -> BrokerAddress:
    """The address for ``role``: services on the hub default to the plain loopback listener,
    everything else to TLS on ``hub_name``; TLS unless a hub service talks to loopback."""
    chosen = host if host is not None else ("127.0.0.1" if role in HUB_ROLES else hub_name)
    tls = role not in HUB_ROLES or chosen not in LOOPBACK_HOSTS
    default = TLS_PORT if tls else PLAIN_PORT
    return BrokerAddress(host=chosen, port=default if port is None else port, tls=tls)


def device_config(device: Device, broker: BrokerAddress) -> str:
    """The TOML the device needs, with a comment saying where it goes."""
    d = device
    mqtt = ["[mqtt]", f"host = {_s(broker.host)}", f"port = {broker.port}",
            f"topic_root = {_s(d.root)}", f"username = {_s(d.username)}",
            "# The password is not in this file: the device reads it from this variable.",
            f"password_env = {_s(PASSWORD_ENV)}", f"tls = {str(broker.tls).lower()}"]
    if broker.tls:
        mqtt += ["# The site CA's certificate (ca.crt), copied onto the device.",
                 f"ca_file = {_s(DEVICE_CA_FILE)}"]
    if d.role is Role.DESK:
        head = [f"# desk.toml for desk {d.id} at site {d.site}, from wallboard provision-device",
                "[desk]", f"id = {_s(d.id)}", f"site = {_s(d.site)}"]
    else:
        head = [f"# wallboard.toml sections for {d.role} {d.id} at site {d.site}, from "
                "wallboard provision-device", "[site]", f"id = {_s(d.site)}"]
    tail: list[str] = []
    if d.role in (Role.FLOOR_KIOSK, Role.SUPERVISOR_KIOSK):
        audience = "floor" if d.role is Role.FLOOR_KIOSK else "supervisor"
        tail = ["[kiosk]", f"id = {_s(d.id)}", f"audience = {_s(audience)}"]
    elif d.role is Role.RECORDER:
        tail = ["[recorder]", f"id = {_s(d.id)}"]
    elif d.role is Role.TELEPHONY:
        # An adapter is someone else's program: say what the broker lets it do.
        tail = ["# The broker lets this user publish only:",
                *(f"#   {r.topic}" for r in rules(d))]
    sections = [head, mqtt, *([tail] if tail else [])]
    return "\n\n".join("\n".join(s) for s in sections) + "\n"


def _s(text: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML)."""
    return json.dumps(text)
