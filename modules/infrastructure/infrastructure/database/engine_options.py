"""From ``DatabaseConfig`` to ``create_engine`` arguments, per dialect."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool, StaticPool

from modules.infrastructure.domain.config.values import DatabaseConfig


def is_sqlite_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def engine_arguments(raw_url: str, config: DatabaseConfig) -> dict[str, Any]:
    """Keyword arguments for ``create_engine(raw_url, **kwargs)``.

    Pooled engines reuse the most recent connection first (LIFO), so idle connections can time out
    server-side; their liveness check is ``checkout_ping``, not SQLAlchemy's ``pool_pre_ping``, which
    costs a round trip on every checkout. In-memory SQLite gets one shared
    connection (StaticPool), so every session sees the same database; a SQLite file waits
    ``DB_POOL_TIMEOUT`` for its write lock.
    """
    url = make_url(raw_url)
    if is_sqlite_memory(url):
        return {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}, "echo": config.echo}
    arguments: dict[str, Any] = {
        "pool_size": config.pool_size,
        "max_overflow": config.max_overflow,
        "pool_timeout": config.pool_timeout,
        "pool_recycle": config.pool_recycle,
        "pool_use_lifo": True,
        "echo": config.echo,
    }
    if url.get_backend_name() == "postgresql":
        arguments["connect_args"] = postgres_connect_args(url, config)
    elif url.get_backend_name() == "sqlite":
        arguments["connect_args"] = sqlite_connect_args(url, config)
    return arguments


def probe_arguments(raw_url: str, config: DatabaseConfig, timeout: float) -> dict[str, Any]:
    """``create_engine`` arguments for the readiness probe's own connections: no pool (a connection opened for each
    check and closed after it), ``timeout`` seconds as the connect and statement timeout (SQLite: its busy timeout).
    Not for in-memory SQLite, whose database lives in the pool's one connection."""
    bounded = replace(config, connect_timeout=timeout, statement_timeout_ms=math.ceil(timeout * 1000), pool_timeout=timeout)
    pooled = ("pool_size", "max_overflow", "pool_timeout", "pool_recycle", "pool_use_lifo")
    arguments = {key: value for key, value in engine_arguments(raw_url, bounded).items() if key not in pooled}
    return {**arguments, "poolclass": NullPool}


def sqlite_connect_args(url: URL, config: DatabaseConfig) -> dict[str, Any]:
    """SQLite's busy timeout is ``DB_POOL_TIMEOUT``: a session waits that long for the write lock, as for a connection.

    (sqlite3 turns it into whole milliseconds in a C int, one reason the setting stops at 2147483 s.)
    A ``timeout`` in the URL's query string wins.
    """
    return {} if "timeout" in url.query else {"timeout": config.pool_timeout}


def postgres_connect_args(url: URL, config: DatabaseConfig) -> dict[str, Any]:
    """libpq settings from the configuration; a value given in the URL's query string wins (for TLS it is the same one)."""
    wanted: dict[str, Any] = {
        "connect_timeout": max(1, round(config.connect_timeout)),
        "application_name": config.application_name,
    }
    if config.statement_timeout_ms:
        wanted["options"] = f"-c statement_timeout={config.statement_timeout_ms}"
    wanted.update(postgres_tls_args(config))
    return {key: value for key, value in wanted.items() if key not in url.query}


def postgres_tls_args(config: DatabaseConfig) -> dict[str, str]:
    """libpq's sslmode, sslrootcert, sslcert and sslkey from the DB_SSL* settings (a conflicting URL is refused at start-up)."""
    given = {
        "sslmode": config.ssl_mode,
        "sslrootcert": config.tls.ca_file,
        "sslcert": config.tls.cert_file,
        "sslkey": config.tls.key_file,
    }
    return {key: value for key, value in given.items() if value}
