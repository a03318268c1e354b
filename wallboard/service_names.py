"""The kinds of broker client a site has, and the names its services publish a status under.

Pure, and the one place that names services: ``bootstrap`` gives each service the retained
``service/{name}/status`` named here, and the broker ACL (``security/acl.py``) grants each
role's login exactly that topic, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum

from wallboard.config_base import fit_id


class Role(StrEnum):
    """The kinds of broker client a site has; each gets the rights in ``security/acl.py``."""

    DESK = "desk"
    FLOOR_KIOSK = "floor-kiosk"
    SUPERVISOR_KIOSK = "supervisor-kiosk"
    CONTROLLER = "controller"
    RECORDER = "recorder"
    TELEPHONY = "telephony"


CONTROLLER = "controller"  # one per site: its name needs no id

# The roles that publish a service status, and its name from the client's id. A long id is
# cut with a hash (fit_id), as the topic level and the client id must stay short.
SERVICE_NAMES: Mapping[Role, Callable[[str], str]] = {
    Role.CONTROLLER: lambda _ident: CONTROLLER,
    Role.RECORDER: lambda ident: fit_id(f"recorder-{ident}"),
    Role.TELEPHONY: lambda ident: fit_id(f"telephony-{ident}"),
}


def service_name(role: Role, ident: str) -> str:
    """The ``{service}`` of the status that a ``role`` client with id ``ident`` publishes;
    ``KeyError`` for a role with no service status (desks and screens)."""
    return SERVICE_NAMES[role](ident)
