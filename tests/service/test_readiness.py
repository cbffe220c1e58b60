"""``InfrastructureService.check_readiness()``: ready when the checks HEALTH_READY_COMPONENTS names are not in error."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from modules.infrastructure.domain.health.values import CheckStatus, ComponentCheck
from modules.infrastructure.infrastructure.health.readiness import is_required
from modules.infrastructure.module_api import (
    ConfigurationError,
    DatabasePoolExhaustedError,
    InfrastructureService,
    InvalidArgumentError,
)
from modules.infrastructure.module_api.testing import fake_infrastructure


def test_by_default_the_configuration_and_the_database_decide() -> None:
    with fake_infrastructure():
        answer = InfrastructureService.check_readiness()
    assert answer.ready and answer.waiting_for == () and list(answer.checks) == ["config", "database"]
    assert answer.to_dict()["status"] == "ready"


def test_the_database_line_is_answered_on_a_connection_of_its_own_while_every_pooled_one_is_in_use(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {"DATABASE_URL": f"sqlite:///{clean_env / 'app.db'}", "DB_POOL_SIZE": "1", "DB_MAX_OVERFLOW": "0", "DB_POOL_TIMEOUT": "0.2"}.items():
        monkeypatch.setenv(name, value)
    InfrastructureService.reset()
    with InfrastructureService.get_database_session():
        with pytest.raises(DatabasePoolExhaustedError):
            InfrastructureService.get_database_session()
        answer = InfrastructureService.check_readiness()
    assert answer.ready and answer.checks["database"].detail.startswith("reachable in ")
    assert answer.checks["database"].detail.endswith("ms on a connection of its own, pool 1/1+0 in use")


class StuckDatabase:
    """A database check of the caller's own, given to the set: readiness runs it as it is."""

    name = "database"

    def check(self) -> ComponentCheck:
        return ComponentCheck(self.name, CheckStatus.ERROR, "scripted")


def test_database_checks_a_set_was_given_are_run_as_they_are() -> None:
    with fake_infrastructure(), InfrastructureService.override(health_checks=[StuckDatabase()]):
        answer = InfrastructureService.check_readiness()
    assert not answer.ready and answer.checks["database"].detail == "scripted"


def test_an_integration_that_does_not_answer_its_health_path_holds_readiness_back_when_required() -> None:
    environment = {"INTEGRATION_CRM_BASE_URL": "https://crm.example", "INTEGRATION_CRM_HEALTH_PATH": "/health"}
    with fake_infrastructure(environment={**environment, "HEALTH_READY_COMPONENTS": "config,integrations"}) as fakes:
        fakes.http.add("crm", 503)
        waiting = InfrastructureService.check_readiness()
        fakes.http.add("crm", 200)
        ready = InfrastructureService.check_readiness()
    assert not waiting.ready and waiting.waiting_for == ("integration crm",) and waiting.to_dict()["status"] == "not ready"
    assert ready.ready and list(ready.checks) == ["config", "integration crm"]


def test_a_failing_check_that_is_not_required_does_not_run_or_count() -> None:
    environment = {"INTEGRATION_CRM_BASE_URL": "https://crm.example", "INTEGRATION_CRM_HEALTH_PATH": "/health"}
    with fake_infrastructure(environment=environment) as fakes:
        fakes.http.add("crm", 503)
        answer = InfrastructureService.check_readiness()
        assert fakes.http.requests("crm") == []
    assert answer.ready and "integration crm" not in answer.checks


@pytest.mark.parametrize(("required", "name", "expected"), [
    ({"all"}, "llm", True), ({"database"}, "llm", False), ({"integrations"}, "integration crm", True), ({"config"}, "integration crm", False),
])
def test_which_lines_are_waited_for(required: set[str], name: str, expected: bool) -> None:
    assert is_required(name, required) is expected


def test_an_unknown_component_is_a_configuration_problem_naming_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="HEALTH_READY_COMPONENTS"):
        with fake_infrastructure(environment={"HEALTH_READY_COMPONENTS": "config,databse"}):
            pass


@pytest.mark.parametrize("timeout", [0, -1, math.nan, 301, "2", True])
def test_a_bad_timeout_is_refused(timeout: object) -> None:
    with fake_infrastructure(), pytest.raises(InvalidArgumentError, match=r"check_readiness\(timeout"):
        InfrastructureService.check_readiness(timeout)  # type: ignore[arg-type]
