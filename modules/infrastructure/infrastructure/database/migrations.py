"""Alembic from code: every module's migrations, found where the modules are, upgraded on the module's engine.

A module keeps its revisions in ``modules/<name>/migrations/versions`` on its own branch; the
infrastructure's are in its own package, with the Alembic environment. The folders are found
through the ``modules`` namespace package, so they are found alike in a checkout and when the
infrastructure is installed into another project beside that project's own modules.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionMap
from sqlalchemy.engine import Engine

from modules.infrastructure.domain.database.values import MigrationStatus
from modules.infrastructure.infrastructure.module_folders import INFRASTRUCTURE, NAMESPACE, module_names, namespace_roots

VERSIONS = Path("migrations") / "versions"


def environment_folder() -> Path:
    """The Alembic environment shipped in the package: ``env.py``, ``script.py.mako`` and the infrastructure's versions."""
    return Path(str(resources.files(f"{NAMESPACE}.{INFRASTRUCTURE}").joinpath("migrations")))


def module_folders(roots: list[Path] | None = None) -> dict[str, Path]:
    """Each module with migrations and its versions folder: the infrastructure first, then the others by name.

    The infrastructure's come from its own package; the others from ``roots``, by default the
    folder portions of the ``modules`` namespace package (a project's ``modules/``). Beside an
    installed or editable infrastructure, only the modules the application can import count.
    """
    found: dict[str, Path] = {}
    for root in roots if roots is not None else namespace_roots():
        for folder in sorted(p for p in root.glob(f"*/{VERSIONS.as_posix()}") if p.is_dir()):
            found.setdefault(folder.parent.parent.name, folder.resolve())
    own = found.pop(INFRASTRUCTURE, None)
    if roots is None:
        own = environment_folder() / "versions"
    return {**({INFRASTRUCTURE: own} if own is not None else {}), **dict(sorted(found.items()))}


def version_locations() -> list[Path]:
    """Every module's versions folder: the infrastructure's first."""
    return list(module_folders().values())


def alembic_config() -> Config:
    """Alembic's configuration for every module's revisions, built in code (no ``alembic.ini`` is needed)."""
    config = Config()
    config.set_main_option("script_location", str(environment_folder()))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(str(p) for p in version_locations()))
    return config


def include_sibling_revisions(script: ScriptDirectory) -> None:
    """For the ``alembic`` CLI, whose ini file cannot list folders found at run time: every module's versions.

    env.py calls this before any revision is read; Alembic reads them on first use, so the
    memoized folder list and the revision map are built again from the new list.
    """
    if Path(script.dir).resolve() != environment_folder().resolve() or script.version_locations:
        return  # another environment (a test's), or an ini file that names its folders itself
    script.version_locations = [str(p) for p in version_locations()]
    script.__dict__.pop("_version_locations", None)
    script.revision_map = RevisionMap(script._load_revisions)


def import_module_models() -> list[str]:
    """Import ``modules.<name>.infrastructure.models`` of the infrastructure and of every module that has one, with
    migrations or not yet, so ``alembic check`` and autogenerate compare every table."""
    imported = []
    for name in [INFRASTRUCTURE, *module_names()]:
        qualified = f"{NAMESPACE}.{name}.infrastructure.models"
        try:
            found = importlib.util.find_spec(qualified) is not None
        except ModuleNotFoundError:  # the module's package itself is not importable from here
            found = False
        if found:
            importlib.import_module(qualified)
            imported.append(qualified)
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

    def _run(self, action: Callable[[Config, str], None], target: str) -> None:
        with self.engine.begin() as connection:
            self.config.attributes["connection"] = connection
            try:
                action(self.config, target)
            finally:
                self.config.attributes.pop("connection", None)
