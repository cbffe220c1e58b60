"""LLM value objects: the public prompt, response and usage types, and what passes between the call layer
and the completion adapters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class CompletionRequest:
    """Chat messages and generation parameters (``temperature``, ``max_tokens``, ``response_format``, ...).

    ``module`` and ``prompt_name`` say who asks; they are never sent to the provider.
    """

    messages: Sequence[Mapping[str, str]]
    parameters: Mapping[str, Any] = field(default_factory=dict)
    module: str | None = None
    prompt_name: str | None = None


@dataclass(frozen=True)
class Completion:
    """One answer as a provider gave it."""

    content: str
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str | None = None
    request_id: str | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class StreamChunk:
    """A piece of a streamed answer; the last chunk carries the usage (``completion``) and no text."""

    text: str = ""
    completion: Completion | None = None


class TextCompleter(Protocol):
    """What answers ``LLMClient.generate_completion``: one prompt in, the answer's text out."""

    def generate_completion(self, prompt: str, **parameters: Any) -> str: ...


@dataclass
class LLMClient:
    """A ready client for one provider and model."""

    provider: str
    model: str
    client: TextCompleter

    def generate_completion(self, prompt: str, **kwargs: Any) -> str:
        """Send ``prompt`` as one user message and return the answer's text."""
        return self.client.generate_completion(prompt, **kwargs)

@dataclass(frozen=True)
class UsageStats:
    """Tokens used by one call and what they cost (``None`` when the price is unknown)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = None

@dataclass(frozen=True)
class LLMResponse:
    """The answer to a prompt, with provider, model, latency and cache facts in ``metadata``."""

    content: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    usage_stats: UsageStats = field(default_factory=UsageStats)

@dataclass(frozen=True)
class LLMUsageSummary:
    """LLM calls recorded in this process, added up (``InfrastructureService.get_llm_usage``).

    ``cost_usd`` sums the priced calls; ``unpriced_calls`` counts calls whose model has no price.
    """

    calls: int = 0
    failed_calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0
    by_model: Mapping[str, int] = field(default_factory=dict)

@dataclass(frozen=True)
class Prompt:
    """A prompt template with ``{variable}`` placeholders and generation parameters."""

    template: str
    system: str | None = None
    name: str | None = None
    version: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)

@dataclass(frozen=True)
class PromptContext:
    """Per-call values: template variables, the calling module and call options."""

    variables: Mapping[str, Any] = field(default_factory=dict)
    module: str | None = None
    request_id: str | None = None
    use_cache: bool | None = None
    provider: str | None = None
    timeout: float | None = None
