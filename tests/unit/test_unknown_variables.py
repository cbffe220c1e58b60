"""Mistyped settings: unknown variables with the module's prefixes and near misses of known names are warned about."""

from __future__ import annotations

import pytest

from modules.infrastructure.domain.config.configuration import Configuration
from modules.infrastructure.domain.config.settings import SETTINGS, secret_setting_names
from modules.infrastructure.domain.config.unknown_variables import known_names, own_prefixes, unknown_variable_warnings
from modules.infrastructure.infrastructure.config.module_discovery import discover_module_settings
from modules.infrastructure.module_api import ModuleSettings, setting
from modules.infrastructure.module_api import setting_types as kinds
from tests.unit.test_configuration import load

SIBLINGS = ("content_creation", "learning")


def test_the_prefixes_come_from_the_settings_table() -> None:
    prefixes = own_prefixes()
    assert {"DB_", "DATABASE_", "REDIS_", "RABBITMQ_", "LLM_", "OPENAI_", "ANTHROPIC_", "AZURE_OPENAI_", "STORAGE_", "CACHE_", "OUTBOX_", "LOG_"} <= prefixes
    assert all(any(s.name.startswith(prefix) for s in SETTINGS) for prefix in prefixes)


def test_namespaces_other_libraries_read_are_not_ours() -> None:
    assert not {"AWS_", "AZURE_", "API_", "ENV_", "APP_"} & own_prefixes()
    assert unknown_variable_warnings(["AWS_PROFILE", "AZURE_CLIENT_ID", "OPENAI_ORG_ID", "ANTHROPIC_AUTH_TOKEN", "API_KEY"]) == []


def test_container_and_openai_library_variables_are_left_alone_but_a_near_miss_of_app_env_is_not() -> None:
    names = ["APP_HOME", "APP_NAME", "APP_VERSION", "OPENAI_API_BASE", "OPENAI_API_TYPE", "OPENAI_API_VERSION"]
    assert unknown_variable_warnings(names) == []
    assert unknown_variable_warnings(["APP_EN"]) == ["APP_EN is not a setting of the infrastructure module and is ignored: did you mean APP_ENV?"]


BILLING = ModuleSettings(
    "billing",
    setting("BILLING_API_KEY", kinds.text, description="Payment provider key"),
    setting("BILLING_RETRIES", kinds.integer(0, 10), default=3, description="Retries"),
)


@pytest.mark.parametrize(
    ("name", "meant"),
    [("BILLING_RETRIE", "BILLING_RETRIES"), ("BILING_RETRIES", "BILLING_RETRIES"), ("BILLING_API_KEY_FIL", "BILLING_API_KEY_FILE")],
)
def test_a_near_miss_of_a_module_s_variable_names_the_module_and_the_variable(name: str, meant: str) -> None:
    assert unknown_variable_warnings([name], ("billing",), [BILLING]) == [
        f"{name} is not a setting of the billing module and is ignored: did you mean {meant}?"
    ]


def test_an_unknown_variable_with_a_module_s_prefix_is_warned_about_and_its_declared_ones_are_not() -> None:
    names = ["BILLING_CURRENCY", "BILLING_RETRIES", "BILLING_API_KEY", "BILLING_API_KEY_FILE"]
    assert unknown_variable_warnings(names, ("billing",), [BILLING]) == [
        "BILLING_CURRENCY is not a setting of the billing module and is ignored; check its spelling (.env.example lists every setting)"
    ]


def test_the_repository_s_module_tables_catch_their_typos() -> None:
    config = Configuration({"CONTENT_CREATION_MAX_IMAGE_BYTE": "5"}, discover_module_settings(), SIBLINGS).load_from_environment()
    assert (
        "CONTENT_CREATION_MAX_IMAGE_BYTE is not a setting of the content_creation module and is ignored: "
        "did you mean CONTENT_CREATION_MAX_IMAGE_BYTES?"
    ) in config.warnings


