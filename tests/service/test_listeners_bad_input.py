"""Bad input to the listener calls of the facade: always a ``MessagingError`` naming what is wrong, and nothing stored.

Runs on the shipped fakes (a migrated in-memory SQLite database); a good call after each bad one
shows the bad one left no listener, record or event behind.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import DatabaseSession, Envelope, InfrastructureError, InfrastructureService, ListenerRetry, MessagingError
from modules.infrastructure.module_api.testing import fake_infrastructure


def handle(event: Envelope, db: DatabaseSession) -> None:
    return None


@pytest.fixture
def facade() -> Iterator[None]:
    with fake_infrastructure():
        yield


def stored() -> tuple[int, int, int]:
    """(listeners known, publication records, outbox rows): what a refused call must not have added."""
    with InfrastructureService.get_database_session() as db:
        listeners, records, outbox = (
            int(db.execute(text(f"SELECT count(*) FROM {table}")).scalar())
            for table in ("infrastructure_event_listeners", "infrastructure_event_publications", "infrastructure_outbox")
        )
    return listeners, records, outbox


def refused(call: Callable[[], object], *words: str) -> str:
    """``call`` raises a ``MessagingError`` (an ``InfrastructureError``) whose message has ``words``; its message."""
    with pytest.raises(MessagingError) as caught:
        call()
    assert isinstance(caught.value, InfrastructureError)
    message = str(caught.value)
    assert all(word in message for word in words), message
    assert len(message) <= 400, f"a clear message, not a dump: {len(message)} characters"
    return message


LISTEN_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("empty word", {"pattern": "a..b"}, "a..b"),
    ("# glued to a word", {"pattern": "#x"}, "#x"),
    ("300 bytes", {"pattern": "a" * 300}, "pattern"),
    ("not a string", {"pattern": 5}, "pattern"),
    ("bytes", {"pattern": b"content.*"}, "pattern"),
    ("None", {"pattern": None}, "pattern"),
    ("a handler that is a string", {"handler": "learning.on_question"}, "handler"),
    ("a handler that is None", {"handler": None}, "handler"),
    ("a module that is not a name", {"module": "my module"}, "module"),
    ("a module that is not a string", {"module": 7}, "module"),
    ("a name with a space", {"name": "on question"}, "name"),
    ("a name that is not a string", {"name": 3}, "name"),
    ("retry as a string", {"retry": "fast"}, "retry"),
    ("retry as a number", {"retry": 3}, "retry"),
    ("retry as a dict", {"retry": {"attempts": 3}}, "retry"),
    ("timeout as a string", {"timeout": "1"}, "timeout"),
    ("timeout True", {"timeout": True}, "timeout"),
    ("timeout 0", {"timeout": 0}, "timeout"),
    ("timeout negative", {"timeout": -1}, "timeout"),
    ("timeout NaN", {"timeout": math.nan}, "timeout"),
    ("timeout infinite", {"timeout": math.inf}, "timeout"),
    ("timeout a billion seconds", {"timeout": 1e9}, "timeout"),
]


@pytest.mark.parametrize(("arguments", "word"), [case[1:] for case in LISTEN_CASES], ids=[case[0] for case in LISTEN_CASES])
def test_listen_refuses_what_it_cannot_use_and_stores_nothing(facade: None, arguments: dict[str, Any], word: str) -> None:
    call = {"pattern": "content.*", "handler": handle, "module": "learning", "name": "on_content", **arguments}
    refused(lambda: InfrastructureService.listen(call.pop("pattern"), call.pop("handler"), **call), word)
    assert stored() == (0, 0, 0)
    assert InfrastructureService.listen("content.*", handle, module="learning", name="on_content") == "learning.on_content"


RETRY_CASES: list[tuple[str, dict[str, Any]]] = [
    ("base negative", {"base_seconds": -1}),
    ("base NaN", {"base_seconds": math.nan}),
    ("base a century", {"base_seconds": 100 * 365 * 86400}),
    ("factor below 1", {"factor": 0.5}),
    ("factor infinite", {"factor": math.inf}),
    ("cap 1e30", {"cap_seconds": 1e30}),
    ("attempts 0", {"attempts": 0}),
    ("attempts a billion", {"attempts": 10**9}),
    ("attempts 2.5", {"attempts": 2.5}),
    ("attempts True", {"attempts": True}),
    ("attempts a string", {"attempts": "3"}),
]


@pytest.mark.parametrize("settings", [case[1] for case in RETRY_CASES], ids=[case[0] for case in RETRY_CASES])
def test_an_absurd_retry_policy_is_refused_before_listen(settings: dict[str, Any]) -> None:
    [field] = settings
    refused(lambda: ListenerRetry(**settings), f"ListenerRetry.{field}")


def test_a_duplicate_identity_is_refused_and_the_first_listener_kept(facade: None) -> None:
    seen: list[str] = []
    InfrastructureService.listen("content.created", lambda event, db: seen.append("first"), module="learning", name="on_content")
    before = stored()
    refused(lambda: InfrastructureService.listen("content.*", handle, module="learning", name="on_content"), "learning.on_content", "name=")
    assert stored() == before
    InfrastructureService.publish_event("content", {}, event_type="content.created", source="content")
    assert seen == ["first"]


OPERATING_CASES: list[tuple[str, Callable[[], object], str]] = [
    ("list: status unknown", lambda: InfrastructureService.list_publications(status="all"), "status"),
    ("list: status a number", lambda: InfrastructureService.list_publications(status=5), "status"),  # type: ignore[arg-type]
    ("list: listener a number", lambda: InfrastructureService.list_publications(listener=5), "listener"),  # type: ignore[arg-type]
    ("list: listener empty", lambda: InfrastructureService.list_publications(listener=""), "listener"),
    ("list: listener 201 characters", lambda: InfrastructureService.list_publications(listener="x" * 201), "listener"),
    ("list: limit 0", lambda: InfrastructureService.list_publications(limit=0), "limit"),
    ("list: limit True", lambda: InfrastructureService.list_publications(limit=True), "limit"),
    ("list: limit a string", lambda: InfrastructureService.list_publications(limit="10"), "limit"),  # type: ignore[arg-type]
    ("list: limit 10**12", lambda: InfrastructureService.list_publications(limit=10**12), "limit"),
    ("resubmit: listener a number", lambda: InfrastructureService.resubmit_publications(listener=5), "listener"),  # type: ignore[arg-type]
    ("resubmit: event ids a string", lambda: InfrastructureService.resubmit_publications(event_ids="abc"), "event_ids"),  # type: ignore[arg-type]
    ("resubmit: event ids of numbers", lambda: InfrastructureService.resubmit_publications(event_ids=[1]), "event_ids"),  # type: ignore[list-item]
    ("resubmit: an empty event id", lambda: InfrastructureService.resubmit_publications(event_ids=[""]), "event_ids"),
    ("resubmit: 10,001 event ids", lambda: InfrastructureService.resubmit_publications(event_ids=["e"] * 10_001), "event_ids"),
    ("resubmit: event ids a dict", lambda: InfrastructureService.resubmit_publications(event_ids={"e": 1}), "event_ids"),  # type: ignore[arg-type]
    ("run: max 0", lambda: InfrastructureService.run_listeners(max_publications=0), "max_publications"),
    ("run: max True", lambda: InfrastructureService.run_listeners(max_publications=True), "max_publications"),
    ("run: max a string", lambda: InfrastructureService.run_listeners(max_publications="1"), "max_publications"),  # type: ignore[arg-type]
    ("run: timeout 0", lambda: InfrastructureService.run_listeners(timeout=0), "timeout"),
    ("run: timeout NaN", lambda: InfrastructureService.run_listeners(timeout=math.nan), "timeout"),
    ("run: timeout infinite", lambda: InfrastructureService.run_listeners(timeout=math.inf), "timeout"),
    ("run: timeout 10**12", lambda: InfrastructureService.run_listeners(timeout=10**12), "timeout"),
    ("run: timeout a string", lambda: InfrastructureService.run_listeners(timeout="1"), "timeout"),  # type: ignore[arg-type]
    ("forget: a number", lambda: InfrastructureService.forget_listener(5), "forget_listener"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("call", "word"), [case[1:] for case in OPERATING_CASES], ids=[case[0] for case in OPERATING_CASES])
def test_the_operating_calls_refuse_wrong_types_and_huge_numbers(facade: None, call: Callable[[], object], word: str) -> None:
    refused(call, word)
    assert stored() == (0, 0, 0)


def test_a_huge_but_whole_max_publications_is_only_a_cap(facade: None) -> None:
    assert InfrastructureService.run_listeners(max_publications=10**30) == []


UNSERIALISABLE: list[tuple[str, object]] = [
    ("an object", object()),
    ("a set", {1, 2}),
    ("a datetime", datetime(2026, 1, 1, tzinfo=timezone.utc)),
    ("bytes", b"\x00\x01"),
    ("NaN", math.nan),
    ("a dict with a tuple key", {(1, 2): "x"}),
]


@pytest.mark.parametrize("payload", [case[1] for case in UNSERIALISABLE], ids=[case[0] for case in UNSERIALISABLE])
def test_a_payload_that_is_not_json_is_refused_at_publish_and_reaches_no_listener(facade: None, payload: object) -> None:
    seen: list[str] = []
    InfrastructureService.listen("content.*", lambda event, db: seen.append(event.id), module="learning", name="on_content")
    before = stored()
    refused(lambda: InfrastructureService.publish_event("content", payload, event_type="content.created", source="content"), "payload")
    with InfrastructureService.get_database_session() as db:
        refused(lambda: InfrastructureService.publish_event("content", payload, event_type="content.created", source="content", session=db), "payload")
    assert stored() == before and seen == []
