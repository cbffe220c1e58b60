"""Every module's migrations are found: the infrastructure's alembic/versions plus modules/*/migrations/versions."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from modules.infrastructure.infrastructure.database.migrations import PROJECT_ROOT, import_sibling_models, version_locations
from modules.infrastructure.module_api import InfrastructureService

INFRASTRUCTURE_HEAD = "c3d4e5f6a7b8"
CONTENT_CREATION_HEAD = "7c1e2d3f4a5b"
ALEMBIC = Path(sys.executable).parent / "alembic"


def test_the_project_folders_are_the_infrastructure_s_then_each_sibling_s() -> None:
    found = version_locations()
    assert found[0] == PROJECT_ROOT / "alembic" / "versions"
    assert PROJECT_ROOT / "modules" / "content_creation" / "migrations" / "versions" in found[1:]


def test_a_module_without_a_migrations_folder_is_skipped(tmp_path: Path) -> None:
    for name in ("zeta", "alpha"):
        (tmp_path / "modules" / name / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "modules" / "plain").mkdir()
    assert version_locations(tmp_path) == [
        tmp_path / "alembic" / "versions",
        tmp_path / "modules" / "alpha" / "migrations" / "versions",
        tmp_path / "modules" / "zeta" / "migrations" / "versions",
    ]


def test_sibling_models_are_imported_for_autogenerate() -> None:
    assert "modules.content_creation.infrastructure.models" in import_sibling_models()


def test_migrate_applies_every_branch(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    status = InfrastructureService.migrate()
    assert status.current == status.heads == (CONTENT_CREATION_HEAD, INFRASTRUCTURE_HEAD)
    assert status.at_head and InfrastructureService.migration_status() == status


def test_the_alembic_cli_applies_and_removes_the_sibling_branch(clean_env: Path) -> None:
    database = clean_env / "cli.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}

    def alembic(*args: str) -> str:
        result = subprocess.run([str(ALEMBIC), *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout + result.stderr

    alembic("upgrade", "heads")
    assert tables(database) >= {"content_questions", "infrastructure_outbox", "llm_usage"}
    assert CONTENT_CREATION_HEAD in alembic("current")
    alembic("downgrade", "content_creation@base")
    assert "content_questions" not in tables(database) and "infrastructure_outbox" in tables(database)
    assert "(content_creation)" in alembic("history")


def tables(path: Path) -> set[str]:
    connection = sqlite3.connect(path)
    try:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        connection.close()
