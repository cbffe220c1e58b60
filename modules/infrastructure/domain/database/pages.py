"""What a repository's page queries return: a counted ``Page`` and a keyset ``CursorPage``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """Page ``page`` (from 1) of ``size`` rows, with ``total`` rows matching the filters in all."""

    items: list[T]
    total: int
    page: int
    size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def pages(self) -> int:
        """How many pages the matching rows fill (0 when none match)."""
        return -(-self.total // self.size)

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total

    @property
    def has_previous(self) -> bool:
        return self.page > 1


@dataclass(frozen=True)
class CursorPage(Generic[T]):
    """Rows after (or before) a cursor; pass ``next_cursor`` or ``previous_cursor`` back to move on."""

    items: list[T]
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None
