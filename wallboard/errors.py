"""The project's error classes: one root, each subclass also a matching built-in."""

from __future__ import annotations


class WallboardError(Exception):
    """Root of every error Wallboard raises on purpose."""


class BadMessage(WallboardError, ValueError):
    """A message that breaks the MQTT contract; ``str()`` is the one-line reason."""

    def __init__(self, topic: str, field: str, reason: str) -> None:
        self.topic = topic
        self.field = field
        self.reason = reason
        super().__init__(f"{topic}: {field}: {reason}")


class ConfigError(WallboardError, ValueError):
    """A config file that cannot be used; ``str()`` names the file, the key and the reason."""

    def __init__(self, path: str, key: str, reason: str) -> None:
        self.path = path
        self.key = key
        self.reason = reason
        super().__init__(f"{path}: {key}: {reason}")
