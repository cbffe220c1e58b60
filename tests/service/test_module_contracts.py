"""The import-linter contracts hold, and they would catch a sibling reaching into the internals."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TESTS

ROOT = TESTS.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH first, so the copy's `modules` package is analysed, not the installed one.
    env = {**os.environ, "PYTHONPATH": str(project)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The package tree and contracts, copied so a test can add a sibling without touching the repository."""
    shutil.copytree(ROOT / "modules", tmp_path / "modules", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "setup.cfg", tmp_path / "setup.cfg")
    return tmp_path


def add_sibling(project: Path, name: str, source: str) -> None:
    package = project / "modules" / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "service.py").write_text(source)


def test_contracts_are_kept_in_the_repository() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_sibling_using_module_api_is_allowed(project_copy: Path) -> None:
    add_sibling(project_copy, "zz_allowed_probe", "from modules.infrastructure.module_api import InfrastructureService\n")
    result = lint_imports(project_copy)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "target",
    [
        "modules.infrastructure.infrastructure.bootstrap",
        "modules.infrastructure.domain.config.configuration",
    ],
)
def test_a_sibling_importing_the_internals_breaks_the_contract(project_copy: Path, target: str) -> None:
    add_sibling(project_copy, "zz_throwaway", f"import {target}\n")
    result = lint_imports(project_copy)
    assert result.returncode != 0
    assert "Sibling modules use modules.infrastructure.module_api only BROKEN" in result.stdout
    assert f"modules.zz_throwaway.service -> {target}" in " ".join(result.stdout.split())


def test_the_domain_importing_a_driver_breaks_the_contract(project_copy: Path) -> None:
    (project_copy / "modules/infrastructure/domain/leak.py").write_text("import sqlalchemy\n")
    result = lint_imports(project_copy)
    assert result.returncode != 0
    assert "The domain imports no driver or client library BROKEN" in result.stdout


def test_another_module_reaching_into_content_creation_breaks_its_contract(project_copy: Path) -> None:
    add_sibling(project_copy, "zz_throwaway", "from modules.content_creation.infrastructure.models import QuestionRepository\n")
    result = lint_imports(project_copy)
    assert result.returncode != 0
    assert "Other modules use modules.content_creation.module_api only BROKEN" in result.stdout


@pytest.mark.parametrize(
    ("importer", "target"),
    [
        ("modules/infrastructure/domain/leak.py", "modules.infrastructure.infrastructure.database.session"),
        ("modules/infrastructure/domain/leak.py", "modules.infrastructure.module_api"),
        ("modules/infrastructure/infrastructure/leak.py", "modules.infrastructure.module_api.infrastructure_service"),
    ],
)
def test_a_reverse_import_between_the_layers_breaks_the_contract(project_copy: Path, importer: str, target: str) -> None:
    (project_copy / importer).write_text(f"import {target}\n")
    result = lint_imports(project_copy)
    assert result.returncode != 0
    assert "Inside the infrastructure module: module_api above infrastructure above domain BROKEN" in result.stdout


def test_the_layers_contract_ignores_no_import() -> None:
    assert "ignore_imports" not in (ROOT / "setup.cfg").read_text()
