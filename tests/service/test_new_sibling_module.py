"""A second sibling module is added without touching the infrastructure, the way the README says: its
model, its first migration made by ``alembic revision --autogenerate`` on a branch of its own, and its
tests in its own folder, in the same pytest run; no existing test breaks.

The repository is copied to a scratch folder and a ``lessons`` module is written beside
``content_creation`` (or ``lessons_probe``, should the checkout hold a ``lessons`` of its own).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TESTS
from tests.sibling_lessons import LESSONS, MIGRATION, copy_tracked_files, write_module

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


def run(project: Path, *command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(project), "DATABASE_URL": f"sqlite:///{project / 'var' / 'check.db'}"}
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository with the lessons module in it, before and after its first migration (``checks``)."""
    name = "lessons" if not (ROOT / "modules" / "lessons").exists() else "lessons_probe"
    copy = copy_tracked_files(ROOT, tmp_path_factory.mktemp("project"))
    files = {path: source.replace("lessons", name) for path, source in LESSONS.items() if path != MIGRATION}
    write_module(copy / "modules" / name, files)
    versions = copy / "modules" / name / "migrations" / "versions"
    versions.mkdir(parents=True)  # as the README says, before the first revision
    assert run(copy, str(BIN / "alembic"), "upgrade", "heads").returncode == 0
    before = run(copy, str(BIN / "alembic"), "check")
    made = run(
        copy, str(BIN / "alembic"), "revision", "--autogenerate", "-m", name,
        "--head", "base", "--branch-label", name, "--version-path", str(versions),
    )
    assert made.returncode == 0, made.stdout + made.stderr
    after = run(copy, str(BIN / "alembic"), "upgrade", "heads")
    assert after.returncode == 0, after.stdout + after.stderr
    (copy / "checks.txt").write_text(f"{name}\n{before.returncode}\n{before.stdout + before.stderr}")
    return copy


def module_name(project: Path) -> str:
    return (project / "checks.txt").read_text().splitlines()[0]


def test_alembic_check_reports_the_new_module_s_table_until_its_first_migration_exists(project: Path) -> None:
    _, returncode, *output = (project / "checks.txt").read_text().splitlines()
    assert returncode != "0"
    assert f"Detected added table '{module_name(project)}'" in "\n".join(output)
    assert "No new upgrade operations detected" in run(project, str(BIN / "alembic"), "check").stdout


def test_autogenerate_for_the_new_module_proposed_its_table_only(project: Path) -> None:
    name = module_name(project)
    [script] = (project / "modules" / name / "migrations" / "versions").glob(f"*_{name}.py")
    upgrade, downgrade = script.read_text().split("def downgrade")
    assert f"op.create_table('{name}'" in upgrade and f"op.drop_table('{name}')" in downgrade
    for other in ("drop_table", "infrastructure_outbox", "llm_usage", "content_questions"):
        assert other not in upgrade, f"autogenerate proposed {other} for the {name} module:\n{upgrade}"


def test_the_existing_tests_and_the_new_module_s_own_pass_in_one_run(project: Path) -> None:
    result = run(project, str(BIN / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *EXISTING, "modules")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    collected = run(project, str(BIN / "python"), "-m", "pytest", "--co", "-q", "modules").stdout
    assert f"modules/{module_name(project)}/tests/service/test_lessons.py" in collected
