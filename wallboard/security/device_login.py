"""What ``provision-device --json`` prints: one JSON object with everything an installer
needs to set a device up, so that no program has to read the human-readable output.

Pure: it is built from what provisioning did and turned into text; ``provision.py`` prints
it. Unlike the config text, it holds the password, so whoever saves it keeps it secret.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from wallboard.security.acl import Device, Role
from wallboard.security.device_config import (
    DEVICE_CA_FILE,
    PASSWORD_ENV,
    BrokerAddress,
    device_config,
)


class DeviceLogin(BaseModel):
    """One provisioned device's login, its broker and its config, as an installer reads it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role = Field(description="what the device is: it decides where the login goes")
    id: str = Field(description="the desk, kiosk, controller, recorder or adapter id")
    site: str = Field(description="the site id its topics live under")
    root: str = Field(description="the topic root")
    username: str = Field(description="the broker user name")
    password: str = Field(description="the new password, shown only here; never in a config")
    password_env: str = Field(description="the environment variable the device reads it from")
    broker: BrokerAddress = Field(description="where the device connects, and whether by TLS")
    ca_file: str | None = Field(description="the site CA the device expects, if it uses TLS")
    password_file: str = Field(description="the broker's password file that was written")
    acl_file: str = Field(description="the broker's ACL file that was written")
    config: str = Field(description="the config sections, as TOML: what the plain output "
                                    "prints on standard output")


def device_login(device: Device, broker: BrokerAddress, password: str, *,
                 password_file: str, acl_file: str) -> DeviceLogin:
    """The login record of a device provisioned with ``password``."""
    return DeviceLogin(
        role=device.role, id=device.id, site=device.site, root=device.root,
        username=device.username, password=password, password_env=PASSWORD_ENV,
        broker=broker, ca_file=DEVICE_CA_FILE if broker.tls else None,
        password_file=password_file, acl_file=acl_file, config=device_config(device, broker))
