"""Several worker processes with ``PROMETHEUS_MULTIPROC_DIR``: one scrape shows every worker's figures, and an
ended worker's live gauges go with ``mark_metrics_process_dead`` while its counters stay in the sums.

Every process here is a real one (``tests/integration/metrics_worker.py``) on one SQLite file; the test process
itself stays in single-process mode, as prometheus_client chooses the mode when it is first imported.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from modules.infrastructure.domain.config.settings import FEATURE_FLAG_PREFIX, SETTINGS_BY_NAME

ROOT = Path(__file__).resolve().parents[2]
AMOUNTS = (1, 2, 3)
WAIT_SECONDS = 30.0
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass
class Workers:
    """The environment every process of a test gets, and the worker processes started in it."""

    env: dict[str, str]
    cwd: Path
    running: list[subprocess.Popen[str]] = field(default_factory=list)

    def run(self, *args: str, env: dict[str, str] | None = None) -> str:
        """Run one short process of ``metrics_worker`` to its end; its output."""
        done = subprocess.run(
            [sys.executable, "-m", "tests.integration.metrics_worker", *args],
            cwd=self.cwd, env=env or self.env, capture_output=True, text=True, timeout=WAIT_SECONDS,
        )
        assert done.returncode in (0, 1), done.stderr[-2000:]
        return done.stdout

    def start(self, amount: int, *command: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], int]:
        """A worker that counted ``amount`` of everything (or ran ``command``) and now waits; it and its pid."""
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.metrics_worker", *(command or ("work", str(amount)))],
            cwd=self.cwd, env=env or self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        self.running.append(worker)
        assert worker.stdout is not None
        line = worker.stdout.readline()
        assert line.startswith("ready "), f"worker {amount} did not start: {line!r}"
        return worker, int(line.split()[1])

    def scrape(self) -> tuple[Samples, Samples]:
        """One scrape from a process of its own: ``metrics_text()``'s samples and ``/metrics``' of the WSGI app."""
        answer = json.loads(self.run("scrape"))
        assert answer["status"] == "200 OK"
        return _samples(answer["text"]), _samples(answer["app"])


def _samples(text: str) -> Samples:
    return {(s.name, frozenset(s.labels.items())): s.value for family in text_string_to_metric_families(text) for s in family.samples}


def _value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def _by_pid(samples: Samples, name: str) -> dict[str, float]:
    return {dict(labels)["pid"]: value for (sample, labels), value in samples.items() if sample == name and "pid" in dict(labels)}


def base_env(tmp_path: Path) -> dict[str, str]:
    """The shell's environment without any of the module's variables, on a SQLite file in ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_BY_NAME and not k.startswith(FEATURE_FLAG_PREFIX)}
    env.pop("prometheus_multiproc_dir", None)
    return {
        **env, "PYTHONPATH": str(ROOT), "APP_ENV": "test", "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "OUTBOX_RELAY": "off", "LISTENER_WORKER": "off",
    }


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    folder = tmp_path / "metrics"
    folder.mkdir()
    started = Workers({**base_env(tmp_path), "PROMETHEUS_MULTIPROC_DIR": str(folder)}, tmp_path)
    started.run("migrate")
    yield started
    for worker in started.running:
        if worker.poll() is None:
            worker.kill()
        worker.wait(WAIT_SECONDS)
        for pipe in (worker.stdin, worker.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()


def _settled(workers: Workers, check: Callable[[Samples], bool]) -> tuple[Samples, Samples]:
    """Scrape until ``check(samples)`` holds: the workers copy their pool and cache figures every second."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        scraped = workers.scrape()
        if check(scraped[0]) or time.monotonic() > deadline:
            return scraped
        time.sleep(0.2)


def _cache_reads_copied(total: float) -> Callable[[Samples], bool]:
    return lambda samples: _value(samples, "infrastructure_cache_misses_total", backend="memory") == total


def test_one_scrape_shows_every_worker(workers: Workers) -> None:
    pids = [workers.start(amount)[1] for amount in AMOUNTS]
    total = float(sum(AMOUNTS))

    text, app = _settled(workers, _cache_reads_copied(total))

    for samples in (text, app):
        # Counters and histograms: every worker's, added up.
        assert _value(samples, "invoices_sent_total", module="billing") == total
        assert _value(samples, "infrastructure_db_session_duration_seconds_count", engine="primary") == total
        assert _value(samples, "infrastructure_outbox_events_added_total") == total
        assert _value(samples, "infrastructure_cache_misses_total", backend="memory") == total
        # Gauges, as each declares: livesum added up, liveall one series per worker.
        assert _value(samples, "invoices_in_progress", module="billing") == total
        assert _by_pid(samples, "render_queue") == {str(pid): float(amount) for pid, amount in zip(pids, AMOUNTS)}
        # Each worker's pool, labelled with its pid (the held session of each is checked out).
        checked_out = _by_pid(samples, "infrastructure_db_pool_checked_out")
        assert {checked_out[str(pid)] for pid in pids} == {1.0}
        # The database's figures are read once by the scraping process, never added up over workers.
        assert _value(samples, "infrastructure_outbox_events", status="pending") == total
        assert _value(samples, "infrastructure_outbox_up") == 1.0


def test_a_killed_worker_leaves_its_counters_and_takes_its_live_gauges_when_marked_dead(workers: Workers) -> None:
    started = [workers.start(amount) for amount in AMOUNTS]
    total = float(sum(AMOUNTS))
    _settled(workers, _cache_reads_copied(total))
    killed, killed_pid = started[-1]
    killed.send_signal(signal.SIGKILL)
    killed.wait(WAIT_SECONDS)

    before, _ = workers.scrape()
    assert str(killed_pid) in _by_pid(before, "infrastructure_db_pool_checked_out")  # not marked yet: still shown
    assert workers.run("dead", str(killed_pid)).strip() == "marked"
    after, _ = workers.scrape()

    alive = total - AMOUNTS[-1]
    assert str(killed_pid) not in _by_pid(after, "infrastructure_db_pool_checked_out")
    assert str(killed_pid) not in _by_pid(after, "render_queue")
    assert _value(after, "invoices_in_progress", module="billing") == alive
    assert set(_by_pid(after, "render_queue")) == {str(pid) for _, pid in started[:-1]}
    # What the killed worker counted stays counted.
    assert _value(after, "invoices_sent_total", module="billing") == total
    assert _value(after, "infrastructure_outbox_events_added_total") == total
    assert _value(after, "infrastructure_db_session_duration_seconds_count", engine="primary") == total
    assert _value(after, "infrastructure_cache_misses_total", backend="memory") == total


def test_a_worker_that_ends_normally_writes_its_last_cache_counts_and_takes_its_live_gauges(workers: Workers) -> None:
    _, staying = workers.start(1)
    worker, pid = workers.start(2)  # told to end at once: within a second, its cache reads are copied only by its exit
    assert worker.stdin is not None
    worker.stdin.write("\n")
    worker.stdin.close()
    assert worker.wait(WAIT_SECONDS) == 0
    samples, _ = _settled(workers, _cache_reads_copied(3.0))  # the ended one's copied at its exit, the other's within a second
    assert _value(samples, "infrastructure_cache_misses_total", backend="memory") == 3.0
    assert _value(samples, "invoices_sent_total", module="billing") == 3.0
    assert set(_by_pid(samples, "render_queue")) == {str(staying)}  # no child_exit hook needed for a normal exit
    assert str(pid) not in _by_pid(samples, "infrastructure_db_pool_checked_out")


def test_a_breaker_open_in_one_worker_is_open_in_the_scrape_until_that_worker_ends(workers: Workers) -> None:
    crm = {
        "INTEGRATION_CRM_BASE_URL": "http://127.0.0.1:9", "INTEGRATION_CRM_RETRIES": "0",  # the discard port: nothing answers
        "INTEGRATION_CRM_BREAKER_THRESHOLD": "1", "INTEGRATION_CRM_BREAKER_COOLDOWN": "600",
    }
    workers.start(1)
    failing, _ = workers.start(0, "breaker", env={**workers.env, **crm})
    samples, _ = _settled(workers, lambda samples: _value(samples, "infrastructure_integration_breaker_open", integration="crm") == 1.0)
    assert _value(samples, "infrastructure_integration_breaker_open", integration="crm") == 1.0  # livemax: one series, no pid
    assert _value(samples, "infrastructure_integration_breaker_openings_total", integration="crm") == 1.0
    assert failing.stdin is not None
    failing.stdin.write("\n")
    failing.stdin.close()
    assert failing.wait(WAIT_SECONDS) == 0
    after, _ = workers.scrape()
    assert _value(after, "infrastructure_integration_breaker_open", integration="crm") is None  # its live gauge left with it
    assert _value(after, "infrastructure_integration_breaker_openings_total", integration="crm") == 1.0  # a counter stays


def test_every_workers_exported_spans_are_counted_in_one_scrape(workers: Workers) -> None:
    from tests.integration.otlp_receiver import OtlpReceiver

    with OtlpReceiver() as receiver:
        env = {**workers.env, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
        for amount in AMOUNTS:
            workers.start(amount, env=env)
        expected = sum(2 * amount for amount in AMOUNTS)  # each session and its event's span; the held session is still open
        receiver.wait_for(lambda spans: len(spans) >= expected, WAIT_SECONDS)
        exported = "infrastructure_trace_spans_exported_total"
        samples, _ = _settled(workers, lambda samples: _value(samples, exported, outcome="ok") == expected)
    assert _value(samples, exported, outcome="ok") == expected == len(receiver.spans)
    assert _value(samples, exported, outcome="failed") == 0 and _value(samples, exported, outcome="dropped") == 0
