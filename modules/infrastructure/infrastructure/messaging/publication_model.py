"""The publication registry's tables: one record per (event, listener), and the listeners known to the system."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from modules.infrastructure.domain.messaging.publications import PENDING
from modules.infrastructure.infrastructure.database.orm import Base

MAX_EVENT_ID = 36  # the envelope ids publish_event makes are UUIDs


class PublicationRecord(Base):
    """What happened to one event for one listener; ``status`` moves from pending to completed or failed.

    ``next_attempt_at`` is when a worker may run it next; a worker that claims it sets ``lease_owner``
    and pushes ``next_attempt_at`` past the handler's timeout, so a killed worker's claim runs out.
    """

    __tablename__ = "infrastructure_event_publications"
    # Partial indexes: the workers' claim and the counts read only pending or failed rows, the
    # pruning only completed ones, so no query's cost grows with the completed records kept.
    __table_args__ = (
        UniqueConstraint("event_id", "listener"),
        Index("ix_infrastructure_event_publications_due", "next_attempt_at", postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
        Index("ix_infrastructure_event_publications_failed", "listener", "id", postgresql_where=text("status = 'failed'"), sqlite_where=text("status = 'failed'")),
        Index("ix_infrastructure_event_publications_done", "completed_at", postgresql_where=text("status = 'completed'"), sqlite_where=text("status = 'completed'")),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(MAX_EVENT_ID))
    listener: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(255))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class ListenerRecord(Base):
    """A listener some process registered: publishing processes create records for it even when it runs elsewhere."""

    __tablename__ = "infrastructure_event_listeners"

    identity: Mapped[str] = mapped_column(String(200), primary_key=True)
    module: Mapped[str] = mapped_column(String(64))
    pattern: Mapped[str] = mapped_column(String(255))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
