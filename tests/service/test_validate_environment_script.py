"""scripts/validate_environment.py as an operator runs it: output and exit status."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TESTS

SCRIPT = TESTS.parent / "scripts" / "validate_environment.py"
pytestmark = pytest.mark.usefixtures("clean_env")


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_valid_configuration_exits_0_with_one_line_per_component(clean_env: Path) -> None:
    result = run(clean_env)
    assert result.returncode == 0, result.stderr
    for name in ("config", "database", "cache", "messaging", "llm"):
        assert any(line.split()[:1] == [name] for line in result.stdout.splitlines()), name
    assert "valid" in result.stdout.splitlines()[0]


def test_json_output(clean_env: Path) -> None:
    result = run(clean_env, "--json", "--timeout", "30")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["is_valid"] is True
    assert list(report["checks"]) == ["config", "database", "cache", "messaging", "llm", "storage"]


def test_json_output_stays_json_when_the_checks_print(clean_env: Path) -> None:
    """DB_ECHO=true has SQLAlchemy print each statement; they used to come before the JSON on stdout."""
    result = run(clean_env, "--json", DB_ECHO="true")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["is_valid"] is True
    assert "SELECT 1" in result.stderr


def test_malformed_configuration_exits_1_naming_the_variable_without_a_traceback(clean_env: Path) -> None:
    result = run(clean_env, DB_POOL_SIZE="abc")
    assert result.returncode == 1
    assert "DB_POOL_SIZE" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_malformed_dotenv_file_exits_1_naming_the_line(clean_env: Path) -> None:
    (clean_env / ".env").write_text("DB_POOL_SIZE=5\nthis line is not a setting\n")
    result = run(clean_env, "--json")
    assert result.returncode == 1
    assert any("line 2" in error for error in json.loads(result.stdout)["errors"])
    assert "Traceback" not in result.stderr


def test_an_env_file_that_is_not_utf8_exits_1_naming_it_and_json_stays_json(clean_env: Path) -> None:
    (clean_env / "settings.bin").write_bytes(bytes(range(256)))
    result = run(clean_env, "--json", ENV_FILE="settings.bin")
    assert result.returncode == 1, result.stderr
    [error] = json.loads(result.stdout)["errors"]
    assert error.startswith("ENV_FILE='settings.bin' is not UTF-8 text")
    assert "Traceback" not in result.stderr


def test_production_without_required_settings_exits_1(clean_env: Path) -> None:
    result = run(clean_env, APP_ENV="production")
    assert result.returncode == 1
    assert "DATABASE_URL" in result.stdout and "LLM_PROVIDER" in result.stdout


@pytest.mark.parametrize("args", [["--bogus"], ["--timeout", "0"], ["--timeout", "soon"]])
def test_usage_errors_exit_2(clean_env: Path, args: list[str]) -> None:
    result = run(clean_env, *args)
    assert result.returncode == 2
    assert "usage:" in result.stderr


MAIN = TESTS.parent / "scripts" / "main.py"


def test_main_job_migrates_then_reports_the_database_ok(clean_env: Path) -> None:
    result = subprocess.run([sys.executable, str(MAIN)], cwd=clean_env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Migrating the database...\nDatabase migrated")
    assert any(line.split()[:2] == ["database", "ok"] for line in result.stdout.splitlines())
    assert (clean_env / "var" / "app.db").is_file()


def test_main_job_creates_a_question_and_leaves_its_event_in_the_outbox(clean_env: Path) -> None:
    result = subprocess.run([sys.executable, str(MAIN)], cwd=clean_env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Asking local/SmolLM2-135M-Instruct for a question about 'the solar system' (its first call starts the embedded model)..." in result.stdout
    assert "Question #1 about 'the solar system', written by local/SmolLM2-135M-Instruct:" in result.stdout
    event_id = result.stdout.split("event content.question_created ")[1].split(":")[0]
    assert f"{event_id}: pending in the outbox (RABBITMQ_URL not set)" in result.stdout
    connection = sqlite3.connect(clean_env / "var" / "app.db")
    try:
        [(answer_index, options)] = connection.execute("SELECT answer_index, options FROM content_questions").fetchall()
        [(status,)] = connection.execute("SELECT status FROM infrastructure_outbox WHERE message_id = ?", (event_id,)).fetchall()
    finally:
        connection.close()
    assert f"answer: {json.loads(options)[answer_index]}" in result.stdout and status == "pending"
    # No INTEGRATION_WEBHOOK_BASE_URL: a local receiver stands in and gets content_creation's notification.
    assert "webhook received: question #1 about 'the solar system' created " in result.stdout
    assert f"(Idempotency-Key {event_id}) by a local receiver, as INTEGRATION_WEBHOOK_BASE_URL is not set" in result.stdout
    assert any(line.split()[:3] == ["integration", "webhook", "ok"] for line in result.stdout.splitlines())


def test_the_run_script_s_help_describes_the_main_job(clean_env: Path) -> None:
    result = subprocess.run([sys.executable, str(MAIN), "--help"], cwd=clean_env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: ./scripts/run [-h] [--json] [--timeout TIMEOUT]")
    assert "main job: migrate the database" in " ".join(result.stdout.split())


def test_main_job_json_stays_json(clean_env: Path) -> None:
    result = subprocess.run([sys.executable, str(MAIN), "--json"], cwd=clean_env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["checks"]["database"]["status"] == "ok"
    assert "Database migrated" in result.stderr


def test_main_job_on_an_unreachable_database_exits_1_without_a_traceback(clean_env: Path) -> None:
    env = {**os.environ, "DATABASE_URL": "postgresql+psycopg2://app:s3cretpw@127.0.0.1:1/app", "DB_CONNECT_TIMEOUT": "1"}
    result = subprocess.run([sys.executable, str(MAIN)], cwd=clean_env, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Migrations not applied" in result.stdout and "database   error" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert "s3cretpw" not in result.stdout + result.stderr
