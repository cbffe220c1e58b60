"""Database URLs as users write them: the forms hosts print work with the shipped driver, and a driver that
is not installed is a ``ConfigurationError`` naming the package, never a raw ``ModuleNotFoundError``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from modules.infrastructure.module_api import CheckStatus, ConfigurationError, InfrastructureService
from tests.conftest import TESTS

MISSING = [
    ("postgresql+psycopg://app@127.0.0.1:1/app", "pip install 'psycopg[binary]', or write postgresql://"),
    ("postgresql+pg8000://app@127.0.0.1:1/app", "pip install pg8000"),
    ("mysql://app@127.0.0.1:1/app", "pip install mysqlclient"),
    ("mysql+pymysql://app@127.0.0.1:1/app", "pip install PyMySQL"),
    ("nosuchdb://app@127.0.0.1:1/app", "neither a SQLAlchemy dialect nor an installed driver"),
]


@pytest.fixture
def database_url(clean_env: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    url: str = request.param
    monkeypatch.setenv("DATABASE_URL", url)
    InfrastructureService.reset()
    return url


@pytest.mark.parametrize(("database_url", "advice"), MISSING, indirect=["database_url"])
def test_a_driver_that_is_not_installed_is_a_configuration_error_naming_the_package(database_url: str, advice: str) -> None:
    for call in (InfrastructureService.get_database_session, InfrastructureService.migrate, lambda: InfrastructureService.run_in_transaction(lambda db: 1)):
        with pytest.raises(ConfigurationError, match="DATABASE_URL") as raised:
            call()
        assert advice in str(raised.value)
        assert not isinstance(raised.value.__cause__, ConfigurationError)


@pytest.mark.parametrize("database_url", [MISSING[0][0]], indirect=True)
def test_the_report_says_which_package_is_missing_on_the_database_and_messaging_lines(database_url: str) -> None:
    status = InfrastructureService.validate_environment(timeout=10)
    database = status.checks["database"]
    assert database.status is CheckStatus.ERROR
    assert "needs the psycopg driver" in database.detail and "pip install 'psycopg[binary]'" in database.detail
    assert "pip install 'psycopg[binary]'" in status.checks["messaging"].detail
    for check in status:
        assert "ModuleNotFoundError" not in check.detail and "Traceback" not in check.detail


@pytest.mark.parametrize(
    "url", ["postgresql+psycopg://app@127.0.0.1:1/app", "postgresql+asyncpg://app@127.0.0.1:1/app"]
)
def test_the_main_job_prints_the_problem_without_a_traceback(clean_env: Path, url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(TESTS.parent)}
    result = subprocess.run(
        [sys.executable, str(TESTS.parent / "scripts" / "main.py"), "--timeout", "10"],
        cwd=clean_env, env=env, capture_output=True, text=True, timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "DATABASE_URL" in output
    assert "Traceback" not in output and "ModuleNotFoundError" not in output, output
