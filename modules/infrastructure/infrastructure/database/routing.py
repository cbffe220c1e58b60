"""``DatabaseConnection``: which engine serves a session, the primary or a read replica."""

from __future__ import annotations

import logging
from typing import Protocol

from modules.infrastructure.domain.config.values import DatabaseConfig
from modules.infrastructure.domain.errors import DatabaseConnectionError
from modules.infrastructure.domain.policies.replica_router import ReplicaRouter
from modules.infrastructure.infrastructure.database.session import DatabaseSession

logger = logging.getLogger(__name__)

PRIMARY = "primary"


class SessionSource(Protocol):
    """Pooled database sessions by engine label (``primary``, ``replica-1``, ...)."""

    def session(self, label: str, read_only: bool = False) -> DatabaseSession:
        """A session holding a checked, live connection; raises ``DatabaseConnectionError`` when there is none."""
        ...

    def ping(self, label: str) -> bool: ...


def replica_labels(config: DatabaseConfig) -> list[str]:
    return [f"replica-{n}" for n in range(1, len(config.replica_urls) + 1)]


class DatabaseConnection:
    """The primary database and its read replicas, behind one ``get_session``.

    ``read_only`` sessions go to the replicas in turn; a replica that cannot be reached is
    skipped for ``replica_cooldown`` seconds and the session falls back to the primary.
    """

    def __init__(self, config: DatabaseConfig, source: SessionSource, router: ReplicaRouter | None = None) -> None:
        self.config = config
        self._source = source
        self._router = router or ReplicaRouter(replica_labels(config), config.replica_cooldown)

    def connect(self) -> DatabaseSession:
        """A session on the primary; raises ``DatabaseConnectionError`` when it is unreachable."""
        return self._source.session(PRIMARY)

    def validate_connection(self) -> bool:
        """Whether the primary answers a round trip now."""
        return self._source.ping(PRIMARY)

    def get_session(self, read_only: bool = False) -> DatabaseSession:
        """A session on the primary, or on a replica when ``read_only`` and replicas are configured."""
        if read_only:
            candidates = self._router.candidates()
            for n, label in enumerate(candidates, start=1):
                try:
                    return self._source.session(label, read_only=True)
                except DatabaseConnectionError as exc:
                    self._router.mark_failed(label)
                    then = "using the primary" if n == len(candidates) else "trying the next replica"
                    logger.warning("Replica %s unreachable, skipped for %gs; %s: %s", label, self.config.replica_cooldown, then, exc)
        return self._source.session(PRIMARY, read_only=read_only)