@pytest.mark.parametrize(
    ("name", "meant"),
    [("DATABSE_URL", "DATABASE_URL"), ("REDIS_ULR", "REDIS_URL"), ("OPENAI_APIKEY", "OPENAI_API_KEY"), ("database_url", "DATABASE_URL"),
     ("DB_PASWORD_FILE", "DB_PASSWORD_FILE"), ("RABBITMQ_UR", "RABBITMQ_URL"), ("SECRET_DIR", "SECRETS_DIR")],
)
def test_a_near_miss_of_a_known_name_says_which_was_meant(name: str, meant: str) -> None:
    assert unknown_variable_warnings([name]) == [f"{name} is not a setting of the infrastructure module and is ignored: did you mean {meant}?"]


@pytest.mark.parametrize("name", ["DB_SCHEMA", "LLM_TEMPERATURE", "STORAGE_BUCKET", "OUTBOX_WORKERS", "CACHE_SIZE_MB"])
def test_an_unknown_name_with_our_prefix_is_warned_about(name: str) -> None:
    [warning] = unknown_variable_warnings([name])
    assert warning.startswith(f"{name} is not a setting of the infrastructure module and is ignored")


@pytest.mark.parametrize(
    "name",
    ["PATH", "HOME", "CONTENT_CREATION_DB_POOL_SIZE", "LEARNING_REDIS_URL", "FEATURE_FLAG_NEW_UI", "REDIS_SERVICE_HOST",
     "REDIS_PORT_6379_TCP_ADDR", "DB_SERVICE_PORT", "PYTHONPATH"],
)
def test_other_variables_are_left_alone(name: str) -> None:
    assert unknown_variable_warnings([name], SIBLINGS) == []


def test_every_known_name_and_every_secret_file_variable_is_quiet() -> None:
    assert unknown_variable_warnings(known_names()) == []
    assert {f"{name}_FILE" for name in secret_setting_names()} <= known_names()


def test_a_sibling_variable_that_looks_like_ours_is_left_to_the_sibling() -> None:
    assert unknown_variable_warnings(["OUTBOX_REPORTS_LIMIT"], SIBLINGS) != []  # OUTBOX_ is ours
    assert unknown_variable_warnings(["OUTBOX_REPORTS_LIMIT"], (*SIBLINGS, "outbox_reports")) == []


def test_the_warnings_never_show_a_value() -> None:
    config = load({"OPENAI_APIKEY": "sk-typo-value-123456", "DATABSE_URL": "postgresql://u:pw-typo@h/db"})
    text = " ".join(config.warnings)
    assert "OPENAI_APIKEY" in text and "DATABSE_URL" in text
    assert "sk-typo" not in text and "pw-typo" not in text


def test_each_unknown_variable_is_warned_about_once_in_name_order() -> None:
    warnings = unknown_variable_warnings(["REDIS_ULR", "DATABSE_URL", "REDIS_ULR"])
    assert [w.split()[0] for w in warnings] == ["DATABSE_URL", "REDIS_ULR"]


def test_the_first_word_of_one_setting_alone_is_no_namespace_but_its_near_misses_are_caught() -> None:
    assert "REQUIRE_" not in own_prefixes() and "DB_" in own_prefixes()
    warnings = unknown_variable_warnings({"REQUIRE_SERVICES": "1", "REQUIRE_TSL": "true"}, ())
    assert len(warnings) == 1 and warnings[0].startswith("REQUIRE_TSL") and "did you mean REQUIRE_TLS?" in warnings[0]


@pytest.mark.parametrize(
    "name",
    ["OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER", "OTEL_PROPAGATORS",
     "OTEL_BSP_EXPORT_TIMEOUT", "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_PYTHON_LOG_CORRELATION", "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"],
)
def test_opentelemetrys_standard_variables_the_module_does_not_read_are_not_called_ignored(name: str) -> None:
    """The SDK, an application's own SDK or opentelemetry-instrument reads them: warning that they are ignored would mislead."""
    assert unknown_variable_warnings([name]) == []


@pytest.mark.parametrize(("name", "meant"), [("OTEL_EXPORTER_OTLP_ENDPIONT", "OTEL_EXPORTER_OTLP_ENDPOINT"), ("OTEL_SERVICE_NAMES", "OTEL_SERVICE_NAME")])
def test_a_near_miss_of_an_opentelemetry_variable_the_module_reads_is_still_caught(name: str, meant: str) -> None:
    assert unknown_variable_warnings([name]) == [f"{name} is not a setting of the infrastructure module and is ignored: did you mean {meant}?"]
