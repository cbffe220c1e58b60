"""The ``content_questions`` and ``content_question_illustrations`` tables and their repositories, on the shared ``Base``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from modules.infrastructure.module_api import Base, BaseRepository, SoftDeleteMixin, UTCDateTime


class QuestionRecord(SoftDeleteMixin, Base):
    """One stored question; ``options`` is a JSON list of strings, ``answer_index`` points into it.

    A removed question keeps its row (``deleted_at``), so it can be restored and its illustrations keep their parent.
    """

    __tablename__ = "content_questions"
    # The question list reads newest first, of every topic or of one: each order walks an index.
    __table_args__ = (
        Index("ix_content_questions_created_at_id", "created_at", "id"),
        Index("ix_content_questions_topic_created_at_id", "topic", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(String(300))
    options: Mapped[list[str]] = mapped_column(JSON)
    answer_index: Mapped[int] = mapped_column(Integer)
    written_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class QuestionRepository(BaseRepository[QuestionRecord]):
    model = QuestionRecord


class IllustrationRecord(Base):
    """An image attached to a question; the file is kept under ``file_key`` in the ``content_creation`` namespace."""

    __tablename__ = "content_question_illustrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    question_id: Mapped[int] = mapped_column(Integer, ForeignKey("content_questions.id"), index=True)
    file_key: Mapped[str] = mapped_column(String(200), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class IllustrationRepository(BaseRepository[IllustrationRecord]):
    model = IllustrationRecord
