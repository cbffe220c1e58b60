"""Answers kept in the cache port, one provider call per key at a time; a bad entry is a miss, never a crash."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from modules.infrastructure.domain.cache.ports import Cache
from modules.infrastructure.domain.errors import CacheError, LLMTimeoutError
from modules.infrastructure.domain.llm.values import Completion

# Seconds a waiting caller gives another's call when its own deadline allows more: a provider call can take a minute.
CALL_LOCK_SECONDS = 120.0


class _NotKept(Exception):
    """Carries an answer not worth caching out of ``get_or_set`` (which stores what its function returns)."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__("answer not cached")
        self.data = data


class ResponseCache:
    """Completions by key, for ``ttl`` seconds; only those worth keeping are stored."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    def get_or_call(
        self, key: str, call: Callable[[], Completion], parameters: Mapping[str, Any], ttl: int, within: float
    ) -> tuple[Completion, bool]:
        """The cached answer, or ``call()``'s: ``(completion, called)``; ``called`` is false for an answer this caller
        did not pay for (a hit, or another caller's call it waited for). Concurrent callers of one key make one call;
        a waiting caller gives it at most ``within`` seconds (its deadline), then calls itself, as it does when the
        call it waited for timed out on a shorter deadline than its own."""

        mine: list[Completion] = []  # this caller's own answer, as the provider gave it

        def counted() -> dict[str, Any]:
            mine.append(call())
            data = mine[0].to_data()
            if not worth_caching(parameters, mine[0]):
                raise _NotKept(data)
            return data

        started = time.monotonic()
        try:
            wait = min(CALL_LOCK_SECONDS, max(0.001, within))
            data = self.cache.get_or_set(key, counted, ttl=ttl, lock_ttl=wait, lock_wait=wait)
        except _NotKept as kept:  # the answer stays with the callers that shared this call
            data = kept.data
        except CacheError:  # an answer get_or_set could not store or read: this caller's, uncached
            return (mine[0] if mine else call()), True
        except LLMTimeoutError:
            # Another caller's call ran out of its own deadline; this caller may have time left for one of its own.
            if mine or time.monotonic() - started >= within:
                raise
            return call(), True
        if mine:
            return mine[0], True
        completion = _completion(data)
        if completion is None:  # another version's shape: call, and let the answer replace it
            completion = call()
            self.put(key, completion, parameters, ttl)
            return completion, True
        return completion, False

    def put(self, key: str, completion: Completion, parameters: Mapping[str, Any], ttl: int) -> None:
        if worth_caching(parameters, completion):
            self.cache.set_json(key, completion.to_data(), ttl=ttl)


def _completion(data: Any) -> Completion | None:
    if not isinstance(data, Mapping):
        return None
    try:
        return Completion.from_data(data)
    except TypeError:  # another version's shape, or fields of the wrong type: a miss, never a crash
        return None


def worth_caching(parameters: Mapping[str, Any], completion: Completion) -> bool:
    """Not an answer that broke the JSON mode it was asked for, nor one with a tool call that cannot run: it
    would fail every caller for the whole TTL."""
    if any(call.error for call in completion.tool_calls):
        return False
    response_format = parameters.get("response_format")
    if not (isinstance(response_format, Mapping) and response_format.get("type") in ("json_object", "json_schema")):
        return True
    try:
        json.loads(completion.content)
    except ValueError:
        return False
    return True
