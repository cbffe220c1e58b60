"""``TextAndJson``: ``get``, ``get_json`` and ``set_json`` built on a backend's ``get_bytes`` and ``set``."""

from __future__ import annotations

from typing import Any

from modules.infrastructure.domain.cache.values import decode_text, dump_json, load_json


class TextAndJson:
    """Mixin for backends: text is UTF-8, objects are compact JSON text."""

    def get_bytes(self, key: str) -> bytes | None:
        raise NotImplementedError

    def set(self, key: str, value: str | bytes, ttl: float | None = None) -> None:
        raise NotImplementedError

    def get(self, key: str) -> str | None:
        """The text stored under ``key``; ``None`` on a miss."""
        raw = self.get_bytes(key)
        return None if raw is None else decode_text(key, raw)

    def get_json(self, key: str) -> Any:
        """The object stored with ``set_json``; ``None`` on a miss."""
        text = self.get(key)
        return None if text is None else load_json(key, text)

    def set_json(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Store ``value`` as JSON; a value JSON cannot hold raises ``CacheError`` before anything is written."""
        self.set(key, dump_json(key, value), ttl)
