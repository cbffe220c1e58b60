"""scripts/metrics_server.py: serves the exposition over HTTP on 127.0.0.1, in a subprocess and in a thread."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from modules.infrastructure.module_api import InfrastructureService
from scripts.metrics_server import CONTENT_TYPE, start_in_thread
from tests.conftest import TESTS
from tests.metrics_support import sample

SCRIPT = TESTS.parent / "scripts" / "metrics_server.py"


def scrape(url: str) -> tuple[str, str]:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.headers["Content-Type"], response.read().decode()


def test_the_script_serves_metrics_on_a_free_port_and_stops_on_ctrl_c(clean_env: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{clean_env / 'scrape.db'}", "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--port", "0"], cwd=clean_env, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    scrapes: list[tuple[str, str]] = []
    try:
        line = server.stdout.readline() if server.stdout else ""
        if line.startswith("Serving metrics on http://127.0.0.1:"):
            scrapes = [scrape(line.split()[3]), scrape(line.split()[3])]
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=30)
    assert line.startswith("Serving metrics on http://127.0.0.1:") and server.returncode == 0, line + stderr
    (content_type, first), (_, second) = scrapes
    assert content_type == CONTENT_TYPE
    assert sample("infrastructure_outbox_up", first) == 0  # not migrated; the scrape still answers
    assert sample("infrastructure_db_pool_size", first, engine="primary") is None  # built by that count
    assert sample("infrastructure_db_pool_size", second, engine="primary") == 5


def test_an_application_serves_its_own_calls_from_a_thread(clean_env: Path) -> None:
    InfrastructureService.get_cache("lessons").get("nothing")
    server = start_in_thread(port=0)
    try:
        _, body = scrape(f"http://127.0.0.1:{server.server_port}/metrics")
        assert sample("infrastructure_cache_misses_total", body, backend="memory") == 1
        with pytest.raises(urllib.error.HTTPError) as raised:
            scrape(f"http://127.0.0.1:{server.server_port}/other")
        assert raised.value.code == 404
    finally:
        server.shutdown()
        server.server_close()
