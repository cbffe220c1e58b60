"""Events as they travel, and what a relay run did with them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modules.infrastructure.domain.tracing.trace_context import TraceContext


@dataclass(frozen=True)
class Envelope:
    """One event as it travels: the outbox row, the AMQP body and what a consumer's handler gets.

    ``id`` is the deduplication key: delivery is at least once, so handlers must be idempotent.
    """

    id: str
    type: str
    source: str
    destination: str
    payload: Any
    timestamp: str
    priority: int = 0
    correlation_id: str | None = None
    headers: Mapping[str, Any] = field(default_factory=dict)
    trace: TraceContext | None = None  # the publishing span's, so the listener continues its trace


@dataclass(frozen=True)
class RelayResult:
    """What one relay run did: rows published and confirmed, rows given up on, rows still waiting."""

    sent: int = 0
    failed: int = 0
    pending: int = 0
