"""What the database adapter reports: pool figures and where the schema stands."""

from __future__ import annotations

from dataclasses import dataclass, field

from modules.infrastructure.domain.config.values import _URL, _MaskedRepr


@dataclass(frozen=True, repr=False)
class PoolStats(_MaskedRepr):
    """One engine's connection pool: how many connections are open, idle and in use."""

    label: str
    url: str = field(metadata=_URL)
    size: int
    checked_in: int
    checked_out: int
    overflow: int
    max_overflow: int

@dataclass(frozen=True)
class MigrationStatus:
    """Where the database schema stands against the migration scripts."""

    current: tuple[str, ...]
    heads: tuple[str, ...]
    pending: int

    @property
    def at_head(self) -> bool:
        return self.pending == 0


PRIMARY = "primary"


def replica_labels(replica_urls: tuple[str, ...]) -> list[str]:
    """The engine label of each read replica, in the order they are configured: ``replica-1``, ..."""
    return [f"replica-{n}" for n in range(1, len(replica_urls) + 1)]
