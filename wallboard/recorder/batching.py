"""Batches for InfluxDB: at most ``max_items`` each, and no item waits past ``linger_s``.

Pure: the caller passes the time in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class Batcher(Generic[T]):
    """Collects items into batches that are full, or old enough to send anyway."""

    max_items: int
    linger_s: float
    _items: list[T] = field(default_factory=list)
    _first_at: float | None = None

    def __post_init__(self) -> None:
        if self.max_items < 1 or not self.linger_s >= 0:  # NaN too
            raise ValueError("max_items must be at least 1 and linger_s not negative")

    def add(self, item: T, now: float) -> list[T] | None:
        """Add ``item``; return the batch if this filled it."""
        if not self._items:
            self._first_at = now
        self._items.append(item)
        return self._take() if len(self._items) >= self.max_items else None

    def due(self, now: float) -> list[T] | None:
        """The batch, if its first item has waited ``linger_s``."""
        deadline = self.deadline
        return self._take() if deadline is not None and now >= deadline else None

    def flush(self) -> list[T] | None:
        """Whatever is waiting, at once."""
        return self._take() if self._items else None

    @property
    def deadline(self) -> float | None:
        """When the waiting items become due, or None when there are none."""
        return None if self._first_at is None else self._first_at + self.linger_s

    def __len__(self) -> int:
        return len(self._items)

    def _take(self) -> list[T]:
        items, self._items, self._first_at = self._items, [], None
        return items
