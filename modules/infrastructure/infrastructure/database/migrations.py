"""Alembic from code: upgrade, downgrade and status, on the module's own engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from modules.infrastructure.module_api.types import MigrationStatus

# The repository root holds alembic.ini and alembic/ (see DESIGN.md's layout).
PROJECT_ROOT = Path(__file__).resolve().parents[4]


def alembic_config(script_location: Path | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini")) if (PROJECT_ROOT / "alembic.ini").is_file() else Config()
    config.set_main_option("script_location", str(script_location or PROJECT_ROOT / "alembic"))
    return config


class MigrationRunner:
    """Runs the migration scripts against ``engine`` through its own pool (so in-memory SQLite works)."""

    def __init__(self, engine: Engine, config: Config | None = None) -> None:
        self.engine = engine
        self.config = config or alembic_config()

    def upgrade(self, target: str = "heads") -> MigrationStatus:
        self._run(command.upgrade, target)
        return self.status()

    def downgrade(self, target: str) -> MigrationStatus:
        self._run(command.downgrade, target)
        return self.status()

    def status(self) -> MigrationStatus:
        """Current revisions, heads (``depends_on`` included, as ``get_heads()`` computes) and pending count."""
        script = ScriptDirectory.from_config(self.config)
        with self.engine.connect() as connection:
            current = tuple(sorted(MigrationContext.configure(connection).get_current_heads()))
        heads = tuple(sorted(script.get_heads(consider_depends_on=True)))
        applied = {rev.revision for rev in script.iterate_revisions(current, "base")} if current else set()
        total = {rev.revision for rev in script.walk_revisions()}
        return MigrationStatus(current=current, heads=heads, pending=len(total - applied))

    def _run(self, action, target: str) -> None:  # action: alembic.command function
        with self.engine.begin() as connection:
            self.config.attributes["connection"] = connection
            try:
                action(self.config, target)
            finally:
                self.config.attributes.pop("connection", None)
