"""The public surface of the learning module: its listener registration and its practice pool."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from modules.content_creation.module_api import QUESTION_CREATED
from modules.infrastructure.module_api import InfrastructureService
from modules.learning.application.practice import MODULE, add_to_practice
from modules.learning.application.similar_topics import closest
from modules.learning.infrastructure.models import PracticeItem

__all__ = ["PracticeEntry", "PracticePool", "register_listeners"]


def register_listeners() -> None:
    """Call once at start-up: learning reacts to every new question (scripts/run_listeners.py takes this function)."""
    InfrastructureService.listen(QUESTION_CREATED, add_to_practice, module=MODULE, name="add_to_practice")


@dataclass(frozen=True)
class PracticeEntry:
    question_id: int
    topic: str
    event_id: str


class PracticePool:
    """Read the questions learning has added to practice."""

    @staticmethod
    def entry_for(question_id: int) -> PracticeEntry | None:
        with InfrastructureService.get_database_session(read_only=True) as db:
            item = db.scalars(select(PracticeItem).where(PracticeItem.question_id == question_id)).first()
            return None if item is None else PracticeEntry(item.question_id, item.topic, item.event_id)

    @staticmethod
    def closest_topics(text: str, limit: int = 3) -> list[tuple[str, float]]:
        """The practice topics closest in meaning to ``text`` with their cosine similarity, best first."""
        with InfrastructureService.get_database_session(read_only=True) as db:
            topics = list(db.scalars(select(PracticeItem.topic).distinct().order_by(PracticeItem.topic)))
        return closest(text, topics, limit)

    @staticmethod
    def size() -> int:
        with InfrastructureService.get_database_session(read_only=True) as db:
            return int(db.scalar(select(func.count()).select_from(PracticeItem)))
