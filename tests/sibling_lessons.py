"""``lessons``: a small sibling module written only against the infrastructure's module_api, for tests that
add a module to a copy of this repository or to a project of its own."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

MIGRATION = "migrations/versions/20261202_1e55a0000001_lessons.py"

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
    # As `alembic revision` writes it from the shipped script.py.mako (annotated assignments).
    MIGRATION: '''"""The lessons table (the lessons module's own branch)."""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "1e55a0000001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = ("lessons",)
depends_on: Union[str, Sequence[str], None] = "a1b2c3d4e5f6"  # the infrastructure's outbox: same transaction


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


def write_module(folder: Path, files: Mapping[str, str]) -> None:
    """Write ``files`` (relative path -> source) under ``folder``."""
    for name, source in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source)


def copy_tracked_files(repository: Path, destination: Path) -> Path:
    """The repository's files as a fresh clone plus the work in progress would have them: tracked, and new ones
    git does not ignore (no build, cache or virtual-environment folders)."""
    listing = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    tracked = subprocess.run(listing, cwd=repository, capture_output=True, check=True, text=True).stdout
    for name in filter(None, tracked.split("\0")):
        if not (repository / name).is_file():  # deleted in the work in progress
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repository / name, target)
    return destination
