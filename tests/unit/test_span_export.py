"""The export side: outcomes counted, one warning per outage, drops on a full queue counted and kept out of the log."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, TraceIdRatioBased

from modules.infrastructure.domain.config.values import TracingConfig
from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.domain.tracing.export_counts import ExportCounts
from modules.infrastructure.infrastructure.tracing.counted_exporter import CountedExporter, QueueFullFilter
from modules.infrastructure.infrastructure.tracing.provider import _count_drops, _sampler, build_provider


class Scripted(SpanExporter):
    def __init__(self, *results: SpanExportResult | Exception) -> None:
        self.results = list(results)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result


def test_outcomes_are_counted_and_an_outage_is_logged_once_then_its_end(caplog: pytest.LogCaptureFixture) -> None:
    counts = ExportCounts()
    failure, success = SpanExportResult.FAILURE, SpanExportResult.SUCCESS
    exporter = CountedExporter(Scripted(success, failure, failure, RuntimeError("boom"), success), counts.add, "http://collector/v1/traces")
    spans: list[ReadableSpan] = []
    with caplog.at_level(logging.INFO, logger="modules.infrastructure.infrastructure.tracing.counted_exporter"):
        results = [exporter.export(spans + [None] * n) for n in (2, 3, 1, 4, 5)]  # type: ignore[list-item]
    assert results == [success, failure, failure, failure, success]
    assert counts.snapshot() == {"ok": 7, "failed": 8, "dropped": 0}
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("Spans could not be exported to http://collector/v1/traces") and "3 dropped" in messages[0]
    assert messages[1] == "Spans are exported to http://collector/v1/traces again"


def test_a_full_queues_drop_lines_are_counted_and_filtered_out() -> None:
    counts = ExportCounts()
    queue_full = QueueFullFilter(counts.add)
    dropped = logging.LogRecord("opentelemetry.sdk._shared_internal", logging.WARNING, "", 0, "Queue full, dropping %s.", ("span",), None)
    other = logging.LogRecord("opentelemetry.sdk._shared_internal", logging.WARNING, "", 0, "Something else", None, None)
    assert [queue_full.filter(dropped), queue_full.filter(dropped), queue_full.filter(other)] == [False, False, True]
    assert counts.snapshot()["dropped"] == 2


@pytest.mark.parametrize(
    ("sampler", "expected"),
    [
        ("always_on", ALWAYS_ON), ("always_off", ALWAYS_OFF),
    ],
)
def test_the_plain_samplers(sampler: str, expected: object) -> None:
    assert _sampler(TracingConfig(sampler=sampler)) is expected


def test_the_ratio_and_parent_based_samplers() -> None:
    ratio = _sampler(TracingConfig(sampler="traceidratio", sampler_ratio=0.25))
    assert isinstance(ratio, TraceIdRatioBased) and ratio.rate == 0.25
    assert isinstance(_sampler(TracingConfig(sampler="parentbased_traceidratio", sampler_ratio=0.5)), ParentBased)
    assert isinstance(_sampler(TracingConfig()), ParentBased)


@pytest.mark.parametrize("queue", [1, 100, 511])
def test_a_queue_smaller_than_the_sdks_batch_builds_with_smaller_batches(queue: int) -> None:
    """The SDK refuses a batch larger than the queue: OTEL_BSP_MAX_QUEUE_SIZE under 512 must still build (1 is its bound)."""
    provider = build_provider(TracingConfig(exporter="otlp", endpoint="http://127.0.0.1:9/v1/traces", max_queue_size=queue), ExportCounts().add)
    provider.shutdown()


def test_an_sdk_setting_the_sdk_refuses_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Variables only the SDK reads (span limits) are its to check; a value it refuses is not its ValueError at every call."""
    monkeypatch.setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "many")
    with pytest.raises(ConfigurationError, match="OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT"):
        build_provider(TracingConfig(exporter="otlp", endpoint="http://127.0.0.1:9/v1/traces"), ExportCounts().add)


class Blocked(SpanExporter):
    """An exporter stuck in its first export until released: the queue behind it fills."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.release.wait(5)
        return SpanExportResult.SUCCESS


def test_every_span_a_full_queue_drops_is_counted_not_one_per_20_seconds() -> None:
    """The SDK's logger passes one line of a repeated message per 20 s (its DuplicateFilter): the count must see each drop."""
    counts, blocked = ExportCounts(), Blocked()
    _count_drops(counts.add)
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(CountedExporter(blocked, counts.add, "blocked"), max_queue_size=2, max_export_batch_size=2))
    tracer = provider.get_tracer("test")
    for _ in range(50):
        with tracer.start_as_current_span("queued or dropped"):
            pass
    blocked.release.set()
    provider.shutdown()
    snapshot = counts.snapshot()
    assert snapshot["dropped"] >= 40 and snapshot["ok"] + snapshot["dropped"] == 50
