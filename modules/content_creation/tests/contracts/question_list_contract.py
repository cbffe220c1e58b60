"""The promises of the question list (cursor pages, filters, remove and restore), run on every stack.

Subclass ``QuestionListContract`` with an autouse fixture ``stack`` that installs the facade on a migrated database
(the shipped fakes' in-memory SQLite; a scratch PostgreSQL database).
"""

from __future__ import annotations

from typing import Any

import pytest

from modules.content_creation.infrastructure.models import QuestionRepository
from modules.content_creation.module_api import QuestionNotFoundError, QuestionService
from modules.content_creation.tests.images import PNG
from modules.infrastructure.module_api import InfrastructureService, InvalidCursorError


def store(topic: str, *texts: str) -> list[int]:
    """Stored questions of ``topic``, in one bulk insert: their ids, in the order of ``texts``."""
    rows = [{"topic": topic, "text": text, "options": ["yes", "no"], "answer_index": 0, "written_by": "test"} for text in texts]
    with InfrastructureService.get_database_session() as db:
        ids = QuestionRepository(db).add_many(rows).ids
    assert ids is not None
    return list(ids)


def listed(**arguments: Any) -> list[int]:
    """Every listed question's id, page after page of 2."""
    ids, cursor = [], None
    while True:
        page = QuestionService.list_questions(cursor=cursor, per_page=2, **arguments)
        ids += [item.question_id for item in page.items]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


class QuestionListContract:
    def test_pages_go_newest_first_and_back(self) -> None:
        ids = store("planets", *(f"Question {n}?" for n in range(5)))
        first = QuestionService.list_questions(per_page=2)
        assert [item.question_id for item in first.items] == ids[::-1][:2] and first.previous_cursor is None
        second = QuestionService.list_questions(cursor=first.next_cursor, per_page=2)
        third = QuestionService.list_questions(cursor=second.next_cursor, per_page=2)
        assert [item.question_id for item in second.items + third.items] == ids[::-1][2:]
        assert third.next_cursor is None
        back = QuestionService.list_questions(cursor=second.previous_cursor, per_page=2)
        assert back.items == first.items
        summary = first.items[0]
        assert (summary.topic, summary.text, summary.options, summary.answer) == ("planets", "Question 4?", ("yes", "no"), "yes")
        assert summary.created_at.utcoffset() is not None and summary.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]

    def test_topic_and_search_filter_the_list(self) -> None:
        planets = store("planets", "Which planet is LARGEST?", "Which planet is smallest?", "Is 100% of Mars red?")
        fractions = store("fractions", "What is the largest fraction here?")
        assert listed(topic=" planets ") == planets[::-1]
        assert listed(search="largest") == [fractions[0], planets[0]]
        assert listed(topic="planets", search="LaRgEsT") == [planets[0]]
        assert listed(search="100%") == [planets[2]]
        assert listed(search="0%") == [planets[2]] and listed(search="%") == [planets[2]]
        assert listed(topic="chemistry") == []

    def test_a_removed_question_leaves_the_list_until_restored(self) -> None:
        kept, removed = store("planets", "Kept?", "Removed?")
        QuestionService.remove_question(removed)
        assert listed() == [kept]
        with pytest.raises(QuestionNotFoundError):
            QuestionService.remove_question(removed)
        with pytest.raises(QuestionNotFoundError):
            QuestionService.attach_illustration(removed, PNG, uploaded_by="teacher")
        QuestionService.restore_question(removed)
        assert listed() == [removed, kept]
        QuestionService.attach_illustration(removed, PNG, uploaded_by="teacher")
        for missing in (QuestionService.remove_question, QuestionService.restore_question):
            with pytest.raises(QuestionNotFoundError):
                missing(removed + 1000)

    def test_retiring_a_topic_removes_its_questions_at_once(self) -> None:
        planets = store("planets", "One?", "Two?", "Three?")
        fractions = store("fractions", "Half?")
        QuestionService.remove_question(planets[0])
        assert QuestionService.retire_topic("planets") == 2  # the one already removed is not counted again
        assert QuestionService.retire_topic("planets") == 0
        assert listed() == fractions
        QuestionService.restore_question(planets[1])
        assert listed() == [fractions[0], planets[1]]  # newest first: the fractions were stored last

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            ({"topic": 7}, "topic must be text"),
            ({"topic": "  "}, "topic must be 1 to 100 characters"),
            ({"topic": "x" * 101}, "topic must be 1 to 100 characters"),
            ({"search": ""}, "search must be 1 to 100 characters"),
            ({"search": "x" * 101}, "search must be 1 to 100 characters"),
            ({"search": "a\x00b"}, "printable"),
            ({"search": ["a"]}, "search must be text"),
            ({"per_page": 0}, "per_page must be a whole number from 1 to 100"),
            ({"per_page": 101}, "per_page must be a whole number from 1 to 100"),
            ({"per_page": 10**30}, "per_page must be a whole number from 1 to 100"),
            ({"per_page": True}, "per_page must be a whole number from 1 to 100"),
            ({"per_page": "20"}, "per_page must be a whole number from 1 to 100"),
            ({"cursor": 5}, "cursor must be the text"),
        ],
    )
    def test_arguments_it_cannot_use_are_refused(self, arguments: dict[str, Any], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            QuestionService.list_questions(**arguments)

    @pytest.mark.parametrize("call", [QuestionService.remove_question, QuestionService.restore_question])
    @pytest.mark.parametrize("question_id", [0, -1, "1", 1.0, None, 2**40])
    def test_ids_it_cannot_use_are_refused(self, call: Any, question_id: Any) -> None:
        with pytest.raises(ValueError, match="question_id must be a whole number"):
            call(question_id)

    @pytest.mark.parametrize("topic", ["", 3, "x" * 101])
    def test_retiring_a_topic_it_cannot_use_is_refused(self, topic: Any) -> None:
        with pytest.raises(ValueError, match="topic must be"):
            QuestionService.retire_topic(topic)

    def test_a_cursor_of_another_list_or_edited_is_refused(self) -> None:
        store("planets", "One?", "Two?", "Three?")
        cursor = QuestionService.list_questions(per_page=1).next_cursor
        assert cursor is not None
        for other in ({"topic": "planets"}, {"search": "one"}):
            with pytest.raises(InvalidCursorError):
                QuestionService.list_questions(cursor=cursor, per_page=1, **other)
        for edited in (cursor[:-2], cursor[::-1], cursor + "x", "not a cursor", ""):
            with pytest.raises(InvalidCursorError):
                QuestionService.list_questions(cursor=edited, per_page=1)
