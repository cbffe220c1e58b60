"""Alembic environment: the URL comes from the module's configuration, never from alembic.ini.

A caller may pass a URL explicitly with ``config.attributes["database_url"]`` (the facade's
migration runner and tests do); otherwise the module's configuration decides.
"""

from __future__ import annotations

from pathlib import Path

from alembic import context
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import make_url

from modules.infrastructure.infrastructure.config.environment_loader import EnvironmentLoader
from modules.infrastructure.infrastructure.database.migrations import import_sibling_models, include_sibling_revisions
from modules.infrastructure.infrastructure.database.orm import Base

config = context.config

# The CLI reads alembic.ini, which lists alembic/versions only: add every modules/*/migrations/versions.
include_sibling_revisions(context.script)

# Every module's models share this metadata; a sibling's are imported from
# modules/<name>/infrastructure/models.py (when it exists) so autogenerate sees them.
import_sibling_models()
target_metadata = Base.metadata


def database_url() -> str:
    return config.attributes.get("database_url") or EnvironmentLoader().load_config().database_url


def _options(url: str) -> dict:
    # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
    return {"target_metadata": target_metadata, "render_as_batch": url.startswith("sqlite")}


def _ensure_sqlite_folder(url: str) -> None:
    database = make_url(url).database
    if url.startswith("sqlite") and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def run_migrations_offline() -> None:
    url = database_url()
    context.configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"}, **_options(url))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, **_options(str(connection.engine.url)))
        with context.begin_transaction():
            context.run_migrations()
        return
    url = database_url()
    _ensure_sqlite_folder(url)
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            context.configure(connection=conn, **_options(url))
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
