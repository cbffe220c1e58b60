"""Alembic from code: upgrade, downgrade and status, on the module's own engine.

The revisions are the infrastructure's own (``alembic/versions``) plus every sibling module's
``modules/<name>/migrations/versions`` folder, found when the configuration is built.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionMap
from sqlalchemy.engine import Engine

from alembic import command
from modules.infrastructure.domain.database.values import MigrationStatus

# The repository root holds alembic.ini and alembic/ (see DESIGN.md's layout).
PROJECT_ROOT = Path(__file__).resolve().parents[4]


SIBLING_MIGRATIONS = "modules/*/migrations/versions"


def version_locations(root: Path = PROJECT_ROOT) -> list[Path]:
    """``alembic/versions`` first, then each sibling module's ``migrations/versions`` folder, by module name."""
    return [root / "alembic" / "versions", *sorted(p for p in root.glob(SIBLING_MIGRATIONS) if p.is_dir())]


def alembic_config(script_location: Path | None = None) -> Config:
    """The project's Alembic configuration; with no ``script_location`` given, every module's revisions."""
    config = Config(str(PROJECT_ROOT / "alembic.ini")) if (PROJECT_ROOT / "alembic.ini").is_file() else Config()
    config.set_main_option("script_location", str(script_location or PROJECT_ROOT / "alembic"))
    if script_location is None:
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", os.pathsep.join(str(p) for p in version_locations()))
    return config


def include_sibling_revisions(script: ScriptDirectory) -> None:
    """For the ``alembic`` CLI (alembic.ini cannot glob): give the project's script directory every module's folders.

    env.py calls this before the revisions are read; Alembic reads them on first use, so the
    memoized folder list and the revision map are simply built again from the new list.
    """
    if Path(script.dir).resolve() != (PROJECT_ROOT / "alembic").resolve() or script.version_locations:
        return
    script.version_locations = [str(p) for p in version_locations()]
    script.__dict__.pop("_version_locations", None)
    script.revision_map = RevisionMap(script._load_revisions)


def import_sibling_models(root: Path = PROJECT_ROOT) -> list[str]:
    """Import ``modules.<name>.infrastructure.models`` of each module with migrations, so autogenerate sees its tables."""
    imported = []
    for folder in version_locations(root)[1:]:
        name = f"modules.{folder.parent.parent.name}.infrastructure.models"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
            imported.append(name)
    return imported


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
