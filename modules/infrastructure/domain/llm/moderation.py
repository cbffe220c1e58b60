"""``LLMModeration``: the call layer behind ``moderate``: checks, the provider's retry loop, usage (no tokens, no cost)."""

from __future__ import annotations

import time

from modules.infrastructure.domain.errors import LLMBadRequestError, LLMProviderError
from modules.infrastructure.domain.policies.attempts import Attempts
from modules.infrastructure.domain.llm.call_records import record_call
from modules.infrastructure.domain.policies.deadline import Deadline
from modules.infrastructure.domain.llm.embedding_input import checked_module, checked_provider, checked_text
from modules.infrastructure.domain.llm.embedding_values import ModerationResult
from modules.infrastructure.domain.llm.ports import ModerationClient
from modules.infrastructure.domain.llm.prompts import estimate_text_tokens
from modules.infrastructure.domain.llm.provider import LLMProvider
from modules.infrastructure.domain.llm.providers import LLMProviders
from modules.infrastructure.domain.llm.usage import UsageLedger


class LLMModeration:
    """Classifies text on one provider (the primary, or the named one); never cached, never falls back."""

    def __init__(self, providers: LLMProviders, ledger: UsageLedger) -> None:
        self.providers = providers
        self.ledger = ledger

    def moderate(self, text: object, *, module: object, provider: object = None) -> ModerationResult:
        """The provider's classification of ``text``; raises ``LLMBadRequestError`` for bad input or a provider
        without moderation (before any request), else the provider's ``LLMProviderError`` subclasses."""
        checked, caller = checked_text(text, "moderate(text)"), checked_module(module, "moderate")
        chosen = self.providers.named(checked_provider(provider, "moderate"))
        client, model = moderation_client(chosen, self.providers)
        started, sent = time.perf_counter(), Attempts()
        deadline = Deadline.after(chosen.config.deadline, chosen.clock)
        try:
            result, attempts = chosen.run(
                lambda _client, timeout: client.moderate(checked, timeout), estimate_text_tokens(len(checked)), deadline, sent
            )
        except LLMProviderError as exc:
            record_call(self.ledger, chosen.name, model, caller, 0, started, 0.0, outcome=type(exc).__name__, attempts=sent.count)
            raise
        record_call(self.ledger, chosen.name, model, caller, 0, started, 0.0, attempts=attempts)
        return result


def moderation_client(provider: LLMProvider, providers: LLMProviders) -> tuple[ModerationClient, str]:
    """The provider's client and moderation model; ``LLMBadRequestError`` naming the ones that have one otherwise."""
    client = provider.initialize_client()
    model = getattr(client, "moderation_model", None)
    if model is None or not callable(getattr(client, "moderate", None)):
        raise LLMBadRequestError(
            f"LLM provider '{provider.name}' has no moderation endpoint; moderation needs OpenAI: "
            f"{_where(provider, providers)}"
        )
    return client, model  # type: ignore[return-value]


def _where(provider: LLMProvider, providers: LLMProviders) -> str:
    able = [p.name for p in providers if p is not provider and getattr(p.initialize_client(), "moderation_model", None)]
    if able:
        return f"pass provider='{able[0]}'"
    return "set OPENAI_API_KEY and LLM_PROVIDER=openai (or add openai to LLM_FALLBACK_PROVIDERS and pass provider='openai')"
