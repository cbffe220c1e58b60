"""Choosing the LLM provider and its fallbacks from the parsed settings.

A provider named in ``LLM_PROVIDER`` must have its credentials, in every environment. Only when
``LLM_PROVIDER`` is unset does development fall back to the embedded local model (with a warning)
where credentials are missing; production refuses to start instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modules.infrastructure.domain.config.settings import FILE_SUFFIX, secret_setting_names
from modules.infrastructure.domain.config.values import LLMConfig
from modules.infrastructure.domain.secrets import optional_secret

LOCAL_MODEL_NAME = "SmolLM2-135M-Instruct"
LOCAL_CONTEXT_SIZE = 2048

_REQUIRED = {
    "openai": ("OPENAI_API_KEY",),
    "azure": ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_DEPLOYMENT"),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "local": (),
}


@dataclass
class LLMSelection:
    primary: LLMConfig | None = None
    fallbacks: list[LLMConfig] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def select_llm(values: Mapping[str, Any], production: bool, malformed: frozenset[str] = frozenset()) -> LLMSelection:
    """Resolve ``LLM_PROVIDER`` and ``LLM_FALLBACK_PROVIDERS`` into ready ``LLMConfig`` objects.

    Variables in ``malformed`` already have their problem reported and do not count as missing.
    """
    selection = LLMSelection()
    explicit = values["LLM_PROVIDER"] is not None
    provider = values["LLM_PROVIDER"] or _provider_with_credentials(values)
    if provider is None:
        if production:
            selection.problems.append(
                "LLM_PROVIDER is not set and no LLM credentials are configured; in production set "
                "LLM_PROVIDER (openai, azure, anthropic or local) and that provider's credentials"
            )
            return selection
        selection.warnings.append("No LLM provider configured: using the embedded local model (LLM_PROVIDER=local)")
        provider = "local"
    unusable = missing_credentials(provider, values)  # malformed values parse to None, so they count
    if unusable and (production or explicit):
        missing = [name for name in unusable if name not in malformed]
        if missing:
            selection.problems.append(
                f"LLM_PROVIDER={provider} needs {', '.join(missing)}; {_how_to_set(missing)}, "
                "choose another provider, or unset LLM_PROVIDER to use the local model in development"
            )
        return selection
    if unusable:
        selection.warnings.append(f"LLM_PROVIDER={provider} lacks {', '.join(unusable)}: using the embedded local model instead")
        provider = "local"
    selection.primary = build_llm_config(provider, values)
    _add_fallbacks(selection, values, production, malformed)
    return selection


def _how_to_set(missing: list[str]) -> str:
    """``set it`` or ``set them``, naming the ``<NAME>_FILE`` of each secret among ``missing`` (only a secret has one)."""
    files = [name + FILE_SUFFIX for name in missing if name in secret_setting_names()]
    alternative = f" (or {' and '.join(files)})" if files else ""
    return f"set {'it' if len(missing) == 1 else 'them'}{alternative}"


def missing_credentials(provider: str, values: Mapping[str, Any]) -> list[str]:
    """Names of the variables ``provider`` needs that are not set."""
    if provider == "openai" and values["OPENAI_BASE_URL"]:
        return []  # a self-hosted OpenAI-compatible server may need no key
    if provider == "anthropic" and values["ANTHROPIC_BASE_URL"] and not values["ANTHROPIC_API_KEY"]:
        return []  # a proxy may hold the key itself
    return [name for name in _REQUIRED[provider] if not values[name]]


def build_llm_config(provider: str, values: Mapping[str, Any]) -> LLMConfig:
    shared: dict[str, Any] = {
        "timeout": values["LLM_TIMEOUT"],
        "max_retries": values["LLM_MAX_RETRIES"],
        "cache_ttl": values["LLM_CACHE_TTL"],
        "rpm_limit": values["LLM_RPM_LIMIT"],
        "tpm_limit": values["LLM_TPM_LIMIT"],
        "deadline": values["LLM_DEADLINE"],
        "breaker_threshold": values["LLM_BREAKER_THRESHOLD"],
        "breaker_cooldown": values["LLM_BREAKER_COOLDOWN"],
        "prices_file": values["LLM_PRICES_FILE"],
        "usage_persist": values["LLM_USAGE_PERSIST"],
        "max_output_tokens": values["ANTHROPIC_MAX_TOKENS"],  # read by the anthropic adapter only
    }
    if provider == "openai":
        return LLMConfig(
            provider="openai",
            model=values["OPENAI_MODEL"],
            api_key=optional_secret(values["OPENAI_API_KEY"]),
            base_url=values["OPENAI_BASE_URL"],
            embedding_model=values["OPENAI_EMBEDDING_MODEL"],
            moderation_model=values["OPENAI_MODERATION_MODEL"],
            **shared,
        )
    if provider == "azure":
        return LLMConfig(
            provider="azure",
            model=values["AZURE_OPENAI_DEPLOYMENT"],
            api_key=optional_secret(values["AZURE_OPENAI_API_KEY"]),
            endpoint=values["AZURE_OPENAI_ENDPOINT"],
            api_version=values["AZURE_OPENAI_API_VERSION"],
            deployment=values["AZURE_OPENAI_DEPLOYMENT"],
            embedding_model=values["AZURE_OPENAI_EMBEDDING_DEPLOYMENT"],
            **shared,
        )
    if provider == "anthropic":
        return LLMConfig(
            provider="anthropic",
            model=values["ANTHROPIC_MODEL"],
            api_key=optional_secret(values["ANTHROPIC_API_KEY"]),
            base_url=values["ANTHROPIC_BASE_URL"],
            api_version=values["ANTHROPIC_API_VERSION"],
            **shared,
        )
    return LLMConfig(
        provider="local",
        model=LOCAL_MODEL_NAME,
        local_model_path=values["LOCAL_LLM_MODEL_PATH"],
        context_size=LOCAL_CONTEXT_SIZE,
        embedding_model=LOCAL_MODEL_NAME,  # the chat model's own embeddings (llama.cpp's embedding mode, mean pooling)
        **shared,
    )


def _provider_with_credentials(values: Mapping[str, Any]) -> str | None:
    if values["OPENAI_API_KEY"] or values["OPENAI_BASE_URL"]:
        return "openai"
    if values["AZURE_OPENAI_API_KEY"]:
        return "azure"
    if values["ANTHROPIC_API_KEY"] or values["ANTHROPIC_BASE_URL"]:
        return "anthropic"
    return None


def _add_fallbacks(selection: LLMSelection, values: Mapping[str, Any], production: bool, malformed: frozenset[str]) -> None:
    assert selection.primary is not None
    chosen = [selection.primary.provider]
    for provider in values["LLM_FALLBACK_PROVIDERS"]:
        if provider in chosen:
            if provider != "local" or production:  # in development local may already be the primary
                selection.warnings.append(f"LLM_FALLBACK_PROVIDERS lists '{provider}' twice or as the primary: ignored")
            continue
        missing = [name for name in missing_credentials(provider, values) if name not in malformed]
        if missing:  # listed by name: an explicit choice, an error in every environment as LLM_PROVIDER's
            selection.problems.append(f"LLM_FALLBACK_PROVIDERS includes {provider}, which needs {', '.join(missing)}")
            continue
        chosen.append(provider)
        selection.fallbacks.append(build_llm_config(provider, values))

