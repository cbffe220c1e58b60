"""A background thread that drains work (the outbox relay, the listeners) when woken after a commit, and on a timer if asked."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from modules.infrastructure.domain.errors import InfrastructureError

logger = logging.getLogger(__name__)

WARN_EVERY = 30.0


class RelayWorker:
    """Runs ``drain`` in its own thread (so it owns its broker connection) whenever woken.

    With ``poll_interval`` it also drains on that timer, picking up events left pending while
    the broker was away.
    """

    def __init__(
        self, drain: Callable[[], object], poll_interval: float | None = None, *, name: str = "outbox-relay", waiting: str = "events stay pending"
    ) -> None:
        self._drain = drain
        self._name = name
        self._waiting = waiting
        self._poll_interval = poll_interval
        self._event = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last_warning = float("-inf")

    def wake(self, *_: object) -> None:
        """Ask for a relay run soon; starts the thread on first use. Accepts and ignores event arguments."""
        self.start()
        self._event.set()

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stopping.clear()
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread after its current run."""
        self._stopping.set()
        self._event.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def after_fork(self) -> None:
        """In a forked child: the thread did not come along; the next ``wake`` starts one of the child's own."""
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._thread = None
        self._stopping = threading.Event()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._event.wait(self._poll_interval)
            self._event.clear()
            if self._stopping.is_set():
                break
            self._drain_safely()

    def _drain_safely(self) -> None:
        try:
            self._drain()
        except InfrastructureError as exc:
            now = time.monotonic()
            if now - self._last_warning >= WARN_EVERY:
                self._last_warning = now
                logger.warning("%s could not run; %s: %s", self._name, self._waiting, exc)
        except Exception:  # the thread must survive to run later
            logger.exception("%s failed unexpectedly; %s", self._name, self._waiting)
