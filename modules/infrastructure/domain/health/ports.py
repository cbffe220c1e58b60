"""The health-check port: one component's line of the start-up report."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from modules.infrastructure.domain.health.values import ComponentCheck


@runtime_checkable
class HealthCheck(Protocol):
    """Checks one component for the start-up report; must not raise."""

    name: str

    def check(self) -> ComponentCheck: ...
