"""React to new questions: add each to the practice pool, in the transaction the infrastructure hands over."""

from __future__ import annotations

from datetime import datetime, timezone

from modules.infrastructure.module_api import DatabaseSession, Envelope
from modules.learning.infrastructure.models import PracticeItem

MODULE = "learning"


def add_to_practice(event: Envelope, db: DatabaseSession) -> None:
    """``content.question_created`` -> one practice item. Database work only, so its effect happens once per event."""
    payload = event.payload
    db.add(PracticeItem(question_id=payload["question_id"], topic=payload["topic"], event_id=event.id, added_at=datetime.now(timezone.utc)))
