"""Ports: what the domain and the facade need from the outside world, as Protocols."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from modules.infrastructure.module_api.types import ComponentCheck, DatabaseSession


@runtime_checkable
class HealthCheck(Protocol):
    """Checks one component for the start-up report; must not raise."""

    name: str

    def check(self) -> ComponentCheck: ...


class SessionSource(Protocol):
    """Pooled database sessions by engine label (``primary``, ``replica-1``, ...)."""

    def session(self, label: str, read_only: bool = False) -> DatabaseSession:
        """A session holding a checked, live connection; raises ``DatabaseConnectionError`` when there is none."""
        ...

    def ping(self, label: str) -> bool: ...
