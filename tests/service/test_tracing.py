"""Traces through the facade, on the fakes: one tree from a caller's span through its session, LLM call and event to
the listener in another module; spans failing with redacted reasons; bad input to ``trace`` refused."""

from __future__ import annotations

import gc
import json
import logging
import weakref
from typing import Any

import pytest
from sqlalchemy import text

from modules.infrastructure.domain.tracing.ports import NoTracing
from modules.infrastructure.infrastructure.logging.setup import JsonFormatter
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.module_api import Envelope, InfrastructureService, InvalidArgumentError, MessagingError, Prompt, PromptContext
from modules.infrastructure.module_api.testing import RecordedSpan, RecordingTracing, fake_infrastructure

PROMPT = Prompt("Write one question about {topic}", parameters={"max_tokens": 16, "temperature": 0})


def only(spans: list[RecordedSpan], name: str) -> RecordedSpan:
    [span] = [span for span in spans if span.name == name]
    return span


def test_one_trace_runs_from_the_request_through_the_llm_call_and_the_event_to_the_other_modules_listener() -> None:
    reacted: list[Envelope] = []
    with fake_infrastructure(["A question?"]) as fakes:
        InfrastructureService.listen("lessons.created", lambda event, db: reacted.append(event), module="analytics", name="count")
        with InfrastructureService.trace("POST /lessons", kind="server", attributes={"http.route": "/lessons"}):
            InfrastructureService.execute_prompt(PROMPT, PromptContext(variables={"topic": "maths"}, module="lessons"))
            with InfrastructureService.get_database_session() as db:
                db.execute(text("SELECT 1"))
                InfrastructureService.publish_event("lessons.events", {"id": 1}, event_type="lessons.created", source="lessons", session=db)
        spans = fakes.tracing.spans()
        tree = fakes.tracing.tree()
    request = only(spans, "POST /lessons")
    assert {span.trace_id for span in spans} == {request.trace_id}, tree
    assert request.parent_id == "" and request.kind == "server" and request.attributes["http.route"] == "/lessons"
    session = only(spans, "database session")
    create = only(spans, "create lessons.events")
    process = only(spans, "process lessons.created")
    llm = [span for span in spans if span.name.startswith("chat ")][0]
    assert llm.parent_id == request.span_id and session.parent_id == request.span_id
    assert create.parent_id == session.span_id and create.kind == "producer"
    assert process.parent_id == create.span_id and process.kind == "consumer"
    assert process.attributes["infrastructure.event.handler"] == "analytics.count"
    assert reacted[0].trace is not None and reacted[0].trace.span_id == create.span_id
    assert create.attributes["messaging.message.id"] == reacted[0].id
    assert session.attributes["db.system.name"] == "sqlite" and not session.failed  # committed
    assert tree.splitlines()[0].startswith("- POST /lessons [server")


def test_an_llm_span_carries_the_genai_attributes_and_never_the_prompt_text_by_default() -> None:
    with fake_infrastructure(["Seven."]) as fakes:
        InfrastructureService.execute_prompt(PROMPT, PromptContext(variables={"topic": "secret-topic-xyz"}, module="lessons"))
        [llm] = [span for span in fakes.tracing.spans() if span.name.startswith("chat ")]
    attributes = llm.attributes
    assert attributes["gen_ai.operation.name"] == "chat" and attributes["gen_ai.system"] == "fake"  # the fake provider's name
    assert attributes["gen_ai.request.model"] and attributes["gen_ai.request.max_tokens"] == 16
    assert attributes["gen_ai.usage.input_tokens"] > 0 and attributes["gen_ai.usage.output_tokens"] > 0
    assert list(attributes["gen_ai.response.finish_reasons"]) == ["stop"]
    assert attributes["infrastructure.llm.cache_hit"] is False and attributes["infrastructure.module"] == "lessons"
    assert "secret-topic-xyz" not in json.dumps({k: str(v) for k, v in attributes.items()})


def test_an_operator_may_have_the_prompt_and_answer_texts_recorded() -> None:
    recorder = RecordingTracing(captures_content=True)
    with fake_infrastructure(["Seven."]), InfrastructureService.override(tracing=recorder):
        InfrastructureService.execute_prompt(PROMPT, PromptContext(variables={"topic": "rivers"}, module="lessons"))
        [llm] = [span for span in recorder.spans() if span.name.startswith("chat ")]
    assert "rivers" in str(llm.attributes["gen_ai.input.messages"])
    assert "Seven." in str(llm.attributes["gen_ai.output.messages"])


