"""Listing stored questions newest first by cursor pages, and removing, restoring and retiring them (soft delete)."""

from __future__ import annotations

from typing import Any

from modules.content_creation.domain.illustration import check_id
from modules.content_creation.domain.question_list import check_cursor, check_per_page, check_search, check_topic_filter
from modules.content_creation.infrastructure.models import QuestionRecord, QuestionRepository
from modules.content_creation.module_api.errors import QuestionNotFoundError
from modules.content_creation.module_api.question_list import QuestionList, QuestionSummary
from modules.content_creation.settings import current
from modules.infrastructure.module_api import InfrastructureService

NEWEST_FIRST = ("-created_at", "-id")  # the id breaks ties between questions of the same second


def list_questions(topic: str | None, search: str | None, cursor: str | None, per_page: int) -> QuestionList:
    """One page of the questions not removed, newest first, of ``topic`` and containing ``search`` when given."""
    filters: dict[str, Any] = {}
    if topic is not None:
        filters["topic"] = check_topic_filter(topic, current().max_topic_length)
    if search is not None:
        filters["text__icontains"] = check_search(search)
    per_page, cursor = check_per_page(per_page), check_cursor(cursor)
    with InfrastructureService.get_database_session(read_only=True) as db:
        page = QuestionRepository(db).get_cursor_page(cursor, per_page, order_by=NEWEST_FIRST, **filters)
        items = tuple(_summary(record) for record in page.items)
    return QuestionList(items, page.next_cursor, page.previous_cursor)


def remove(question_id: int) -> None:
    """Soft-delete the question: it leaves the list and takes no new illustration; ``QuestionNotFoundError``."""
    question_id = check_id(question_id, "question_id")
    with InfrastructureService.get_database_session() as db:
        if not QuestionRepository(db).delete(question_id):
            raise QuestionNotFoundError(question_id)


def restore(question_id: int) -> None:
    """Bring a removed question back into the list; ``QuestionNotFoundError`` when there never was one."""
    question_id = check_id(question_id, "question_id")
    with InfrastructureService.get_database_session() as db:
        if QuestionRepository(db).restore(question_id) is None:
            raise QuestionNotFoundError(question_id)


def retire_topic(topic: str) -> int:
    """Soft-delete every question of ``topic`` in one statement; the number removed now."""
    topic = check_topic_filter(topic, current().max_topic_length)
    with InfrastructureService.get_database_session() as db:
        return QuestionRepository(db).delete_many(topic=topic)


def _summary(record: QuestionRecord) -> QuestionSummary:
    return QuestionSummary(
        record.id, record.topic, record.text, tuple(record.options), record.answer_index,
        record.written_by, record.created_at,
    )
