"""Event envelopes without I/O: the fields, the JSON encoding, the errors raised before anything is stored."""

from __future__ import annotations

import json
import math
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from modules.infrastructure.domain.messaging.envelope import MAX_PRIORITY, decode, encode, new_envelope
from modules.infrastructure.domain.policies.backoff import backoff_delay
from modules.infrastructure.module_api import Envelope, InfrastructureError, MessagingError


def make(payload: object = None, **options: object) -> tuple[Envelope, bytes]:
    options.setdefault("event_type", "lesson.created")
    options.setdefault("source", "lessons")
    return new_envelope(options.pop("destination", "lessons"), {"id": 7} if payload is None else payload, **options)  # type: ignore[arg-type]


# --- fields ---------------------------------------------------------------------------------------


def test_the_envelope_carries_what_it_was_given() -> None:
    envelope, _ = make(
        {"id": 7, "title": "Joins"},
        destination="lesson-events",
        correlation_id="req-42",
        priority=5,
        headers={"tenant": "acme"},
    )
    assert envelope.type == "lesson.created"
    assert envelope.source == "lessons"
    assert envelope.destination == "lesson-events"
    assert envelope.payload == {"id": 7, "title": "Joins"}
    assert envelope.correlation_id == "req-42"
    assert envelope.priority == 5
    assert dict(envelope.headers) == {"tenant": "acme"}


def test_defaults_priority_zero_no_correlation_no_headers() -> None:
    envelope, _ = make()
    assert envelope.priority == 0
    assert envelope.correlation_id is None
    assert dict(envelope.headers) == {}


def test_the_id_is_a_fresh_uuid4() -> None:
    ids = {make()[0].id for _ in range(200)}
    assert len(ids) == 200
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.version == 4 and str(parsed) == value  # canonical lowercase form, 36 characters


def test_the_timestamp_is_utc_iso_8601_and_now() -> None:
    before = datetime.now(timezone.utc)
    envelope, _ = make()
    after = datetime.now(timezone.utc)
    stamp = datetime.fromisoformat(envelope.timestamp)
    assert stamp.utcoffset() == timedelta(0), f"not UTC: {envelope.timestamp}"
    assert envelope.timestamp.endswith("+00:00")
    assert before - timedelta(milliseconds=1) <= stamp <= after


def test_headers_are_copied_so_later_changes_do_not_leak_in() -> None:
    headers = {"tenant": "acme"}
    envelope, body = make(headers=headers)
    headers["tenant"] = "changed"
    assert envelope.headers["tenant"] == "acme"
    assert json.loads(body)["headers"] == {"tenant": "acme"}


# --- encode / decode ------------------------------------------------------------------------------


def test_the_body_is_compact_utf8_json_of_every_field() -> None:
    envelope, body = make({"text": "grüß dich 世界", "n": [1, 2]}, correlation_id="c", priority=2, headers={"h": 1})
    assert body == encode(envelope)
    data = json.loads(body.decode("utf-8"))
    assert data == {
        "id": envelope.id,
        "type": "lesson.created",
        "source": "lessons",
        "destination": "lessons",
        "priority": 2,
        "timestamp": envelope.timestamp,
        "correlation_id": "c",
        "payload": {"text": "grüß dich 世界", "n": [1, 2]},
        "headers": {"h": 1},
    }
    assert "grüß dich 世界".encode() in body  # not \u-escaped
    assert b", " not in body and b": " not in body


@pytest.mark.parametrize(
    "payload",
    [{"nested": {"list": [1, 2.5, None, True, "x"]}}, [1, 2, 3], "just text", 42, 0.5, None, False, {}],
    ids=["dict", "list", "str", "int", "float", "none", "bool", "empty"],
)
def test_round_trip(payload: object) -> None:
    envelope, body = new_envelope("q", payload, event_type="t", source="s", correlation_id="c", priority=9)
    assert decode(body) == envelope
    assert decode(encode(decode(body))) == envelope


def test_decode_fills_defaults_for_optional_fields() -> None:
    minimal = {"id": "1", "type": "t", "source": "s", "destination": "q", "timestamp": "2026-01-01T00:00:00+00:00"}
    envelope = decode(json.dumps(minimal).encode())
    assert envelope == Envelope(id="1", type="t", source="s", destination="q", payload=None, timestamp=minimal["timestamp"])


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00",
        b"[1, 2, 3]",
        b'"a string"',
        b"null",
        b'{"id": "1"}',
        b'{"id": "1", "type": "t", "source": "s", "destination": "q"}',
        b'{"id": "1", "type": "t", "source": "s", "destination": "q", "timestamp": "x", "priority": "high"}',
    ],
    ids=["empty", "text", "binary", "list", "string", "null", "id-only", "no-timestamp", "bad-priority"],
)
def test_decoding_anything_but_an_envelope_is_a_messaging_error(body: bytes) -> None:
    with pytest.raises(MessagingError, match="Not an event envelope") as caught:
        decode(body)
    assert caught.value.__cause__ is not None, "the parser's error is chained"
    assert isinstance(caught.value, InfrastructureError)


# --- errors at call time --------------------------------------------------------------------------


