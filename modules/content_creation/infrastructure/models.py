"""The ``content_questions`` and ``content_question_illustrations`` tables and their repositories, on the shared ``Base``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from modules.infrastructure.module_api import Base, BaseRepository, UTCDateTime


class QuestionRecord(Base):
    """One stored question; ``options`` is a JSON list of strings, ``answer_index`` points into it."""

    __tablename__ = "content_questions"

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
