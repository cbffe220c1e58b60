"""The start-up report: one line per component, and the verdict."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class CheckStatus(enum.StrEnum):
    """How one component fared in the start-up check."""

    OK = "ok"
    DEGRADED = "degraded"
    ERROR = "error"
    SKIPPED = "skipped"

@dataclass(frozen=True)
class ComponentCheck:
    """One line of the start-up report."""

    name: str
    status: CheckStatus
    detail: str
    elapsed_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"status": str(self.status), "detail": self.detail, "elapsed_ms": round(self.elapsed_ms, 1)}

@dataclass(frozen=True)
class EnvironmentStatus:
    """The start-up report: valid when no component is in ``error``."""

    is_valid: bool
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    checks: Mapping[str, ComponentCheck] = field(default_factory=dict)

    def __iter__(self) -> Iterator[ComponentCheck]:
        return iter(self.checks.values())

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data (the ``--json`` output)."""
        return {
            "is_valid": self.is_valid,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "checks": {name: check.to_dict() for name, check in self.checks.items()},
        }


@dataclass(frozen=True)
class Readiness:
    """The readiness probe's answer: ready when none of the required lines (``HEALTH_READY_COMPONENTS``) is an error."""

    ready: bool
    waiting_for: tuple[str, ...] = ()  # the required lines in error
    checks: Mapping[str, ComponentCheck] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """What ``/readyz`` answers, as JSON-ready data."""
        return {
            "status": "ready" if self.ready else "not ready",
            "waiting_for": list(self.waiting_for),
            "checks": {name: check.to_dict() for name, check in self.checks.items()},
        }
