"""The outbox table: events waiting for, or done with, the broker."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from modules.infrastructure.infrastructure.database.orm import Base

PENDING, SENT, FAILED = "pending", "sent", "failed"


class OutboxRecord(Base):
    """One event; ``status`` moves from ``pending`` to ``sent`` (confirmed) or ``failed`` (gave up)."""

    __tablename__ = "infrastructure_outbox"
    # Partial indexes, each holding only the rows one query reads, so no query's cost grows with the
    # sent rows kept: the relay's claim (oldest pending first), the pending and failed counts, and
    # the purge of sent rows past the retention.
    __table_args__ = (
        Index("ix_infrastructure_outbox_pending", "id", postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
        Index("ix_infrastructure_outbox_failed", "id", postgresql_where=text("status = 'failed'"), sqlite_where=text("status = 'failed'")),
        Index("ix_infrastructure_outbox_sent_at", "sent_at", postgresql_where=text("status = 'sent'"), sqlite_where=text("status = 'sent'")),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    destination: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
