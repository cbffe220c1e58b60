"""LLM value objects: the public prompt, response and usage types, and what passes between the call layer
and the completion adapters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from modules.infrastructure.domain.config.settings import MAX_WAIT_SECONDS
from modules.infrastructure.domain.errors import LLMBadRequestError
from modules.infrastructure.domain.llm.conversation import Message, ToolCall
from modules.infrastructure.domain.llm.parameters import check_parameters, shown
from modules.infrastructure.domain.llm.templates import placeholders
from modules.infrastructure.domain.llm.token_counts import MAX_TOKENS, is_token_count
from modules.infrastructure.domain.llm.tools import Tool

MAX_TIMEOUT = MAX_WAIT_SECONDS  # PromptContext.timeout is bounded as LLM_DEADLINE is


@dataclass(frozen=True)
class CompletionRequest:
    """Chat messages in the OpenAI wire shape (``Message.to_wire``), generation parameters (``temperature``,
    ``max_tokens``, ``response_format``, ...), the tools the model may call and ``tool_choice``
    (``auto``, ``none``, ``required`` or a tool's name). Each adapter translates this one shape.

    ``module`` and ``prompt_name`` say who asks; they are never sent to the provider.
    """

    messages: Sequence[Mapping[str, Any]]
    parameters: Mapping[str, Any] = field(default_factory=dict)
    module: str | None = None
    prompt_name: str | None = None
    tools: Sequence[Tool] = ()
    tool_choice: str | None = None


@dataclass(frozen=True)
class Completion:
    """One answer as a provider gave it; built only with fields of the declared types (``TypeError`` otherwise),
    since it is read from providers' bodies and from the cache, which may hold anything."""

    content: str
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str | None = None
    request_id: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.tool_calls, tuple) or not all(isinstance(c, ToolCall) for c in self.tool_calls):
            raise TypeError("tool_calls must be a tuple of ToolCall")
        ids = [call.id for call in self.tool_calls]
        if len(set(ids)) != len(ids):  # the answer could not be continued: every call needs its own result
            raise TypeError(f"tool call ids repeat ({', '.join(sorted({repr(i)[:40] for i in ids if ids.count(i) > 1}))})")
        if not isinstance(self.content, str):
            raise TypeError(f"content must be text, not {type(self.content).__name__}")
        for name in ("finish_reason", "model", "request_id"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be text or null, not {type(value).__name__}")
        for name in ("prompt_tokens", "completion_tokens"):
            if not is_token_count(getattr(self, name)):
                raise TypeError(f"{name} must be a whole number from 0 to {MAX_TOKENS}, not {getattr(self, name)!r}")

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_data(self) -> dict[str, Any]:
        """The completion as JSON-ready data (for the response cache); ``from_data`` reads it back."""
        data = {name: getattr(self, name) for name in ("content", "finish_reason", "prompt_tokens", "completion_tokens", "model", "request_id")}
        data["tool_calls"] = [{"id": c.id, "name": c.name, "arguments": dict(c.arguments)} for c in self.tool_calls]
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Completion:
        """The completion ``to_data`` wrote; ``TypeError`` for data of another shape (another version's entry)."""
        fields = dict(data)
        calls = fields.pop("tool_calls", [])
        if not isinstance(calls, list) or not all(isinstance(c, Mapping) and isinstance(c.get("arguments"), Mapping) for c in calls):
            raise TypeError("tool_calls must be a list of calls")
        return cls(**fields, tool_calls=tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in calls))


@dataclass(frozen=True)
class StreamChunk:
    """A piece of a streamed answer; the last chunk carries the usage (``completion`` from an adapter, the whole
    ``response`` from the call layer) and no text."""

    text: str = ""
    completion: Completion | None = None
    response: LLMResponse | None = None


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
    """The answer to a prompt, with provider, model, latency, cache facts and ``finish_reason`` in ``metadata``;
    ``tool_calls`` holds the tools the model asked to run (checked against their schemas)."""

    content: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    usage_stats: UsageStats = field(default_factory=UsageStats)
    tool_calls: tuple[ToolCall, ...] = ()

    @property
    def finish_reason(self) -> str | None:
        """Why the model stopped: ``stop``, ``length``, ``tool_calls``, ... as the provider said."""
        reason = self.metadata.get("finish_reason")
        return reason if isinstance(reason, str) else None

    @property
    def message(self) -> Message:
        """This answer as the assistant message to add to the history."""
        return Message.assistant(self.content, self.tool_calls)

    def feedback(self) -> list[Message]:
        """The assistant message, then a tool result for each call that cannot run saying why, so the model can
        correct itself; the caller adds the results of the calls that can run."""
        return [self.message, *(Message.tool(call.id, f"Error: {call.error}") for call in self.tool_calls if call.error)]

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
    """A prompt template with ``{variable}`` placeholders and generation parameters.

    Checked when built (``LLMBadRequestError`` naming the field): text fields are text, placeholders
    are plain names, ``parameters`` can be sent (see ``domain/llm/parameters.py``).
    """

    template: str
    system: str | None = None
    name: str | None = None
    version: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.template, str):
            raise LLMBadRequestError(f"Prompt.template must be text, not {type(self.template).__name__}")
        for name in ("system", "name", "version"):
            _check_text(f"Prompt.{name}", getattr(self, name))
        placeholders(self.template, "template")
        if self.system:
            placeholders(self.system, "system prompt")
        check_parameters(self.parameters)


@dataclass(frozen=True)
class PromptContext:
    """Per-call values: template variables, the calling module and call options."""

    variables: Mapping[str, Any] = field(default_factory=dict)
    module: str | None = None
    request_id: str | None = None
    use_cache: bool | None = None
    provider: str | None = None
    timeout: float | None = None

    def __post_init__(self) -> None:
        """Checked when built, like ``Prompt``."""
        if not isinstance(self.variables, Mapping):
            raise LLMBadRequestError(f"PromptContext.variables must be a mapping of names to values, not {type(self.variables).__name__}")
        for name in ("module", "request_id", "provider"):
            _check_text(f"PromptContext.{name}", getattr(self, name))
        if self.use_cache is not None and not isinstance(self.use_cache, bool):
            raise LLMBadRequestError(f"PromptContext.use_cache must be True, False or None, not {type(self.use_cache).__name__}")
        timeout = self.timeout
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= MAX_TIMEOUT):
            raise LLMBadRequestError(f"PromptContext.timeout must be seconds above 0 and at most {MAX_TIMEOUT} (as LLM_DEADLINE), not {shown(timeout)}")


def _check_text(where: str, value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise LLMBadRequestError(f"{where} must be text or None, not {type(value).__name__}")
