"""Module settings through the facade and the start-up check, on the process environment (``clean_env``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from modules.infrastructure.module_api import CheckStatus, InfrastructureService, InvalidArgumentError
from tests.conftest import TESTS

SCRIPT = TESTS.parent / "scripts" / "validate_environment.py"
pytestmark = pytest.mark.usefixtures("clean_env")


def test_the_facade_reads_a_module_s_variables_from_the_environment_and_dotenv(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / ".env").write_text("CONTENT_CREATION_MAX_TOPIC_LENGTH=60\nCONTENT_CREATION_MAX_IMAGE_BYTES=1000\n")
    monkeypatch.setenv("CONTENT_CREATION_MAX_IMAGE_BYTES", "2048")
    InfrastructureService.reset()
    values = InfrastructureService.get_module_settings("content_creation")
    assert (values.max_topic_length, values.max_image_bytes) == (60, 2048)
    assert InfrastructureService.get_config().module_settings["content_creation"] is values


def test_a_module_without_a_table_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="'learning' has no settings table here \\(found: content_creation\\)"):
        InfrastructureService.get_module_settings("learning")


def test_the_start_up_report_lists_module_and_infrastructure_problems_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTENT_CREATION_MAX_IMAGE_BYTES", "0")
    monkeypatch.setenv("DB_POOL_SIZE", "many")
    InfrastructureService.reset()
    status = InfrastructureService.validate_environment()
    assert not status.is_valid and status.checks["config"].status is CheckStatus.ERROR
    assert status.errors == (
        "DB_POOL_SIZE='many' is not a whole number; expected a whole number from 1 to 1000",
        "CONTENT_CREATION_MAX_IMAGE_BYTES='0' is below the minimum 1; expected a whole number from 1 to 1073741824 (1 GiB)",
    )


def test_the_start_up_script_names_a_bad_module_value(clean_env: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], cwd=clean_env, capture_output=True, text=True, timeout=60,
        env={**os.environ, "CONTENT_CREATION_RETRY_TEMPERATURE": "3"},
    )
    assert result.returncode == 1, result.stderr
    assert "  - CONTENT_CREATION_RETRY_TEMPERATURE='3' is above the maximum 2; expected a number from 0 to 2" in result.stdout
