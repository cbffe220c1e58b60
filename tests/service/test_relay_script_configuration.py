"""``scripts/relay_outbox.py`` with a configuration it cannot use: a message naming the setting, exit 1, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TESTS

SCRIPT = TESTS.parent / "scripts" / "relay_outbox.py"
URL = "amqp://guest:relay-s3cret@127.0.0.1:5672/%2F?heartbeat=abc"


@pytest.mark.parametrize("args", [[], ["--once"]], ids=["loop", "once"])
def test_a_bad_rabbitmq_url_query_is_reported_naming_it_without_the_password(clean_env: Path, args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=clean_env,
        env={**os.environ, "RABBITMQ_URL": URL},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "RABBITMQ_URL='amqp://guest:****@127.0.0.1:5672/%2F?heartbeat=abc' has a query parameter heartbeat" in result.stderr
    assert "Traceback" not in result.stderr and "relay-s3cret" not in result.stdout + result.stderr
