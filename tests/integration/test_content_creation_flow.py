"""content_creation end to end on the real stack: the embedded model, PostgreSQL and RabbitMQ.

The question is written by the local model, stored in a scratch PostgreSQL database with its
event in the same transaction, and the immediate relay delivers the event to the module's
queue ``content_creation.events`` (a fixed name: the test drains it to find its message).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.content_creation.infrastructure.models import QuestionRepository
from modules.content_creation.module_api import EVENTS, QUESTION_CREATED, QuestionService
from modules.infrastructure.module_api import InfrastructureService
from tests.integration.postgres_scratch import scratch_database, use_postgres
from tests.integration.test_messaging_rabbitmq import Broker, broker  # noqa: F401 (fixture)

RELAY_WAIT = 20.0


def outbox_status(event_id: str) -> str | None:
    with InfrastructureService.get_database_session() as db:
        return db.scalar(text("SELECT status FROM infrastructure_outbox WHERE message_id = :id"), {"id": event_id})


def wait_until_sent(event_id: str) -> str | None:
    deadline = time.monotonic() + RELAY_WAIT
    status = outbox_status(event_id)
    while status != "sent" and time.monotonic() < deadline:
        time.sleep(0.2)
        status = outbox_status(event_id)
    return status


def test_a_question_is_stored_in_postgres_and_announced_on_rabbitmq(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str, rabbitmq_url: str, broker: Broker
) -> None:
    with scratch_database(postgres_url, "content_flow") as url:
        use_postgres(monkeypatch, url, RABBITMQ_URL=rabbitmq_url, OUTBOX_RELAY="immediate", LLM_PROVIDER="local")
        try:
            assert InfrastructureService.migrate().at_head
            created = QuestionService.create_question("the solar system")
            with InfrastructureService.get_database_session() as db:
                row = QuestionRepository(db).get_by_id(created.question_id)
                assert row is not None and (row.text, row.options, row.answer_index) == (
                    created.text, list(created.options), created.answer_index
                )
            assert wait_until_sent(created.event_id) == "sent"
        finally:
            InfrastructureService.reset()  # close the facade's connections before the drop
    bodies = {properties.message_id: (properties, body) for properties, body in broker.drain(EVENTS)}
    properties, body = bodies[created.event_id]
    assert properties.type == QUESTION_CREATED
    event = json.loads(body)
    assert event["payload"]["question_id"] == created.question_id and event["payload"]["options"] == list(created.options)
    assert created.written_by == "local/SmolLM2-135M-Instruct" and created.text.endswith("?")
