"""The project's error classes: one root, each subclass also a matching built-in."""

from __future__ import annotations


class WallboardError(Exception):
    """Root of every error Wallboard raises on purpose."""


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped, so a log line stays one."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


class BadMessage(WallboardError, ValueError):
    """A message that breaks the MQTT contract; ``str()`` is the one-line reason."""

    def __init__(self, topic: str, field: str, reason: str) -> None:
        # Topic and field can come from a hostile sender: escape them before they reach a log.
        self.topic = one_line(topic)
        self.field = one_line(field)
        self.reason = one_line(reason)
        super().__init__(f"{self.topic}: {self.field}: {self.reason}")


class ConfigError(WallboardError, ValueError):
    """A config file that cannot be used; ``str()`` names the file, the key and the reason."""

    def __init__(self, path: str, key: str, reason: str) -> None:
        self.path = path
        self.key = key
        self.reason = reason
        super().__init__(f"{path}: {key}: {reason}")


class ProvisionError(WallboardError, RuntimeError):
    """A device could not be provisioned on the broker; ``str()`` is the one-line reason."""
