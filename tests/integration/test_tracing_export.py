"""Spans exported over OTLP/HTTP to a collector of the test's own on 127.0.0.1, configured only by ``OTEL_*`` variables.

A trace of a caller's span, a PostgreSQL session and an event arrives as one tree, named after the service and sent
with the configured header, and the exports are counted; the settings that turn export off send nothing; the Redis
calls are client spans without their keys. Collectors that refuse, are unreachable or never answer slow no facade
call, are counted as ``failed``, write at most a couple of log lines (never the header's secret) and keep shutdown short.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import InfrastructureService
from modules.infrastructure.module_api.testing import RecordingTracing
from tests.integration.http_fault_server import closed_port_url
from tests.integration.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.integration.postgres_scratch import scratch_database
from tests.integration.silent_collector import SilentCollector
from tests.integration.test_messaging_rabbitmq import configure
from tests.metrics_support import sample
from tests.waiting import wait_for

SECRET = "otlp-key-7f3a9c2e51"
EXPORTED = "infrastructure_trace_spans_exported_total"
QUICKLY = 0.1  # OTEL_BSP_SCHEDULE_DELAY in seconds: the export thread sends every 100 ms
EXPORT_TIMEOUT_MS = 2000  # a silent collector holds each export this long: an export in the caller's thread would show
CALL_BOUND = 1.5  # seconds one facade call may take on a machine under load (a SQLite commit's fsync included)
SHUTDOWN_BOUND = 7.0  # seconds shutdown() may take with a collector that is down: its 5 s wait for the waiting spans, and margin


def export_to(monkeypatch: pytest.MonkeyPatch, endpoint: str, **settings: str) -> None:
    """Export to ``endpoint`` every 100 ms, as service ``lessons-api`` with an ``api-key`` header, plus ``settings``."""
    configure(
        monkeypatch, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_BSP_SCHEDULE_DELAY=str(int(QUICKLY * 1000)),
        OTEL_SERVICE_NAME="lessons-api", OTEL_EXPORTER_OTLP_HEADERS=f"api-key={SECRET}", **settings,
    )


def header(span: ReceivedSpan, name: str) -> str | None:
    return next((value for key, value in span.headers.items() if key.lower() == name), None)


def exported(outcome: str) -> float:
    return sample(EXPORTED, outcome=outcome) or 0.0


def named(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    [span] = [span for span in spans if span.name == name]
    return span


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as collector:
        yield collector


@pytest.fixture
def postgres_outbox(clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str) -> Iterator[str]:
    """A migrated scratch database the facade uses, events staying in the outbox; its URL."""
    with scratch_database(postgres_url, "infra_traces") as url:
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("OUTBOX_RELAY", "off")
        InfrastructureService.reset()
        InfrastructureService.migrate()
        try:
            yield url
        finally:
            InfrastructureService.reset()  # no connection of ours left when the database is dropped


# --- export to a collector ------------------------------------------------------------------------


def test_a_callers_span_its_postgres_session_and_its_event_arrive_as_one_tree_named_and_counted(
    postgres_outbox: str, receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    export_to(monkeypatch, receiver.endpoint)
    with InfrastructureService.trace("POST /lessons", kind="server", attributes={"http.route": "/lessons"}) as request:
        with InfrastructureService.get_database_session() as db:
            db.execute(text("SELECT 1"))
            event_id = InfrastructureService.publish_event("lessons.events", {"id": 1}, event_type="lessons.created", source="lessons", session=db)
        trace_id = request.trace_context.trace_id if request.trace_context else ""
    spans = receiver.wait_for(lambda got: any(s.name == "POST /lessons" for s in got) and len([s for s in got if s.trace_id == trace_id]) >= 3)
    tree = receiver.tree(trace_id)
    ours = receiver.trace(trace_id)
    root, session, create = named(ours, "POST /lessons"), named(ours, "database session"), named(ours, "create lessons.events")
    assert root.parent_id == "" and root.kind == "server" and root.attributes["http.route"] == "/lessons", tree
    assert session.parent_id == root.span_id and session.kind == "client", tree
    assert session.attributes["db.system.name"] == "postgresql" and session.status == 0  # unset: ended ok, committed
    assert create.parent_id == session.span_id and create.kind == "producer" and create.attributes["messaging.message.id"] == event_id, tree
    assert {span.service for span in spans} == {"lessons-api"}
    assert {header(span, "api-key") for span in spans} == {SECRET}
    wait_for(lambda: exported("ok") >= len(spans), 5, f"{len(spans)} spans counted as exported")
    assert exported("failed") == 0 and exported("dropped") == 0
    print(f"\n{tree}")


class PathRecordingReceiver(OtlpReceiver):
    """An ``OtlpReceiver`` that also notes the path of every request, whatever it is."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def received(self, path: str, body: bytes, headers: Mapping[str, str]) -> None:
        self.paths.append(path)
        super().received(path, body, headers)


