"""``HandlerThread``: a long-lived thread that runs listener handlers for one caller, replaced when a handler hangs.

Running handlers off the caller's thread is what lets a timeout bound them; keeping the thread
(instead of one per call) keeps that cheap. A thread left behind by a hung handler retires once the
handler returns, if it ever does.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

_STOP = None


class HandlerThread:
    """Runs submitted calls one after another on its own daemon thread."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, call: Callable[[], None]) -> None:
        self._calls.put(call)

    def retire(self) -> None:
        """Stop after the call in hand (a hung handler's thread ends when the handler returns)."""
        self._calls.put(_STOP)

    def _run(self) -> None:
        while (call := self._calls.get()) is not _STOP:
            try:
                call()
            except BaseException:  # a call records its own outcome; nothing may end this thread early
                logger.exception("A listener call failed outside its handler")


class HandlerThreads:
    """One ``HandlerThread`` per calling thread (the worker, each module's consumer), made on first use."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._made: list[HandlerThread] = []
        self._lock = threading.Lock()

    def current(self) -> HandlerThread:
        thread: HandlerThread | None = getattr(self._local, "thread", None)
        if thread is None:
            thread = self._local.thread = HandlerThread(f"listener-handlers-{threading.current_thread().name}"[:60])
            with self._lock:
                self._made.append(thread)
        return thread

    def replace(self) -> None:
        """The current thread's handler thread hangs: retire it, the next call gets a new one."""
        thread: HandlerThread | None = getattr(self._local, "thread", None)
        if thread is not None:
            thread.retire()
            with self._lock:
                self._made = [made for made in self._made if made is not thread]
        self._local.thread = None

    def close(self) -> None:
        """Retire every handler thread once its call in hand is done."""
        with self._lock:
            made, self._made = self._made, []
        for thread in made:
            thread.retire()
        self._local = threading.local()

    def after_fork(self) -> None:
        self._local = threading.local()
        self._made = []
        self._lock = threading.Lock()
