"""Builds the LLM providers from ``AppConfig``: one ``LLMProvider`` per configured provider, and the price table."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from modules.infrastructure.domain.config.values import AppConfig, LLMConfig
from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.domain.llm.ports import CompletionClient
from modules.infrastructure.domain.llm.pricing import PriceTable
from modules.infrastructure.domain.llm.provider import LLMProvider
from modules.infrastructure.domain.llm.providers import LLMProviders
from modules.infrastructure.domain.secrets import Redactor

PRICES_RESOURCE = "prices.json"


def completion_client(config: LLMConfig, redactor: Redactor, http_client: Any = None) -> CompletionClient:
    """The adapter for ``config.provider``; nothing connects until the first call.

    ``http_client`` (an ``httpx2.Client``, e.g. on a ``MockTransport``) replaces the client's own.
    """
    if config.provider == "azure":
        from modules.infrastructure.infrastructure.llm_clients.azure_client import AzureOpenAIClient

        return AzureOpenAIClient(config, redactor, http_client)
    if config.provider == "anthropic":
        from modules.infrastructure.infrastructure.llm_clients.anthropic_client import AnthropicClient

        return AnthropicClient(config, redactor, http_client)
    if config.provider == "local":
        from modules.infrastructure.infrastructure.llm_clients.local_model import LocalModelClient

        return LocalModelClient(config, redactor, http_client)
    from modules.infrastructure.infrastructure.llm_clients.openai_client import OpenAIClient

    return OpenAIClient(config, redactor, http_client)


def load_prices(path: str | None) -> PriceTable:
    """The shipped price table, with the models of the JSON file at ``path`` (LLM_PRICES_FILE) added or
    replacing the shipped ones; raises ``ConfigurationError`` naming the file and the problem."""
    shipped = PriceTable.from_data(json.loads(resources.files(__package__).joinpath(PRICES_RESOURCE).read_text(encoding="utf-8")))
    if not path:
        return shipped
    try:
        return shipped.overlaid(PriceTable.from_data(json.loads(Path(path).read_text(encoding="utf-8"))))
    except OSError as exc:
        raise ConfigurationError(f"LLM_PRICES_FILE={path} cannot be read ({exc.strerror or exc}); point it at a readable JSON price table") from exc
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON (or nested past the parser), not a price table
        raise ConfigurationError(f"LLM_PRICES_FILE={path} is not a usable price table: {exc}") from exc


def build_providers(config: AppConfig, redactor: Redactor) -> LLMProviders:
    """Primary provider first, then ``LLM_FALLBACK_PROVIDERS`` in order; limits shared through Redis when set."""
    shared = _redis_for_limits(config)
    providers = [
        LLMProvider(llm, lambda c: completion_client(c, redactor), limiter=_limiter(shared, llm, redactor))
        for llm in (config.llm_config, *config.llm_fallbacks)
    ]
    return LLMProviders(providers, load_prices(config.llm_config.prices_file), [shared] if shared is not None else [])


def _redis_for_limits(config: AppConfig) -> Any:
    limited = any(llm.rpm_limit or llm.tpm_limit for llm in (config.llm_config, *config.llm_fallbacks))
    if not (limited and config.cache.redis_url):
        return None
    from modules.infrastructure.infrastructure.shared_limits.redis_rate_limit import shared_redis

    return shared_redis(config.cache)


def _limiter(shared: Any, llm: LLMConfig, redactor: Redactor) -> Any:
    if shared is None or not (llm.rpm_limit or llm.tpm_limit):
        return None  # the provider's own in-process buckets
    from modules.infrastructure.infrastructure.shared_limits.redis_rate_limit import RedisRateLimiter

    return RedisRateLimiter(shared, f"llm:ratelimit:{llm.provider}:{llm.deployment or llm.model}", llm.rpm_limit, llm.tpm_limit, redactor)