def test_a_cached_answer_is_a_span_marked_as_a_cache_hit() -> None:
    with fake_infrastructure(["One.", "Two."]) as fakes:
        for _ in range(2):
            InfrastructureService.execute_prompt(PROMPT, PromptContext(variables={"topic": "cache"}, module="lessons"))
        hits = [span.attributes["infrastructure.llm.cache_hit"] for span in fakes.tracing.spans() if span.name.startswith("chat ")]
    assert hits == [False, True]


def test_an_exception_leaving_a_span_marks_it_failed_with_its_type_and_never_a_secret() -> None:
    with fake_infrastructure() as fakes:
        with pytest.raises(RuntimeError), InfrastructureService.trace("import"):
            raise RuntimeError("failed with password=hunter2-very-secret")
        with pytest.raises(ZeroDivisionError), InfrastructureService.get_database_session() as db:
            db.execute(text("SELECT 1"))
            1 / 0  # noqa: B018
        spans = fakes.tracing.spans()
    failed = only(spans, "import")
    assert failed.failed and failed.attributes["error.type"] == "RuntimeError"
    assert "hunter2" not in repr(failed)
    session = only(spans, "database session")
    assert session.failed and session.attributes["error.type"] == "ZeroDivisionError"


def test_the_failure_reason_on_a_span_is_redacted() -> None:
    tracing = RecordingTracing()
    with fake_infrastructure(), InfrastructureService.override(tracing=tracing):
        with pytest.raises(RuntimeError), InfrastructureService.trace("import"):
            raise RuntimeError("connect to postgresql://app:s3cr3t-pass@db/app failed")
    [span] = tracing._exporter.get_finished_spans()
    assert span.status.description is not None and "RuntimeError" in span.status.description
    assert "s3cr3t-pass" not in span.status.description


def test_the_current_trace_is_the_running_spans_and_none_outside() -> None:
    with fake_infrastructure() as fakes:
        assert InfrastructureService.current_trace() is None
        with InfrastructureService.trace("job") as span:
            current = InfrastructureService.current_trace()
            assert current is not None and span.trace_context == current
            span.set_attributes({"job.items": 3, "job.names": ["a", "b"]})
        [job] = fakes.tracing.spans()
    assert current.trace_id == job.trace_id and current.span_id == job.span_id
    assert job.attributes["job.items"] == 3 and list(job.attributes["job.names"]) == ["a", "b"]


def test_an_integration_call_is_a_client_span_whose_traceparent_goes_with_the_request() -> None:
    environment = {"INTEGRATION_CRM_BASE_URL": "https://crm.example.test", "INTEGRATION_CRM_TOKEN": "tok-123456"}
    with fake_infrastructure(environment=environment) as fakes:
        fakes.http.add("crm", 201, json={"id": 7})
        with InfrastructureService.trace("sync"):
            InfrastructureService.get_http_client("crm").post("/contacts", params={"api_key": "k-999"}, json={"a": 1}, idempotency_key="k1")
        [call] = fakes.tracing.named("POST")
        [sent] = fakes.http.requests("crm")
    assert call.kind == "client" and call.attributes["http.response.status_code"] == 201
    assert call.attributes["server.address"] == "crm.example.test" and call.attributes["infrastructure.integration"] == "crm"
    assert "k-999" not in repr(call.attributes)
    assert sent.headers["traceparent"].startswith(f"00-{call.trace_id}-{call.span_id}-")


def test_a_callers_own_traceparent_header_wins() -> None:
    environment = {"INTEGRATION_CRM_BASE_URL": "https://crm.example.test"}
    theirs = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with fake_infrastructure(environment=environment) as fakes:
        InfrastructureService.get_http_client("crm").get("/ping", headers={"traceparent": theirs})
        [sent] = fakes.http.requests("crm")
    assert sent.headers["traceparent"] == theirs


def test_without_tracing_an_event_carries_no_trace_and_spans_are_free() -> None:
    with fake_infrastructure() as fakes, InfrastructureService.override(tracing=NoTracing()):
        InfrastructureService.migrate()  # the override's database is a new in-memory one
        with InfrastructureService.trace("job") as span:
            assert span.trace_context is None and InfrastructureService.current_trace() is None
            InfrastructureService.publish_event("lessons.events", {"id": 1}, event_type="lessons.created", source="lessons")
        [event] = fakes.events("lessons.events")
    assert event.trace is None


def test_by_default_nothing_records_and_nothing_is_exported() -> None:
    """The default configuration: no exporter and no SDK of the application's, so a span is the shared no-op."""
    from modules.infrastructure.infrastructure.tracing.otel_tracer import OtelTracer

    tracer = OtelTracer(Redactor())
    with tracer.span("x") as span:
        assert span.trace_context() is None and tracer.current() is None
    assert tracer.export_counts() == {}


