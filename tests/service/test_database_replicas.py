"""Read replicas that cannot be used: reads fall back to the primary, and the start-up report says which.

No server is needed: the primary and one replica are SQLite files, one replica names a driver
that is not installed (psycopg 3) and one a port nothing listens on.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.domain.health.values import ComponentCheck
from modules.infrastructure.infrastructure.database.health import DatabaseHealthCheck
from modules.infrastructure.infrastructure.runtime import runtime
from modules.infrastructure.module_api import CheckStatus, InfrastructureService

PASSWORD = "replica-s3cret"
NO_DRIVER = f"postgresql+psycopg://ro:{PASSWORD}@127.0.0.1:1/app"
DEAD = f"postgresql://ro:{PASSWORD}@127.0.0.1:1/app"


@pytest.fixture
def databases(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A primary with a 'role' table saying 'primary', and a replica file saying 'replica'."""
    for name in ("primary", "replica"):
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{clean_env / name}.db")
        InfrastructureService.reset()
        with InfrastructureService.get_database_session() as db:
            db.execute(text("CREATE TABLE role (name text)"))
            db.execute(text("INSERT INTO role VALUES (:name)"), {"name": name})
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{clean_env / 'primary'}.db")
    return clean_env


def replicas(monkeypatch: pytest.MonkeyPatch, *urls: str) -> None:
    monkeypatch.setenv("DATABASE_REPLICA_URLS", ",".join(urls))
    monkeypatch.setenv("DB_CONNECT_TIMEOUT", "2")
    InfrastructureService.reset()


def database_line() -> ComponentCheck:
    """The report's database line, migrated first so that only the replicas can make it degraded."""
    InfrastructureService.migrate()
    return DatabaseHealthCheck(lambda: runtime.current().database).check()


def read_role() -> str:
    with InfrastructureService.get_database_session(read_only=True) as db:
        return str(db.execute(text("SELECT name FROM role")).scalar_one())


def test_a_replica_whose_driver_is_missing_falls_back_to_the_primary_with_a_warning(
    databases: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    replicas(monkeypatch, NO_DRIVER)
    with caplog.at_level(logging.WARNING):
        assert read_role() == "primary"
        assert read_role() == "primary"  # skipped for the cool-down: one warning
    [warning] = [r.getMessage() for r in caplog.records if "Replica replica-1 unusable" in r.getMessage()]
    assert "using the primary" in warning and "needs the psycopg driver" in warning
    assert PASSWORD not in caplog.text


def test_the_report_checks_every_replica_and_names_the_unusable_ones(databases: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    replicas(monkeypatch, f"sqlite:///{databases / 'replica'}.db", NO_DRIVER, DEAD)
    line = database_line()
    assert line.status is CheckStatus.DEGRADED
    assert "replicas 1/3 reachable" in line.detail
    assert "replica-2 unusable, read-only sessions use the primary: DATABASE_REPLICA_URLS=" in line.detail
    assert "needs the psycopg driver" in line.detail
    assert "replica-3 unusable, read-only sessions use the primary: Cannot reach database 'replica-3'" in line.detail
    assert PASSWORD not in line.detail


def test_reachable_replicas_keep_the_line_ok(databases: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    replicas(monkeypatch, f"sqlite:///{databases / 'replica'}.db")
    line = database_line()
    assert line.status is CheckStatus.OK and line.detail.endswith(", replicas 1/1 reachable")
    assert read_role() == "replica"
