"""The facade: configuration, feature flags, overrides, reset and capabilities still to come."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from modules.infrastructure.module_api import (
    ConfigurationError,
    InfrastructureService,
    LLMBadRequestError,
    Prompt,
    PromptContext,
)
from modules.infrastructure.module_api.testing import MemoryCache, fake_infrastructure

pytestmark = pytest.mark.usefixtures("clean_env")


def test_defaults_work_offline() -> None:
    config = InfrastructureService.get_config()
    assert config.environment == "development"
    assert config.database_url == "sqlite:///var/app.db"
    assert config.llm_config.provider == "local"


def test_configuration_is_read_once_and_reset_rereads(monkeypatch: pytest.MonkeyPatch) -> None:
    first = InfrastructureService.get_config()
    monkeypatch.setenv("DB_POOL_SIZE", "7")
    assert InfrastructureService.get_config() is first
    InfrastructureService.reset()
    assert InfrastructureService.get_config().database.pool_size == 7


def test_dotenv_file_is_read_and_environment_wins(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / ".env").write_text("DB_POOL_SIZE=3\nAPI_PORT=9000\n")
    monkeypatch.setenv("API_PORT", "9100")
    config = InfrastructureService.get_config()
    assert (config.database.pool_size, config.api_config.port) == (3, 9100)


def test_malformed_configuration_raises_with_every_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_SIZE", "abc")
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    with pytest.raises(ConfigurationError) as raised:
        InfrastructureService.get_config()
    assert any("DB_POOL_SIZE" in p for p in raised.value.problems)
    assert any("LOG_LEVEL" in p for p in raised.value.problems)


def test_feature_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEATURE_FLAG_NEW_UI", "true")
    monkeypatch.setenv("FEATURE_FLAG_BETA_EXPORT", "off")
    assert InfrastructureService.is_feature_enabled("new_ui") is True
    assert InfrastructureService.is_feature_enabled("NEW_UI") is True
    assert InfrastructureService.is_feature_enabled("beta_export", default=True) is False
    assert InfrastructureService.is_feature_enabled("unknown") is False
    assert InfrastructureService.is_feature_enabled("unknown", default=True) is True


def test_override_swaps_the_config_and_restores_it() -> None:
    real = InfrastructureService.get_config()
    fake = replace(real, environment="test", feature_flags=MappingProxyType({"new_ui": True}))
    with InfrastructureService.override(config=fake):
        assert InfrastructureService.get_config() is fake
        assert InfrastructureService.is_feature_enabled("new_ui")
    assert InfrastructureService.get_config() is real
    assert not InfrastructureService.is_feature_enabled("new_ui")


def test_overrides_nest_and_unwind_on_error() -> None:
    real = InfrastructureService.get_config()
    outer, inner = replace(real, environment="test"), replace(real, environment="staging")
    with InfrastructureService.override(config=outer):
        with pytest.raises(RuntimeError):
            with InfrastructureService.override(config=inner):
                assert InfrastructureService.get_config() is inner
                raise RuntimeError("boom")
        assert InfrastructureService.get_config() is outer
    assert InfrastructureService.get_config() is real


def test_override_rejects_an_unknown_component() -> None:
    with pytest.raises(ValueError, match="Unknown infrastructure component 'databse'.*config"):
        with InfrastructureService.override(databse=object()):
            pass


def test_reset_inside_an_override_keeps_the_block_s_components_and_rebuilds_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    real = InfrastructureService.get_config()
    cache = MemoryCache()
    with InfrastructureService.override(config=replace(real, environment="test"), cache=cache):
        InfrastructureService.get_cache("lessons").set("k", "v")
        monkeypatch.setenv("FEATURE_FLAG_REREAD", "on")
        InfrastructureService.reset()
        assert InfrastructureService.get_config().environment == "test"
        assert InfrastructureService.get_cache("lessons").get("k") == "v"
    assert InfrastructureService.get_config().environment == "development"
    assert InfrastructureService.is_feature_enabled("reread"), "the configuration under the block was read again"


def test_reset_inside_fake_infrastructure_stays_on_the_fakes(clean_env: Path) -> None:
    with fake_infrastructure() as fakes:
        InfrastructureService.reset()
        assert InfrastructureService.get_config() is fakes.config
        assert InfrastructureService.get_config().database.url == "sqlite://"
        InfrastructureService.migrate()
        InfrastructureService.publish_event("lessons", {"n": 1}, event_type="lesson.created", source="lessons")
        assert [e.type for e in fakes.events()] == ["lesson.created"]
    assert not (clean_env / "var").exists(), "nothing reached the embedded default database"


def test_the_llm_client_names_the_configured_provider_without_calling_it() -> None:
    client = InfrastructureService.get_llm_client()
    assert (client.provider, client.model) == ("local", "SmolLM2-135M-Instruct")
    with pytest.raises(LLMBadRequestError, match="'openai' is not configured"):
        InfrastructureService.get_llm_client("openai")


def test_a_missing_prompt_variable_fails_before_any_request() -> None:
    with pytest.raises(LLMBadRequestError, match="'name'"):
        InfrastructureService.execute_prompt(Prompt("Hi {name}"), PromptContext({"nom": "x"}))
    assert InfrastructureService.get_llm_usage().calls == 0


def test_shutdown_is_idempotent() -> None:
    InfrastructureService.get_config()
    InfrastructureService.shutdown()
    InfrastructureService.shutdown()
    assert InfrastructureService.get_config().environment == "development"
