"""``ConnectionManager``: one pooled SQLAlchemy engine per database URL, and sessions from it."""

from __future__ import annotations

import itertools
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from modules.infrastructure.domain.config.values import DatabaseConfig
from modules.infrastructure.domain.database.values import PRIMARY, PoolStats, replica_labels
from modules.infrastructure.domain.errors import DatabaseError
from modules.infrastructure.domain.secrets import Redactor, mask_url, url_password
from modules.infrastructure.infrastructure.database.checkout_ping import install_checkout_ping
from modules.infrastructure.infrastructure.database.credentials import ConnectCredentials, connect_password
from modules.infrastructure.infrastructure.database.drivers import create_database_engine
from modules.infrastructure.infrastructure.database.engine_options import engine_arguments, is_sqlite_memory
from modules.infrastructure.infrastructure.database.error_mapping import DatabaseErrors, PoolFacts
from modules.infrastructure.infrastructure.database.session import DatabaseSession
from modules.infrastructure.infrastructure.database.sqlite_file import create_private, database_path
from modules.infrastructure.infrastructure.database.write_aware_session import WriteAwareSession

logger = logging.getLogger(__name__)

_READ_ONLY = {"postgresql_readonly": True}
_sqlite_connections = itertools.count(1)
SessionObserver = Callable[[str], Callable[[float], None]]  # engine label -> called with each session's seconds


@dataclass
class _Pool:
    label: str
    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    errors: DatabaseErrors
    observe: Callable[[float], None] | None = None
    credentials: ConnectCredentials | None = None
    # What a session's span says about this database (OpenTelemetry's attribute names), read-write then read-only.
    span_attributes: tuple[dict[str, Any], dict[str, Any]] = ({}, {})



