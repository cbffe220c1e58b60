"""``OverlappedSha256``: the SHA-256 of a file's chunks, hashed on a worker thread while the caller writes
them. hashlib releases the GIL on large buffers, so with a second core a save costs about the longer of
writing (with its fsync) and hashing instead of their sum."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor

INLINE_BELOW = 64 * 1024  # a lone chunk this small is hashed by the caller: a hand-over would cost more
MAX_AHEAD = 16 * 1024 * 1024  # bytes handed over and not hashed yet (one larger chunk alone may be); the caller waits beyond

_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


class OverlappedSha256:
    """Feed chunks in order with ``update``; ``hexdigest`` waits for the rest. At most one worker hashes
    for a given digest at a time (so the order is kept) and it holds no thread once the queue is empty,
    so an abandoned upload leaves nothing running."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._queue: deque[bytes | memoryview] = deque()
        self._ahead = 0
        self._hashing = False
        self._changed = threading.Condition()

    def update(self, chunk: bytes | memoryview) -> None:
        with self._changed:
            if not self._hashing and len(chunk) < INLINE_BELOW:
                self._hash.update(chunk)
                return
            self._changed.wait_for(lambda: self._ahead == 0 or self._ahead + len(chunk) <= MAX_AHEAD)
            self._queue.append(chunk)
            self._ahead += len(chunk)
            if not self._hashing:
                self._hashing = True
                _workers().submit(self._hash_queue)

    def hexdigest(self) -> str:
        with self._changed:
            self._changed.wait_for(lambda: not self._hashing)
            return self._hash.hexdigest()

    def _hash_queue(self) -> None:
        try:
            while chunk := self._next():
                self._hash.update(chunk)
                with self._changed:
                    self._ahead -= len(chunk)
                    self._changed.notify_all()
        finally:
            with self._changed:  # also when hashing failed (out of memory): never leave hexdigest waiting
                self._queue.clear()
                self._hashing = False
                self._changed.notify_all()

    def _next(self) -> bytes | memoryview | None:
        with self._changed:
            return self._queue.popleft() if self._queue else None


def _workers() -> ThreadPoolExecutor:
    """The process's hashing threads, made again in a forked child (threads do not survive a fork)."""
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid():
        with _pool_lock:
            if _pool is None or _pool_pid != os.getpid():
                _pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="storage-sha256")
                _pool_pid = os.getpid()
    return _pool
