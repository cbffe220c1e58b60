"""Event envelopes without I/O: the fields, the JSON encoding, the errors raised before anything is stored."""

from __future__ import annotations

import json
import math
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from modules.infrastructure.domain.messaging.envelope import decode, encode, new_envelope
from modules.infrastructure.domain.messaging.fields import MAX_NESTING, MAX_PRIORITY
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
    assert isinstance(caught.value, InfrastructureError)


@pytest.mark.parametrize("body", [b"", b"not json", b"\xff\xfe\x00", b"[" * 100_000 + b"]" * 100_000], ids=["empty", "text", "binary", "deep"])
def test_a_body_that_is_not_json_is_a_messaging_error_chained_to_the_parser_error(body: bytes) -> None:
    with pytest.raises(MessagingError, match="the body is not JSON") as caught:
        decode(body)
    assert caught.value.__cause__ is not None


VALID = {"id": "e-1", "type": "t", "source": "s", "destination": "q", "timestamp": "2026-01-01T00:00:00+00:00"}


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("correlation_id", 12345, "correlation_id must be a string or None, not int"),
        ("correlation_id", "é" * 128, "correlation_id is 256 bytes"),
        ("priority", 1e400, "priority must be a whole number from 0 to 9, not float"),
        ("priority", "3", "priority must be a whole number from 0 to 9, not str"),
        ("priority", True, "priority must be a whole number from 0 to 9, not bool"),
        ("priority", 10, "priority must be a whole number from 0 to 9, got 10"),
        ("timestamp", "yesterday", "timestamp is not an ISO 8601 date and time"),
        ("timestamp", "1969-12-31T23:59:59+00:00", "timestamp is before 1970-01-01"),
        ("timestamp", 1767225600, "timestamp must be an ISO 8601 string, not int"),
        ("headers", [1], "headers must be a mapping of string keys to values, not list"),
        ("headers", {"n": 2**63}, "headers['n'] is an integer outside the signed 64-bit range"),
        ("headers", {"": 1}, "headers key '' must be non-empty"),
        ("id", 7, "id must be a string, not int"),
        ("type", "", "type must be non-empty"),
        ("source", None, "source must be a string, not None"),
        ("destination", "q" * 256, "destination is 256 bytes"),
        ("destination", "a\u0000b", "destination contains a control character"),
        ("destination", "\ud800", "destination is not valid Unicode text"),
    ],
)
def test_an_envelope_whose_field_breaks_its_rule_is_refused_naming_the_field(field: str, value: object, reason: str) -> None:
    """What ``publish_event`` refuses is refused on the way back too: an older version's row, or one edited by hand."""
    literal = "1e400" if value == math.inf else json.dumps(value)  # 1e400 parses as infinity; json.dumps would write Infinity
    body = json.dumps({name: v for name, v in VALID.items() if name != field})[:-1] + f', "{field}": {literal}}}'
    with pytest.raises(MessagingError, match="Not an event envelope") as caught:
        decode(body.encode())
    assert reason in str(caught.value)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_s_non_standard_constants_are_not_numbers_in_an_envelope(constant: str) -> None:
    with pytest.raises(MessagingError, match=f"{constant} is not a JSON number"):
        decode(json.dumps(VALID)[:-1] + f', "payload": {{"x": {constant}}}}}')


# --- errors at call time --------------------------------------------------------------------------


class Opaque:
    pass


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({1, 2}, "payload is of type set"),
        (Opaque(), "payload is of type Opaque"),
        ({"when": datetime(2026, 1, 1)}, "payload['when'] is of type datetime"),
        (b"bytes", "payload is of type bytes"),
        (float("nan"), "payload is a float that is not finite"),
        ({"x": math.inf}, "payload['x'] is a float that is not finite"),
        ({"x": [1, -math.inf]}, "payload['x'][1] is a float that is not finite"),
    ],
    ids=["set", "object", "datetime", "bytes", "nan", "inf", "-inf"],
)
def test_a_payload_json_cannot_hold_is_a_messaging_error_naming_the_event_type_and_the_place(payload: object, where: str) -> None:
    with pytest.raises(MessagingError) as caught:
        make(payload, event_type="lesson.graded")
    message = str(caught.value)
    assert "'lesson.graded'" in message
    assert where in message and "JSON cannot hold" in message


def test_headers_json_cannot_hold_are_a_messaging_error_too() -> None:
    with pytest.raises(MessagingError, match=r"'lesson.created'.*headers\['when'\] is of type object"):
        make(headers={"when": object()})