def test_json_log_lines_written_inside_a_span_carry_its_trace_and_span_ids() -> None:
    formatter = JsonFormatter(Redactor())

    def line() -> dict[str, Any]:
        record = logging.LogRecord("lessons", logging.INFO, __file__, 1, "made a lesson", None, None)
        return dict(json.loads(formatter.format(record)))

    with fake_infrastructure() as fakes:
        assert "trace_id" not in line()
        with InfrastructureService.trace("job"):
            inside = line()
        [job] = fakes.tracing.spans()
    assert inside["trace_id"] == job.trace_id and inside["span_id"] == job.span_id


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: InfrastructureService.trace(""), "trace(name)"),
        (lambda: InfrastructureService.trace(7), "trace(name)"),  # type: ignore[arg-type]
        (lambda: InfrastructureService.trace("x" * 201), "trace(name)"),
        (lambda: InfrastructureService.trace("x", kind="request"), "trace(kind=...)"),
        (lambda: InfrastructureService.trace("x", attributes=[("a", 1)]), "mapping"),  # type: ignore[arg-type]
        (lambda: InfrastructureService.trace("x", attributes={1: "a"}), "attribute's name"),  # type: ignore[dict-item]
        (lambda: InfrastructureService.trace("x", attributes={"a": {"b": 1}}), "takes text, a bool"),
        (lambda: InfrastructureService.trace("x", attributes={"a": float("nan")}), "takes text, a bool"),
        (lambda: InfrastructureService.trace("x", attributes={"a": 2**64}), "takes text, a bool"),
        (lambda: InfrastructureService.trace("x", attributes={"a": [1, "b"]}), "one kind"),
        (lambda: InfrastructureService.trace("x", attributes={"a": None}), "takes text, a bool"),
        (lambda: InfrastructureService.trace("x", attributes={f"k{i}": i for i in range(65)}), "at most 64"),
    ],
)
def test_bad_input_to_trace_is_refused_before_any_span(call: Any, message: str) -> None:
    with fake_infrastructure() as fakes:
        with pytest.raises(InvalidArgumentError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
            with call():
                pass
        assert fakes.tracing.spans() == []


def test_bad_attributes_added_to_a_running_span_are_refused() -> None:
    with fake_infrastructure(), InfrastructureService.trace("job") as span:
        with pytest.raises(InvalidArgumentError, match="takes text, a bool"):
            span.set_attributes({"a": object()})  # type: ignore[dict-item]


def test_a_long_text_attribute_is_cut_to_4096_characters() -> None:
    with fake_infrastructure() as fakes:
        with InfrastructureService.trace("job", attributes={"note": "n" * 10_000}):
            pass
        [job] = fakes.tracing.spans()
    assert len(job.attributes["note"]) == 4096


def test_a_stream_is_one_span_from_its_first_chunk_to_its_last_and_not_the_parent_of_the_callers_spans() -> None:
    with fake_infrastructure(["Seven and eight."]) as fakes:
        with InfrastructureService.trace("chat page") as page:
            chunks = InfrastructureService.stream_prompt(PROMPT, PromptContext(variables={"topic": "streams"}, module="lessons"))
            next(chunks)
            with InfrastructureService.trace("between chunks"):
                pass
            rest = list(chunks)
        spans = fakes.tracing.spans()
    assert rest is not None and page.trace_context is not None
    stream = [span for span in spans if span.name.startswith("chat ")][0]
    between = only(spans, "between chunks")
    request = only(spans, "chat page")
    assert stream.parent_id == request.span_id and between.parent_id == request.span_id
    assert stream.attributes["infrastructure.llm.stream"] is True and stream.attributes["gen_ai.usage.output_tokens"] > 0
    assert not stream.failed


def test_a_stream_the_caller_stops_reading_ends_as_abandoned_not_failed() -> None:
    with fake_infrastructure(["Seven and eight and nine."]) as fakes:
        chunks = InfrastructureService.stream_prompt(PROMPT, PromptContext(variables={"topic": "early"}, module="lessons"))
        next(chunks)
        chunks.close()  # type: ignore[attr-defined]
        [stream] = [span for span in fakes.tracing.spans() if span.name.startswith("chat ")]
    assert stream.attributes["infrastructure.llm.outcome"] == "abandoned" and not stream.failed


def test_a_blocks_recorded_spans_are_freed_with_its_fakes_not_kept_until_the_process_ends() -> None:
    """Each block records into a provider of its own: nothing process-wide (an atexit hook) may keep it and its spans."""
    with fake_infrastructure() as fakes:
        with InfrastructureService.trace("kept only while the fakes are"):
            pass
        recorded = weakref.ref(fakes.tracing.provider)  # which holds the exporter and its spans
    del fakes
    gc.collect()
    assert recorded() is None


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text")


def test_a_destination_that_is_not_text_is_refused_as_before_and_its_span_named_by_its_type() -> None:
    """The span is named before the destination is checked: naming it must not run the object's own ``__str__``."""
    with fake_infrastructure() as fakes:
        with pytest.raises(MessagingError, match="destination must be a string"):
            InfrastructureService.publish_event(_Unprintable(), {"a": 1}, event_type="lesson.created", source="lessons")  # type: ignore[arg-type]
        [span] = fakes.tracing.named("create _Unprintable")
    assert span.failed


class _Unshowable(Exception):
    def __str__(self) -> str:
        raise UnicodeError("cannot be shown")


def test_an_exception_that_cannot_be_shown_as_text_still_ends_its_span_and_leaves_as_itself() -> None:
    with fake_infrastructure() as fakes:
        with pytest.raises(_Unshowable):
            with InfrastructureService.trace("outer"):
                with InfrastructureService.trace("inner"):
                    raise _Unshowable()
        assert InfrastructureService.current_trace() is None
        assert [(span.name, span.failed) for span in fakes.tracing.spans()] == [("inner", True), ("outer", True)]


def test_a_session_entered_and_left_in_two_copies_of_the_context_ends_its_span_and_logs_no_error(caplog: pytest.LogCaptureFixture) -> None:
    """A web framework's dependency (``with get_database_session() as db: yield db``) runs its halves in two copies."""
    import contextvars
    from collections.abc import Iterator

    def dependency() -> Iterator[object]:
        with InfrastructureService.get_database_session() as db:
            yield db

    with fake_infrastructure() as fakes, caplog.at_level(logging.ERROR):
        running = dependency()
        contextvars.copy_context().run(next, running)
        with pytest.raises(StopIteration):
            contextvars.copy_context().run(next, running)
        assert InfrastructureService.current_trace() is None
        [session] = fakes.tracing.named("database session")
    assert not session.failed and session.end >= session.start
    assert not [record for record in caplog.records if "detach" in record.getMessage()]


def test_captured_texts_are_cut_to_about_16384_characters_and_stay_json() -> None:
    recorder = RecordingTracing(captures_content=True)
    with fake_infrastructure(["a" * 40_000]), InfrastructureService.override(tracing=recorder):
        InfrastructureService.execute_prompt(PROMPT, PromptContext(variables={"topic": "length"}, module="lessons"))
        [llm] = [span for span in recorder.spans() if span.name.startswith("chat ")]
    [answer] = json.loads(str(llm.attributes["gen_ai.output.messages"]))  # still JSON
    assert answer["content"].startswith("a" * 16_384) and answer["content"].endswith("... [23616 characters cut]")


def test_a_bad_value_whose_repr_fails_is_still_an_invalid_argument_error() -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    with fake_infrastructure(), pytest.raises(InvalidArgumentError, match="not Hostile"):
        with InfrastructureService.trace(Hostile()):  # type: ignore[arg-type]
            pass


@pytest.mark.parametrize("name", [10**5000, "x" * 300], ids=["5001-digit int", "300 characters"])
def test_a_name_that_cannot_be_shown_whole_is_still_an_invalid_argument_error(name: object) -> None:
    with fake_infrastructure(), pytest.raises(InvalidArgumentError, match=r"trace\(name\)"):
        with InfrastructureService.trace(name):  # type: ignore[arg-type]
            pass


def test_a_scope_left_in_a_copy_of_the_context_made_inside_it_logs_no_error(caplog: pytest.LogCaptureFixture) -> None:
    import contextvars

    with fake_infrastructure() as fakes, caplog.at_level(logging.ERROR):
        scope = InfrastructureService.trace("job")
        entered = contextvars.copy_context()  # a framework's copy of the request's context
        entered.run(scope.__enter__)
        entered.copy().run(scope.__exit__, None, None, None)  # a copy made inside the span: it is current there too
        [job] = fakes.tracing.spans()
    assert job.name == "job" and not [record for record in caplog.records if "detach" in record.getMessage()]


def test_an_outer_span_left_before_its_inner_one_restores_the_context_it_was_entered_in() -> None:
    """Spans left out of order (a generator holding one): each exit restores what was current at its entry, as
    context variables do, so the inner one's exit makes the ended outer span current again. Run in a copy of the
    context: in the test's own it would stay current for the tests after it."""
    import contextvars

    def out_of_order() -> None:
        outer = InfrastructureService.trace("outer")
        outer.__enter__()
        inner = InfrastructureService.trace("inner")
        inner.__enter__()
        outer.__exit__(None, None, None)
        assert InfrastructureService.current_trace() is None
        inner.__exit__(None, None, None)

    with fake_infrastructure():
        contextvars.copy_context().run(out_of_order)
        assert InfrastructureService.current_trace() is None
