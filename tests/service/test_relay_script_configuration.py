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


@pytest.mark.parametrize("value", ["0", "-3", "abc", "1.5"])
def test_a_max_messages_below_one_or_not_a_number_is_a_usage_error(clean_env: Path, value: str) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--once", "--max-messages", value], cwd=clean_env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "--max-messages" in result.stderr and "Traceback" not in result.stderr


def test_a_broker_that_keeps_failing_is_retried_less_and_less_often(clean_env: Path) -> None:
    """Every OUTBOX_POLL_INTERVAL (0.1 s) that was 40 lines in 4 s; waits now double to a minute."""
    environment = {**os.environ, "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:1/%2F", "OUTBOX_POLL_INTERVAL": "0.1"}
    relay = subprocess.Popen(
        [sys.executable, str(SCRIPT)], cwd=clean_env, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        relay.wait(4)
    except subprocess.TimeoutExpired:
        relay.terminate()
    _, err = relay.communicate(timeout=30)
    retries = [line for line in err.splitlines() if line.startswith("relay failed, retrying in")]
    assert 2 <= len(retries) <= 4, err
    assert "retrying in 0.1 s" in retries[0] and "retrying in 2 s" in err
