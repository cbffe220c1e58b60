"""scripts/metrics_server.py: serves the exposition over HTTP on 127.0.0.1, in a subprocess and in a thread."""

from __future__ import annotations

import http.client
import json
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
from scripts.metrics_server import start_in_thread
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
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"  # what prometheus_client answers a client asking for no format
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
            except (OSError, http.client.HTTPException):  # the server went away mid-request (or mid-body): the point
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


def probe(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_probes_answer_as_an_orchestrator_expects(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTH_READY_COMPONENTS", "config,database,cache")
    server = start_in_thread(port=0)
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        alive_status, alive = probe(f"{base}/livez")
        ready_status, ready = probe(f"{base}/readyz")
        monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
        monkeypatch.setenv("DB_CONNECT_TIMEOUT", "1")
        InfrastructureService.reset()
        time.sleep(1.1)  # probes within a second share one answer
        down_status, down = probe(f"{base}/readyz")
        method = urllib.request.Request(f"{base}/readyz", method="DELETE")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(method, timeout=60)
    finally:
        server.shutdown()
        server.server_close()
    assert alive_status == 200 and alive["status"] == "alive" and alive["pid"] == os.getpid()
    assert ready_status == 200 and ready["status"] == "ready" and set(ready["checks"]) == {"config", "database", "cache"}  # type: ignore[arg-type]
    assert down_status == 503 and down["status"] == "not ready" and down["waiting_for"] == ["database"]
    assert "llm" not in down["checks"]  # type: ignore[operator]  # only the required checks run
    assert refused.value.code == 405


def test_a_scraper_asking_for_openmetrics_gets_it(clean_env: Path) -> None:
    server = start_in_thread(port=0)
    request = urllib.request.Request(f"http://127.0.0.1:{server.server_port}/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            content_type, body = response.headers["Content-Type"], response.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert content_type.startswith("application/openmetrics-text") and body.rstrip().endswith("# EOF")


def test_a_scrape_can_ask_for_some_families_by_name(clean_env: Path) -> None:
    InfrastructureService.get_metrics("shop").counter("orders", "Orders").inc()
    server = start_in_thread(port=0)
    try:
        _, body = scrape(f"http://127.0.0.1:{server.server_port}/metrics?name[]=orders_total&name[]=infrastructure_outbox_up")
    finally:
        server.shutdown()
        server.server_close()
    names = {line.split("{")[0].split(" ")[0] for line in body.splitlines() if line and not line.startswith("#")}
    assert names == {"orders_total", "infrastructure_outbox_up"}


def test_a_configuration_that_does_not_hold_is_not_ready(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_SIZE", "lots")
    server = start_in_thread(port=0)
    try:
        status, answer = probe(f"http://127.0.0.1:{server.server_port}/readyz")
    finally:
        server.shutdown()
        server.server_close()
    assert status == 503 and answer["waiting_for"] == ["config"] and "DB_POOL_SIZE" in str(answer["checks"])
