"""A second sibling module is added without touching the infrastructure: its model, its own migration
branch and its tests in its own folder, in the same pytest run, and no existing test breaks.

The repository's tracked files are copied to a scratch folder, a ``lessons`` module is written
beside ``content_creation``, and the checks run there in fresh processes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TESTS

ROOT = TESTS.parent
BIN = Path(sys.executable).parent

LESSONS = {
    "__init__.py": '"""Lessons: a sibling module written only against the infrastructure\'s module_api."""\n',
    "infrastructure/__init__.py": "",
    "infrastructure/models.py": '''from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from modules.infrastructure.module_api import Base, BaseRepository


class Lesson(Base):
    __tablename__ = "lessons"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))


class LessonRepository(BaseRepository[Lesson]):
    model = Lesson
''',
    "migrations/versions/20261202_1e55a0000001_lessons.py": '''"""The lessons table (the lessons module's own branch)."""

import sqlalchemy as sa
from alembic import op

revision = "1e55a0000001"
down_revision = None
branch_labels = ("lessons",)
depends_on = "a1b2c3d4e5f6"  # the infrastructure's outbox: events go out in the same transaction


def upgrade() -> None:
    op.create_table(
        "lessons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lessons")),
    )


def downgrade() -> None:
    op.drop_table("lessons")
''',
    "module_api/__init__.py": '''from modules.infrastructure.module_api import InfrastructureService
from modules.lessons.infrastructure.models import LessonRepository


def create_lesson(title: str) -> int:
    with InfrastructureService.get_database_session() as db:
        lesson = LessonRepository(db).create(title=title)
        InfrastructureService.publish_event("lessons.events", {"id": lesson.id}, event_type="lesson.created", source="lessons", session=db)
        return lesson.id
''',
    "tests/__init__.py": "",
    "tests/service/__init__.py": "",
    "tests/service/test_lessons.py": '''from modules.infrastructure.module_api.testing import fake_infrastructure
from modules.lessons.module_api import create_lesson


def test_a_lesson_is_stored_and_announced() -> None:
    with fake_infrastructure() as fakes:
        lesson_id = create_lesson("Joins")
        [event] = fakes.events("lessons.events")
    assert event.type == "lesson.created" and event.payload == {"id": lesson_id}
''',
}

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
    copy = tmp_path_factory.mktemp("project")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True).stdout
    for name in filter(None, tracked.split("\0")):
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    for name, source in LESSONS.items():
        target = copy / "modules" / "lessons" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source)
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
