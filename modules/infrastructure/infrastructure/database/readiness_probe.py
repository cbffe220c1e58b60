"""``ReadinessProbe``: one round trip to the primary database on a connection of its own, for the readiness probe.

The application's pool may have every connection checked out by busy requests: the probe must not wait for one
(it would report "not ready" and take the process out of traffic for being busy). It opens a connection for each
check and closes it after (no pool, so a check abandoned at its timeout holds nothing the next one needs), within
the check's timeout as connect and statement timeout, with the pool's URL, TLS settings and rotated password.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url

from modules.infrastructure.domain.config.values import DatabaseConfig
from modules.infrastructure.domain.database.values import PRIMARY
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.database.credentials import ConnectCredentials, connect_password
from modules.infrastructure.infrastructure.database.drivers import create_database_engine
from modules.infrastructure.infrastructure.database.engine_options import is_sqlite_memory, probe_arguments
from modules.infrastructure.infrastructure.database.error_mapping import DatabaseErrors, PoolFacts
from modules.infrastructure.infrastructure.database.sqlite_file import create_private, database_path


class ReadinessProbe:
    """Round trips to ``config.url`` within ``timeout`` seconds on connections of the probe's own; in-memory SQLite
    (a database that exists only in the pool's one shared connection) goes through ``pooled`` instead."""

    def __init__(self, config: DatabaseConfig, redactor: Redactor, timeout: float, pooled: Callable[[], Connection]) -> None:
        self.timeout = timeout
        self._pooled = pooled
        self._errors = DatabaseErrors(PoolFacts(PRIMARY, 0, 0, timeout, math.ceil(timeout * 1000)), redactor)
        self._credentials = ConnectCredentials(connect_password(config.url))
        self._engine: Engine | None = None
        url = make_url(config.url)
        if not is_sqlite_memory(url):
            sqlite_file = database_path(url)
            if sqlite_file is not None:
                create_private(sqlite_file)
            self._engine = create_database_engine(config.url, "DATABASE_URL", **probe_arguments(config.url, config, timeout))
            event.listen(self._engine, "do_connect", self._credentials.connect)

    def round_trip(self) -> float:
        """Milliseconds a ``SELECT 1`` took, connecting included; raises the ``DatabaseError`` of a failure."""
        started = time.perf_counter()
        with self._errors, self._connect() as connection:
            connection.execute(text("SELECT 1"))
        return (time.perf_counter() - started) * 1000

    def rotate(self, url: str) -> None:
        """New connections use ``url``'s password (the previous one too while the server changes over)."""
        self._credentials.rotate(connect_password(url))

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def after_fork(self) -> None:
        """In a forked child: a check running in the parent keeps its connection; this process opens its own."""
        if self._engine is not None:
            self._engine.dispose(close=False)

    def _connect(self) -> Connection:
        return self._pooled() if self._engine is None else self._engine.connect()
