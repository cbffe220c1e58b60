"""``OverlappedSha256``: the SHA-256 of a file's chunks, hashed on a worker thread while the caller writes
them. hashlib releases the GIL on large buffers, so with a second core a save costs about the longer of
writing (with its fsync) and hashing instead of their sum."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from modules.infrastructure.domain.errors import StorageError

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
        self._queue: deque[tuple[bytes | memoryview, int]] = deque()  # chunk, bytes it holds in memory
        self._ahead = 0
        self._hashing = False
        self._failure: BaseException | None = None
        self._changed = threading.Condition()

    def update(self, chunk: bytes | memoryview, *, held: bool = True) -> None:
        """Queue ``chunk``; ``held=False`` for a view of bytes the caller keeps whole anyway, which costs no memory
        to queue and so never makes the caller wait (its hash then overlaps the write's final fsync too)."""
        size = len(chunk) if held else 0
        with self._changed:
            if not self._hashing and len(chunk) < INLINE_BELOW:
                self._hash.update(chunk)
                return
            self._changed.wait_for(lambda: self._ahead == 0 or self._ahead + size <= MAX_AHEAD)
            if self._failure is not None:
                return  # hexdigest raises it
            self._queue.append((chunk, size))
            self._ahead += size
            if not self._hashing:
                self._hashing = True
                _workers().submit(self._hash_queue)

    def hexdigest(self) -> str:
        """The digest of every chunk given; raises what stopped the worker (out of memory), never a partial digest."""
        with self._changed:
            self._changed.wait_for(lambda: not self._hashing)
            if self._failure is not None:
                raise StorageError("The SHA-256 of the file could not be computed; nothing was kept") from self._failure
            return self._hash.hexdigest()

    def _hash_queue(self) -> None:
        """Hash queued chunks until none is left; deciding to stop and clearing ``_hashing`` happen under one
        lock, so a chunk queued meanwhile is never missed."""
        while True:
            with self._changed:
                if not self._queue or self._failure is not None:
                    self._queue.clear()
                    self._ahead = 0
                    self._hashing = False
                    self._changed.notify_all()
                    return
                chunk, size = self._queue.popleft()
            try:
                self._hash.update(chunk)
            except BaseException as exc:  # out of memory: hexdigest raises it rather than give a partial digest
                self._failure = exc
            with self._changed:
                self._ahead -= size
                self._changed.notify_all()


def _workers() -> ThreadPoolExecutor:
    """The process's hashing threads, made again in a forked child (threads do not survive a fork)."""
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid():
        with _pool_lock:
            if _pool is None or _pool_pid != os.getpid():
                _pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="storage-sha256")
                _pool_pid = os.getpid()
    return _pool
