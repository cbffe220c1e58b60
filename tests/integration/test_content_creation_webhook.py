"""content_creation's webhook notification on the real stack: a scratch PostgreSQL database, the listener worker
thread, the embedded model, and an HTTP receiver on 127.0.0.1 reached through the real client over the network.

A 503 is retried within the call; a 400 fails the listener's attempt, which the worker runs again at its backoff;
every copy carries the event's id as its Idempotency-Key.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from modules.content_creation.module_api import WEBHOOK_LISTENER, QuestionService, register_listeners
from modules.infrastructure.module_api import InfrastructureService
from tests.integration.postgres_scratch import scratch_database, use_postgres
from tests.metrics_support import sample
from tests.waiting import wait_for

WAIT = 20.0


class Receiver(ThreadingHTTPServer):
    """Answers each POST with the next scripted status (204 once they run out) and keeps (headers, body) of each."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.statuses: deque[int] = deque()
        self.posts: list[tuple[dict[str, str], Any]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def of_event(self, event_id: str) -> list[Any]:
        with self.lock:
            return [body for headers, body in self.posts if headers.get("idempotency-key") == event_id]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = self.server.statuses.popleft() if self.server.statuses else 204
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def record(event_id: str) -> tuple[str, int] | None:
    """(status, attempts) of the webhook listener's publication record of ``event_id``."""
    with InfrastructureService.get_database_session() as db:
        row = db.execute(
            text("SELECT status, attempts FROM infrastructure_event_publications WHERE event_id = :e AND listener = :l"),
            {"e": event_id, "l": WEBHOOK_LISTENER},
        ).first()
    return None if row is None else (row[0], row[1])


def test_the_webhook_gets_each_question_once_it_answers_2xx_with_the_event_id_as_key(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str, receiver: Receiver
) -> None:
    with scratch_database(postgres_url, "content_webhook") as url:
        use_postgres(
            monkeypatch, url, APP_ENV="test", LLM_PROVIDER="local", OUTBOX_RELAY="off", LISTENER_WORKER="thread",
            LISTENER_POLL_INTERVAL="0.05", INTEGRATION_WEBHOOK_BASE_URL=receiver.url,
        )
        try:
            InfrastructureService.migrate()
            register_listeners()
            receiver.statuses.extend([503])  # a server error: the client sends the POST again (it has a key)
            first = QuestionService.create_question("the solar system")
            wait_for(lambda: record(first.event_id) == ("completed", 1), WAIT, "the first notification completing")
            receiver.statuses.extend([400])  # the request refused: the listener's attempt fails, the worker retries it
            second = QuestionService.create_question("the solar system")
            wait_for(lambda: record(second.event_id) == ("completed", 2), WAIT, "the second notification completing on its retry")
            metrics = InfrastructureService.metrics_text()
        finally:
            InfrastructureService.reset()  # no connection of ours left when the database is dropped

    first_posts, second_posts = receiver.of_event(first.event_id), receiver.of_event(second.event_id)
    assert len(first_posts) == 2 and len(second_posts) == 2 and len(receiver.posts) == 4
    assert first_posts[0] == first_posts[1] and second_posts[0] == second_posts[1]
    assert set(first_posts[0]) == {"event", "event_id", "question_id", "topic", "created_at"}  # no options, no answer
    assert (first_posts[0]["event_id"], first_posts[0]["question_id"], first_posts[0]["topic"]) == (first.event_id, first.question_id, "the solar system")
    assert (second_posts[0]["event_id"], second_posts[0]["question_id"]) == (second.event_id, second.question_id)
    calls = {"integration": "webhook", "method": "POST"}
    assert sample("infrastructure_integration_calls_total", metrics, outcome="ok", **calls) == 2
    assert sample("infrastructure_integration_calls_total", metrics, outcome="IntegrationClientError", **calls) == 1
    assert sample("infrastructure_integration_retries_total", metrics, **calls) == 1
