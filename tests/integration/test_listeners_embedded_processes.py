"""Two processes running the same listener without a broker, on a PostgreSQL scratch database: a process that
starts (``LISTENER_RESUME_AT_STARTUP``) takes over the claims of processes that died, not of those still running.

Resuming every claim of the listener made a second worker re-run, at once, the record the first was in
the middle of: its outside effect happened twice although no process had died.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import InfrastructureService
from tests import listener_modules as modules
from tests.integration.listener_processes import ROOT, ListenerProcess, worker_environment
from tests.integration.postgres_scratch import scratch_database, unique_name, use_postgres
from tests.integration.test_listeners_embedded_scale import scalar
from tests.waiting import wait_for

HOLD_SECONDS = 3.0
JOURNAL_ID = f"{modules.JOURNAL}.append"


def test_a_second_process_of_a_listener_does_not_take_over_the_record_the_first_is_running(
    clean_env: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with scratch_database(postgres_url, "infra_listeners") as url:
        use_postgres(monkeypatch, url, APP_ENV="test", LLM_PROVIDER="local", LISTENER_WORKER="off", OUTBOX_RELAY="off")
        InfrastructureService.migrate()
        journal = clean_env / "journal.txt"
        env = worker_environment(url, unique_name("unused"), journal, **{modules.HOLD_VARIABLE: str(HOLD_SECONDS)})
        first = ListenerProcess("register_journal", env, clean_env / "first.log")
        try:
            first.start()
            wait_for(lambda: scalar("SELECT count(*) FROM infrastructure_event_listeners") == 1, 30, "the first process registered")
            event_id = InfrastructureService.publish_event("scale.events", {"n": 1}, event_type="scale.happened", source="scale")
            wait_for(lambda: journal.exists() and journal.read_text() == f"{event_id}\n", 30, "the first process is in the handler")
            second = subprocess.run(
                [sys.executable, str(ROOT / "scripts" / "run_listeners.py"), "--once", "--register", "tests.listener_modules:register_journal"],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
            )
            assert second.returncode == 0, second.stderr
            wait_for(lambda: scalar("SELECT count(*) FROM infrastructure_event_publications WHERE status = 'completed'") == 1, 30, "completed")
        finally:
            first.stop()
            InfrastructureService.reset()
        assert "ran 0" in second.stdout, f"the second process ran the first one's record: {second.stdout}"
        assert journal.read_text() == f"{event_id}\n", "the outside effect happened once"


POISON = 5
INNOCENT = 19
MAX_STARTS = 12


def test_an_event_whose_handler_kills_its_process_ends_failed_and_holds_back_no_other(
    clean_env: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handler that kills its process every time (a crash, an OOM kill) is an attempt each time; after the last,
    its record is failed, and the events claimed with it are delivered, each once."""
    with scratch_database(postgres_url, "infra_listeners") as url:
        use_postgres(monkeypatch, url, APP_ENV="test", LLM_PROVIDER="local", LISTENER_WORKER="off", OUTBOX_RELAY="off")
        InfrastructureService.migrate()
        table = unique_name("poison_ledger")
        with InfrastructureService.get_database_session() as db:
            db.execute(text(f"CREATE TABLE {table} ({modules.ledger_columns()})"))
        env = worker_environment(url, table, clean_env / "journal.txt", **{modules.POISON_VARIABLE: str(POISON)})
        worker = ListenerProcess("register_ledger", env, clean_env / "ledger.log")
        try:
            worker.start()
            wait_for(lambda: scalar("SELECT count(*) FROM infrastructure_event_listeners") == 1, 30, "the worker registered")
            with InfrastructureService.get_database_session() as db:
                ids = [
                    InfrastructureService.publish_event("scale.events", {"n": n}, event_type="scale.happened", source="scale", session=db)
                    for n in range(INNOCENT + 1)
                ]

            def settled() -> bool:
                worker.restart_if_dead()
                assert worker.starts <= MAX_STARTS, f"still crashing after {MAX_STARTS} starts: {worker.log.read_text()[-1500:]}"
                return scalar("SELECT count(*) FROM infrastructure_event_publications WHERE status = 'pending'") == 0

            wait_for(settled, 60, "every record completed or failed")
        finally:
            worker.stop()
        with InfrastructureService.get_database_session() as db:
            rows = db.execute(text("SELECT event_id, status, attempts, last_error FROM infrastructure_event_publications")).all()
            effects = [row[0] for row in db.execute(text(f"SELECT event_id FROM {table}"))]
        InfrastructureService.reset()
        by_event = {event_id: (status, attempts, error) for event_id, status, attempts, error in rows}
        status, attempts, error = by_event[ids[POISON]]
        print(f"poison: {status} after {attempts} attempts in {worker.starts} starts: {error}")
        assert status == "failed" and "ended" in (error or ""), by_event[ids[POISON]]
        assert sorted(effects) == sorted(i for n, i in enumerate(ids) if n != POISON)  # each other event once
        assert all(by_event[i][0] == "completed" for n, i in enumerate(ids) if n != POISON)
