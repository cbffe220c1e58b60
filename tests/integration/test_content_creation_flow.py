"""content_creation end to end on the real stack: the embedded model, PostgreSQL, Redis and RabbitMQ.

The question is written by the local model, stored in a scratch PostgreSQL database with its
event in the same transaction, the immediate relay delivers the event to the module's queue
``content_creation.events``, and the facade's consumer reads it back with the same id. The
same question asked again comes from the Redis LLM cache; usage and metrics count both.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from modules.content_creation.infrastructure.models import QuestionRepository
from modules.content_creation.module_api import EVENTS, QUESTION_CREATED, QuestionService
from modules.infrastructure.module_api import Envelope, InfrastructureService
from tests.integration.postgres_scratch import scratch_database, use_postgres
from tests.integration.test_messaging_rabbitmq import Broker, broker  # noqa: F401 (fixture)
from tests.metrics_support import sample

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


def consume_all(queue: str) -> dict[str, Envelope]:
    """Every event waiting in ``queue``, through the facade's consumer (as a sibling would read them)."""
    received: dict[str, Envelope] = {}
    InfrastructureService.consume(queue, lambda envelope: received.setdefault(envelope.id, envelope)).run(idle_timeout=2.0)
    return received


def test_a_question_is_stored_in_postgres_announced_on_rabbitmq_and_counted(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str, redis_url: str, rabbitmq_url: str, broker: Broker
) -> None:
    with scratch_database(postgres_url, "content_flow") as url:
        use_postgres(monkeypatch, url, RABBITMQ_URL=rabbitmq_url, REDIS_URL=redis_url, OUTBOX_RELAY="immediate", LLM_PROVIDER="local")
        try:
            assert InfrastructureService.migrate().at_head
            # Only the LLM response cache's keys: the second question below must be this run's cache hit.
            cached_answers = redis.Redis.from_url(redis_url)
            for key in cached_answers.scan_iter(match="llm:response:*"):
                cached_answers.delete(key)
            cached_answers.close()
            created = QuestionService.create_question("the solar system")
            again = QuestionService.create_question("the solar system")
            with InfrastructureService.get_database_session() as db:
                row = QuestionRepository(db).get_by_id(created.question_id)
                assert row is not None and (row.text, row.options, row.answer_index) == (
                    created.text, list(created.options), created.answer_index
                )
            assert wait_until_sent(created.event_id) == "sent" and wait_until_sent(again.event_id) == "sent"
            usage = InfrastructureService.get_llm_usage(module="content_creation")
            metrics = InfrastructureService.metrics_text()
            events = consume_all(EVENTS)
        finally:
            InfrastructureService.reset()  # close the facade's connections before the drop
    broker.created.append(EVENTS)  # the module's queue is deleted after the test

    assert created.written_by == "local/SmolLM2-135M-Instruct" and created.text.endswith("?")
    assert not created.cached and again.cached, "the second question did not come from the Redis LLM cache"
    assert (again.text, again.options) == (created.text, created.options) and again.question_id != created.question_id

    event = events[created.event_id]
    assert (event.type, event.source) == (QUESTION_CREATED, "content_creation")
    assert event.payload["question_id"] == created.question_id and event.payload["options"] == list(created.options)
    assert events[again.event_id].payload["question_id"] == again.question_id

    assert (usage.calls, usage.cached_calls) == (created.tries + again.tries, 1)
    # The ledger adds up every answer's tokens (a cache hit's at no cost); the metrics count the provider's work only.
    assert usage.prompt_tokens == created.prompt_tokens + again.prompt_tokens
    labels = {"provider": "local", "model": "SmolLM2-135M-Instruct", "module": "content_creation"}
    assert sample("infrastructure_llm_cache_hits_total", metrics, **labels) == 1
    assert sample("infrastructure_llm_tokens_total", metrics, kind="prompt", **labels) == created.prompt_tokens
    assert sample("infrastructure_llm_tokens_total", metrics, kind="completion", **labels) == created.completion_tokens
    assert sample("infrastructure_messaging_publishes_total", metrics, outcome="confirmed") >= 2
    assert sample("infrastructure_cache_hits_total", metrics, backend="redis") >= 1
