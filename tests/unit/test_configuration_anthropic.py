"""LLM_PROVIDER=anthropic: its settings, its defaults, chosen by its key, primary or fallback, and refused in
production without a key. No I/O."""

from __future__ import annotations

from modules.infrastructure.domain.config.settings import SETTINGS_BY_NAME
from modules.infrastructure.domain.secrets import is_secret_name
from tests.unit.test_configuration import OPENAI_KEY, config_error, load, problems_naming, production

CLAUDE_KEY = "sk-ant-test-0123456789"


def test_anthropic_settings_build_the_anthropic_llm_config() -> None:
    config = load({"LLM_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": CLAUDE_KEY, "ANTHROPIC_MODEL": "claude-opus-4-5",
                   "ANTHROPIC_BASE_URL": "https://claude-proxy.internal", "ANTHROPIC_MAX_TOKENS": "4096",
                   "ANTHROPIC_API_VERSION": "2023-06-01"})
    llm = config.llm_config
    assert (llm.provider, llm.model, llm.base_url) == ("anthropic", "claude-opus-4-5", "https://claude-proxy.internal")
    assert (llm.max_output_tokens, llm.api_version) == (4096, "2023-06-01")
    assert llm.api_key is not None and llm.api_key.reveal() == CLAUDE_KEY and CLAUDE_KEY not in repr(config)


def test_the_defaults_a_current_claude_model_1024_tokens_and_the_clients_api_version() -> None:
    llm = load({"LLM_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": CLAUDE_KEY}).llm_config
    assert (llm.model, llm.max_output_tokens, llm.api_version, llm.base_url) == ("claude-sonnet-4-5", 1024, None, None)


def test_the_key_is_a_secret() -> None:
    assert is_secret_name("ANTHROPIC_API_KEY") and SETTINGS_BY_NAME["ANTHROPIC_API_KEY"].default is None


def test_an_anthropic_key_alone_picks_anthropic() -> None:
    assert load({"ANTHROPIC_API_KEY": CLAUDE_KEY}).llm_config.provider == "anthropic"


def test_an_openai_key_wins_over_an_anthropic_one_when_the_provider_is_unset() -> None:
    assert load({"ANTHROPIC_API_KEY": CLAUDE_KEY, "OPENAI_API_KEY": OPENAI_KEY}).llm_config.provider == "openai"


def test_anthropic_as_the_fallback_of_openai_and_the_reverse() -> None:
    both = {"OPENAI_API_KEY": OPENAI_KEY, "ANTHROPIC_API_KEY": CLAUDE_KEY}
    forward = load({**both, "LLM_PROVIDER": "openai", "LLM_FALLBACK_PROVIDERS": "anthropic"})
    reverse = load({**both, "LLM_PROVIDER": "anthropic", "LLM_FALLBACK_PROVIDERS": "openai,local"})
    assert [llm.provider for llm in forward.llm_fallbacks] == ["anthropic"] and forward.llm_fallbacks[0].model == "claude-sonnet-4-5"
    assert reverse.llm_config.provider == "anthropic" and [llm.provider for llm in reverse.llm_fallbacks] == ["openai", "local"]


def test_in_production_anthropic_without_a_key_is_an_error_naming_it() -> None:
    error = config_error(production(LLM_PROVIDER="anthropic"))
    assert problems_naming(error, "ANTHROPIC_API_KEY")


def test_in_production_an_anthropic_fallback_without_a_key_is_an_error() -> None:
    error = config_error(production(LLM_PROVIDER="openai", OPENAI_API_KEY=OPENAI_KEY, LLM_FALLBACK_PROVIDERS="anthropic"))
    assert problems_naming(error, "LLM_FALLBACK_PROVIDERS includes anthropic, which needs ANTHROPIC_API_KEY")


def test_in_development_an_explicit_anthropic_without_a_key_is_an_error() -> None:
    assert "LLM_PROVIDER=anthropic needs ANTHROPIC_API_KEY" in config_error({"LLM_PROVIDER": "anthropic"}).problems[0]


def test_a_proxy_base_url_needs_no_key() -> None:
    llm = load(production(LLM_PROVIDER="anthropic", ANTHROPIC_BASE_URL="https://claude-proxy.internal")).llm_config
    assert llm.provider == "anthropic" and llm.api_key is None


def test_bad_anthropic_values_are_refused_by_name() -> None:
    error = config_error({"LLM_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": CLAUDE_KEY, "ANTHROPIC_MAX_TOKENS": "0",
                          "ANTHROPIC_BASE_URL": "ftp://claude"})
    assert problems_naming(error, "ANTHROPIC_MAX_TOKENS") and problems_naming(error, "ANTHROPIC_BASE_URL")
