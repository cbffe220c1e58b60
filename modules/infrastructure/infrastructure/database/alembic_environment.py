"""What Alembic's ``env.py`` runs: every module's revisions and models, the URL from the module's configuration.

A caller may hand over an open connection (``config.attributes["connection"]``: the facade's
migration runner does) or a URL (``config.attributes["database_url"]``); otherwise the URL
comes from the configuration (``DATABASE_URL``, ``.env``, the embedded default), never from
``alembic.ini``.
"""

from __future__ import annotations

import logging.config
from pathlib import Path
from typing import Any

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection, make_url

from modules.infrastructure.domain.config.parsers import normalise_database_url
from modules.infrastructure.infrastructure.database.drivers import create_database_engine
from modules.infrastructure.infrastructure.database.migrations import import_module_models, include_sibling_revisions
from modules.infrastructure.infrastructure.database.orm import Base


def run_migrations() -> None:
    """The body of ``env.py``: online through the given connection or a new engine, or offline as SQL."""
    if context.config.config_file_name is not None and "connection" not in context.config.attributes:
        logging.config.fileConfig(context.config.config_file_name, disable_existing_loggers=False)  # the CLI's output
    include_sibling_revisions(context.script)  # the CLI's alembic.ini cannot list folders found at run time
    import_module_models()  # every module's tables on Base.metadata, so autogenerate compares them all
    if context.is_offline_mode():
        _offline()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = _database_url()
    _ensure_sqlite_folder(url)
    engine = create_database_engine(url, "DATABASE_URL", poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _migrate(connection)
    finally:
        engine.dispose()


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, **_options(str(connection.engine.url)))
    with context.begin_transaction():
        context.run_migrations()


def _offline() -> None:
    url = _database_url()
    context.configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"}, **_options(url))
    with context.begin_transaction():
        context.run_migrations()


def _database_url() -> str:
    given = context.config.attributes.get("database_url")
    if given:
        return normalise_database_url(str(given))
    from modules.infrastructure.infrastructure.config.environment_loader import EnvironmentLoader

    return EnvironmentLoader().load_config().database_url


def _options(url: str) -> dict[str, Any]:
    # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
    return {"target_metadata": Base.metadata, "render_as_batch": url.startswith("sqlite")}


def _ensure_sqlite_folder(url: str) -> None:
    database = make_url(url).database
    if url.startswith("sqlite") and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
