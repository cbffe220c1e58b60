"""The module's own OpenTelemetry SDK provider, built from ``TracingConfig`` when it asks for export.

The SDK and the OTLP exporter are imported here only, so a process that exports nothing never loads them.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.trace import TracerProvider

from modules.infrastructure.domain.config.values import TracingConfig
from modules.infrastructure.domain.secrets import mask_url
from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.infrastructure.tracing.counted_exporter import Count, CountedExporter, QueueFullFilter

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.trace.sampling import Sampler

# The OTLP exporter logs every failed batch at WARNING or ERROR; CountedExporter says it once per outage instead.
_EXPORTER_LOGGERS = ("opentelemetry.exporter.otlp.proto.http", "opentelemetry.exporter.otlp.proto.http.trace_exporter")
_BATCH_LOGGER = "opentelemetry.sdk._shared_internal"  # where the batch processor says it dropped a span
# What a shutdown gives the spans still waiting: a collector that never answers would otherwise hold it for the SDK's
# 30 s, each queued batch waiting for OTEL_EXPORTER_OTLP_TIMEOUT in turn.
SHUTDOWN_WAIT_SECONDS = 5.0
# The SDK's batch size; it refuses a queue smaller than a batch, so a smaller OTEL_BSP_MAX_QUEUE_SIZE makes the batch smaller.
MAX_EXPORT_BATCH = 512


def build_provider(config: TracingConfig, count: Count) -> TracerProvider:
    """An SDK provider batching spans to ``config``'s exporter in a background thread, never in the caller's.

    The SDK also reads ``OTEL_*`` variables of its own from the process environment (span limits, ...); a value it
    refuses is a ``ConfigurationError`` here rather than its ``ValueError`` from every traced call."""
    try:
        return _provider(config, count)
    except ValueError as exc:
        raise ConfigurationError(f"The OpenTelemetry SDK refused its settings: {exc}"[:300]) from None


def _provider(config: TracingConfig, count: Count) -> TracerProvider:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attributes = {**dict(config.resource_attributes), "service.name": config.service_name}
    exporter = CountedExporter(_exporter(config), count, mask_url(config.endpoint) if config.exporter == "otlp" else "the console")
    provider = BoundedShutdownProvider(exporter, resource=Resource.create(attributes), sampler=_sampler(config))
    _count_drops(count)
    provider.add_span_processor(
        BatchSpanProcessor(
            exporter, max_queue_size=config.max_queue_size, schedule_delay_millis=config.schedule_delay * 1000,
            max_export_batch_size=min(MAX_EXPORT_BATCH, config.max_queue_size),
        )
    )
    return provider


class BoundedShutdownProvider(TracerProvider):
    """The SDK's provider, whose shutdown sends the waiting spans for at most ``SHUTDOWN_WAIT_SECONDS``, then stops the
    exporter: the batches left fail at once (counted), and the export thread ends after the request under way. When the
    last export failed, it does not wait at all."""

    def __init__(self, exporter: CountedExporter, **settings: Any) -> None:
        super().__init__(**settings)
        self._exporter = exporter

    def shutdown(self) -> None:
        if self._exporter.failing:  # the collector is down: the spans waiting fail at once (counted) instead of retrying
            self._exporter.shutdown()
        sending = threading.Thread(target=super().shutdown, name="otel-shutdown", daemon=True)
        try:
            sending.start()
        except RuntimeError:  # at interpreter exit newer Pythons start no thread, and a send on this one cannot be
            self._exporter.shutdown()  # bounded (an export under way holds it): the spans still waiting are let go
            return
        sending.join(SHUTDOWN_WAIT_SECONDS)
        if sending.is_alive():
            self._exporter.shutdown()


def _count_drops(count: Count) -> None:
    """One filter on the batch processor's logger, replaced by the newest provider's (a reset builds a new one). It goes
    first: the SDK's own filter there passes one line of a repeated message per 20 s, and a drop it held back would go
    uncounted."""
    batch_logger = logging.getLogger(_BATCH_LOGGER)
    for old in [f for f in batch_logger.filters if isinstance(f, QueueFullFilter)]:
        batch_logger.removeFilter(old)
    batch_logger.filters.insert(0, QueueFullFilter(count))


def _exporter(config: TracingConfig) -> SpanExporter:
    if config.exporter == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    for name in _EXPORTER_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    headers = {key: value.reveal() for key, value in config.headers}
    return OTLPSpanExporter(endpoint=config.endpoint, headers=headers, timeout=config.timeout)


def _sampler(config: TracingConfig) -> Sampler:
    from opentelemetry.sdk.trace import sampling

    root: Sampler
    name = config.sampler.removeprefix("parentbased_")
    if name == "always_on":
        root = sampling.ALWAYS_ON
    elif name == "always_off":
        root = sampling.ALWAYS_OFF
    else:
        root = sampling.TraceIdRatioBased(config.sampler_ratio)
    return sampling.ParentBased(root) if config.sampler.startswith("parentbased_") else root
