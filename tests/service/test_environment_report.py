"""The start-up report through the facade: shape, statuses, timeouts and failing checks."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from modules.infrastructure.infrastructure.database.migrations import module_folders
from modules.infrastructure.module_api import CheckStatus, ComponentCheck, InfrastructureService

pytestmark = pytest.mark.usefixtures("clean_env")

COMPONENTS = ["config", "database", "cache", "messaging", "llm", "storage"]


@dataclass
class FakeCheck:
    """A health check that answers what it is told to, optionally late or by raising."""

    name: str
    status: CheckStatus = CheckStatus.OK
    detail: str = "fine"
    delay: float = 0.0
    error: Exception | None = None

    def check(self) -> ComponentCheck:
        time.sleep(self.delay)
        if self.error:
            raise self.error
        return ComponentCheck(self.name, self.status, self.detail)


def test_default_report_is_valid_and_lists_every_component() -> None:
    status = InfrastructureService.validate_environment()
    assert status.is_valid
    assert list(status.checks) == COMPONENTS
    assert status.checks["config"].status is CheckStatus.OK
    assert any("DATABASE_URL not set" in w for w in status.warnings)
    assert status.checks["database"].status is CheckStatus.DEGRADED
    assert "sqlite reachable" in status.checks["database"].detail
    every = sum(len(list(folder.glob("*.py"))) for folder in module_folders().values())  # every module's revisions
    assert f"{every} migration(s) pending" in status.checks["database"].detail
    assert status.checks["cache"].status is CheckStatus.OK
    assert status.checks["cache"].detail.startswith("in-memory, 0/10000 items, round trip")
    assert status.checks["messaging"].status is CheckStatus.SKIPPED
    assert status.checks["messaging"].detail.startswith("outbox unavailable")  # not migrated yet
    assert status.checks["llm"].status is CheckStatus.OK, status.checks["llm"].detail
    assert status.checks["llm"].detail.startswith("local, model SmolLM2-135M-Instruct")
    assert "answered in" in status.checks["llm"].detail


def test_json_shape() -> None:
    data = InfrastructureService.validate_environment().to_dict()
    assert set(data) == {"is_valid", "errors", "warnings", "checks"}
    assert list(data["checks"]) == COMPONENTS
    for check in data["checks"].values():
        assert set(check) == {"status", "detail", "elapsed_ms"}
        assert check["status"] in {"ok", "degraded", "error", "skipped"}
        assert isinstance(check["elapsed_ms"], float)


def test_checks_come_from_the_container_and_set_validity() -> None:
    checks = [FakeCheck("database"), FakeCheck("cache", CheckStatus.DEGRADED, "redis unreachable")]
    with InfrastructureService.override(health_checks=checks):
        status = InfrastructureService.validate_environment()
    assert status.is_valid
    assert status.checks["cache"].status is CheckStatus.DEGRADED
    assert "cache: redis unreachable" in status.warnings

    with InfrastructureService.override(health_checks=[FakeCheck("database", CheckStatus.ERROR, "refused")]):
        status = InfrastructureService.validate_environment()
    assert not status.is_valid
    assert status.errors == ("database: refused",)


def test_a_hanging_check_times_out_without_hanging_the_report() -> None:
    checks = [FakeCheck("database", delay=30), FakeCheck("cache")]
    started = time.perf_counter()
    with InfrastructureService.override(health_checks=checks):
        status = InfrastructureService.validate_environment(timeout=0.3)
    assert time.perf_counter() - started < 2
    assert status.checks["database"].status is CheckStatus.ERROR
    assert "no answer within 0.3 s" in status.checks["database"].detail
    assert status.checks["cache"].status is CheckStatus.OK
    assert not status.is_valid


def test_checks_run_side_by_side() -> None:
    checks = [FakeCheck(name, delay=0.3) for name in COMPONENTS[1:]]
    started = time.perf_counter()
    with InfrastructureService.override(health_checks=checks):
        status = InfrastructureService.validate_environment(timeout=5)
    assert time.perf_counter() - started < 1.0
    assert all(c.elapsed_ms >= 250 for c in list(status)[1:])


def test_a_raising_check_becomes_an_error_line() -> None:
    with InfrastructureService.override(health_checks=[FakeCheck("llm", error=RuntimeError("model file missing"))]):
        status = InfrastructureService.validate_environment()
    assert status.checks["llm"].status is CheckStatus.ERROR
    assert "RuntimeError: model file missing" in status.checks["llm"].detail


def test_invalid_configuration_reports_every_problem_and_skips_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_SIZE", "abc")
    monkeypatch.setenv("API_PORT", "0")
    status = InfrastructureService.validate_environment()
    assert not status.is_valid
    assert status.checks["config"].status is CheckStatus.ERROR
    assert any("DB_POOL_SIZE" in e for e in status.errors) and any("API_PORT" in e for e in status.errors)
    assert all(status.checks[n].status is CheckStatus.SKIPPED for n in COMPONENTS[1:])


def test_the_database_line_is_ok_once_migrated() -> None:
    InfrastructureService.migrate()
    checks = InfrastructureService.validate_environment().checks
    assert checks["database"].status is CheckStatus.OK and "migrations at head" in checks["database"].detail
    assert checks["messaging"].detail == "0 events pending (RABBITMQ_URL not set); listeners: none registered, 0 publications pending, 0 failed"
