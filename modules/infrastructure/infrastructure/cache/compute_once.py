"""``ComputeOnce``: ``get_or_set`` for a cache backend, built on its reads, writes and key locks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modules.infrastructure.domain.cache.get_or_compute import ComputeOptions, get_or_compute
from modules.infrastructure.domain.cache.keys import check_key
from modules.infrastructure.domain.cache.single_flight import SingleFlight
from modules.infrastructure.domain.cache.values import decode_text
from modules.infrastructure.domain.errors import CacheError, InvalidArgumentError

# A key's computation lock lives beside it, outside every namespace (those start with a letter), so no caller's key
# and no pattern invalidation touches it.
LOCK_PREFIX = "\x00lock:"


class ComputeOnce:
    """Mixin for backends with ``get_bytes``, ``get_bytes_with_ttl``, ``set_json``, ``lock`` and ``unlock``."""

    _flights: SingleFlight

    def get_or_set(
        self,
        key: str,
        compute: Callable[[], Any],
        ttl: float | None = None,
        *,
        refresh_ahead: float | None = None,
        lock_ttl: float = 10.0,
        lock_wait: float = 10.0,
    ) -> Any:
        """The JSON value under ``key``; when there is none, ``compute()``'s, stored for ``ttl`` seconds.

        One caller computes a missing key at a time (threads of this process wait for it; other processes wait up
        to ``lock_wait`` seconds, then compute themselves); with ``refresh_ahead``, one caller recomputes a value
        that expires within that many seconds while the others still get it. An exception from ``compute`` reaches
        the callers waiting for it and stores nothing.
        """
        check_key(key)
        if not callable(compute):
            raise InvalidArgumentError(f"get_or_set needs a function to compute the value, not {type(compute).__name__}")
        options = ComputeOptions.checked(ttl, refresh_ahead, lock_ttl, lock_wait)
        return get_or_compute(self, self._flights, key, compute, options)  # type: ignore[arg-type]

    def read_text(self, key: str, with_ttl: bool) -> tuple[str | None, float | None]:
        """The text under ``key`` and, when asked, its remaining seconds; a value that is not UTF-8 is no text."""
        raw, remaining = self.get_bytes_with_ttl(key) if with_ttl else (self.get_bytes(key), None)
        if raw is None:
            return None, None
        try:
            return decode_text(key, raw), remaining
        except CacheError:
            return None, None

    def get_bytes(self, key: str) -> bytes | None:
        raise NotImplementedError

    def get_bytes_with_ttl(self, key: str) -> tuple[bytes | None, float | None]:
        raise NotImplementedError
