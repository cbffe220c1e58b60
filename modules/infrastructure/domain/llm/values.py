"""Value objects passed between the call layer and the completion adapters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CompletionRequest:
    """Chat messages and generation parameters (``temperature``, ``max_tokens``, ``response_format``, ...)."""

    messages: Sequence[Mapping[str, str]]
    parameters: Mapping[str, Any] = field(default_factory=dict)


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
