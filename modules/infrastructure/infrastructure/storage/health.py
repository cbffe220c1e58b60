"""The ``storage`` line of the start-up report: where files go, and whether they can be written there."""

from __future__ import annotations

from collections.abc import Callable

from modules.infrastructure.domain.errors import InfrastructureError
from modules.infrastructure.domain.health.values import CheckStatus, ComponentCheck
from modules.infrastructure.domain.storage.ports import StorageBackend


class StorageHealthCheck:
    """``ok`` with the backend's own status (writable and free space; bucket reachable); ``error`` when unusable."""

    name = "storage"

    def __init__(self, storage: Callable[[], StorageBackend]) -> None:
        self._storage = storage

    def check(self) -> ComponentCheck:
        try:
            storage = self._storage()
            status = storage.check()
        except InfrastructureError as exc:
            return ComponentCheck(self.name, CheckStatus.ERROR, str(exc))
        return ComponentCheck(self.name, CheckStatus.OK, f"{storage.describe()}: {status}")
