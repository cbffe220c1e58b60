"""The module installed from a wheel into another project, as a team adopting it would.

The wheel is built from the repository's tracked files, installed into a fresh virtual
environment with the embedded model's package (``--no-deps``, as the README says), and used from
a scratch project that has a module of its own (``modules/lessons``, its own migration branch):
``migrate()`` applies both modules' branches, a session stores a row, an event goes to the
outbox in the same transaction, and the embedded model answers a prompt.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TESTS
from tests.sibling_lessons import LESSONS, copy_tracked_files, write_module

ROOT = TESTS.parent
MYPY = next(line for line in (ROOT / "requirements-dev.txt").read_text().splitlines() if line.startswith("mypy"))
NO_DEPS = [line.strip() for line in (ROOT / "requirements-nodeps.txt").read_text().splitlines() if line.strip() and not line.startswith("#")]

USE_IT = '''
import json, sys
import modules.infrastructure
from modules.infrastructure.module_api import InfrastructureService, Prompt, PromptContext
from modules.lessons.module_api import create_lesson

status = InfrastructureService.migrate()
lesson_id = create_lesson("Joins")
with InfrastructureService.get_database_session() as db:
    from sqlalchemy import text
    rows = db.execute(text("SELECT title FROM lessons")).scalars().all()
    pending = db.execute(text("SELECT count(*) FROM infrastructure_outbox WHERE status = 'pending'")).scalar()
answer = InfrastructureService.execute_prompt(
    Prompt("Say hello.", parameters={"temperature": 0, "max_tokens": 8}), PromptContext(module="lessons")
)
print(json.dumps({
    "infrastructure": modules.infrastructure.__file__,
    "namespace": [str(p) for p in modules.__path__],
    "current": list(status.current), "heads": list(status.heads), "pending_migrations": status.pending,
    "lessons": rows, "events_pending": pending,
    "answer": answer.content, "provider": answer.metadata["provider"],
}))
InfrastructureService.shutdown()
'''


def run(command: list[str], cwd: Path, timeout: float = 300) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)})
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtual environment with the wheel and the embedded model's package installed; its python."""
    work = tmp_path_factory.mktemp("wheel")
    source = copy_tracked_files(ROOT, work / "source")
    python = sys.executable
    run([python, "-m", "pip", "wheel", "--quiet", "--no-deps", str(source), "-w", str(work / "dist")], work)
    [wheel] = (work / "dist").glob("modules_infrastructure-*.whl")
    run([python, "-m", "venv", str(work / "venv")], work)
    venv_python = work / "venv" / "bin" / "python"
    run([str(venv_python), "-m", "pip", "install", "--quiet", str(wheel)], work, timeout=600)
    run([str(venv_python), "-m", "pip", "install", "--quiet", "--no-deps", *NO_DEPS], work, timeout=600)
    run([str(venv_python), "-m", "pip", "install", "--quiet", MYPY], work, timeout=600)
    yield venv_python


def test_the_wheel_ships_the_package_its_migrations_and_types_but_claims_no_other_module(installed: Path) -> None:
    site = Path(run([str(installed), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], installed.parent).strip())
    assert sorted(p.name for p in (site / "modules").iterdir()) == ["infrastructure"]
    assert not (site / "modules" / "__init__.py").exists(), "modules must stay a namespace package"
    package = site / "modules" / "infrastructure"
    for resource in ("py.typed", "migrations/env.py", "migrations/script.py.mako", "infrastructure/llm_clients/prices.json"):
        assert (package / resource).is_file(), resource
    assert list((package / "migrations" / "versions").glob("*_outbox.py"))


def test_a_project_with_a_module_of_its_own_migrates_stores_publishes_and_asks_the_model(
    installed: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    write_module(project / "modules" / "lessons", LESSONS)
    (project / "use_it.py").write_text(USE_IT)
    report = json.loads(run([str(installed), "use_it.py"], project).strip().splitlines()[-1])

    assert "site-packages" in report["infrastructure"] and str(project / "modules") in report["namespace"]
    assert report["current"] == report["heads"] and len(report["heads"]) == 2 and report["pending_migrations"] == 0
    assert "1e55a0000001" in report["heads"]  # the lessons branch, beside the infrastructure's
    assert report["lessons"] == ["Joins"] and report["events_pending"] == 1
    assert report["provider"] == "local" and report["answer"].strip()
    assert (project / "var" / "app.db").is_file(), "the embedded SQLite database lives in the project, not in site-packages"


MISTYPED = """from modules.infrastructure.module_api import InfrastructureService
from modules.lessons.infrastructure.models import Lesson, LessonRepository


def first_lesson() -> Lesson:
    with InfrastructureService.get_database_session() as db:
        return LessonRepository(db).get_by_id(1)  # Lesson | None: mypy must see it
"""


def test_a_module_of_the_project_type_checks_against_the_installed_package(installed: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_module(project / "modules" / "lessons", LESSONS)
    mypy = [str(installed), "-m", "mypy", "--strict", "--namespace-packages", "--explicit-package-bases", "modules/lessons"]
    assert "Success: no issues found" in run(mypy, project)

    (project / "modules" / "lessons" / "mistyped.py").write_text(MISTYPED)
    result = subprocess.run(mypy, cwd=project, capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "HOME": str(project)})
    assert result.returncode == 1
    assert 'Incompatible return value type (got "Lesson | None", expected "Lesson")' in result.stdout, result.stdout
    assert "py.typed" not in result.stdout
