"""Resubmitting with a broker, the way operators do it: the listener runs in a process of its own
(scripts/run_listeners.py) and ``resubmit_publications`` is called from another process (here the
test's), which listens to nothing. The listener's worker runs the record from the database at its
next look (``LISTENER_POLL_INTERVAL``); nothing is published to the broker for it.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.infrastructure.messaging.event_topology import module_queue
from modules.infrastructure.module_api import InfrastructureService
from tests import broker_listener_modules as modules
from tests.integration.broker_listener_processes import BrokerListenerProcess, broker_worker_environment
from tests.integration.postgres_scratch import scratch_database, unique_name, use_postgres
from tests.integration.private_rabbitmq import PrivateRabbitMQ
from tests.integration.test_listeners_broker_postgres import consumed, record, wait_until
from tests.integration.test_messaging_module_queues import Modules
from tests.listener_modules import ledger_columns

WAIT = 30.0
RESUBMITTED_WITHIN = 5.0  # the listener process looks every 0.2 s


def count(statement: str) -> int:
    with InfrastructureService.get_database_session() as db:
        return int(db.execute(text(statement)).scalar() or 0)


def test_a_record_resubmitted_from_another_process_is_run_by_the_listeners_process(
    clean_env: Path, postgres_url: str, private_rabbitmq: PrivateRabbitMQ, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = Modules(private_rabbitmq.url)
    module = made.new("resubmitted")
    identity, kind = f"{module}.{modules.LEDGER_NAME}", f"resubmit_{uuid.uuid4().hex[:8]}.happened"
    broken = clean_env / "broken"
    broken.touch()
    with scratch_database(postgres_url, "infra_broker_resubmit") as url:
        use_postgres(monkeypatch, url, APP_ENV="test", LLM_PROVIDER="local", RABBITMQ_URL=private_rabbitmq.url, OUTBOX_RELAY="immediate", LISTENER_WORKER="off")
        InfrastructureService.migrate()
        table = unique_name("broker_ledger")
        with InfrastructureService.get_database_session() as db:
            db.execute(text(f"CREATE TABLE {table} ({ledger_columns()})"))
        env = broker_worker_environment(url, private_rabbitmq.url, **{
            modules.PATTERN_VARIABLE: kind, modules.LEDGER_MODULE_VARIABLE: module, modules.TABLE_VARIABLE: table, modules.BROKEN_VARIABLE: str(broken),
        })
        ledger = BrokerListenerProcess("register_ledger", env, clean_env / "ledger.log")
        try:
            ledger.start()
            wait_until(lambda: count("SELECT count(*) FROM infrastructure_event_listeners") == 1, WAIT, lambda: "the listener registered: " + ledger.log_tail())
            # Registered is not yet consuming: an event published before the module queue is bound reaches no one.
            wait_until(lambda: consumed(private_rabbitmq.url, module_queue(module)), WAIT, lambda: "the listener consumes its queue: " + ledger.log_tail())
            event_id = InfrastructureService.publish_event("broker_resubmit", {}, event_type=kind, source="tests")
            wait_until(lambda: record(event_id, identity) == ("failed", 2), WAIT, lambda: "the record failed: " + ledger.log_tail())

            broken.unlink()
            assert InfrastructureService.resubmit_publications(listener=identity) == 1
            took = wait_until(lambda: record(event_id, identity) == ("completed", 1), RESUBMITTED_WITHIN, lambda: "the resubmitted record completed: " + ledger.log_tail())
            with InfrastructureService.get_database_session() as db:
                assert db.execute(text(f"SELECT event_id FROM {table}")).scalars().all() == [event_id]
            print(f"\nresubmitted from another process, completed in {took:.2f} s")
        finally:
            ledger.stop()
            InfrastructureService.reset()
            made.cleanup()
