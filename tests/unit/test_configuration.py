"""``Configuration``: environment variables in, a validated and secret-masking ``AppConfig`` out."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from modules.infrastructure.domain.config.configuration import Configuration
from modules.infrastructure.domain.config.llm_selection import LOCAL_CONTEXT_SIZE, LOCAL_MODEL_NAME
from modules.infrastructure.domain.config.settings import DEFAULT_DATABASE_URL
from modules.infrastructure.domain.config.values import (
    APIConfig,
    AppConfig,
    CacheConfig,
    DatabaseConfig,
    LLMConfig,
    LoggingConfig,
    MessagingConfig,
)
from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.domain.secrets import Secret

PROD_DB = "postgresql://app@db.internal:5432/app"  # as hosts print it
PROD_DB_WITH_DRIVER = "postgresql+psycopg2://app@db.internal:5432/app"
OPENAI_KEY = "sk-test-openai-0123456789"
AZURE_KEY = "az-test-key-9876543210"
AZURE = {
    "AZURE_OPENAI_API_KEY": AZURE_KEY,
    "AZURE_OPENAI_ENDPOINT": "https://acme.openai.azure.com",
    "AZURE_OPENAI_DEPLOYMENT": "gpt4o-prod",
}


def load(environ: Mapping[str, str]) -> AppConfig:
    """The ``AppConfig`` for ``environ``."""
    return Configuration(environ).load_from_environment()


def config_error(environ: Mapping[str, str]) -> ConfigurationError:
    """The ``ConfigurationError`` that loading ``environ`` raises (fails the test if it loads)."""
    with pytest.raises(ConfigurationError) as caught:
        load(environ)
    return caught.value


URL_SECRET = "k" * 32


def production(**extra: str) -> dict[str, str]:
    """A production environment with a database reached over TLS; add the LLM settings under test."""
    return {"APP_ENV": "production", "DATABASE_URL": PROD_DB, "DB_SSLMODE": "require", "STORAGE_URL_SECRET": URL_SECRET, **extra}


def problems_naming(error: ConfigurationError, name: str) -> list[str]:
    """The problems in ``error`` that mention ``name``."""
    return [problem for problem in error.problems if name in problem]


# --- defaults ----------------------------------------------------------------------------------


def test_an_empty_environment_gives_the_development_defaults() -> None:
    config = load({})

    assert config.environment == "development"
    assert config.is_production is False
    assert config.debug is False
    assert config.database == DatabaseConfig(
        url=DEFAULT_DATABASE_URL,
        replica_urls=(),
        pool_size=5,
        max_overflow=10,
        pool_timeout=30.0,
        pool_recycle=1800,
        echo=False,
        pool_pre_ping=True,
        connect_timeout=5.0,
        statement_timeout_ms=None,
        application_name="modules-infrastructure",
        replica_cooldown=30.0,
    )
    assert config.database_url == "sqlite:///var/app.db"
    assert config.llm_config == LLMConfig(provider="local", model=LOCAL_MODEL_NAME, context_size=LOCAL_CONTEXT_SIZE, embedding_model=LOCAL_MODEL_NAME)
    assert config.llm_fallbacks == ()
    assert config.api_config == APIConfig(host="127.0.0.1", port=8000)
    assert config.cache == CacheConfig(redis_url=None)
    assert config.messaging == MessagingConfig(rabbitmq_urls=())
    assert config.logging == LoggingConfig(level="INFO", format="text")
    assert dict(config.feature_flags) == {}


def test_defaults_have_the_documented_types() -> None:
    config = load({})
    assert type(config.database.pool_timeout) is float
    assert type(config.database.connect_timeout) is float
    assert type(config.database.replica_cooldown) is float
    assert type(config.database.pool_size) is int
    assert type(config.llm_config.timeout) is float
    assert type(config.llm_config.cache_ttl) is int
    assert type(config.api_config.port) is int


def test_an_empty_environment_warns_about_the_sqlite_and_local_model_fallbacks() -> None:
    warnings = load({}).warnings
    assert len(warnings) == 2
    assert "DATABASE_URL" in warnings[0] and DEFAULT_DATABASE_URL in warnings[0]
    assert "local" in warnings[1] and "LLM_PROVIDER" in warnings[1]


def test_an_empty_environment_has_no_problems() -> None:
    assert Configuration({}).validate_required_config() == []


def test_a_set_database_url_gives_no_sqlite_warning() -> None:
    config = load({"DATABASE_URL": PROD_DB, "LLM_PROVIDER": "local"})
    assert config.database.url == PROD_DB_WITH_DRIVER
    assert config.warnings == ()


@pytest.mark.parametrize("environment", ["test", "staging"])
def test_only_production_requires_a_database_url(environment: str) -> None:
    config = load({"APP_ENV": environment})
    assert config.environment == environment
    assert config.database.url == DEFAULT_DATABASE_URL
    assert config.llm_config.provider == "local"


def test_the_domain_reads_only_the_mapping_it_is_given(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_SIZE", "11")
    monkeypatch.setenv("FEATURE_FLAG_FROM_OS", "on")
    config = Configuration({}).load_from_environment()
    assert config.database.pool_size == 5
    assert "from_os" not in config.feature_flags


def test_the_mapping_is_copied_when_the_configuration_is_made() -> None:
    environ = {"DB_POOL_SIZE": "7"}
    configuration = Configuration(environ)
    environ["DB_POOL_SIZE"] = "abc"
    assert configuration.load_from_environment().database.pool_size == 7


# --- every variable reaches the right field with the right type --------------------------------

Getter = Callable[[AppConfig], Any]

FIELDS: list[tuple[str, str, Getter, Any]] = [
    ("APP_ENV", "test", lambda c: c.environment, "test"),
    ("APP_ENV", "Staging", lambda c: c.environment, "staging"),
    ("DEBUG", "yes", lambda c: c.debug, True),
    ("DEBUG", "0", lambda c: c.debug, False),
    ("LOG_LEVEL", "debug", lambda c: c.logging.level, "DEBUG"),
    ("LOG_LEVEL", "Critical", lambda c: c.logging.level, "CRITICAL"),
    ("LOG_FORMAT", "JSON", lambda c: c.logging.format, "json"),
    ("API_HOST", "0.0.0.0", lambda c: c.api_config.host, "0.0.0.0"),
    ("API_PORT", "9000", lambda c: c.api_config.port, 9000),
    ("DATABASE_URL", "postgresql+psycopg2://app@db:5432/app", lambda c: c.database.url, "postgresql+psycopg2://app@db:5432/app"),
    ("DATABASE_URL", "postgresql+psycopg2://app@db:5432/app", lambda c: c.database_url, "postgresql+psycopg2://app@db:5432/app"),
    ("DATABASE_REPLICA_URLS", "postgresql://r1/app", lambda c: c.database.replica_urls, ("postgresql+psycopg2://r1/app",)),
    ("DB_POOL_SIZE", "20", lambda c: c.database.pool_size, 20),
    ("DB_MAX_OVERFLOW", "0", lambda c: c.database.max_overflow, 0),
    ("DB_POOL_TIMEOUT", "2.5", lambda c: c.database.pool_timeout, 2.5),
    ("DB_POOL_TIMEOUT", "10", lambda c: c.database.pool_timeout, 10.0),
    ("DB_POOL_RECYCLE", "-1", lambda c: c.database.pool_recycle, -1),
    ("DB_ECHO", "on", lambda c: c.database.echo, True),
    ("DB_POOL_PRE_PING", "false", lambda c: c.database.pool_pre_ping, False),
    ("DB_POOL_PRE_PING_IDLE_SECONDS", "0", lambda c: c.database.pool_pre_ping_idle_seconds, 0.0),
    ("DB_POOL_PRE_PING_IDLE_SECONDS", "2.5", lambda c: c.database.pool_pre_ping_idle_seconds, 2.5),
    ("DB_CONNECT_TIMEOUT", "1.5", lambda c: c.database.connect_timeout, 1.5),
    ("DB_STATEMENT_TIMEOUT_MS", "5000", lambda c: c.database.statement_timeout_ms, 5000),
    ("DB_APPLICATION_NAME", "billing", lambda c: c.database.application_name, "billing"),
    ("DB_REPLICA_COOLDOWN", "0", lambda c: c.database.replica_cooldown, 0.0),
    ("REDIS_URL", "redis://cache:6379/0", lambda c: c.cache.redis_url, "redis://cache:6379/0"),
    ("REDIS_URL", "unix:///var/run/redis.sock", lambda c: c.cache.redis_url, "unix:///var/run/redis.sock"),
    ("RABBITMQ_URL", "amqp://mq1", lambda c: c.messaging.rabbitmq_urls, ("amqp://mq1",)),
    ("LLM_TIMEOUT", "12.5", lambda c: c.llm_config.timeout, 12.5),
    ("LLM_MAX_RETRIES", "0", lambda c: c.llm_config.max_retries, 0),
    ("LLM_CACHE_TTL", "0", lambda c: c.llm_config.cache_ttl, 0),
    ("LLM_RPM_LIMIT", "60", lambda c: c.llm_config.rpm_limit, 60),
    ("LLM_TPM_LIMIT", "100000", lambda c: c.llm_config.tpm_limit, 100000),
    ("LOCAL_LLM_MODEL_PATH", "/models/smol.gguf", lambda c: c.llm_config.local_model_path, "/models/smol.gguf"),
    ("LLM_PROVIDER", "LOCAL", lambda c: c.llm_config.provider, "local"),
]


@pytest.mark.parametrize(
    ("name", "raw", "get", "expected"),
    FIELDS,
    ids=[f"{name}={raw}" for name, raw, _, _ in FIELDS],
)
def test_each_variable_is_parsed_into_its_field(name: str, raw: str, get: Getter, expected: Any) -> None:
    value = get(load({name: raw}))
    assert value == expected
    assert type(value) is type(expected)


def test_openai_settings_build_the_openai_llm_config() -> None:
    config = load(
        {
            "LLM_PROVIDER": "openai",
            "OPENAI_API_KEY": OPENAI_KEY,
            "OPENAI_MODEL": "gpt-4o",
            "OPENAI_BASE_URL": "https://proxy.internal/v1",
            "LLM_TIMEOUT": "9",
            "LLM_MAX_RETRIES": "5",
            "LLM_CACHE_TTL": "60",
            "LLM_RPM_LIMIT": "100",
            "LLM_TPM_LIMIT": "2000",
        }
    )
    assert config.llm_config == LLMConfig(
        provider="openai",
        model="gpt-4o",
        api_key=Secret(OPENAI_KEY),
        base_url="https://proxy.internal/v1",
        timeout=9.0,
        max_retries=5,
        cache_ttl=60,
        rpm_limit=100,
        tpm_limit=2000,
        embedding_model="text-embedding-3-small",
        moderation_model="omni-moderation-latest",
    )
    assert isinstance(config.llm_config.api_key, Secret)
    assert config.llm_config.api_key.reveal() == OPENAI_KEY


def test_openai_model_has_a_default() -> None:
    assert load({"OPENAI_API_KEY": OPENAI_KEY}).llm_config.model == "gpt-4o-mini"


def test_azure_settings_build_the_azure_llm_config() -> None:
    config = load({"LLM_PROVIDER": "azure", **AZURE, "AZURE_OPENAI_API_VERSION": "2025-01-01"})
    llm = config.llm_config
    assert llm.provider == "azure"
    assert llm.model == "gpt4o-prod"
    assert llm.deployment == "gpt4o-prod"
    assert llm.endpoint == "https://acme.openai.azure.com"
    assert llm.api_version == "2025-01-01"
    assert llm.api_key is not None and llm.api_key.reveal() == AZURE_KEY


def test_azure_api_version_has_a_default() -> None:
    assert load({"LLM_PROVIDER": "azure", **AZURE}).llm_config.api_version == "2024-10-21"


def test_every_group_gets_its_config_type() -> None:
    config = load({})
    assert isinstance(config.database, DatabaseConfig)
    assert isinstance(config.llm_config, LLMConfig)
    assert isinstance(config.api_config, APIConfig)
    assert isinstance(config.cache, CacheConfig)
    assert isinstance(config.messaging, MessagingConfig)
    assert isinstance(config.logging, LoggingConfig)


def test_the_config_is_frozen() -> None:
    config = load({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.debug = True  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.database.pool_size = 99  # type: ignore[misc]


# --- comma-separated lists ---------------------------------------------------------------------


def test_replica_urls_are_a_tuple_in_order_without_blanks() -> None:
    config = load({"DATABASE_REPLICA_URLS": " postgresql://r1/app , ,postgresql://r2:5433/app, "})
    assert config.database.replica_urls == ("postgresql+psycopg2://r1/app", "postgresql+psycopg2://r2:5433/app")


def test_several_rabbitmq_urls_are_kept_for_failover() -> None:
    config = load({"RABBITMQ_URL": "amqp://mq1:5672, amqps://mq2:5671,amqp://mq3"})
    assert config.messaging.rabbitmq_urls == ("amqp://mq1:5672", "amqps://mq2:5671", "amqp://mq3")


def test_fallback_providers_are_parsed_case_insensitively_in_order() -> None:
    config = load({"OPENAI_API_KEY": OPENAI_KEY, **AZURE, "LLM_FALLBACK_PROVIDERS": " Azure , LOCAL "})
    assert [llm.provider for llm in config.llm_fallbacks] == ["azure", "local"]


def test_a_list_of_only_commas_is_empty() -> None:
    config = load({"DATABASE_REPLICA_URLS": ",,", "RABBITMQ_URL": " , ", "LLM_FALLBACK_PROVIDERS": ","})
    assert config.database.replica_urls == ()
    assert config.messaging.rabbitmq_urls == ()
    assert config.llm_fallbacks == ()


# --- empty values and whitespace ---------------------------------------------------------------


def test_an_empty_or_blank_value_means_unset() -> None:
    config = load(
        {
            "DB_POOL_SIZE": "",
            "LOG_LEVEL": "   ",
            "DATABASE_URL": "",
            "LLM_PROVIDER": " ",
            "OPENAI_API_KEY": "  ",
            "REDIS_URL": "",
            "RABBITMQ_URL": "\t",
            "API_PORT": "",
        }
    )
    assert config.database.pool_size == 5
    assert config.logging.level == "INFO"
    assert config.database.url == DEFAULT_DATABASE_URL
    assert config.llm_config.provider == "local"
    assert config.llm_config.api_key is None
    assert config.cache.redis_url is None
    assert config.messaging.rabbitmq_urls == ()
    assert config.api_config.port == 8000


def test_a_blank_database_url_in_production_counts_as_missing() -> None:
    error = config_error(production(DATABASE_URL="   ", LLM_PROVIDER="local"))
    assert len(problems_naming(error, "DATABASE_URL")) == 1
    assert "required" in problems_naming(error, "DATABASE_URL")[0]


def test_surrounding_whitespace_is_stripped_from_every_value() -> None:
    config = load(
        {
            "DB_POOL_SIZE": " 7 ",
            "DATABASE_URL": "  postgresql://db/app\n",
            "LLM_PROVIDER": " openai ",
            "OPENAI_API_KEY": "  sk-abc  ",
            "OPENAI_MODEL": " gpt-4o ",
            "API_HOST": " 0.0.0.0 ",
            "DEBUG": " TRUE ",
        }
    )
    assert config.database.pool_size == 7
    assert config.database.url == "postgresql+psycopg2://db/app"
    assert config.llm_config.provider == "openai"
    assert config.llm_config.api_key == Secret("sk-abc")
    assert config.llm_config.model == "gpt-4o"
    assert config.api_config.host == "0.0.0.0"
    assert config.debug is True


def test_unknown_variables_are_ignored_with_a_warning_naming_them() -> None:
    config = load({"PATH": "/usr/bin", "DB_POOL_SIZ": "abc", "database_url": "nope"})
    assert dataclasses.replace(config, warnings=()) == dataclasses.replace(load({}), warnings=())
    typos = [w for w in config.warnings if "is not a setting" in w]
    assert typos == [
        "DB_POOL_SIZ is not a setting of the infrastructure module and is ignored: did you mean DB_POOL_SIZE?",
        "database_url is not a setting of the infrastructure module and is ignored: did you mean DATABASE_URL?",
    ]


# --- feature flags -----------------------------------------------------------------------------


def test_feature_flags_are_read_from_prefixed_variables() -> None:
    config = load(
        {
            "FEATURE_FLAG_NEW_UI": "true",
            "FEATURE_FLAG_BETA_SEARCH": "OFF",
            "FEATURE_FLAG_Dark_Mode": " Yes ",
            "FEATURE_FLAG_": "true",
            "MY_FEATURE_FLAG_X": "true",
        }
    )
    assert config.feature_flags["new_ui"] is True
    assert config.feature_flags["beta_search"] is False
    assert config.feature_flags["dark_mode"] is True
    assert dict(config.feature_flags) == {"new_ui": True, "beta_search": False, "dark_mode": True}


def test_the_feature_flag_mapping_is_read_only() -> None:
    flags = load({"FEATURE_FLAG_NEW_UI": "true"}).feature_flags
    with pytest.raises(TypeError):
        flags["new_ui"] = False  # type: ignore[index]
    with pytest.raises(TypeError):
        flags["other"] = True  # type: ignore[index]
    assert dict(flags) == {"new_ui": True}


def test_an_unknown_feature_flag_is_absent() -> None:
    assert "new_ui" not in load({}).feature_flags


def test_an_empty_feature_flag_is_unset() -> None:
    config = load({"FEATURE_FLAG_NEW_UI": "", "FEATURE_FLAG_OTHER": "  "})
    assert "new_ui" not in config.feature_flags
    assert "other" not in config.feature_flags


# --- production rules --------------------------------------------------------------------------


def test_production_with_a_database_and_the_local_model_loads() -> None:
    config = load(production(LLM_PROVIDER="local"))
    assert config.is_production is True
    assert config.database.url == PROD_DB_WITH_DRIVER
    assert config.llm_config.provider == "local"
    assert config.warnings == ()


def test_production_is_recognised_case_insensitively() -> None:
    error = config_error({"APP_ENV": " PRODUCTION ", "LLM_PROVIDER": "local"})
    assert problems_naming(error, "DATABASE_URL")


def test_production_requires_a_database_url() -> None:
    environ = {"APP_ENV": "production", "LLM_PROVIDER": "local", "STORAGE_URL_SECRET": URL_SECRET}
    error = config_error(environ)
    assert len(error.problems) == 1
    assert "DATABASE_URL" in error.problems[0]
    assert "production" in error.problems[0]
    assert "DATABASE_URL" in str(error)
    assert Configuration(environ).validate_required_config() == list(error.problems)


def test_a_malformed_production_database_url_is_reported_once() -> None:
    error = config_error(production(DATABASE_URL="not-a-url", LLM_PROVIDER="local"))
    assert len(problems_naming(error, "DATABASE_URL")) == 1
    assert "is not a database URL" in error.problems[0]


def test_production_openai_needs_an_api_key() -> None:
    error = config_error(production(LLM_PROVIDER="openai"))
    assert len(error.problems) == 1
    assert "LLM_PROVIDER=openai" in error.problems[0]
    assert "OPENAI_API_KEY" in error.problems[0]


def test_production_openai_with_a_key_loads() -> None:
    config = load(production(LLM_PROVIDER="openai", OPENAI_API_KEY=OPENAI_KEY))
    assert config.llm_config.provider == "openai"
    assert config.llm_config.api_key == Secret(OPENAI_KEY)


def test_production_openai_compatible_server_needs_no_key() -> None:
    config = load(production(LLM_PROVIDER="openai", OPENAI_BASE_URL="http://vllm.internal:8000/v1"))
    assert config.llm_config.provider == "openai"
    assert config.llm_config.api_key is None
    assert config.llm_config.base_url == "http://vllm.internal:8000/v1"


def test_production_azure_with_every_setting_loads() -> None:
    config = load(production(LLM_PROVIDER="azure", **AZURE))
    assert config.llm_config.provider == "azure"


@pytest.mark.parametrize("missing", sorted(AZURE))
def test_production_azure_needs_key_endpoint_and_deployment(missing: str) -> None:
    environ = production(LLM_PROVIDER="azure", **AZURE)
    del environ[missing]
    error = config_error(environ)
    assert len(error.problems) == 1
    assert "LLM_PROVIDER=azure" in error.problems[0]
    assert missing in error.problems[0]
    assert all(name not in error.problems[0] for name in AZURE if name != missing)


def test_production_azure_without_any_setting_lists_all_three() -> None:
    error = config_error(production(LLM_PROVIDER="azure"))
    assert all(name in error.problems[0] for name in AZURE)


def test_production_without_provider_or_credentials_is_an_error() -> None:
    error = config_error(production())
    assert len(error.problems) == 1
    assert "LLM_PROVIDER" in error.problems[0]
    assert "production" in error.problems[0]


def test_production_reports_database_and_llm_problems_together() -> None:
    error = config_error({"APP_ENV": "production"})
    assert len(error.problems) == 3
    assert problems_naming(error, "STORAGE_URL_SECRET is required")
    assert problems_naming(error, "DATABASE_URL")
    assert problems_naming(error, "LLM_PROVIDER")


def test_production_with_a_malformed_provider_reports_only_the_malformed_value() -> None:
    error = config_error(production(LLM_PROVIDER="gemini"))
    assert len(error.problems) == 1
    assert error.problems[0].startswith("LLM_PROVIDER='gemini' is not a known value")


def test_validate_required_config_reports_missing_production_llm_credentials() -> None:
    environ = production()
    with pytest.raises(ConfigurationError):
        load(environ)
    assert Configuration(environ).validate_required_config() != []


def test_a_malformed_azure_endpoint_in_production_is_reported_once() -> None:
    error = config_error(production(LLM_PROVIDER="azure", **{**AZURE, "AZURE_OPENAI_ENDPOINT": "acme.openai.azure.com"}))
    assert len(problems_naming(error, "AZURE_OPENAI_ENDPOINT")) == 1


# --- an explicit provider must have its credentials ---------------------------------------------


@pytest.mark.parametrize("app_env", ["development", "test", "staging"])
def test_an_explicit_openai_without_a_key_is_an_error_in_every_environment(app_env: str) -> None:
    error = config_error({"APP_ENV": app_env, "LLM_PROVIDER": "openai", "DATABASE_URL": PROD_DB})
    assert len(error.problems) == 1
    assert "LLM_PROVIDER=openai needs OPENAI_API_KEY" in error.problems[0]


@pytest.mark.parametrize(
    ("environ", "how"),
    [
        ({"LLM_PROVIDER": "openai"}, "needs OPENAI_API_KEY; set it (or OPENAI_API_KEY_FILE), choose"),
        ({"LLM_PROVIDER": "azure"}, "needs AZURE_OPENAI_API_KEY, AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_DEPLOYMENT; set them (or AZURE_OPENAI_API_KEY_FILE), choose"),
        ({"LLM_PROVIDER": "azure", "AZURE_OPENAI_API_KEY": AZURE_KEY}, "needs AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_DEPLOYMENT; set them, choose"),
    ],
)
def test_the_missing_credentials_message_names_a_file_only_for_a_secret(environ: dict[str, str], how: str) -> None:
    [problem] = config_error({**environ, "DATABASE_URL": PROD_DB}).problems
    assert how in problem


def test_an_explicit_partial_azure_names_what_is_missing() -> None:
    error = config_error({"LLM_PROVIDER": "azure", "AZURE_OPENAI_API_KEY": AZURE_KEY, "DATABASE_URL": PROD_DB})
    [problem] = error.problems
    assert "AZURE_OPENAI_ENDPOINT" in problem and "AZURE_OPENAI_DEPLOYMENT" in problem
    assert "AZURE_OPENAI_API_KEY" not in problem and AZURE_KEY not in str(error)


def test_an_explicit_anthropic_without_a_key_is_an_error() -> None:
    assert "ANTHROPIC_API_KEY" in config_error({"LLM_PROVIDER": "anthropic"}).problems[0]


def test_an_auto_detected_provider_lacking_settings_still_falls_back_to_local_in_development() -> None:
    config = load({"AZURE_OPENAI_API_KEY": AZURE_KEY, "DATABASE_URL": PROD_DB})
    assert config.llm_config.provider == "local"
    assert "LLM_PROVIDER=azure lacks AZURE_OPENAI_ENDPOINT" in config.warnings[0]


def test_an_explicit_local_provider_gives_no_warning() -> None:
    config = load({"LLM_PROVIDER": "local", "DATABASE_URL": PROD_DB})
    assert config.llm_config.provider == "local"
    assert config.warnings == ()


# --- provider auto-detection -------------------------------------------------------------------


@pytest.mark.parametrize("app_env", ["development", "production"])
def test_an_openai_key_selects_openai(app_env: str) -> None:
    config = load({"APP_ENV": app_env, "DATABASE_URL": PROD_DB, "DB_SSLMODE": "require", "STORAGE_URL_SECRET": URL_SECRET, "OPENAI_API_KEY": OPENAI_KEY})
    assert config.llm_config.provider == "openai"
    assert config.warnings == ()


@pytest.mark.parametrize("app_env", ["development", "production"])
def test_an_openai_base_url_selects_openai(app_env: str) -> None:
    config = load({"APP_ENV": app_env, "DATABASE_URL": PROD_DB, "STORAGE_URL_SECRET": URL_SECRET, "OPENAI_BASE_URL": "http://localhost:8080/v1"})
    assert config.llm_config.provider == "openai"
    assert config.llm_config.api_key is None


@pytest.mark.parametrize("app_env", ["development", "production"])
def test_azure_credentials_select_azure(app_env: str) -> None:
    config = load({"APP_ENV": app_env, "DATABASE_URL": PROD_DB, "STORAGE_URL_SECRET": URL_SECRET, **AZURE})
    assert config.llm_config.provider == "azure"


def test_openai_is_preferred_when_both_keys_are_set() -> None:
    assert load({"OPENAI_API_KEY": OPENAI_KEY, **AZURE}).llm_config.provider == "openai"


def test_an_explicit_provider_beats_auto_detection() -> None:
    assert load({"LLM_PROVIDER": "azure", "OPENAI_API_KEY": OPENAI_KEY, **AZURE}).llm_config.provider == "azure"
    assert load({"LLM_PROVIDER": "local", "OPENAI_API_KEY": OPENAI_KEY}).llm_config.provider == "local"


def test_an_azure_key_alone_is_detected_and_then_lacks_its_other_settings() -> None:
    error = config_error(production(AZURE_OPENAI_API_KEY=AZURE_KEY))
    assert len(error.problems) == 1
    assert "LLM_PROVIDER=azure" in error.problems[0]
    assert "AZURE_OPENAI_ENDPOINT" in error.problems[0]


def test_azure_endpoint_without_a_key_is_not_detected() -> None:
    config = load({"AZURE_OPENAI_ENDPOINT": "https://acme.openai.azure.com", "AZURE_OPENAI_DEPLOYMENT": "d"})
    assert config.llm_config.provider == "local"


# --- fallback providers ------------------------------------------------------------------------


def test_fallbacks_are_built_in_order_with_the_shared_call_policy() -> None:
    config = load(
        {
            "DATABASE_URL": PROD_DB,
            "OPENAI_API_KEY": OPENAI_KEY,
            **AZURE,
            "LLM_FALLBACK_PROVIDERS": "azure,local",
            "LLM_TIMEOUT": "7",
            "LLM_MAX_RETRIES": "1",
        }
    )
    assert config.llm_config.provider == "openai"
    assert [llm.provider for llm in config.llm_fallbacks] == ["azure", "local"]
    assert all(llm.timeout == 7.0 and llm.max_retries == 1 for llm in config.llm_fallbacks)
    assert config.llm_fallbacks[0].api_key == Secret(AZURE_KEY)
    assert config.llm_fallbacks[1].model == LOCAL_MODEL_NAME
    assert config.warnings == ()


def test_a_fallback_that_repeats_the_primary_or_itself_is_ignored_with_a_warning() -> None:
    config = load(
        {"DATABASE_URL": PROD_DB, "OPENAI_API_KEY": OPENAI_KEY, **AZURE, "LLM_FALLBACK_PROVIDERS": "openai,azure,azure"}
    )
    assert [llm.provider for llm in config.llm_fallbacks] == ["azure"]
    assert len(config.warnings) == 2
    assert "'openai'" in config.warnings[0] and "LLM_FALLBACK_PROVIDERS" in config.warnings[0]
    assert "'azure'" in config.warnings[1] and "ignored" in config.warnings[1]


def test_production_warns_about_local_listed_as_fallback_of_local() -> None:
    config = load(production(LLM_PROVIDER="local", LLM_FALLBACK_PROVIDERS="local"))
    assert config.llm_fallbacks == ()
    assert len(config.warnings) == 1
    assert "'local'" in config.warnings[0]


def test_development_silently_skips_local_when_local_already_stood_in_as_primary() -> None:
    config = load({"DATABASE_URL": PROD_DB, "AZURE_OPENAI_API_KEY": AZURE_KEY, "LLM_FALLBACK_PROVIDERS": "local"})
    assert config.llm_config.provider == "local"
    assert config.llm_fallbacks == ()
    assert len(config.warnings) == 1
    assert "AZURE_OPENAI_ENDPOINT" in config.warnings[0]


def test_a_fallback_without_credentials_is_an_error_in_development_too() -> None:
    error = config_error({"DATABASE_URL": PROD_DB, "OPENAI_API_KEY": OPENAI_KEY, "LLM_FALLBACK_PROVIDERS": "azure,local"})
    assert len(error.problems) == 1 and "LLM_FALLBACK_PROVIDERS includes azure" in error.problems[0]
    assert "AZURE_OPENAI_API_KEY" in error.problems[0]


def test_production_rejects_a_fallback_without_credentials() -> None:
    error = config_error(production(LLM_PROVIDER="local", LLM_FALLBACK_PROVIDERS="openai"))
    assert len(error.problems) == 1
    assert "LLM_FALLBACK_PROVIDERS" in error.problems[0]
    assert "openai" in error.problems[0]
    assert "OPENAI_API_KEY" in error.problems[0]


def test_production_reports_every_fallback_without_credentials() -> None:
    error = config_error(production(LLM_PROVIDER="local", LLM_FALLBACK_PROVIDERS="openai,azure"))
    assert len(problems_naming(error, "LLM_FALLBACK_PROVIDERS")) == 2


def test_a_fallback_to_an_openai_compatible_server_needs_no_key() -> None:
    config = load(production(LLM_PROVIDER="local", LLM_FALLBACK_PROVIDERS="openai", OPENAI_BASE_URL="http://vllm:8000/v1"))
    assert [llm.provider for llm in config.llm_fallbacks] == ["openai"]
    assert config.llm_fallbacks[0].base_url == "http://vllm:8000/v1"


# --- malformed values: each is named in the error ----------------------------------------------

MALFORMED: list[tuple[str, str]] = [
    ("APP_ENV", "prod"),
    ("APP_ENV", "live"),
    ("DEBUG", "sometimes"),
    ("DEBUG", "2"),
    ("LOG_LEVEL", "LOUD"),
    ("LOG_LEVEL", "TRACE"),
    ("LOG_FORMAT", "xml"),
    ("API_HOST", "bad host"),
    ("API_HOST", "http://0.0.0.0"),
    ("API_PORT", "70000"),
    ("API_PORT", "0"),
    ("API_PORT", "http"),
    ("DATABASE_URL", "not-a-url"),
    ("DATABASE_URL", "postgresql+asyncpg://app@db/app"),
    ("DATABASE_URL", "postgresql://db:notaport/app"),
    ("DATABASE_REPLICA_URLS", "postgresql://r1/app,nope"),
    ("DB_POOL_SIZE", "abc"),
    ("DB_POOL_SIZE", "0"),
    ("DB_POOL_SIZE", "5.5"),
    ("DB_POOL_SIZE", "1001"),
    ("DB_MAX_OVERFLOW", "-1"),
    ("DB_POOL_TIMEOUT", "-1"),
    ("DB_POOL_TIMEOUT", "0"),
    ("DB_POOL_TIMEOUT", "nan"),
    ("DB_POOL_TIMEOUT", "inf"),
    ("DB_POOL_RECYCLE", "-2"),
    ("DB_ECHO", "loud"),
    ("DB_POOL_PRE_PING", "maybe"),
    ("DB_POOL_PRE_PING_IDLE_SECONDS", "-1"),
    ("DB_POOL_PRE_PING_IDLE_SECONDS", "inf"),
    ("DB_POOL_PRE_PING_IDLE_SECONDS", "2147484"),
    ("DB_CONNECT_TIMEOUT", "0"),
    ("DB_STATEMENT_TIMEOUT_MS", "0"),
    ("DB_REPLICA_COOLDOWN", "-1"),
    ("LLM_PROVIDER", "gemini"),
    ("LLM_PROVIDER", "openai,azure"),
    ("OPENAI_BASE_URL", "ftp://models.internal"),
    ("OPENAI_BASE_URL", "localhost:8080"),
    ("AZURE_OPENAI_ENDPOINT", "acme.openai.azure.com"),
    ("LLM_TIMEOUT", "soon"),
    ("LLM_TIMEOUT", "-0.5"),
    ("LLM_MAX_RETRIES", "11"),
    ("LLM_CACHE_TTL", "-1"),
    ("LLM_RPM_LIMIT", "0"),
    ("LLM_TPM_LIMIT", "lots"),
    ("LLM_FALLBACK_PROVIDERS", "openai,bard"),
    ("REDIS_URL", "http://x"),
    ("REDIS_URL", "redis://"),
    ("REDIS_URL", "redis://cache:99999"),
    ("RABBITMQ_URL", "amqp://h:notaport"),
    ("RABBITMQ_URL", "amqp://mq1,http://mq2"),
    ("FEATURE_FLAG_X", "maybe"),
    ("FEATURE_FLAG_NEW_UI", "enabled"),
    ("DB_HOST", "db host"),
    ("DB_HOST", "postgresql://db"),
    ("DB_PORT", "0"),
    ("DB_PORT", "65536"),
    ("DB_PORT", "five"),
    ("REDIS_HOST", "cache/0"),
    ("REDIS_PORT", "6379.0"),
    ("REDIS_DB", "-1"),
    ("REDIS_DB", "db0"),
]


@pytest.mark.parametrize(("name", "raw"), MALFORMED, ids=[f"{name}={raw}" for name, raw in MALFORMED])
def test_a_malformed_value_is_a_configuration_error_naming_the_variable(name: str, raw: str) -> None:
    error = config_error({name: raw})
    assert name in str(error)
    assert len(error.problems) == 1
    problem = error.problems[0]
    assert problem.startswith(f"{name}=")
    assert repr(raw) in problem
    assert "; expected " in problem


def test_the_malformed_cases_cover_enough_distinct_inputs() -> None:
    assert len(set(MALFORMED)) == len(MALFORMED) >= 30


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"DB_POOL_SIZE": "abc"}, "DB_POOL_SIZE='abc' is not a whole number; expected a whole number from 1 to 1000"),
        ({"DB_POOL_TIMEOUT": "0"}, "DB_POOL_TIMEOUT='0' must be greater than 0; expected a number greater than 0 and at most 2147483 (24.8 days)"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT='xml' is not a known value; expected one of text, json"),
        ({"FEATURE_FLAG_X": "maybe"}, "FEATURE_FLAG_X='maybe' is not a boolean; expected true/false, 1/0, yes/no or on/off"),
    ],
)
def test_a_problem_names_the_variable_the_problem_and_the_expected_form(environ: dict[str, str], expected: str) -> None:
    assert config_error(environ).problems == (expected,)


def test_validate_required_config_lists_malformed_values_without_raising() -> None:
    problems = Configuration({"DB_POOL_SIZE": "abc", "LOG_LEVEL": "LOUD"}).validate_required_config()
    assert sorted(problem.split("=")[0] for problem in problems) == ["DB_POOL_SIZE", "LOG_LEVEL"]


def test_every_bad_value_is_reported_in_one_error() -> None:
    bad = {
        "DB_POOL_SIZE": "abc",
        "DB_POOL_TIMEOUT": "nan",
        "LLM_PROVIDER": "gemini",
        "LOG_LEVEL": "LOUD",
        "LOG_FORMAT": "xml",
        "API_PORT": "70000",
        "DATABASE_URL": "not-a-url",
        "REDIS_URL": "http://x",
        "RABBITMQ_URL": "amqp://h:notaport",
        "FEATURE_FLAG_X": "maybe",
        "LLM_FALLBACK_PROVIDERS": "openai,bard",
        "DEBUG": "sometimes",
    }
    error = config_error(bad)
    assert len(error.problems) == len(bad)
    for name in bad:
        assert len(problems_naming(error, f"{name}=")) == 1, name
        assert name in str(error)
    assert f"{len(bad)} problem(s)" in str(error)


def test_production_reports_malformed_values_and_missing_requirements_together() -> None:
    error = config_error({"APP_ENV": "production", "DB_POOL_SIZE": "abc", "LOG_FORMAT": "xml"})
    assert len(error.problems) == 5
    assert problems_naming(error, "STORAGE_URL_SECRET is required")
    assert problems_naming(error, "DB_POOL_SIZE")
    assert problems_naming(error, "LOG_FORMAT")
    assert problems_naming(error, "DATABASE_URL is required")
    assert problems_naming(error, "LLM_PROVIDER is not set")


def test_a_malformed_app_env_does_not_switch_on_production_rules() -> None:
    error = config_error({"APP_ENV": "prod"})
    assert len(error.problems) == 1
    assert "DATABASE_URL" not in str(error)


def test_a_long_malformed_value_is_shortened_in_the_message() -> None:
    raw = "x" * 500
    error = config_error({"DB_POOL_SIZE": raw})
    assert raw not in str(error)
    assert "x" * 60 + "..." in error.problems[0]


# --- secrets never leak --------------------------------------------------------------------------

PASSWORD = "hunter2-Sup3rSecret"


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("DATABASE_URL", f"postgresql://app:{PASSWORD}@db:notaport/app"),
        ("DATABASE_URL", f"postgresql://app:{PASSWORD}@/app"),
        ("DATABASE_REPLICA_URLS", f"postgresql://ro:{PASSWORD}@r1/app,mysql://ro:{PASSWORD}@r2:bad/app"),
        ("REDIS_URL", f"http://default:{PASSWORD}@cache:6379"),
        ("REDIS_URL", f"redis://:{PASSWORD}@cache:notaport/0"),
        ("RABBITMQ_URL", f"amqp://guest:{PASSWORD}@h:notaport"),
        ("RABBITMQ_URL", f"amqp://guest:{PASSWORD}@mq1,amqp://guest:other-{PASSWORD}@mq2:bad"),
        ("OPENAI_BASE_URL", f"ftp://user:{PASSWORD}@models.internal"),
        ("AZURE_OPENAI_ENDPOINT", f"ws://user:{PASSWORD}@acme.openai.azure.com"),
        ("DATABASE_URL", f"postgresql+psycopg2://a-rather-long-user-name:{PASSWORD}@db.example.internal:bad/app"),
    ],
)
def test_a_malformed_url_never_shows_its_password(name: str, raw: str) -> None:
    error = config_error({name: raw})
    assert problems_naming(error, name)
    assert PASSWORD not in str(error)
    assert all(PASSWORD not in problem for problem in error.problems)
    assert "****" in str(error)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("DATABASE_URL", "postgresql://app:pa/ssw0rd@db/app"),
        ("DATABASE_URL", "postgresql://app:pa@ssw0rd@db:bad/app"),
        ("REDIS_URL", "redis://:pa/ssw0rd@cache:6379"),
    ],
)
def test_a_malformed_url_with_a_slash_or_at_sign_in_its_password_never_shows_it(name: str, raw: str) -> None:
    error = config_error({name: raw})
    assert len(problems_naming(error, name)) == 1
    assert "ssw0rd" not in str(error)


def secret_config() -> AppConfig:
    """A configuration holding every kind of secret the module knows."""
    return load(
        {
            "DATABASE_URL": f"postgresql://app:{PASSWORD}-primary@db:5432/app",
            "DATABASE_REPLICA_URLS": f"postgresql://ro:{PASSWORD}-r1@r1/app,postgresql://ro:{PASSWORD}-r2@r2/app",
            "REDIS_URL": f"redis://:{PASSWORD}-redis@cache:6379/0",
            "RABBITMQ_URL": f"amqp://mq:{PASSWORD}-mq1@mq1,amqps://mq:{PASSWORD}-mq2@mq2",
            "LLM_PROVIDER": "openai",
            "OPENAI_API_KEY": OPENAI_KEY,
            "OPENAI_BASE_URL": f"https://proxy:{PASSWORD}-proxy@llm.internal/v1",
            **AZURE,
            "AZURE_OPENAI_ENDPOINT": f"https://az:{PASSWORD}-azure@acme.openai.azure.com",
            "LLM_FALLBACK_PROVIDERS": "azure",
            "FEATURE_FLAG_NEW_UI": "true",
        }
    )


SECRETS = [PASSWORD, OPENAI_KEY, AZURE_KEY]


@pytest.mark.parametrize("show", [repr, str], ids=["repr", "str"])
def test_the_app_config_text_never_contains_a_secret(show: Callable[[object], str]) -> None:
    config = secret_config()
    text = show(config)
    for secret in SECRETS:
        assert secret not in text
    assert "AppConfig(" in text
    assert "postgresql+psycopg2://app:****@db:5432/app" in text
    assert "postgresql+psycopg2://ro:****@r1/app" in text and "postgresql+psycopg2://ro:****@r2/app" in text
    assert "redis://:****@cache:6379/0" in text
    assert "amqp://mq:****@mq1" in text and "amqps://mq:****@mq2" in text
    assert "Secret('****')" in text
    assert "'new_ui': True" in text


@pytest.mark.parametrize("show", [repr, str], ids=["repr", "str"])
def test_the_part_configs_never_contain_a_secret(show: Callable[[object], str]) -> None:
    config = secret_config()
    parts: list[object] = [
        config.database,
        config.llm_config,
        *config.llm_fallbacks,
        config.cache,
        config.messaging,
        config.api_config,
        config.logging,
    ]
    for part in parts:
        text = show(part)
        for secret in SECRETS:
            assert secret not in text, text
    assert "api_key=Secret('****')" in show(config.llm_config)
    assert "base_url='https://proxy:****@llm.internal/v1'" in show(config.llm_config)
    assert "endpoint='https://az:****@acme.openai.azure.com'" in show(config.llm_fallbacks[0])


def test_the_real_secrets_stay_available_to_clients() -> None:
    config = secret_config()
    assert config.database.url == f"postgresql+psycopg2://app:{PASSWORD}-primary@db:5432/app"
    assert config.database.replica_urls[1] == f"postgresql+psycopg2://ro:{PASSWORD}-r2@r2/app"
    assert config.messaging.rabbitmq_urls[0] == f"amqp://mq:{PASSWORD}-mq1@mq1"
    assert config.cache.redis_url == f"redis://:{PASSWORD}-redis@cache:6379/0"
    assert config.llm_config.api_key is not None and config.llm_config.api_key.reveal() == OPENAI_KEY
    assert config.llm_fallbacks[0].api_key is not None and config.llm_fallbacks[0].api_key.reveal() == AZURE_KEY


def test_the_warnings_and_problems_never_contain_a_secret() -> None:
    config = load({"AZURE_OPENAI_API_KEY": AZURE_KEY})
    assert config.warnings
    assert all(AZURE_KEY not in warning for warning in config.warnings)
    error = config_error({"AZURE_OPENAI_API_KEY": AZURE_KEY, "LLM_FALLBACK_PROVIDERS": "openai"})
    assert error.problems and AZURE_KEY not in str(error)


@pytest.mark.parametrize("char", [" ", ",", "'", '"'], ids=["space", "comma", "quote", "double-quote"])
def test_an_accepted_url_with_an_unusual_password_character_is_masked_in_repr(char: str) -> None:
    password = f"pa{char}ss99"
    config = load({"DATABASE_URL": f"postgresql://app:{password}@db/app"})
    assert config.database.url == f"postgresql+psycopg2://app:{password}@db/app"
    assert "ss99" not in repr(config.database)


# --- Secret --------------------------------------------------------------------------------------


def test_secret_hides_its_value_and_reveals_it_on_request() -> None:
    secret = Secret(OPENAI_KEY)
    assert secret.reveal() == OPENAI_KEY
    assert repr(secret) == "Secret('****')"
    assert str(secret) == "****"
    assert f"{secret}" == "****"
    assert OPENAI_KEY not in repr([secret]) + repr({"k": secret})


def test_secrets_compare_by_value() -> None:
    assert Secret("a-key") == Secret("a-key")
    assert Secret("a-key") != Secret("b-key")
    assert Secret("a-key") != "a-key"
    assert hash(Secret("a-key")) == hash(Secret("a-key"))
    assert len({Secret("a-key"), Secret("a-key")}) == 1


def test_an_empty_secret_is_falsy() -> None:
    assert not Secret("")
    assert Secret("x")


def test_a_secret_keeps_its_value_out_of_any_instance_dict() -> None:
    secret = Secret(OPENAI_KEY)
    assert not hasattr(secret, "__dict__")
    with pytest.raises(AttributeError):
        secret.value = "x"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("secret_variable", "secret"),
    [("OPENAI_API_KEY", OPENAI_KEY), ("AZURE_OPENAI_API_KEY", "az-" + "k" * 70), ("DATABASE_URL", "db-Passw0rd")],
    ids=["openai key", "key longer than a shown value", "url password"],
)
@pytest.mark.parametrize("pasted_into", ["DB_POOL_SIZE", "LLM_TIMEOUT", "API_HOST", "FEATURE_FLAG_BETA"])
def test_a_secret_pasted_into_another_variable_is_masked_in_the_error(secret_variable: str, secret: str, pasted_into: str) -> None:
    value = f"postgresql://app:{secret}@db/app" if secret_variable == "DATABASE_URL" else secret
    error = config_error({secret_variable: value, pasted_into: f"x {secret}"})
    [problem] = error.problems
    assert problem.startswith(f"{pasted_into}='x ****")
    assert secret not in str(error) and secret not in repr(error) and secret[:20] not in str(error)


def test_a_malformed_secret_named_feature_flag_value_is_hidden() -> None:
    with pytest.raises(ConfigurationError) as raised:
        Configuration({"FEATURE_FLAG_BETA_TOKEN": "tok-not-a-bool-123"}).load_from_environment()
    assert "FEATURE_FLAG_BETA_TOKEN=<hidden>" in str(raised.value)
    assert "tok-not-a-bool-123" not in str(raised.value)


def test_production_with_local_storage_requires_a_url_secret() -> None:
    error = config_error(production(LLM_PROVIDER="local", STORAGE_URL_SECRET=""))
    assert [problem for problem in error.problems if "STORAGE_URL_SECRET is required" in problem] == list(error.problems)


def test_production_with_s3_storage_needs_no_url_secret() -> None:
    config = load(production(LLM_PROVIDER="local", STORAGE_URL_SECRET="", STORAGE_URL="s3://bucket/files"))
    assert config.storage.url_secret is None


def test_a_url_secret_under_32_characters_is_refused_outside_production_too() -> None:
    error = config_error({"LLM_PROVIDER": "local", "STORAGE_URL_SECRET": "short-secret-value"})
    assert len(error.problems) == 1
    assert "at least 32 characters" in error.problems[0]
    assert "short-secret-value" not in str(error)


def test_development_without_a_url_secret_loads() -> None:
    assert load({"LLM_PROVIDER": "local"}).storage.url_secret is None


@pytest.mark.parametrize(("url", "problem"), [
    ("s3://Bucket/files", "not an S3 bucket name"), ("s3://bucket:9000/files", "not an S3 bucket name"),
    ("s3://user:pw@bucket/files", "no query, fragment or credentials"), ("file://relative/files", "three slashes"),
    ("~/files", "not expanded"), ("ftp://host/files", "not one of file, s3"),
])
def test_a_storage_url_that_would_not_mean_what_it_says_is_refused(url: str, problem: str) -> None:
    error = config_error({"LLM_PROVIDER": "local", "STORAGE_URL": url})
    assert len(error.problems) == 1 and "STORAGE_URL" in error.problems[0] and problem in error.problems[0]
    assert "pw" not in str(error)


@pytest.mark.parametrize("url", ["var/files", "/srv/files", "file:///srv/files", "s3://my-bucket", "s3://my.bucket-2/a/b"])
def test_storage_urls_as_users_write_them_load(url: str) -> None:
    assert load({"LLM_PROVIDER": "local", "STORAGE_URL": url}).storage.url == url


def test_an_endpoint_url_with_credentials_is_refused_without_echoing_them() -> None:
    error = config_error({"LLM_PROVIDER": "local", "STORAGE_ENDPOINT_URL": "http://minio:s3cretpass@127.0.0.1:9000"})
    assert "STORAGE_ENDPOINT_URL" in error.problems[0] and "AWS_ACCESS_KEY_ID" in error.problems[0]
    assert "s3cretpass" not in str(error)


@pytest.mark.parametrize(("written", "used"), [("/files", "/files/"), ("/files/", "/files/"), (" https://files.example/dl ", "https://files.example/dl/")])
def test_the_storage_url_base_ends_with_a_slash_as_the_token_follows_it(written: str, used: str) -> None:
    assert load({"LLM_PROVIDER": "local", "STORAGE_URL_BASE": written}).storage.url_base == used


@pytest.mark.parametrize("value", ["sk-secret-line1\nX-Injected: 1", "sk-secret\x00zz", "sk-a\rb", "sk-\x1bescape"])
def test_a_secret_holding_a_line_break_or_control_character_is_refused_without_showing_it(value: str) -> None:
    error = config_error({"LLM_PROVIDER": "openai", "OPENAI_API_KEY": value})
    assert [p for p in error.problems if p.startswith("OPENAI_API_KEY holds a line break")]
    assert "sk-secret" not in str(error) and "Injected" not in str(error)
