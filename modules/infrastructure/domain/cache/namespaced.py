"""``NamespacedCache``: one module's view of the shared cache, every key under ``<namespace>:``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modules.infrastructure.domain.cache.glob import check_pattern
from modules.infrastructure.domain.cache.keys import SEPARATOR, check_key, check_module_namespace, check_namespace
from modules.infrastructure.domain.cache.ports import Cache, CacheBackend, CacheStats
from modules.infrastructure.domain.errors import InvalidArgumentError


def module_cache(backend: CacheBackend, namespace: str, *, strict: bool = False) -> NamespacedCache:
    """A sibling module's cache: as ``NamespacedCache``, but never in a namespace the infrastructure keeps."""
    check_module_namespace(namespace)
    return NamespacedCache(backend, namespace, strict=strict)


class NamespacedCache:
    """Prefixes every key (and ``invalidate_pattern``'s pattern) so modules cannot read or clear each other's keys.

    ``strict=True`` asks the backend to raise ``CacheError`` on failure (through its ``with_strict``);
    a backend that cannot fail, such as ``MemoryCache``, is used as it is.
    """

    def __init__(self, backend: CacheBackend, namespace: str, *, strict: bool = False) -> None:
        if not isinstance(strict, bool):
            raise InvalidArgumentError(f"get_cache(strict=...) takes True or False, not {type(strict).__name__} {strict!r}")
        self.namespace = check_namespace(namespace)
        self._prefix = namespace + SEPARATOR
        self._backend: Cache = backend.with_strict(True) if strict else backend

    def get(self, key: str) -> str | None:
        return self._backend.get(self._key(key))

    def get_bytes(self, key: str) -> bytes | None:
        return self._backend.get_bytes(self._key(key))

    def set(self, key: str, value: str | bytes, ttl: float | None = None) -> None:
        self._backend.set(self._key(key), value, ttl)

    def delete(self, key: str) -> bool:
        return self._backend.delete(self._key(key))

    def get_json(self, key: str) -> Any:
        return self._backend.get_json(self._key(key))

    def set_json(self, key: str, value: Any, ttl: float | None = None) -> None:
        self._backend.set_json(self._key(key), value, ttl)

    def get_or_set(self, key: str, compute: Callable[[], Any], ttl: float | None = None, **options: Any) -> Any:
        """``Cache.get_or_set`` under this namespace (``options``: ``refresh_ahead``, ``lock_ttl``, ``lock_wait``)."""
        return self._backend.get_or_set(self._key(key), compute, ttl, **options)

    def invalidate_pattern(self, pattern: str) -> int:
        """Delete this namespace's keys matching ``pattern`` (``"*"``: all of them)."""
        return self._backend.invalidate_pattern(self._prefix + check_pattern(pattern))

    def stats(self) -> CacheStats:
        """The shared backend's figures, for every namespace together."""
        return self._backend.stats()

    def _key(self, key: str) -> str:
        try:
            return self._prefix + key
        except TypeError:
            check_key(key)  # not a str: an InvalidArgumentError naming it, as the backends raise, not "can only concatenate str"
            raise

    def __repr__(self) -> str:
        return f"NamespacedCache({self.namespace!r}, {self._backend!r})"