def test_the_traces_endpoint_is_used_as_given_and_wins_over_the_base_endpoint(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with PathRecordingReceiver() as collector:
        export_to(monkeypatch, closed_port_url(), OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"{collector.endpoint}/tenant-7/spans")
        with InfrastructureService.trace("job"):
            pass
        wait_for(lambda: collector.requests > 0, 10, "an export at the traces endpoint")
        InfrastructureService.shutdown()
    assert set(collector.paths) == {"/tenant-7/spans"}  # no /v1/traces appended to it
    with PathRecordingReceiver() as collector:
        export_to(monkeypatch, closed_port_url(), OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"{collector.endpoint}/v1/traces")
        with InfrastructureService.trace("job"):
            pass
        [job] = collector.wait_for(lambda got: len(got) == 1)
        InfrastructureService.shutdown()
    assert job.name == "job" and job.service == "lessons-api" and set(collector.paths) == {"/v1/traces"}


@pytest.mark.parametrize(
    ("settings", "records"),
    [
        ({"OTEL_TRACES_SAMPLER": "always_off"}, True),
        ({"OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_TRACES_EXPORTER": "none"}, False),
    ],
    ids=["sampler-always_off", "sdk-disabled", "exporter-none"],
)
def test_settings_that_turn_export_off_send_nothing_even_with_an_endpoint(
    clean_env: Path, receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch, settings: dict[str, str], records: bool
) -> None:
    export_to(monkeypatch, receiver.endpoint, **settings)
    InfrastructureService.migrate()
    with InfrastructureService.trace("POST /lessons", kind="server") as request:
        with InfrastructureService.get_database_session() as db:
            db.execute(text("SELECT 1"))
            InfrastructureService.publish_event("lessons.events", {"id": 1}, event_type="lessons.created", source="lessons", session=db)
        context = request.trace_context
    time.sleep(QUICKLY * 5)  # several export periods
    metrics = InfrastructureService.metrics_text()
    InfrastructureService.shutdown()  # sends whatever is still waiting
    assert receiver.requests == 0 and receiver.spans == []
    if records:  # sampled out: the context is there, marked not sampled, for a caller downstream to follow
        assert context is not None and int(context.traceparent[-2:], 16) & 1 == 0  # the sampled flag is off
        assert sample(EXPORTED, metrics, outcome="ok") == 0
    else:
        assert context is None and EXPORTED not in metrics


# --- collectors that are down ---------------------------------------------------------------------


def unreachable() -> Iterator[str]:
    yield closed_port_url()


def refusing() -> Iterator[str]:
    with OtlpReceiver(status=500) as collector:
        yield collector.endpoint


def silent() -> Iterator[str]:
    with SilentCollector() as collector:
        yield collector.endpoint


@pytest.fixture(params=[unreachable, refusing, silent], ids=["unreachable", "answering-500", "silent"])
def bad_collector(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from request.param()


def test_a_collector_that_is_down_slows_no_call_is_counted_logged_once_without_the_secret_and_shutdown_stays_short(
    clean_env: Path, bad_collector: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    export_to(monkeypatch, bad_collector, OTEL_EXPORTER_OTLP_TIMEOUT=str(EXPORT_TIMEOUT_MS))
    InfrastructureService.migrate()
    slowest = 0.0
    with caplog.at_level(logging.DEBUG):
        ended = time.monotonic() + 2.0  # about twenty export periods, each failing
        while time.monotonic() < ended:
            started = time.monotonic()
            with InfrastructureService.trace("job"), InfrastructureService.get_database_session() as db:
                db.execute(text("SELECT 1"))
                InfrastructureService.publish_event("lessons.events", {"id": 1}, event_type="lessons.created", source="lessons", session=db)
            slowest = max(slowest, time.monotonic() - started)
        wait_for(lambda: exported("failed") > 0, 10, "a failed export counted")
        with InfrastructureService.trace("last"):  # still waiting for export when the shutdown comes
            pass
        started = time.monotonic()
        InfrastructureService.shutdown()
        shutdown = time.monotonic() - started
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    print(f"\nslowest call {slowest * 1000:.1f} ms, shutdown {shutdown * 1000:.0f} ms, log lines {[r.getMessage() for r in warnings]}")
    assert slowest < CALL_BOUND, f"a facade call took {slowest:.3f} s while the collector was down"
    assert shutdown < SHUTDOWN_BOUND, f"shutdown took {shutdown:.1f} s with the collector down"
    assert 1 <= len(warnings) <= 2, [record.getMessage() for record in warnings]
    assert "Spans could not be exported" in warnings[0].getMessage()
    assert SECRET not in caplog.text and all(SECRET not in repr(record.__dict__) for record in caplog.records)


# --- Redis ----------------------------------------------------------------------------------------


def test_redis_calls_are_client_spans_named_by_command_without_the_key(clean_env: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    configure(monkeypatch, REDIS_URL=redis_url)
    tracing = RecordingTracing()
    namespace = f"infra-traces-{uuid.uuid4().hex[:8]}"
    key = f"lesson-secret-key-{uuid.uuid4().hex[:8]}"
    with InfrastructureService.override(tracing=tracing):
        cache = InfrastructureService.get_cache(namespace, strict=True)
        try:
            with InfrastructureService.trace("GET /lessons") as request:
                assert cache.get(key) is None
                cache.set(key, "v", ttl=60)
                assert cache.get(key) == "v"
        finally:
            cache.invalidate_pattern("*")
    spans = [span for span in tracing.spans() if span.name in ("GET", "SET")]
    assert [span.name for span in spans] == ["GET", "SET", "GET"], tracing.tree()
    root = request.trace_context
    assert root is not None
    for span in spans:
        assert span.kind == "client" and span.parent_id == root.span_id and span.trace_id == root.trace_id
        assert span.attributes["db.system.name"] == "redis" and span.attributes["db.operation.name"] == span.name
        assert key not in repr(span) and namespace not in repr(span)
    assert [span.attributes.get("infrastructure.cache.hit") for span in spans] == [False, None, True]
