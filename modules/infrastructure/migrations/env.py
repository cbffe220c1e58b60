"""Alembic's environment for every module's migrations; the logic lives in the package, see
``modules.infrastructure.infrastructure.database.alembic_environment``."""

from modules.infrastructure.infrastructure.database.alembic_environment import run_migrations

run_migrations()
