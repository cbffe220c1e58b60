"""A scratch database on the test server for one benchmark run, dropped when it ends."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from modules.infrastructure.module_api import InfrastructureService

SERVER_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


@contextmanager
def scratch_database(label: str) -> Iterator[str]:
    """The URL of a new database ``infra_bench_<label>_<random>``; the facade's connections are closed before the drop."""
    name = f"infra_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        InfrastructureService.shutdown()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def facade_on_scratch_database(label: str) -> Iterator[Engine]:
    """A scratch database that the facade uses (``DATABASE_URL``), and a plain engine on it for the baselines."""
    with scratch_database(label) as url:
        os.environ["DATABASE_URL"] = url
        InfrastructureService.reset()
        engine = create_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()
            InfrastructureService.shutdown()