class ConnectionManager:
    """Builds engines lazily (one per distinct URL), hands out sessions, and maps driver errors."""

    def __init__(
        self, config: DatabaseConfig, redactor: Redactor | None = None, session_observer: SessionObserver | None = None
    ) -> None:
        self.config = config
        self._session_observer = session_observer
        self._urls = {PRIMARY: config.url, **dict(zip(replica_labels(config.replica_urls), config.replica_urls))}
        passwords = {p for p in map(url_password, self._urls.values()) if p}
        self._redactor = redactor or Redactor(passwords)
        self._redactor.add(passwords)
        self._pools: dict[str, _Pool] = {}
        self._by_url: dict[str, _Pool] = {}
        self._lock = threading.Lock()

    def create_connection_pool(self, config: DatabaseConfig | None = None, label: str = PRIMARY) -> Engine:
        """The engine (and its pool) for ``label``, built on first use; ``config`` defaults to the manager's."""
        return self._pool(label, config).engine

    def get_connection(self, label: str = PRIMARY) -> Connection:
        """A raw SQLAlchemy ``Connection`` from the pool; close it (or use ``with``) to return it."""
        pool = self._pool(label)
        with pool.errors:
            return pool.engine.connect()

    def session(self, label: str = PRIMARY, read_only: bool = False) -> DatabaseSession:
        """A session holding a checked-out connection (checked by ``checkout_ping``), read-only on PostgreSQL when asked."""
        pool = self._pool(label)
        opened_at = perf_counter()  # after the engine is built: the histogram is about sessions
        session = pool.sessions()
        options = _READ_ONLY if read_only and pool.engine.dialect.name == "postgresql" else None
        try:
            connection = session.connection(execution_options=options)
        except Exception as exc:
            session.close()
            pool.errors.raise_mapped(exc)
        except BaseException:
            session.close()
            raise
        connection_id = connection.connection.info.get("connection_id", pool.label)
        return DatabaseSession(session, connection_id, pool.errors, pool.observe, opened_at, span_attributes=pool.span_attributes[read_only])

    def errors(self, label: str = PRIMARY) -> DatabaseErrors:
        """The seam of ``label``: ``with manager.errors():`` raises driver errors as ``DatabaseError`` subclasses."""
        return self._pool(label).errors

    def ping(self, label: str = PRIMARY) -> bool:
        try:
            with self.get_connection(label) as connection:
                connection.execute(text("SELECT 1"))
            return True
        except DatabaseError:
            return False

    def stats(self) -> list[PoolStats]:
        """Pool figures per engine built so far (``checkedout()``/``checkedin()``/``size()``)."""
        return [_stats(pool) for pool in list(self._by_url.values())]

    def rotate_passwords(self, config: DatabaseConfig) -> None:
        """Take ``config``'s URLs, which differ from the current ones at most in their passwords: connections
        made from now on use the new password (the previous one once more if the server refuses it, while
        the rotation reaches the server); the open ones go on. Nothing is closed."""
        urls = {PRIMARY: config.url, **dict(zip(replica_labels(config.replica_urls), config.replica_urls))}
        self._redactor.add({p for p in map(url_password, urls.values()) if p})
        with self._lock:
            for label, url in urls.items():
                pool = self._pools.get(label)
                if pool is not None and pool.credentials is not None and url != pool.url:
                    pool.credentials.rotate(connect_password(url))
                    self._by_url[url] = self._by_url.pop(pool.url, pool)
                    pool.url = url
            self._urls, self.config = urls, config

    def close(self) -> None:
        """Close every pooled connection and forget the engines."""
        with self._lock:
            pools, self._pools, self._by_url = list(self._by_url.values()), {}, {}
        for pool in pools:
            pool.engine.dispose()

    def after_fork(self) -> None:
        """In a forked child: new pools, leaving the parent's connections open for the parent."""
        self._lock = threading.Lock()
        for pool in self._by_url.values():
            pool.engine.dispose(close=False)

    def _pool(self, label: str, config: DatabaseConfig | None = None) -> _Pool:
        pool = self._pools.get(label)
        if pool is not None:
            return pool
        if label not in self._urls:
            raise DatabaseError(f"No database is configured as '{label}'; known: {', '.join(self._urls)}")
        with self._lock:
            if label not in self._pools:
                url = self._urls[label]
                self._pools[label] = self._by_url.get(url) or self._build(label, url, config or self.config)
                self._by_url[url] = self._pools[label]
            return self._pools[label]

    def _build(self, label: str, url: str, config: DatabaseConfig) -> _Pool:
        sqlite_file = database_path(make_url(url))
        if sqlite_file is not None:
            create_private(sqlite_file)
        setting = "DATABASE_URL" if label == PRIMARY else "DATABASE_REPLICA_URLS"
        engine = create_database_engine(url, setting, **engine_arguments(url, config))
        facts = PoolFacts(label, config.pool_size, config.max_overflow, config.pool_timeout, config.statement_timeout_ms)
        errors = DatabaseErrors(facts, self._redactor)
        event.listen(engine, "connect", _on_connect(label, engine.dialect.name))
        credentials = ConnectCredentials(connect_password(url))
        event.listen(engine, "do_connect", credentials.connect)
        if config.pool_pre_ping and not is_sqlite_memory(engine.url):
            install_checkout_ping(engine, config.pool_pre_ping_idle_seconds)
        # Statements run outside any ``with errors:`` block (a plain session's Query methods, lazy loads) are mapped here.
        event.listen(engine, "handle_error", errors.statement_error, retval=True)
        logger.debug("Database engine '%s' created for %s", label, mask_url(url))
        observe = self._session_observer(label) if self._session_observer else None
        # The primary's sessions note their writes for read your writes; other sessions have no listener to run.
        session_class = WriteAwareSession if label == PRIMARY and self.config.reads_your_writes else Session
        return _Pool(label, url, engine, sessionmaker(engine, class_=session_class, expire_on_commit=False), errors, observe, credentials, _span_attributes(label, engine))


def _span_attributes(label: str, engine: Engine) -> tuple[dict[str, Any], dict[str, Any]]:
    about = {"db.system.name": engine.dialect.name, "db.namespace": engine.url.database or "", "infrastructure.db.engine": label}
    return {**about, "infrastructure.db.read_only": False}, {**about, "infrastructure.db.read_only": True}


def _on_connect(label: str, dialect: str) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, record: Any) -> None:
        if dialect == "sqlite":
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()
            record.info["connection_id"] = f"{label}/sqlite-{os.getpid()}-{next(_sqlite_connections)}"
        elif dialect == "postgresql":
            record.info["connection_id"] = f"{label}/pid-{dbapi_connection.info.backend_pid}"

    return on_connect


def _stats(pool: _Pool) -> PoolStats:
    queue = pool.engine.pool
    if not isinstance(queue, QueuePool):
        return PoolStats(pool.label, pool.url, 1, 0, 0, 0, 0)
    size, checked_in, checked_out = queue.size(), queue.checkedin(), queue.checkedout()
    overflow = max(0, checked_in + checked_out - size)
    return PoolStats(pool.label, pool.url, size, checked_in, checked_out, overflow, pool.errors.facts.max_overflow)
