"""Ports: what the domain and the facade need from the outside world, as Protocols."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from modules.infrastructure.module_api.types import CacheStats, ComponentCheck, DatabaseSession, Envelope

if TYPE_CHECKING:
    from modules.infrastructure.domain.llm.values import Completion, CompletionRequest, StreamChunk


@runtime_checkable
class HealthCheck(Protocol):
    """Checks one component for the start-up report; must not raise."""

    name: str

    def check(self) -> ComponentCheck: ...


class SessionSource(Protocol):
    """Pooled database sessions by engine label (``primary``, ``replica-1``, ...)."""

    def session(self, label: str, read_only: bool = False) -> DatabaseSession:
        """A session holding a checked, live connection; raises ``DatabaseConnectionError`` when there is none."""
        ...

    def ping(self, label: str) -> bool: ...


class Cache(Protocol):
    """Key-value cache. ``str`` in, ``str`` out; ``bytes`` may be stored and read back with ``get_bytes``.

    ``ttl`` is in seconds (``None``: the configured default, else no expiry). Patterns are globs:
    ``*``, ``?`` and ``[abc]`` mean the same on every backend.
    """

    def get(self, key: str) -> str | None:
        """The text stored under ``key``; ``None`` on a miss."""
        ...

    def get_bytes(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: str | bytes, ttl: float | None = None) -> None: ...

    def delete(self, key: str) -> bool:
        """Remove ``key``; true when it was there."""
        ...

    def get_json(self, key: str) -> Any:
        """The object stored with ``set_json``; ``None`` on a miss."""
        ...

    def set_json(self, key: str, value: Any, ttl: float | None = None) -> None: ...

    def invalidate_pattern(self, pattern: str) -> int:
        """Delete every key matching the glob ``pattern``; returns how many were deleted."""
        ...

    def stats(self) -> CacheStats: ...


@dataclass(frozen=True)
class PublishOutcome:
    """The broker's answer for one message: confirmed, or refused with the reason."""

    message_id: str
    confirmed: bool
    error: str | None = None


class MessagePublisher(Protocol):
    """Publishes events to the broker and says, per message, whether the broker took it."""

    def publish_batch(self, messages: Sequence[tuple[Envelope, bytes]]) -> list[PublishOutcome]:
        """One outcome per message, in order; raises ``MessagingError`` when the broker cannot be reached."""
        ...

    def close(self) -> None: ...


class CompletionClient(Protocol):
    """One LLM provider's chat completions, one attempt per call (the caller retries).

    Every failure is raised as an ``LLMProviderError`` subclass with ``status_code``, ``code`` and
    ``retry_after`` filled in where the provider said them.
    """

    provider: str
    model: str

    def complete(self, request: CompletionRequest, timeout: float) -> Completion: ...

    def stream(self, request: CompletionRequest, timeout: float) -> Iterator[StreamChunk]:
        """Text chunks as they arrive, then one chunk carrying the usage."""
        ...

    def close(self) -> None: ...


class CapacityLimiter(Protocol):
    """Requests-per-minute and tokens-per-minute capacity of one provider and model."""

    def reserve(self, tokens: int) -> float:
        """Take one request and ``tokens`` tokens; the seconds to wait before sending (0: go now)."""
        ...

    def refund(self, tokens: int) -> None:
        """Give back a reservation whose call will not be made."""
        ...
