"""Answers kept in the cache port, read back field by field; a bad entry is a miss, never a crash."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from modules.infrastructure.domain.cache.ports import Cache
from modules.infrastructure.domain.errors import CacheError
from modules.infrastructure.domain.llm.values import Completion


class ResponseCache:
    """Completions by key, for ``ttl`` seconds; only those worth keeping are stored."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    def get(self, key: str) -> Completion | None:
        try:
            data = self.cache.get_json(key)
        except CacheError:  # an entry that is not JSON (or not UTF-8): a miss, and the answer overwrites it
            return None
        if not isinstance(data, Mapping):
            return None
        try:
            return Completion.from_data(data)
        except TypeError:  # another version's shape, or fields of the wrong type: a miss, never a crash
            return None

    def put(self, key: str, completion: Completion, parameters: Mapping[str, Any], ttl: int) -> None:
        if worth_caching(parameters, completion):
            self.cache.set_json(key, completion.to_data(), ttl=ttl)


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
