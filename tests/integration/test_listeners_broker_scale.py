"""5,000 events to two listener modules on RabbitMQ, each module in a process of its own: each listener gets
each event, the database-only effect is there once per event, through a broker restart and kill -9s.

PostgreSQL is a scratch database; RabbitMQ is the session's private node (it is restarted here, so never
the shared broker). The test process publishes in transactions of ``BATCH`` events and relays them
(``OUTBOX_RELAY=thread``); the listener processes are ``scripts/run_listeners.py --register
tests.broker_listener_modules:...``, each consuming its module's queue ``infrastructure.listeners.<module>``.
During the run the broker is stopped (publishing goes on into the outbox) and started again, the
ledger's process is killed with SIGKILL mid-run by the test, and the journal's process kills itself
once between its append and its record's commit; each dead process is started again at once.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import InfrastructureService
from tests import broker_listener_modules as modules
from tests.integration.broker_listener_processes import BrokerListenerProcess, broker_worker_environment
from tests.integration.postgres_scratch import scratch_database, unique_name, use_postgres
from tests.integration.private_rabbitmq import PrivateRabbitMQ
from tests.integration.test_messaging_module_queues import Modules
from tests.listener_modules import ledger_columns

PREFETCH = 10  # LISTENER_PREFETCH's default, which the listener processes run with
EVENTS = 5_000
BATCH = 100
BROKER_STOP_AT, BROKER_START_AT = 15, 25  # batches: the broker is away while these are published
KILL_LEDGER_AT = EVENTS // 4  # completed ledger records when the test kills its process
DIE_AT = 3_500  # the journal's process kills itself after its append for this event
START_SECONDS = 30.0
DRAIN_SECONDS = 150.0  # about 70 s on a quiet machine: the consumer runs one event (two transactions) at a time


@dataclass
class Run:
    """What the test saw: the ids it published, the ledger's completed count when killed, the restart's times."""

    published: list[str] = field(default_factory=list)
    killed_at: int | None = None
    broker_restart: tuple[float, float] | None = None


def scalar(statement: str, **params: object) -> int:
    with InfrastructureService.get_database_session() as db:
        return int(db.execute(text(statement), params).scalar() or 0)


def completed(listener: str) -> int:
    return scalar("SELECT count(*) FROM infrastructure_event_publications WHERE listener = :l AND status = 'completed'", l=listener)


def publish_all(run: Run, kind: str, on_batch: Callable[[int], None]) -> None:
    """``EVENTS`` events of type ``kind`` in transactions of ``BATCH``; ``on_batch(number)`` after each commit."""
    for number, start in enumerate(range(0, EVENTS, BATCH)):
        with InfrastructureService.get_database_session() as db:
            for n in range(start, min(start + BATCH, EVENTS)):
                run.published.append(InfrastructureService.publish_event("broker_scale", {"n": n}, event_type=kind, source="scale", session=db))
        on_batch(number)


@pytest.fixture
def scale_env(clean_env: Path, monkeypatch: pytest.MonkeyPatch, private_rabbitmq: PrivateRabbitMQ) -> Iterator[Path]:
    """The test process publishes and relays to the private node; it listens to nothing."""
    settings = {"APP_ENV": "test", "LLM_PROVIDER": "local", "RABBITMQ_URL": private_rabbitmq.url, "OUTBOX_RELAY": "thread",
                "OUTBOX_POLL_INTERVAL": "0.2", "LISTENER_WORKER": "off"}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    yield clean_env


def test_two_listener_processes_get_each_of_5000_events_through_a_broker_restart_and_kills(
    scale_env: Path, postgres_url: str, private_rabbitmq: PrivateRabbitMQ, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = Modules(private_rabbitmq.url)
    ledger_module, journal_module = made.new("ledger"), made.new("journal")
    ledger_id, journal_id = f"{ledger_module}.{modules.LEDGER_NAME}", f"{journal_module}.{modules.JOURNAL_NAME}"
    kind = f"scale_{uuid.uuid4().hex[:8]}.happened"
    journal = scale_env / "journal.txt"
    with scratch_database(postgres_url, "infra_broker_listeners") as url:
        use_postgres(monkeypatch, url)
        InfrastructureService.migrate()
        table = unique_name("broker_ledger")
        with InfrastructureService.get_database_session() as db:
            db.execute(text(f"CREATE TABLE {table} ({ledger_columns()})"))
        env = broker_worker_environment(url, private_rabbitmq.url, **{
            modules.PATTERN_VARIABLE: kind.split(".")[0] + ".*", modules.LEDGER_MODULE_VARIABLE: ledger_module,
            modules.JOURNAL_MODULE_VARIABLE: journal_module, modules.TABLE_VARIABLE: table, modules.FILE_VARIABLE: str(journal),
            modules.DIE_AT_VARIABLE: str(DIE_AT), modules.DIE_MARKER_VARIABLE: str(scale_env / "died"),
        })
        ledger = BrokerListenerProcess("register_ledger", env, scale_env / "ledger.log")
        journaling = BrokerListenerProcess("register_journal", env, scale_env / "journal.log")
        run = Run()
        try:
            _deliver_through_faults(run, private_rabbitmq, kind, ledger, journaling, ledger_id, journal_id)
            with InfrastructureService.get_database_session() as db:
                ledger_rows = [row[0] for row in db.execute(text(f"SELECT event_id FROM {table}"))]
            _check(run, ledger_rows, journal, ledger_id, journal_id, [ledger.starts, journaling.starts])
        finally:
            ledger.stop()
            journaling.stop()
            InfrastructureService.reset()  # the scratch database is dropped with no connection of ours left
            made.cleanup()


def _deliver_through_faults(
    run: Run, node: PrivateRabbitMQ, kind: str, ledger: BrokerListenerProcess, journaling: BrokerListenerProcess, ledger_id: str, journal_id: str
) -> None:
    """Start both listener processes, publish everything through the faults, wait until every record completed."""
    processes = (ledger, journaling)
    for process in processes:
        process.start()
    deadline = time.monotonic() + START_SECONDS
    while scalar("SELECT count(*) FROM infrastructure_event_listeners") < 2:  # both registered: their queues are bound
        assert time.monotonic() < deadline, "listener processes did not register: " + ledger.log_tail() + journaling.log_tail()
        time.sleep(0.1)

    def faults(batch: int | None = None) -> None:
        if batch == BROKER_STOP_AT:
            stopped = time.monotonic()
            node.stop()
            run.broker_restart = (stopped, 0.0)
        if batch == BROKER_START_AT:
            node.start()
            assert run.broker_restart is not None
            run.broker_restart = (run.broker_restart[0], time.monotonic())
        if run.killed_at is None and completed(ledger_id) >= KILL_LEDGER_AT:
            ledger.kill()
            run.killed_at = completed(ledger_id)
        for process in processes:
            if process.dead():
                process.start()

    started = time.monotonic()
    publish_all(run, kind, faults)
    published_in = time.monotonic() - started
    deadline = started + DRAIN_SECONDS
    while run.killed_at is None or completed(ledger_id) < EVENTS or completed(journal_id) < EVENTS:
        assert time.monotonic() < deadline, (
            f"not all delivered within {DRAIN_SECONDS:g} s: ledger {completed(ledger_id)}, journal {completed(journal_id)}, "
            f"killed at {run.killed_at}; outbox pending {scalar('SELECT count(*) FROM infrastructure_outbox WHERE status = :s', s='pending')}; "
            + ledger.log_tail() + " | " + journaling.log_tail()
        )
        faults()
        time.sleep(0.1)
    assert run.broker_restart is not None
    print(f"\npublished {EVENTS} in {published_in:.1f} s; delivered 2 x {EVENTS} in {time.monotonic() - started:.1f} s; "
          f"broker away {run.broker_restart[1] - run.broker_restart[0]:.1f} s; ledger killed at {run.killed_at} completed; "
          f"starts ledger {ledger.starts}, journal {journaling.starts}")


def _check(run: Run, ledger_rows: list[str], journal: Path, ledger_id: str, journal_id: str, starts: list[int]) -> None:
    published = set(run.published)
    assert len(published) == EVENTS
    assert run.killed_at is not None and 0 < run.killed_at < EVENTS, f"the kill came mid-run: {run.killed_at}"
    assert starts == [2, 2], "the ledger's process was killed by the test once, the journal's died in its commit window once"
    with InfrastructureService.get_database_session() as db:
        records = db.execute(text(
            "SELECT listener, status, count(*), count(DISTINCT event_id), sum(attempts) FROM infrastructure_event_publications GROUP BY listener, status"
        )).all()
        completed_ids = {
            listener: {row[0] for row in db.execute(
                text("SELECT event_id FROM infrastructure_event_publications WHERE listener = :l AND status = 'completed'"), {"l": listener})}
            for listener in (ledger_id, journal_id)
        }
    by_status = {(listener, status): (count, distinct, attempts) for listener, status, count, distinct, attempts in records}
    assert set(by_status) == {(ledger_id, "completed"), (journal_id, "completed")}, f"nothing pending or failed: {by_status}"
    assert all(count == distinct == EVENTS for count, distinct, _ in by_status.values())
    lost = {listener: len(published - ids) for listener, ids in completed_ids.items()}
    assert completed_ids[ledger_id] == completed_ids[journal_id] == published, f"lost per listener: {lost}"
    effects = Counter(ledger_rows)
    lines = journal.read_text().split("\n")
    assert lines[-1] == "", "the journal ends with a whole line"
    appended = Counter(lines[:-1])
    ledger_twice = sum(1 for c in effects.values() if c > 1)
    journal_duplicates = sum(appended.values()) - len(appended)
    extra_attempts = {listener: attempts - count for (listener, _), (count, _, attempts) in by_status.items()}
    print(f"lost {lost}; ledger rows {len(ledger_rows)} ({ledger_twice} events twice, {len(published - set(effects))} missing); "
          f"journal lines {sum(appended.values())} (duplicates {journal_duplicates}, missing {len(published - set(appended))}); "
          f"extra attempts {extra_attempts}")
    assert set(effects) == published, f"ledger lost {len(published - set(effects))} events"
    assert ledger_twice == 0, f"database-only effect twice for {ledger_twice} events"
    assert set(appended) == published, f"journal lost {len(published - set(appended))} events"
    # The journal's death in its commit window repeats its append for sure; a consumer hands the messages it has
    # received (up to LISTENER_PREFETCH, 10) to the listeners together, so a death in the commit window, a kill or a
    # broker restart repeats at most that batch's outside effects.
    assert 1 <= journal_duplicates <= 3 * PREFETCH, f"{journal_duplicates} duplicate outside effects"
