"""The ``OTEL_*`` settings: export off until asked for, the standard forms read, a malformed value a clear error."""

from __future__ import annotations

import pytest

from modules.infrastructure.domain.config.configuration import Configuration
from modules.infrastructure.domain.config.values import TracingConfig
from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.domain.secrets import Redactor, secrets_in_environment


def tracing(**environ: str) -> TracingConfig:
    return Configuration(environ).load_from_environment().tracing


def problem(**environ: str) -> str:
    with pytest.raises(ConfigurationError) as caught:
        Configuration(environ).load_from_environment()
    [found] = caught.value.problems
    return str(found)


def test_by_default_nothing_is_exported() -> None:
    config = tracing()
    assert config.exporter == "none" and not config.exports
    assert config.sampler == "parentbased_always_on" and config.service_name == "unknown_service"


def test_an_endpoint_turns_export_on_and_gets_the_traces_path() -> None:
    assert tracing(OTEL_EXPORTER_OTLP_ENDPOINT="http://collector:4318").endpoint == "http://collector:4318/v1/traces"
    assert tracing(OTEL_EXPORTER_OTLP_ENDPOINT="https://c.example/otlp/").endpoint == "https://c.example/otlp/v1/traces"
    assert tracing(OTEL_EXPORTER_OTLP_ENDPOINT="http://collector:4318").exporter == "otlp"


def test_the_traces_endpoint_is_used_as_given_and_wins() -> None:
    config = tracing(OTEL_EXPORTER_OTLP_ENDPOINT="http://a:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://b:9999/custom")
    assert config.endpoint == "http://b:9999/custom" and config.exports


def test_otlp_without_an_endpoint_goes_to_the_standard_local_one() -> None:
    assert tracing(OTEL_TRACES_EXPORTER="otlp").endpoint == "http://localhost:4318/v1/traces"


def test_an_explicit_none_or_disabled_sdk_wins_over_an_endpoint() -> None:
    assert tracing(OTEL_EXPORTER_OTLP_ENDPOINT="http://a:4318", OTEL_TRACES_EXPORTER="none").exporter == "none"
    assert tracing(OTEL_EXPORTER_OTLP_ENDPOINT="http://a:4318", OTEL_SDK_DISABLED="true").exporter == "disabled"


def test_milliseconds_become_seconds_and_lists_are_read() -> None:
    config = tracing(
        OTEL_EXPORTER_OTLP_TIMEOUT="2500", OTEL_BSP_SCHEDULE_DELAY="200", OTEL_RESOURCE_ATTRIBUTES="deployment.environment=prod, team=learning%20platform",
        OTEL_TRACES_SAMPLER="parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG="0.25",
    )
    assert config.timeout == 2.5 and config.schedule_delay == 0.2
    assert config.resource_attributes == (("deployment.environment", "prod"), ("team", "learning platform"))
    assert config.sampler == "parentbased_traceidratio" and config.sampler_ratio == 0.25


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT="),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "grpc://collector:4317"}, "has scheme 'grpc'"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://"}, "has no host"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:99999"}, "OTEL_EXPORTER_OTLP_ENDPOINT="),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "not a url"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "expected one of http/protobuf"),
        ({"OTEL_TRACES_EXPORTER": "jaeger"}, "expected one of otlp, console, none"),
        ({"OTEL_TRACES_SAMPLER": "sometimes"}, "OTEL_TRACES_SAMPLER="),
        ({"OTEL_TRACES_SAMPLER_ARG": "1.5"}, "above the maximum 1"),
        ({"OTEL_TRACES_SAMPLER_ARG": "-0.1"}, "OTEL_TRACES_SAMPLER_ARG="),
        ({"OTEL_EXPORTER_OTLP_TIMEOUT": "0"}, "OTEL_EXPORTER_OTLP_TIMEOUT="),
        ({"OTEL_BSP_MAX_QUEUE_SIZE": "1e9"}, "OTEL_BSP_MAX_QUEUE_SIZE="),
        ({"OTEL_RESOURCE_ATTRIBUTES": "novalue"}, "not key=value"),
        ({"OTEL_EXPORTER_OTLP_HEADERS": "api-key=s3cr3t%0D%0AX-Injected:%20yes"}, "'api-key' (item 1) that is not printable ASCII"),
        ({"OTEL_EXPORTER_OTLP_HEADERS": "x-team=ops,api-key=%E2%82%ACuro"}, "'api-key' (item 2) that is not printable ASCII"),
        ({"OTEL_SDK_DISABLED": "maybe"}, "is not a boolean"),
    ],
)
def test_a_malformed_value_is_an_error_naming_the_variable(environ: dict[str, str], expected: str) -> None:
    found = problem(**environ)
    assert next(iter(environ)) in found and expected in found


def test_the_exporter_headers_are_a_secret_never_shown() -> None:
    environ = {"OTEL_EXPORTER_OTLP_HEADERS": "api-key=s3cr3t-header-value,x-team=a%2Cb"}
    config = tracing(**environ)
    assert [(key, value.reveal()) for key, value in config.headers] == [("api-key", "s3cr3t-header-value"), ("x-team", "a,b")]
    assert "s3cr3t" not in repr(config)
    assert "s3cr3t" not in problem(OTEL_EXPORTER_OTLP_HEADERS="api-key=s3cr3t-header-value,broken")
    redactor = Redactor(secrets_in_environment(environ))
    assert "s3cr3t-header-value" not in redactor.redact("export failed with api-key s3cr3t-header-value")


def test_a_password_in_the_endpoint_never_shows_in_the_configuration() -> None:
    config = tracing(OTEL_EXPORTER_OTLP_ENDPOINT="https://user:s3cretpw@collector:4318")
    assert config.endpoint == "https://user:s3cretpw@collector:4318/v1/traces"  # handed to the exporter as it is
    assert "s3cretpw" not in repr(config) and "s3cretpw" not in str(config)
