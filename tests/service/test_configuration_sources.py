"""Through the facade: secrets from files, URLs from parts, an explicit LLM provider, and mistyped variables
in the start-up report and the log (names only, never a value)."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modules.infrastructure.infrastructure.module_folders import module_names
from modules.infrastructure.module_api import ConfigurationError, InfrastructureService
from tests.logging_helpers import bare_root, restore_root_logger  # noqa: F401 (autouse fixture)
from tests.secret_volumes import kubernetes_volume

pytestmark = pytest.mark.usefixtures("clean_env")

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "validate_environment.py"
OPENAI_KEY = "sk-file-CANARY-5c1e9b77"
DB_PASSWORD = "db-file-CANARY-a/b@c"
TYPO_VALUE = "typo-CANARY-value-0042"
LOADER_LOG = "modules.infrastructure.infrastructure.config.environment_loader"


def test_a_secret_volume_gives_the_llm_key_and_the_database_password(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = kubernetes_volume(clean_env / "secrets", {"OPENAI_API_KEY": f"{OPENAI_KEY}\n", "DB_PASSWORD": DB_PASSWORD})
    for name, value in {"APP_ENV": "production", "SECRETS_DIR": str(folder), "DB_HOST": "db.internal", "DB_USER": "app",
                        "DB_NAME": "app", "STORAGE_URL": "s3://bucket/files"}.items():
        monkeypatch.setenv(name, value)
    config = InfrastructureService.get_config()
    assert config.llm_config.provider == "openai"
    assert config.llm_config.api_key is not None and config.llm_config.api_key.reveal() == OPENAI_KEY
    assert config.database.url == "postgresql+psycopg2://app:db-file-CANARY-a%2Fb%40c@db.internal:5432/app"
    assert "CANARY" not in repr(config) and "CANARY" not in str(config)


def test_a_bad_secret_file_fails_start_up_naming_the_variable(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / "key").write_text("")
    monkeypatch.setenv("OPENAI_API_KEY_FILE", str(clean_env / "key"))
    with pytest.raises(ConfigurationError, match=r"OPENAI_API_KEY_FILE='.*key' is empty"):
        InfrastructureService.get_config()
    status = InfrastructureService.validate_environment(timeout=5)
    assert not status.is_valid and any("OPENAI_API_KEY_FILE" in e and "is empty" in e for e in status.errors)


def test_a_variable_and_a_different_file_fail_without_showing_either(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / "key").write_text(OPENAI_KEY)
    monkeypatch.setenv("OPENAI_API_KEY_FILE", str(clean_env / "key"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-CANARY-other-1234")
    with pytest.raises(ConfigurationError) as caught:
        InfrastructureService.get_config()
    assert "OPENAI_API_KEY and OPENAI_API_KEY_FILE are both set and differ" in str(caught.value)
    assert "CANARY" not in str(caught.value)
    assert "CANARY" not in json.dumps(InfrastructureService.validate_environment(timeout=5).to_dict())


def test_an_explicit_provider_without_its_key_fails_start_up_in_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_PROVIDER", "openai")
    status = InfrastructureService.validate_environment(timeout=5)
    assert not status.is_valid
    assert any("LLM_PROVIDER=openai needs OPENAI_API_KEY" in e for e in status.errors)


def test_a_mistyped_variable_is_a_warning_of_the_report_and_logged_once(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("LLM_PROVIDER", "local")
    monkeypatch.setenv("DATABSE_URL", f"postgresql://u:{TYPO_VALUE}@h/db")
    monkeypatch.setenv("LEARNING_ANYTHING", TYPO_VALUE)  # a variable of a sibling without a settings table: its business
    with caplog.at_level(logging.WARNING, logger=LOADER_LOG):
        InfrastructureService.get_config()
        InfrastructureService.get_config()
        status = InfrastructureService.validate_environment(timeout=5)
    typos = [w for w in status.warnings if "is not a setting" in w]
    assert typos == ["DATABSE_URL is not a setting of the infrastructure module and is ignored: did you mean DATABASE_URL?"]
    logged = [r.getMessage() for r in caplog.records if r.name == LOADER_LOG]
    assert logged == typos
    assert "CANARY" not in json.dumps(status.to_dict()) + caplog.text


def test_the_script_lists_a_mistyped_variable_under_its_warnings(clean_env: Path) -> None:
    env = {**os.environ, "LLM_PROVIDER": "local", "REDIS_ULR": f"redis://:{TYPO_VALUE}@h:6379/0"}
    result = subprocess.run([sys.executable, str(SCRIPT), "--timeout", "5"], cwd=clean_env, env=env, capture_output=True, text=True, timeout=60)
    warnings = result.stdout.split("Warnings:")[1]
    assert "  - REDIS_ULR is not a setting of the infrastructure module and is ignored: did you mean REDIS_URL?" in warnings
    assert "CANARY" not in result.stdout + result.stderr


def test_the_sibling_modules_are_the_other_folders_under_modules() -> None:
    assert module_names() == ["content_creation", "learning"]


def test_with_json_logs_the_mistyped_variable_warning_is_a_json_line_too(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("DATABSE_URL", "sqlite:///x.db")
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    with bare_root():
        InfrastructureService.get_config()
    lines = stderr.getvalue().splitlines()
    assert lines and all(json.loads(line) for line in lines)
    assert any("did you mean DATABASE_URL?" in json.loads(line)["message"] for line in lines)
