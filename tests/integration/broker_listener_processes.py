"""Listener processes on a broker for the integration tests: ``scripts/run_listeners.py --register tests.broker_listener_modules:...``
started with the test's database and RabbitMQ node, killed with SIGKILL, started again."""

from __future__ import annotations

from dataclasses import dataclass

from tests.integration.listener_processes import ROOT, ListenerProcess, without_module_settings


@dataclass
class BrokerListenerProcess(ListenerProcess):
    """One ``scripts/run_listeners.py`` process for one registration function of tests/broker_listener_modules.py."""

    registrations: str = "tests.broker_listener_modules"


def broker_worker_environment(database_url: str, rabbitmq_url: str, **extra: str) -> dict[str, str]:
    """The listener processes' environment: this one without any module setting, plus the database, the broker and ``extra``."""
    return {
        **without_module_settings(), "APP_ENV": "test", "LLM_PROVIDER": "local", "DATABASE_URL": database_url, "RABBITMQ_URL": rabbitmq_url,
        "LISTENER_WORKER": "thread", "LISTENER_POLL_INTERVAL": "0.2", "OUTBOX_RELAY": "off", "PYTHONPATH": str(ROOT), **extra,
    }
