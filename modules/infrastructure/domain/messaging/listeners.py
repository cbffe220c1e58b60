"""Listeners: which module reacts to which events, with what handler and how its failures are retried.

A listener's identity is ``<module>.<name>``; it keys the publication records, so it must stay
the same across restarts and deployments (the name defaults to the handler's qualified name).
"""

from __future__ import annotations

import inspect
import math
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modules.infrastructure.domain.errors import MessagingError
from modules.infrastructure.domain.messaging.event_patterns import EventPattern

MAX_RETRY_SECONDS = 2_147_483  # a wait the broker's per-message TTL (milliseconds, 32-bit) can carry
MAX_ATTEMPTS = 100
MAX_TIMEOUT_SECONDS = 3600.0
DEFAULT_TIMEOUT_SECONDS = 30.0
_MODULE = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,63}")
_NAME = re.compile(r"[A-Za-z0-9_<][A-Za-z0-9_.<>\-]{0,127}")


@dataclass(frozen=True)
class ListenerRetry:
    """Exponential backoff with jitter: the wait before retry ``n`` is ``min(cap, base * factor**(n-1))``, from half to all of it."""

    base_seconds: float = 1.0
    factor: float = 2.0
    cap_seconds: float = 300.0
    attempts: int = 5  # deliveries in all, the first included; after the last the publication is failed

    def __post_init__(self) -> None:
        checks = (
            ("base_seconds", self.base_seconds, 0.001, MAX_RETRY_SECONDS),
            ("factor", self.factor, 1.0, 10.0),
            ("cap_seconds", self.cap_seconds, 0.001, MAX_RETRY_SECONDS),
            ("attempts", self.attempts, 1, MAX_ATTEMPTS),
        )
        for name, value, low, high in checks:
            whole = name != "attempts" or isinstance(value, int)
            if isinstance(value, bool) or not isinstance(value, int | float) or not whole or not low <= value <= high:
                raise MessagingError(f"ListenerRetry.{name} must be a number from {low:g} to {high:,}, not {value!r}")

    def delay(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
        ceiling = min(self.cap_seconds, self.base_seconds * self.factor ** min(retry - 1, 200))
        return ceiling * (0.5 + 0.5 * rand()) if math.isfinite(ceiling) else self.cap_seconds


@dataclass(frozen=True)
class Listener:
    """One module's reaction to the events its pattern matches.

    ``handler(event, db)`` gets the ``Envelope`` and an open database session whose transaction
    also completes the listener's publication record; ``timeout_seconds`` bounds one call.
    """

    module: str
    name: str
    pattern: EventPattern
    handler: Callable[..., Any] = field(compare=False)
    retry: ListenerRetry = ListenerRetry()
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @property
    def identity(self) -> str:
        return f"{self.module}.{self.name}"


def new_listener(
    pattern: object, handler: object, *, module: object, name: object = None, retry: object = None, timeout: object = None
) -> Listener:
    """A checked ``Listener``; ``MessagingError`` naming the argument that cannot be used."""
    if not isinstance(module, str) or not _MODULE.fullmatch(module):
        raise MessagingError(f"A listener's module must be your module's name (a letter, then letters, digits, '_', '-'), not {module!r}")
    if not callable(handler):
        raise MessagingError(f"A listener's handler must be a function taking the event, not {type(handler).__name__}")
    if inspect.iscoroutinefunction(handler) or inspect.isasyncgenfunction(handler) or inspect.isgeneratorfunction(handler):
        raise MessagingError(
            "A listener's handler must be a plain function: an async function or a generator would return without "
            "running its body, and its event would be marked handled"
        )
    name = getattr(handler, "__qualname__", None) if name is None else name
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise MessagingError(
            f"Listener name {name!r} of module '{module}' is not valid: up to 128 letters, digits, '_', '.', '-'; "
            "pass name=... (it identifies the listener's records across restarts)"
        )
    if retry is not None and not isinstance(retry, ListenerRetry):
        raise MessagingError(f"A listener's retry must be a ListenerRetry, not {type(retry).__name__}")
    seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else timeout
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0.001 <= seconds <= MAX_TIMEOUT_SECONDS:
        raise MessagingError(f"A listener's timeout must be seconds from 0.001 to {MAX_TIMEOUT_SECONDS:g}, or None, not {timeout!r}"[:200])
    return Listener(module, name, EventPattern(pattern), handler, retry or ListenerRetry(), float(seconds))  # type: ignore[arg-type]


class ListenerRegistry:
    """The listeners registered in this process, by identity; thread-safe."""

    def __init__(self) -> None:
        self._listeners: dict[str, Listener] = {}
        self._lock = threading.Lock()

    def register(self, listener: Listener) -> None:
        with self._lock:
            if listener.identity in self._listeners:
                raise MessagingError(
                    f"A listener '{listener.identity}' is already registered; give the second one its own name=..."
                )
            self._listeners[listener.identity] = listener

    def remove(self, identity: str) -> None:
        with self._lock:
            self._listeners.pop(identity, None)

    def matching(self, event_type: str) -> list[Listener]:
        """Every listener whose pattern matches ``event_type``, in registration order."""
        with self._lock:
            listeners = list(self._listeners.values())
        return [listener for listener in listeners if listener.pattern.matches(event_type)]

    def of_module(self, module: str) -> list[Listener]:
        with self._lock:
            return [listener for listener in self._listeners.values() if listener.module == module]

    def get(self, identity: str) -> Listener | None:
        with self._lock:
            return self._listeners.get(identity)

    def all(self) -> list[Listener]:
        with self._lock:
            return list(self._listeners.values())
