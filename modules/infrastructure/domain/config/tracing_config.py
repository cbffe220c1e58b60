"""The tracing settings, from the standard ``OTEL_*`` variables, with the module's default of no export."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modules.infrastructure.domain.config.values import TracingConfig
from modules.infrastructure.domain.secrets import Secret

_TRACES_PATH = "v1/traces"
_DEFAULT_ENDPOINT = "http://localhost:4318/"


def tracing_config(values: Mapping[str, Any]) -> TracingConfig:
    """What to export and where. Unlike the OpenTelemetry SDK's own default (``otlp`` to localhost), nothing is exported
    until an endpoint or ``OTEL_TRACES_EXPORTER`` asks for it: the module's defaults work offline and cost nothing."""
    base = values["OTEL_EXPORTER_OTLP_ENDPOINT"]
    endpoint = values["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] or (signal_url(base) if base else None)
    exporter = values["OTEL_TRACES_EXPORTER"] or ("otlp" if endpoint else "none")
    if values["OTEL_SDK_DISABLED"]:
        exporter = "disabled"
    return TracingConfig(
        exporter=exporter,
        endpoint=endpoint or signal_url(_DEFAULT_ENDPOINT),
        headers=tuple((key, Secret(value)) for key, value in values["OTEL_EXPORTER_OTLP_HEADERS"] or ()),
        timeout=values["OTEL_EXPORTER_OTLP_TIMEOUT"] / 1000,
        service_name=values["OTEL_SERVICE_NAME"],
        resource_attributes=values["OTEL_RESOURCE_ATTRIBUTES"] or (),
        sampler=values["OTEL_TRACES_SAMPLER"],
        sampler_ratio=values["OTEL_TRACES_SAMPLER_ARG"],
        max_queue_size=values["OTEL_BSP_MAX_QUEUE_SIZE"],
        schedule_delay=values["OTEL_BSP_SCHEDULE_DELAY"] / 1000,
        capture_content=values["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"],
    )


def signal_url(base: str) -> str:
    """The traces URL under a base endpoint, as the OTLP specification builds it: ``<base>/v1/traces``."""
    return f"{base.rstrip('/')}/{_TRACES_PATH}"
