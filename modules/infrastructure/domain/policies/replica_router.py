"""Round-robin over read replicas, skipping one that failed for a cool-down."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence


class ReplicaRouter:
    """Hands out replica labels in turn; a replica marked failed is skipped for ``cooldown`` seconds."""

    def __init__(self, replicas: Sequence[str], cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._replicas = tuple(replicas)
        self._cooldown = cooldown
        self._clock = clock
        self._turn = itertools.count()
        self._failed_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def candidates(self) -> list[str]:
        """Healthy replicas, starting with the next one in turn."""
        if not self._replicas:
            return []
        start = next(self._turn) % len(self._replicas)
        ordered = self._replicas[start:] + self._replicas[:start]
        now = self._clock()
        with self._lock:
            return [r for r in ordered if self._failed_until.get(r, 0.0) <= now]

    def mark_failed(self, replica: str) -> None:
        with self._lock:
            self._failed_until[replica] = self._clock() + self._cooldown
