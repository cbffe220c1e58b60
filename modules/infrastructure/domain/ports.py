"""Ports: what the domain and the facade need from the outside world, as Protocols."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from modules.infrastructure.module_api.types import ComponentCheck


@runtime_checkable
class HealthCheck(Protocol):
    """Checks one component for the start-up report; must not raise."""

    name: str

    def check(self) -> ComponentCheck: ...
