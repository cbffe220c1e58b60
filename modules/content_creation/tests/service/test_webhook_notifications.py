"""content_creation posts each new question to the "webhook" integration from its listener, on the shipped fakes."""

from __future__ import annotations

import json
import logging

import pytest

from modules.content_creation.infrastructure.models import QuestionRepository
from modules.content_creation.module_api import EVENTS, WEBHOOK_LISTENER, QuestionService, register_listeners
from modules.infrastructure.module_api import InfrastructureService
from modules.infrastructure.module_api.testing import FakeInfrastructure, fake_infrastructure

GOOD = json.dumps({"question": "Which gas do plants take in?", "options": ["Oxygen", "Carbon dioxide", "Helium"], "answer": "Carbon dioxide"})


def expected_notification(fakes: FakeInfrastructure, question_id: int) -> dict[str, object]:
    [event] = fakes.events(EVENTS)
    return {"event": "content.question_created", "event_id": event.id, "question_id": question_id, "topic": "photosynthesis", "created_at": event.timestamp}


def test_a_new_question_is_posted_once_with_its_event_id_as_idempotency_key() -> None:
    with fake_infrastructure([GOOD]) as fakes:
        fakes.http.add("webhook", 202)
        register_listeners()
        created = QuestionService.create_question("photosynthesis")
        expected = expected_notification(fakes, created.question_id)
        [request] = fakes.http.requests("webhook")
        open_records = InfrastructureService.list_publications(listener=WEBHOOK_LISTENER)
    assert (request.method, request.path, request.headers["content-type"]) == ("POST", "/", "application/json")
    assert request.headers["idempotency-key"] == created.event_id
    assert request.json() == expected  # the options and the answer are not sent
    assert open_records == []


def test_without_a_webhook_nothing_is_sent_and_nothing_fails(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="modules.content_creation")
    with fake_infrastructure([GOOD]) as fakes:
        register_listeners()
        created = QuestionService.create_question("photosynthesis")
        assert not InfrastructureService.has_integration("webhook")
        assert InfrastructureService.list_publications(listener=WEBHOOK_LISTENER) == []
    assert fakes.http.requests() == []
    assert f"No webhook configured (INTEGRATION_WEBHOOK_BASE_URL not set): event {created.event_id} not sent" in caplog.messages


def test_a_webhook_that_fails_once_gets_the_notification_on_the_retry() -> None:
    with fake_infrastructure([GOOD]) as fakes:
        fakes.http.add("webhook", 503)
        fakes.http.add("webhook", 200)
        register_listeners()
        created = QuestionService.create_question("photosynthesis")
        expected = expected_notification(fakes, created.question_id)
        open_records = InfrastructureService.list_publications(listener=WEBHOOK_LISTENER)
    first, second = fakes.http.requests("webhook")
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == created.event_id
    assert first.json() == second.json() == expected
    assert open_records == []


@pytest.mark.parametrize(
    ("answers", "error", "sent"),
    [
        ([400], "IntegrationClientError: webhook answered POST / with 400", 1),  # the request is wrong: not sent again
        ([503, 503, 503], "IntegrationServerError: webhook answered POST / with 503", 3),  # INTEGRATION_<NAME>_RETRIES=2
    ],
)
def test_a_refused_notification_is_the_listener_s_failed_attempt(answers: list[int], error: str, sent: int) -> None:
    with fake_infrastructure([GOOD]) as fakes:
        for answer in answers:
            fakes.http.add("webhook", answer)
        register_listeners()
        created = QuestionService.create_question("photosynthesis")
        [record] = InfrastructureService.list_publications(status="pending", listener=WEBHOOK_LISTENER)
        [lag] = [s for s in InfrastructureService.listener_status() if s.listener == WEBHOOK_LISTENER]
        with InfrastructureService.get_database_session(read_only=True) as db:
            assert QuestionRepository(db).get_by_id(created.question_id) is not None  # the question stays stored
    assert (record.event_id, record.attempts, record.next_attempt_at is not None) == (created.event_id, 1, True)
    assert record.last_error is not None and record.last_error.startswith(error)
    assert (lag.pending, lag.failed) == (1, 0)
    assert len(fakes.http.requests("webhook")) == sent
