"""``QuestionSummary`` and ``QuestionList``: the stored questions as other modules list them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class QuestionSummary:
    """One stored question as the list shows it; ``created_at`` is in UTC."""

    question_id: int
    topic: str
    text: str
    options: tuple[str, ...]
    answer_index: int
    written_by: str
    created_at: datetime

    @property
    def answer(self) -> str:
        return self.options[self.answer_index]


@dataclass(frozen=True)
class QuestionList:
    """One page of questions, newest first, and the cursors of the pages around it (``None`` at either end).

    Pass ``next_cursor`` back with the same topic and search to read on; a cursor is opaque text, safe in a URL.
    """

    items: tuple[QuestionSummary, ...]
    next_cursor: str | None
    previous_cursor: str | None
