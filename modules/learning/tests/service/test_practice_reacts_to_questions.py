"""learning reacts to content_creation's events through the infrastructure's listeners, on the shipped fakes."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from modules.content_creation.module_api import QUESTION_CREATED, QuestionService
from modules.infrastructure.module_api import InfrastructureService, MessagingError
from modules.infrastructure.module_api.testing import fake_infrastructure
from modules.learning.module_api import PracticePool, register_listeners

GOOD = json.dumps({"question": "Which gas do plants take in?", "options": ["Oxygen", "Carbon dioxide", "Helium"], "answer": "Carbon dioxide"})


def test_a_new_question_is_added_to_practice_once_its_transaction_commits() -> None:
    with fake_infrastructure([GOOD]):
        register_listeners()
        created = QuestionService.create_question("photosynthesis")
        entry = PracticePool.entry_for(created.question_id)
        open_records = InfrastructureService.list_publications(status="incomplete")
    assert entry is not None and (entry.topic, entry.event_id) == ("photosynthesis", created.event_id)
    assert open_records == []  # the listener's record completed with its work


def test_running_the_listeners_again_adds_nothing_twice() -> None:
    with fake_infrastructure([GOOD, GOOD]):
        register_listeners()
        QuestionService.create_question("photosynthesis")
        assert InfrastructureService.run_listeners() == []
        assert PracticePool.size() == 1


def test_a_question_whose_transaction_rolls_back_reaches_no_listener() -> None:
    with fake_infrastructure():
        register_listeners()
        with pytest.raises(RuntimeError), InfrastructureService.get_database_session() as db:
            InfrastructureService.publish_event(
                "content_creation.events", {"question_id": 1, "topic": "t"}, event_type=QUESTION_CREATED, source="content_creation", session=db
            )
            raise RuntimeError("the question could not be stored")
        assert PracticePool.size() == 0
        assert InfrastructureService.list_publications(status="incomplete") == []


def test_a_second_registration_of_the_same_listener_is_refused() -> None:
    with fake_infrastructure():
        register_listeners()
        with pytest.raises(MessagingError, match="learning.add_to_practice"):
            register_listeners()


def test_a_failing_practice_insert_is_retried_and_then_recorded_failed() -> None:
    with fake_infrastructure():
        register_listeners()
        with InfrastructureService.get_database_session() as db:
            db.execute(text("DROP TABLE learning_practice_items"))
        InfrastructureService.publish_event("content_creation.events", {"question_id": 1, "topic": "t"}, event_type=QUESTION_CREATED, source="content_creation")
        [record] = InfrastructureService.list_publications(status="pending")
    assert record.listener == "learning.add_to_practice" and record.attempts == 1
    assert record.last_error is not None and "learning_practice_items" in record.last_error