class Opaque:
    pass


@pytest.mark.parametrize(
    "payload",
    [{1, 2}, Opaque(), {"when": datetime(2026, 1, 1)}, b"bytes", float("nan"), {"x": math.inf}, {"x": -math.inf}],
    ids=["set", "object", "datetime", "bytes", "nan", "inf", "-inf"],
)
def test_a_payload_json_cannot_hold_is_a_messaging_error_naming_the_event_type(payload: object) -> None:
    with pytest.raises(MessagingError) as caught:
        make(payload, event_type="lesson.graded")
    message = str(caught.value)
    assert "'lesson.graded'" in message
    assert "JSON" in message
    assert caught.value.__cause__ is not None


def test_headers_json_cannot_hold_are_a_messaging_error_too() -> None:
    with pytest.raises(MessagingError, match="'lesson.created'"):
        make(headers={"when": object()})


def test_a_dict_with_non_string_keys_that_json_would_rewrite_still_round_trips_as_json_says() -> None:
    # json turns int keys into strings: the envelope carries what a consumer will actually see.
    envelope, body = make({1: "one"})
    assert decode(body).payload == {"1": "one"}
    assert envelope.payload == {1: "one"}


def test_an_oversize_event_is_a_messaging_error_naming_the_limit_variable() -> None:
    with pytest.raises(MessagingError) as caught:
        make({"blob": "x" * 2000}, max_bytes=1000, event_type="lesson.exported")
    message = str(caught.value)
    assert "MESSAGING_MAX_PAYLOAD_BYTES" in message
    assert "'lesson.exported'" in message
    assert "1,000" in message


def test_the_limit_counts_the_encoded_bytes_and_is_inclusive() -> None:
    _, body = make({"blob": ""})
    overhead = len(body)
    make({"blob": "x" * 100}, max_bytes=overhead + 100)  # exactly at the limit: accepted
    with pytest.raises(MessagingError):
        make({"blob": "x" * 101}, max_bytes=overhead + 100)
    with pytest.raises(MessagingError):  # multi-byte characters count as bytes, not characters
        make({"blob": "é" * 100}, max_bytes=overhead + 100)


def test_the_default_limit_is_one_mebibyte() -> None:
    _, body = make({"blob": ""})
    make({"blob": "x" * (1_048_576 - len(body))})
    with pytest.raises(MessagingError, match="1,048,576"):
        make({"blob": "x" * (1_048_576 - len(body) + 1)})


@pytest.mark.parametrize("field", ["destination", "event_type", "source"])
@pytest.mark.parametrize("value", ["", "   ", None, 7], ids=["empty", "blank", "none", "int"])
def test_an_empty_name_is_a_messaging_error_naming_the_argument(field: str, value: object) -> None:
    with pytest.raises(MessagingError, match=f"non-empty {field}"):
        make(**{field: value})


@pytest.mark.parametrize("field", ["destination", "event_type", "source", "correlation_id"])
def test_a_name_amqp_cannot_carry_is_a_messaging_error_naming_the_argument(field: str) -> None:
    # Queue names, the message type, app_id and correlation_id are AMQP short strings: 255 bytes, not characters.
    make(**{field: "q" * 255})
    make(**{field: "é" * 127})  # 254 bytes
    for too_long in ("q" * 256, "é" * 128):
        with pytest.raises(MessagingError, match=f"{field}.*255") as caught:
            make(**{field: too_long})
        assert "256" in str(caught.value)


@pytest.mark.parametrize("priority", [-1, MAX_PRIORITY + 1, 100, 1.5, "3", None])
def test_a_priority_outside_0_to_9_is_a_messaging_error(priority: object) -> None:
    with pytest.raises(MessagingError, match="priority must be a whole number from 0 to 9"):
        make(priority=priority)


@pytest.mark.parametrize("priority", [0, 4, MAX_PRIORITY])
def test_priorities_0_to_9_are_accepted(priority: int) -> None:
    assert make(priority=priority)[0].priority == priority


# --- the reconnect backoff schedule ---------------------------------------------------------------
# The generic schedule is pinned in tests/unit/test_database_policies.py; these pin what the
# RabbitMQ publisher uses between reconnect attempts (base 0.5 s, cap 5 s).


def test_the_reconnect_schedule_doubles_from_half_a_second_up_to_five() -> None:
    ceilings = [backoff_delay(n, base=0.5, cap=5.0, rand=lambda: 1.0) for n in range(7)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_the_reconnect_delays_are_fully_jittered_within_the_ceiling() -> None:
    values = [backoff_delay(3, base=0.5, cap=5.0) for _ in range(500)]
    assert all(0.0 <= v <= 4.0 for v in values)
    assert min(values) < 1.0 and max(values) > 3.0, "full jitter spreads over the whole range"
    assert len(set(values)) > 450


def test_a_large_attempt_number_stays_at_the_cap() -> None:
    assert backoff_delay(1023, base=0.5, cap=5.0, rand=lambda: 1.0) == 5.0


def test_a_huge_attempt_number_stays_at_the_cap() -> None:
    assert backoff_delay(1024, base=0.5, cap=5.0, rand=lambda: 1.0) == 5.0
