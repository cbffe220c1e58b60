"""Scratch objects on the real PostgreSQL for the database integration tests.

Every name carries a random suffix, so parallel runs on one server do not collide, and every
object is dropped when its ``with`` block ends, even after a failure::

    with scratch_database(postgres_url, "infra_replica") as replica_url: ...
    with scratch_table(postgres_url, "amount integer NOT NULL") as table: ...

Administrative statements (CREATE/DROP DATABASE) run on an AUTOCOMMIT connection of a
throw-away engine, never through the facade under test.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from modules.infrastructure.domain.config.parsers import normalise_database_url
from modules.infrastructure.module_api import InfrastructureService

# A port nothing listens on: connecting is refused at once.
DEAD_POSTGRES_URL = "postgresql://postgres@127.0.0.1:1/nowhere"


def use_postgres(monkeypatch: pytest.MonkeyPatch, url: str, **settings: str) -> None:
    """Point the facade at ``url`` with ``settings`` (``DB_POOL_SIZE="1"``, ...) and make it reread them.

    Use after the ``clean_env`` fixture, which undoes the variables and resets the facade again.
    """
    monkeypatch.setenv("DATABASE_URL", url)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    InfrastructureService.reset()


def unique_name(prefix: str) -> str:
    """``prefix`` plus a random suffix: a valid, unquoted PostgreSQL identifier."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database on the same server (password kept)."""
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def engine_url(url: str) -> str:
    """``url`` as SQLAlchemy itself needs it: the driver named, as the module does with what users write."""
    return normalise_database_url(url)


def admin_engine(url: str) -> Engine:
    """An AUTOCOMMIT engine without a pool, for DDL outside the code under test."""
    return create_engine(engine_url(url), isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 5})


def execute(url: str, *statements: str) -> None:
    """Run ``statements`` in autocommit mode on a connection of its own."""
    engine = admin_engine(url)
    try:
        with engine.connect() as connection:
            # A lock left by a failed test must not hang the clean-up for ever.
            connection.execute(text("SET lock_timeout = '5s'"))
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def scalar(url: str, statement: str, **params: object) -> object:
    """The single value ``statement`` returns, read on a connection of its own."""
    engine = admin_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(statement), params).scalar()
    finally:
        engine.dispose()


@contextmanager
def scratch_database(url: str, prefix: str) -> Iterator[str]:
    """A new, empty database on ``url``'s server; yields its URL and drops it (WITH FORCE) afterwards."""
    name = unique_name(prefix)
    execute(url, f'CREATE DATABASE "{name}"')
    try:
        yield with_database(url, name)
    finally:
        execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def migrated_scratch_facade(monkeypatch: pytest.MonkeyPatch, url: str, prefix: str, **settings: str) -> Iterator[str]:
    """The facade on a new database on ``url``'s server, migrated to head, with ``settings``; yields its URL.

    The facade's connections are closed before the database is dropped.
    """
    with scratch_database(url, prefix) as scratch_url:
        use_postgres(monkeypatch, scratch_url, **settings)
        try:
            assert InfrastructureService.migrate().at_head
            yield scratch_url
        finally:
            InfrastructureService.reset()


@contextmanager
def scratch_table(url: str, columns: str, prefix: str = "infra_test") -> Iterator[str]:
    """A new table with ``columns`` (SQL) in ``url``'s database; yields its name and drops it afterwards."""
    name = unique_name(prefix)
    execute(url, f"CREATE TABLE {name} ({columns})")
    try:
        yield name
    finally:
        execute(url, f"DROP TABLE IF EXISTS {name}")


def postgres_ready(url: str, timeout: float = 3.0) -> bool:
    """Whether ``pg_isready`` says the server of ``url`` accepts connections."""
    parsed = make_url(url)
    command = ["pg_isready", "-q", "-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432), "-t", "2"]
    try:
        return subprocess.run(command, timeout=timeout, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def wait_until_ready(url: str, timeout: float) -> bool:
    """Poll ``pg_isready`` until the server answers or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if postgres_ready(url):
            return True
        time.sleep(0.2)
    return postgres_ready(url)


def terminate_backend(url: str, pid: int, timeout: float = 5.0) -> None:
    """Kill the server process ``pid`` (``pg_terminate_backend``) and wait until it is gone."""
    assert scalar(url, "SELECT pg_terminate_backend(:pid)", pid=pid) is True, f"no backend {pid} to terminate"
    deadline = time.monotonic() + timeout
    while scalar(url, "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid", pid=pid):
        assert time.monotonic() < deadline, f"backend {pid} still running {timeout:g} s after pg_terminate_backend"
        time.sleep(0.02)
