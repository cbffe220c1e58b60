"""Importing the public API stays light: no driver or client library is loaded, nothing connects."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import TESTS
from tests.integration.fault_server import Answer, FaultServer

HEAVY = ["openai", "pika", "redis", "xllamacpp", "sqlalchemy", "psycopg2", "dotenv", "httpx", "httpx2", "alembic", "prometheus_client"]


def test_importing_module_api_loads_no_driver_or_client() -> None:
    code = (
        "import sys, json\n"
        "import modules.infrastructure.module_api\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=TESTS.parent, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def loaded_drivers(code: str, tmp_path: object, **settings: str) -> list[str]:
    """The heavy packages a fresh interpreter has loaded after running ``code`` on the embedded defaults."""
    script = (
        "import sys, json\n"
        "from modules.infrastructure.module_api import InfrastructureService\n"
        f"{code}\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(TESTS.parent), "HOME": str(tmp_path), **settings}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_process_that_only_caches_loads_no_database_broker_or_llm_driver(tmp_path: Path) -> None:
    code = "c = InfrastructureService.get_cache('lessons'); c.set('a', 'b'); assert c.get('a') == 'b'"
    assert loaded_drivers(code, tmp_path) == ["dotenv"]


def test_a_process_that_only_uses_the_database_loads_no_broker_cache_or_llm_client(tmp_path: Path) -> None:
    code = (
        "from sqlalchemy import text\n"
        "with InfrastructureService.get_database_session() as db: assert db.execute(text('SELECT 1')).scalar() == 1"
    )
    assert loaded_drivers(code, tmp_path) == ["dotenv", "prometheus_client", "sqlalchemy"]  # sessions are measured


def test_a_process_that_only_calls_the_llm_loads_no_database_cache_or_broker_driver(tmp_path: Path) -> None:
    code = "assert InfrastructureService.execute_prompt(Prompt('hi')).content"
    with FaultServer([Answer()]) as server:
        settings = {"LLM_PROVIDER": "openai", "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": server.base_url}
        loaded = loaded_drivers(f"from modules.infrastructure.module_api import Prompt\n{code}", tmp_path, **settings)
    assert "openai" in loaded and "prometheus_client" in loaded  # calls are measured
    assert not set(loaded) & {"sqlalchemy", "psycopg2", "alembic", "redis", "pika", "xllamacpp"}
