"""A second sibling module is added without touching the infrastructure: its model, its own migration
branch and its tests in its own folder, in the same pytest run, and no existing test breaks.

The repository's tracked files are copied to a scratch folder, a ``lessons`` module is written
beside ``content_creation``, and the checks run there in fresh processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TESTS
from tests.sibling_lessons import LESSONS, copy_tracked_files, write_module

ROOT = TESTS.parent
BIN = Path(sys.executable).parent

# The infrastructure's tests that know about migrations, the report, the contracts and the fakes.
EXISTING = [
    "tests/service/test_migration_discovery.py",
    "tests/service/test_environment_report.py",
    "tests/service/test_module_contracts.py",
    "tests/service/test_shipped_fakes.py",
    "tests/unit/test_public_api.py",
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tracked files of the repository, plus the ``lessons`` module."""
    copy = copy_tracked_files(ROOT, tmp_path_factory.mktemp("project"))
    write_module(copy / "modules" / "lessons", LESSONS)
    return copy


def run(project: Path, *command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(project), "DATABASE_URL": f"sqlite:///{project / 'var' / 'check.db'}"}
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=300)


def test_the_existing_tests_and_the_new_module_s_own_pass_in_one_run(project: Path) -> None:
    result = run(project, str(BIN / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *EXISTING, "modules")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "modules/lessons/tests/service/test_lessons.py" in run(project, str(BIN / "python"), "-m", "pytest", "--co", "-q", "modules").stdout


def test_autogenerate_for_the_new_module_proposes_its_table_only(project: Path) -> None:
    versions = project / "modules" / "lessons" / "migrations" / "versions"
    (versions / "20261202_1e55a0000001_lessons.py").unlink()  # as if the module had no migration yet
    upgraded = run(project, str(BIN / "alembic"), "upgrade", "heads")
    assert upgraded.returncode == 0, upgraded.stderr
    made = run(
        project, str(BIN / "alembic"), "revision", "--autogenerate", "-m", "lessons",
        "--head", "base", "--branch-label", "lessons", "--version-path", str(versions),
    )
    assert made.returncode == 0, made.stdout + made.stderr
    [script] = versions.glob("*_lessons.py")
    upgrade, downgrade = script.read_text().split("def downgrade")
    assert "op.create_table('lessons'" in upgrade and "op.drop_table('lessons')" in downgrade
    for other in ("drop_table", "infrastructure_outbox", "llm_usage", "content_questions"):
        assert other not in upgrade, f"autogenerate proposed {other} for the lessons module:\n{upgrade}"
    assert "drop_table('infrastructure_outbox')" not in downgrade
