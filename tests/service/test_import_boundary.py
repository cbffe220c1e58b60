"""Importing the public API stays light: no driver or client library is loaded, nothing connects."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import TESTS

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
