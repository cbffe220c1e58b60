"""The ``learning_practice_items`` table: questions learners will practise, one row per question."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from modules.infrastructure.module_api import Base, BaseRepository


class PracticeItem(Base):
    """A question added to the practice pool; ``question_id`` is unique, so an item exists once per question."""

    __tablename__ = "learning_practice_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    question_id: Mapped[int] = mapped_column(Integer, unique=True)
    topic: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[str] = mapped_column(String(36))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PracticeItemRepository(BaseRepository[PracticeItem]):
    model = PracticeItem
