"""Every module's migrations are found: the infrastructure's own, then each ``modules/<name>/migrations/versions``.

Nothing here names a revision: the expectations are read from the migration files, so a new
module with its own branch, or a new revision, breaks no test.
"""

from __future__ import annotations

import ast
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from modules.infrastructure.infrastructure.database.migrations import import_module_models, module_folders
from modules.infrastructure.module_api import InfrastructureService
from tests.conftest import TESTS

ROOT = TESTS.parent
ALEMBIC = Path(sys.executable).parent / "alembic"


def revisions(folder: Path) -> dict[str, tuple[str | None, tuple[str, ...]]]:
    """Each revision file's id, its down revision and its branch labels, read from the source."""
    found = {}
    for path in folder.glob("*.py"):
        names = {}
        for node in ast.parse(path.read_text()).body:
            # ``revision = "..."`` as hand-written, or ``revision: str = "..."`` as script.py.mako writes it
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                names[node.targets[0].id] = ast.literal_eval(node.value)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                names[node.target.id] = ast.literal_eval(node.value)
        labels = names.get("branch_labels") or ()
        found[names["revision"]] = (names["down_revision"], tuple([labels] if isinstance(labels, str) else labels))
    return found


def branch_heads() -> dict[str, str]:
    """Each module's newest revision: the one no other revision of its folder builds on."""
    heads = {}
    for module, folder in module_folders().items():
        own = revisions(folder)
        parents = {down for down, _ in own.values() if down}
        [head] = [revision for revision in own if revision not in parents]
        heads[module] = head
    return heads


def test_the_infrastructure_s_folder_comes_first_then_each_module_s_by_name() -> None:
    found = module_folders()
    assert list(found)[0] == "infrastructure"
    assert found["infrastructure"] == ROOT / "modules" / "infrastructure" / "migrations" / "versions"
    assert found["content_creation"] == ROOT / "modules" / "content_creation" / "migrations" / "versions"
    assert list(found)[1:] == sorted(list(found)[1:])


def test_each_module_keeps_its_revisions_on_a_branch_labelled_with_its_name() -> None:
    for module, folder in module_folders().items():
        roots = [(revision, labels) for revision, (down, labels) in revisions(folder).items() if down is None]
        assert [labels for _, labels in roots] == [(module,)], f"{module}'s first revision must carry branch_labels=({module!r},)"


def test_a_module_without_a_migrations_folder_is_skipped(tmp_path: Path) -> None:
    for name in ("zeta", "alpha", "infrastructure"):
        (tmp_path / name / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "plain").mkdir()
    assert list(module_folders([tmp_path])) == ["infrastructure", "alpha", "zeta"]


def test_every_module_s_models_are_imported_for_autogenerate() -> None:
    imported = import_module_models()
    assert imported[0] == "modules.infrastructure.infrastructure.models"
    assert "modules.content_creation.infrastructure.models" in imported


def test_migrate_applies_every_branch_and_counts_what_was_pending(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    every = sum(len(revisions(folder)) for folder in module_folders().values())
    before = InfrastructureService.migration_status()
    assert (before.current, before.pending) == ((), every)
    assert before.heads == tuple(sorted(branch_heads().values()))
    status = InfrastructureService.migrate()
    assert status.current == status.heads == tuple(sorted(branch_heads().values()))
    assert status.at_head and InfrastructureService.migration_status() == status


def alembic(project: Path, database: Path, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "PYTHONPATH": str(project)}
    result = subprocess.run([str(ALEMBIC), *args], cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_the_alembic_cli_applies_checks_and_removes_one_module_s_branch(clean_env: Path) -> None:
    database = clean_env / "cli.db"
    heads = branch_heads()
    alembic(ROOT, database, "upgrade", "heads")
    assert tables(database) >= {"content_questions", "infrastructure_outbox", "llm_usage"}
    current = alembic(ROOT, database, "current")
    assert all(head in current for head in heads.values())
    assert "No new upgrade operations detected" in alembic(ROOT, database, "check")
    alembic(ROOT, database, "downgrade", "content_creation@base")
    assert "content_questions" not in tables(database) and "infrastructure_outbox" in tables(database)
    assert "(content_creation)" in alembic(ROOT, database, "history")


def tables(path: Path) -> set[str]:
    connection = sqlite3.connect(path)
    try:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        connection.close()


def test_outside_a_project_only_the_infrastructure_s_own_migrations_count(tmp_path: Path) -> None:
    """From a folder that holds no modules, the installed (here: editable) infrastructure migrates alone: a
    checkout's example module is not the application's, and neither its revisions nor its models are used."""
    code = (
        "from modules.infrastructure.module_api import InfrastructureService\n"
        "from modules.infrastructure.module_api.testing import fake_infrastructure\n"
        "with fake_infrastructure():\n"
        "    print(InfrastructureService.migration_status().heads)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str((branch_heads()["infrastructure"],))
