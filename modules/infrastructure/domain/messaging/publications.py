"""Publication records: what happened to one event for one listener, and what a delivery did with it.

A record exists per (event id, listener identity). It is ``pending`` until the listener's handler
returned in a committed transaction (``completed``), or its attempts ran out (``failed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

PENDING, COMPLETED, FAILED = "pending", "completed", "failed"

Outcome = Literal["completed", "skipped", "retry", "failed"]


@dataclass(frozen=True)
class Publication:
    """One event's record for one listener, as ``InfrastructureService.list_publications`` returns it."""

    event_id: str
    listener: str
    event_type: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one delivery of an event did for one listener.

    ``completed``: the handler returned and its record committed with its transaction. ``skipped``:
    the record was already completed or failed (a redelivery). ``retry``: the handler failed and is
    due again in ``retry_in`` seconds. ``failed``: the handler failed its last attempt.
    """

    listener: str
    event_id: str
    outcome: Outcome
    retry_in: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class ListenerStatus:
    """One listener's records: pending and failed counts, and the age of the oldest pending (the lag)."""

    listener: str
    pattern: str
    pending: int
    failed: int
    oldest_pending_seconds: float