@pytest.mark.parametrize(
    ("payload", "where", "written"),
    [
        ({1: "one"}, "payload has a key of type int", '"1"'),
        ({None: "x"}, "payload has a key of type None", '"null"'),
        ({True: "x"}, "payload has a key of type bool", '"true"'),
        ({"lesson": {2.5: "x"}}, "payload['lesson'] has a key of type float", '"2.5"'),
        ({"lessons": [{"ok": 1}, {7: "x"}]}, "payload['lessons'][1] has a key of type int", '"7"'),
    ],
)
def test_a_payload_key_json_would_silently_rewrite_is_refused(payload: object, where: str, written: str) -> None:
    # json.dumps turns 1 into "1" and None into "null": a consumer would see a different payload.
    with pytest.raises(MessagingError) as caught:
        make(payload)
    message = str(caught.value)
    assert where in message and f"silently turn it into the key {written}" in message and "keys must be strings" in message


def test_a_tuple_key_is_refused_too() -> None:
    with pytest.raises(MessagingError, match="payload has a key of type tuple"):
        make({(1, 2): "x"})


def test_header_keys_and_values_follow_what_an_amqp_field_table_carries() -> None:
    envelope, _ = make(headers={"tenant": "acme", "n": 2**63 - 1, "ok": True, "ratio": 0.5, "tags": ["a", {"b": None}]})
    assert envelope.headers["n"] == 2**63 - 1
    for headers, reason in [
        ({"n": 2**63}, "headers['n'] is an integer outside the signed 64-bit range"),
        ({"n": -(2**63) - 1}, "headers['n'] is an integer outside the signed 64-bit range"),
        ({7: "x"}, "headers has a key of type int"),
        ({"k" * 256: "x"}, "is 256 bytes"),
        ({"a\nb": "x"}, "contains a control character"),
        ({"s": "\ud800"}, "headers['s'] is not valid Unicode text"),
        (["tenant"], "headers must be a mapping of string keys to values, not list"),
    ]:
        with pytest.raises(MessagingError) as caught:
            make(headers=headers)
        assert reason in str(caught.value), (headers, str(caught.value))


def test_nesting_is_bounded_and_refused_without_recursion() -> None:
    deep: object = "leaf"
    for _ in range(MAX_NESTING):
        deep = [deep]
    make(deep)  # exactly at the bound: accepted, and the body decodes again
    for too_deep in ([deep], {"x": deep}):
        with pytest.raises(MessagingError, match=f"nested more than {MAX_NESTING} levels"):
            make(too_deep)
    very_deep: object = {}
    for _ in range(100_000):
        very_deep = {"a": very_deep}
    with pytest.raises(MessagingError, match="nested more than"):
        make(very_deep)


def test_a_payload_that_expands_past_the_limit_is_refused_before_it_is_encoded() -> None:
    shared: object = [0]
    for _ in range(22):
        shared = [shared, shared]  # 23 lists in memory, over 8 million values in JSON
    started = time.monotonic()
    with pytest.raises(MessagingError, match="payload holds over 1,000 values: it cannot fit in the 1,000-byte limit"):
        make(shared, max_bytes=1000)
    assert time.monotonic() - started < 0.5


def test_text_that_is_not_valid_unicode_is_a_messaging_error() -> None:
    with pytest.raises(MessagingError, match="valid Unicode"):
        make({"text": "\ud800"})


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
@pytest.mark.parametrize(
    ("value", "reason"),
    [("", "must be non-empty"), ("   ", "must be non-empty"), (None, "must be a string, not None"), (7, "must be a string, not int")],
    ids=["empty", "blank", "none", "int"],
)
def test_a_missing_or_wrong_name_is_a_messaging_error_naming_the_argument(field: str, value: object, reason: str) -> None:
    with pytest.raises(MessagingError, match=f"publish_event's {field} {reason}"):
        make(**{field: value})


@pytest.mark.parametrize("value", [12345, 1.5, b"req-1", ["req-1"]], ids=["int", "float", "bytes", "list"])
def test_a_correlation_id_that_is_not_text_is_refused(value: object) -> None:
    # pika asserts on it at publish time: such an event used to be stored and then stop every relay run.
    with pytest.raises(MessagingError, match=f"publish_event's correlation_id must be a string or None, not {type(value).__name__}"):
        make(correlation_id=value)


@pytest.mark.parametrize("field", ["destination", "event_type", "source", "correlation_id"])
@pytest.mark.parametrize("value", ["a\nb", "a\x00b", "\ud800"], ids=["newline", "nul", "surrogate"])
def test_a_name_with_a_control_character_or_a_lone_surrogate_is_refused(field: str, value: str) -> None:
    with pytest.raises(MessagingError, match=f"publish_event's {field} (contains a control character|is not valid Unicode)"):
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
