"""W3C trace context as events carry it: a valid ``traceparent`` is kept, anything else is dropped and fails nothing."""

from __future__ import annotations

import json

import pytest

from modules.infrastructure.domain.messaging.envelope import decode, encode, new_envelope
from modules.infrastructure.domain.tracing.trace_context import TraceContext, from_headers, trace_context

VALID = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_a_valid_traceparent_gives_its_ids() -> None:
    context = trace_context(VALID, "vendor=abc")
    assert context == TraceContext(VALID, "vendor=abc")
    assert context.trace_id == "0af7651916cd43dd8448eb211c80319c" and context.span_id == "b7ad6b7169203331"
    assert context.headers() == {"traceparent": VALID, "tracestate": "vendor=abc"}
    assert TraceContext(VALID).headers() == {"traceparent": VALID}


@pytest.mark.parametrize(
    "value",
    [
        None, 7, b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "",
        VALID.upper(),  # upper-case hex is not W3C
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # version ff is forbidden
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",  # all-zero trace id
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  # all-zero span id
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
        VALID + "-extra", VALID + "\n", " " + VALID, "00_0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_01",
        "x" * 100_000,
    ],
)
def test_anything_but_a_valid_traceparent_is_no_context(value: object) -> None:
    assert trace_context(value) is None


@pytest.mark.parametrize("state", ["é=1", "a" * 513, "a=1\n", 5, None])
def test_a_tracestate_that_is_not_printable_ascii_within_512_characters_is_dropped(state: object) -> None:
    assert trace_context(VALID, state) == TraceContext(VALID, "")


@pytest.mark.parametrize(
    "state", ["!!!", "Vendor=1", "a=", "a=1,a=2", "a=" + "x" * 300, ",".join(f"k{n}=v" for n in range(33)), "a=b=c"],
)
def test_a_tracestate_that_is_not_a_w3c_list_is_dropped_before_opentelemetry_logs_it(state: str) -> None:
    """A producer's malformed tracestate would otherwise be one warning line per message, echoing the producer's text."""
    assert trace_context(VALID, state) == TraceContext(VALID, "")


@pytest.mark.parametrize("state", ["", "a=1", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", " a=1 , ,b=2", "tenant@vendor=x y"])
def test_a_w3c_tracestate_is_kept_as_sent(state: str) -> None:
    assert trace_context(VALID, state) == TraceContext(VALID, state)


def test_headers_without_a_valid_traceparent_give_no_context() -> None:
    assert from_headers(None) is None and from_headers({}) is None and from_headers({"traceparent": "nope"}) is None
    assert from_headers({"traceparent": VALID, "tracestate": "a=b"}) == TraceContext(VALID, "a=b")


def test_an_event_keeps_its_trace_through_encoding() -> None:
    envelope, body = new_envelope("lessons.events", {"id": 1}, event_type="lessons.created", source="lessons", trace=TraceContext(VALID, "a=b"))
    data = json.loads(body)
    assert data["traceparent"] == VALID and data["tracestate"] == "a=b"
    assert decode(body) == envelope


def test_an_event_without_a_trace_is_encoded_as_before() -> None:
    envelope, body = new_envelope("lessons.events", {"id": 1}, event_type="lessons.created", source="lessons")
    assert "traceparent" not in json.loads(body) and decode(body).trace is None
    assert encode(envelope) == body


@pytest.mark.parametrize("traceparent", ["garbage", 42, None, ["a"], VALID.upper()])
def test_an_event_with_a_malformed_trace_is_still_a_valid_event_without_one(traceparent: object) -> None:
    _, body = new_envelope("lessons.events", {"id": 1}, event_type="lessons.created", source="lessons")
    data = {**json.loads(body), "traceparent": traceparent, "tracestate": {"x": 1}}
    decoded = decode(json.dumps(data))
    assert decoded.trace is None and decoded.payload == {"id": 1}
