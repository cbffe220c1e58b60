"""Alembic on the real PostgreSQL: upgrade, downgrade and status on a scratch database.

Each test builds a script directory in ``tmp_path`` from the package's Alembic ``env.py`` and
``script.py.mako`` plus hand-written revisions::

    aaaa  creates mig_a
    bbbb  creates mig_b            (down_revision aaaa)
    cccc  creates mig_c -> mig_b   (down_revision aaaa, depends_on bbbb)

``cccc`` depends on ``bbbb`` without descending from it, so the revision graph has two
branch tips but, once everything is applied, only ``cccc`` in ``alembic_version``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config
from sqlalchemy import create_engine, inspect
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from modules.infrastructure.infrastructure.database.migrations import MigrationRunner, environment_folder
from modules.infrastructure.module_api import InfrastructureService
from tests.integration.postgres_scratch import engine_url, scratch_database, use_postgres

REVISIONS = {
    "aaaa": (None, None, "mig_a", ""),
    "bbbb": ("aaaa", None, "mig_b", ""),
    "cccc": ("aaaa", "bbbb", "mig_c", ', sa.Column("b_id", sa.Integer, sa.ForeignKey("mig_b.id"))'),
}
TABLES = {"mig_a", "mig_b", "mig_c"}

REVISION_TEMPLATE = '''"""{table}"""
from alembic import op
import sqlalchemy as sa

revision = {revision!r}
down_revision = {down!r}
branch_labels = None
depends_on = {depends!r}


def upgrade() -> None:
    op.create_table("{table}", sa.Column("id", sa.Integer, primary_key=True){extra})


def downgrade() -> None:
    op.drop_table("{table}")
'''

FAILING_REVISION = '''"""fails half-way"""
from alembic import op
import sqlalchemy as sa

revision = "dddd"
down_revision = "cccc"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("mig_d", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("INSERT INTO no_such_table VALUES (1)")


def downgrade() -> None:
    op.drop_table("mig_d")
'''


def script_directory(root: Path, extra: dict[str, str] | None = None) -> Config:
    """A script directory with the project's env.py and the revisions above; its alembic Config."""
    root.mkdir()
    for name in ("env.py", "script.py.mako"):
        shutil.copy(environment_folder() / name, root / name)
    versions = root / "versions"
    versions.mkdir()
    for revision, (down, depends, table, columns) in REVISIONS.items():
        source = REVISION_TEMPLATE.format(revision=revision, down=down, depends=depends, table=table, extra=columns)
        (versions / f"{revision}_{table}.py").write_text(source)
    for filename, source in (extra or {}).items():
        (versions / filename).write_text(source)
    config = Config()
    config.set_main_option("script_location", str(root))
    return config


@pytest.fixture
def scratch_engine(postgres_url: str) -> Iterator[Engine]:
    """An engine on a new, empty database, dropped afterwards."""
    with scratch_database(postgres_url, "infra_migr") as url:
        engine = create_engine(engine_url(url))
        try:
            yield engine
        finally:
            engine.dispose()


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_to_heads_and_downgrade_to_base(tmp_path: Path, scratch_engine: Engine) -> None:
    runner = MigrationRunner(scratch_engine, script_directory(tmp_path / "scripts"))

    before = runner.status()
    assert before.current == ()
    assert before.pending == len(REVISIONS) and not before.at_head

    upgraded = runner.upgrade("heads")
    assert tables(scratch_engine) == TABLES
    assert upgraded.at_head and upgraded.pending == 0
    assert upgraded.current == ("cccc",)  # bbbb is covered by cccc's dependency
    assert set(upgraded.current) <= set(upgraded.heads)
    assert runner.status() == upgraded  # read back from the database, not remembered

    downgraded = runner.downgrade("base")
    assert tables(scratch_engine) == set()
    assert downgraded.current == ()
    assert downgraded.pending == len(REVISIONS) and not downgraded.at_head


def test_upgrading_step_by_step_counts_what_is_left(tmp_path: Path, scratch_engine: Engine) -> None:
    runner = MigrationRunner(scratch_engine, script_directory(tmp_path / "scripts"))

    assert runner.upgrade("aaaa").pending == 2
    assert tables(scratch_engine) == {"mig_a"}
    partial = runner.upgrade("bbbb")
    assert (partial.current, partial.pending) == (("bbbb",), 1)
    upgraded = runner.upgrade("cccc")
    assert upgraded.at_head and tables(scratch_engine) == TABLES
    assert runner.downgrade("aaaa").pending == 2
    assert tables(scratch_engine) == {"mig_a"}


def test_a_failing_revision_rolls_back_the_whole_upgrade(tmp_path: Path, scratch_engine: Engine) -> None:
    config = script_directory(tmp_path / "scripts", {"dddd_fails.py": FAILING_REVISION})
    runner = MigrationRunner(scratch_engine, config)

    with pytest.raises(sa_exc.ProgrammingError, match="no_such_table"):
        runner.upgrade("heads")

    # PostgreSQL DDL is transactional and the runner upgrades in one transaction.
    assert tables(scratch_engine) == set()
    status = runner.status()
    assert status.current == () and status.pending == len(REVISIONS) + 1


def test_heads_take_depends_on_into_account(tmp_path: Path, scratch_engine: Engine) -> None:
    runner = MigrationRunner(scratch_engine, script_directory(tmp_path / "scripts"))

    assert runner.status().heads == ("cccc",)
    upgraded = runner.upgrade("heads")
    assert upgraded.heads == upgraded.current == ("cccc",)


def test_the_facade_migrates_a_scratch_postgres_database_with_the_project_scripts(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    with scratch_database(postgres_url, "infra_migr") as url:
        use_postgres(monkeypatch, url)
        try:
            migrated = InfrastructureService.migrate()
            assert migrated.at_head and migrated.pending == 0
            assert set(migrated.current) <= set(migrated.heads)
            assert InfrastructureService.migration_status() == migrated
        finally:
            InfrastructureService.reset()  # close the facade's connections before the drop
