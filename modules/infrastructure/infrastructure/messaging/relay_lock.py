"""``SQLiteRelayLock``: one relay run at a time on a SQLite database file, across processes.

PostgreSQL relays claim rows with ``FOR UPDATE SKIP LOCKED``; SQLite has no row locks, so two
processes relaying one file would both claim and send the same rows. An exclusive ``flock`` on a
file next to the database, held for each run, makes the second relay wait its turn.
"""

from __future__ import annotations

import fcntl
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from modules.infrastructure.domain.errors import MessagingError

LOCK_SUFFIX = ".relay-lock"
WAIT = 30.0  # seconds a relay waits for another process's run before giving up, when its own run has no timeout


class SQLiteRelayLock:
    """An exclusive lock on ``<database file>.relay-lock``; ``held(wait)`` waits up to ``wait`` seconds for it."""

    def __init__(self, database_file: str | os.PathLike[str]) -> None:
        self.database_file = Path(database_file).absolute()
        self.path = self.database_file.with_name(self.database_file.name + LOCK_SUFFIX)

    @contextmanager
    def held(self, wait: float | None = None) -> Iterator[None]:
        """Hold the lock for the block; ``MessagingError`` when another process held it for ``wait`` seconds."""
        limit = WAIT if wait is None else max(0.0, wait)
        descriptor = self._open()
        try:
            self._acquire(descriptor, limit)
            try:
                os.ftruncate(descriptor, 0)
                os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)  # names the holder in the other process's error
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)  # explicitly: a forked child may hold a copy of the descriptor
        finally:
            os.close(descriptor)

    def _open(self) -> int:
        try:
            mode = stat.S_IMODE(self.database_file.stat().st_mode) & 0o666
        except OSError:
            mode = 0o600
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, mode)
        except OSError as exc:
            raise MessagingError(
                f"The outbox relay cannot open its lock file {self.path} ({exc.strerror}); it must be able to "
                "create and write files in the SQLite database's folder, as SQLite itself does. Events stay pending."
            ) from exc

    def _acquire(self, descriptor: int, wait: float) -> None:
        deadline = time.monotonic() + wait
        pause = 0.001
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise self._busy(descriptor, wait) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.05)

    def _busy(self, descriptor: int, wait: float) -> MessagingError:
        holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip()
        process = f"process {holder}" if holder.isdigit() else "another process"
        return MessagingError(
            f"Another outbox relay ({process}) has been relaying the SQLite database {self.database_file} for over "
            f"{wait:g} s (lock file {self.path}). SQLite cannot let two relays claim rows at once, so relays take "
            "turns; run one relay per SQLite file, or use PostgreSQL for several. The events stay pending."
        )


def relay_lock_for(database_url: str) -> SQLiteRelayLock | None:
    """The lock for a SQLite database file; ``None`` for in-memory SQLite (private to the process) and other databases."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database.startswith("file:"):  # a SQLite URI filename (``?uri=true``)
        database = database[len("file:") :].split("?", 1)[0]
        if url.query.get("mode") == "memory":
            return None
    if database in ("", ":memory:"):
        return None
    return SQLiteRelayLock(database)
