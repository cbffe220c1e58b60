"""scripts/metrics_server.py: serves the exposition over HTTP on 127.0.0.1, in a subprocess and in a thread."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
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


def test_ctrl_c_in_the_middle_of_scrapes_still_stops_the_script(clean_env: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{clean_env / 'scrape.db'}"}
    server = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--port", "0"], cwd=clean_env, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    done = threading.Event()
    scrapers: list[threading.Thread] = []

    def scrape_until_done(url: str) -> None:
        while not done.is_set():
            try:
                scrape(url)
            except OSError:  # the server went away mid-request: that is the point
                pass

    try:
        url = (server.stdout.readline() if server.stdout else "").split()[3]
        scrapers.extend(threading.Thread(target=scrape_until_done, args=(url,)) for _ in range(3))
        for scraper in scrapers:
            scraper.start()
        time.sleep(1.0)  # a SIGINT now lands inside a response more often than not
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=15)  # raises TimeoutExpired if the signal was swallowed
    finally:
        done.set()
        if server.poll() is None:
            server.kill()
            server.communicate()
    for scraper in scrapers:
        scraper.join(10)
    assert server.returncode == 0
