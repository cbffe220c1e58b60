"""``Database``: the component behind the facade's database calls, primary and read replicas.

Nothing is imported from SQLAlchemy or a driver until the first session, so a process that
never touches the database never loads them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from modules.infrastructure.domain.config.values import DatabaseConfig
from modules.infrastructure.domain.database.values import PRIMARY, MigrationStatus, PoolStats, replica_labels
from modules.infrastructure.domain.errors import ConfigurationError, DatabaseConnectionError, InvalidArgumentError
from modules.infrastructure.domain.policies.recent_writers import RecentWriters, Scope, checked_key, key_scope, thread_scope
from modules.infrastructure.domain.policies.replica_router import ReplicaRouter
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.domain.tracing.ports import NO_TRACING, Tracer
from modules.infrastructure.infrastructure.database.session import DatabaseSession

if TYPE_CHECKING:
    from modules.infrastructure.infrastructure.database.connection_manager import ConnectionManager, SessionObserver
    from modules.infrastructure.infrastructure.database.migrations import MigrationRunner
    from modules.infrastructure.infrastructure.database.readiness_probe import ReadinessProbe

logger = logging.getLogger(__name__)
R = TypeVar("R")


class Database:
    """Sessions, transactions, migrations and pool figures of the configured databases.

    ``read_only`` sessions go to the replicas in turn; a replica that cannot be reached (or whose
    driver is not installed) is skipped for ``replica_cooldown`` seconds and the session falls
    back to the primary. Read your writes: for ``read_your_writes_seconds`` after a session on the
    primary commits a write, read-only sessions of its thread, or of its ``consistency_key``, go to
    the primary too (remembered in this process only).
    """

    def __init__(
        self, config: DatabaseConfig, redactor: Redactor, session_observer: SessionObserver | None = None, tracer: Tracer = NO_TRACING
    ) -> None:
        self.config = config
        self._tracer = tracer
        self._redactor = redactor
        self._session_observer = session_observer
        self._router = ReplicaRouter(replica_labels(config.replica_urls), config.replica_cooldown)
        self._writers = RecentWriters(config.read_your_writes_seconds if config.reads_your_writes else 0.0)
        self._engines: ConnectionManager | None = None
        self._probe: ReadinessProbe | None = None
        self._lock = threading.Lock()

    @property
    def engines(self) -> ConnectionManager:
        """The pooled engines, one per URL; SQLAlchemy is imported here, on first use."""
        if self._engines is None:
            with self._lock:
                if self._engines is None:
                    from modules.infrastructure.infrastructure.database.connection_manager import ConnectionManager

                    self._engines = ConnectionManager(self.config, self._redactor, self._session_observer)
        return self._engines

    def session(self, read_only: bool = False, *, traced: bool = False, consistency_key: str | int | None = None) -> DatabaseSession:
        """A session on the primary, or on a replica when ``read_only`` and replicas are configured (unless its thread, or
        ``consistency_key`` when given, wrote lately); ``traced``: its ``with`` block is a span (a caller's session; the
        module's own background sessions would start a trace every poll)."""
        if not isinstance(read_only, bool):
            raise InvalidArgumentError(f"get_database_session(read_only=...) takes True or False, not {type(read_only).__name__} {read_only!r}"[:200])
        db = self._session(read_only, _checked_key(consistency_key, "get_database_session"))
        if traced:
            db.tracer = self._tracer
        return db

    def _session(self, read_only: bool, key: str | int | None) -> DatabaseSession:
        if not self._writers.enabled:
            return self._routed(read_only)
        if read_only:
            if self._writers.reads_from_primary(key_scope(key) if key is not None else thread_scope(threading.get_ident())):
                return self.engines.session(PRIMARY, read_only=True)
            return self._routed(read_only)
        from modules.infrastructure.infrastructure.database.write_aware_session import watch

        db = self.engines.session(PRIMARY)
        watch(db.session, self._writers, _scopes(key))
        return db

    def _routed(self, read_only: bool) -> DatabaseSession:
        if read_only:
            candidates = self._router.candidates()
            for n, label in enumerate(candidates, start=1):
                try:
                    return self.engines.session(label, read_only=True)
                except (DatabaseConnectionError, ConfigurationError) as exc:  # unreachable, or its driver is missing
                    self._router.mark_failed(label)
                    why = "unreachable" if isinstance(exc, DatabaseConnectionError) else "unusable"
                    then = "using the primary" if n == len(candidates) else "trying the next replica"
                    logger.warning("Replica %s %s, skipped for %gs; %s: %s", label, why, self.config.replica_cooldown, then, exc)
        return self.engines.session(PRIMARY, read_only=read_only)

    def run_in_transaction(self, fn: Callable[[DatabaseSession], R], retries: int = 3, consistency_key: str | int | None = None) -> R:
        """``fn(session)`` in one committed transaction, run again after a conflict or a connection failure that left
        nothing committed (never after ``DatabaseCommitUnknownError``). Once committed it counts as a write for read
        your writes, whatever ``fn`` did (a unit of work is there to change data)."""
        from modules.infrastructure.infrastructure.database.transactions import run_in_transaction

        key = _checked_key(consistency_key, "run_in_transaction")
        with self._tracer.span("database transaction", attributes={"infrastructure.db.retries": retries}):
            result = run_in_transaction(lambda: self.session(consistency_key=key), fn, retries)
        self._writers.wrote(_scopes(key))
        return result

    def migrate(self, target: str = "heads") -> MigrationStatus:
        """Upgrade the primary database to ``target`` with every module's migrations; an unknown ``target`` is an
        ``InvalidArgumentError`` naming it."""
        if not isinstance(target, str) or not target.strip():
            raise InvalidArgumentError(f"migrate(target=...) takes a revision, a branch@head or 'heads', not {target!r}"[:200])
        from alembic.util import CommandError

        try:
            return self._migrations(lambda runner: runner.upgrade(target))
        except CommandError as exc:  # Alembic's word for a target it cannot resolve
            raise InvalidArgumentError(f"migrate(target={target[:80]!r}) cannot be done: {exc}; see migration_status().heads") from exc

    def migration_status(self) -> MigrationStatus:
        """Current revisions, heads and pending count of the primary database."""
        return self._migrations(lambda runner: runner.status())

    def ping(self, label: str = PRIMARY) -> bool:
        """Whether ``label`` answers a round trip now."""
        return self.engines.ping(label)

    def probe(self, timeout: float) -> float:
        """Milliseconds a round trip to the primary took on a connection of its own, not the pool's (which may all be
        in use), connecting included and within ``timeout`` seconds: the readiness probe's check."""
        with self._lock:
            probe, replaced = self._probe, None
            if probe is None or probe.timeout != timeout:
                from modules.infrastructure.infrastructure.database.readiness_probe import ReadinessProbe

                replaced, probe = probe, ReadinessProbe(self.config, self._redactor, timeout, lambda: self.engines.get_connection(PRIMARY))
                self._probe = probe
        if replaced is not None:
            replaced.close()
        return probe.round_trip()

    def stats(self) -> list[PoolStats]:
        """Pool figures of every engine built so far (none before the first session)."""
        return [] if self._engines is None else self._engines.stats()

    def rotate_passwords(self, config: DatabaseConfig) -> None:
        """Use ``config``, which differs from the current one at most in its URLs' passwords, for new connections."""
        with self._lock:
            self.config = config
            if self._engines is not None:
                self._engines.rotate_passwords(config)
            if self._probe is not None:
                self._probe.rotate(config.url)

    def close(self) -> None:
        """Close every pooled connection (and the readiness probe's engine); the next session opens new ones."""
        with self._lock:
            probe, self._probe = self._probe, None
        if probe is not None:
            probe.close()
        if self._engines is not None:
            self._engines.close()

    def after_fork(self) -> None:
        """In a forked child: new pools, leaving the parent's connections open for the parent."""
        self._lock = threading.Lock()
        self._writers.after_fork()
        probe, self._probe = self._probe, None  # the child builds its own on its first check
        if probe is not None:
            probe.after_fork()
        if self._engines is not None:
            self._engines.after_fork()

    def _migrations(self, action: Callable[[MigrationRunner], MigrationStatus]) -> MigrationStatus:
        from modules.infrastructure.infrastructure.database.migrations import MigrationRunner

        engines = self.engines
        with engines.errors():
            return action(MigrationRunner(engines.create_connection_pool()))


def _checked_key(key: object, caller: str) -> str | int | None:
    try:
        return checked_key(key)
    except ValueError as exc:
        raise InvalidArgumentError(f"{caller}: {exc}") from None


def _scopes(key: str | int | None) -> list[Scope]:
    """Who a write on the primary answers for: the calling thread, and the caller's key when given."""
    thread = thread_scope(threading.get_ident())
    return [thread] if key is None else [thread, key_scope(key)]
