"""Fixtures for the integration layer: the URL of each real service, once it has answered.

Request ``postgres_url``, ``redis_url`` or ``rabbitmq_url`` in a test and it runs against the
real service; where the service does not answer, the test is skipped with the reason (which
service, its URL with the password masked, the driver's error) or, under ``REQUIRE_SERVICES=1``,
fails with it. Each service is probed once per session. Addresses and probes live in
``tests/integration/services.py``::

    def test_orders_are_stored(postgres_url):
        InfrastructureService uses it as it is; for SQLAlchemy itself: create_engine(engine_url(postgres_url))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.integration.anthropic_fault_server import CLAUDE_API_KEY
from tests.integration.fault_server import FAULT_API_KEY, FaultServer
from tests.integration.http_fault_server import HttpFaultServer
from tests.integration.postgres_scratch import execute
from tests.integration.private_postgres import PrivatePostgres
from tests.integration.private_rabbitmq import PrivateRabbitMQ
from tests.integration.private_s3 import PrivateS3
from tests.integration.services import (
    POSTGRES,
    RABBITMQ,
    REDIS,
    probe_postgres,
    probe_rabbitmq,
    probe_redis,
    require_service,
)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """``TEST_DATABASE_URL`` as hosts print it (``postgresql://...``), checked with ``SELECT 1``.

    The module's settings take it as it is; SQLAlchemy's own ``create_engine`` needs
    ``tests.integration.postgres_scratch.engine_url(url)``, psycopg2 ``services.libpq_url(url)``.
    """
    return require_service(POSTGRES, probe_postgres)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """``TEST_REDIS_URL`` (``redis://...``), checked with PING."""
    return require_service(REDIS, probe_redis)


@pytest.fixture(scope="session")
def rabbitmq_url() -> str:
    """``TEST_RABBITMQ_URL`` (``amqp://...``), checked by opening an AMQP connection."""
    return require_service(RABBITMQ, probe_rabbitmq)


@pytest.fixture(scope="session")
def private_rabbitmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRabbitMQ]:
    """A RabbitMQ node of the session's own, for faults (alarms, restarts) the shared broker must never see."""
    with PrivateRabbitMQ(tmp_path_factory.mktemp("rabbitmq")) as node:
        yield node


@pytest.fixture
def openai_at(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Configure the facade for the OpenAI provider at a fault server (key ``FAULT_API_KEY``), plus ``settings``."""

    def configure(server: FaultServer, **settings: str) -> None:
        _configure(monkeypatch, {"LLM_PROVIDER": "openai", "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": FAULT_API_KEY, **settings})

    return configure


@pytest.fixture
def anthropic_at(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Configure the facade for the anthropic provider at a Messages-API fault server (key ``CLAUDE_API_KEY``,
    no response cache), plus ``settings``."""

    def configure(server: FaultServer, **settings: str) -> None:
        _configure(monkeypatch, {"LLM_PROVIDER": "anthropic", "ANTHROPIC_BASE_URL": server.root_url,
                                 "ANTHROPIC_API_KEY": CLAUDE_API_KEY, "LLM_CACHE_TTL": "0", **settings})

    return configure


@pytest.fixture
def http_server() -> Iterator[HttpFaultServer]:
    """A scripted HTTP server on 127.0.0.1 for the integration client, stopped when the test ends."""
    with HttpFaultServer() as server:
        yield server


@pytest.fixture
def integration_at(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Configure integration ``name`` of the facade at ``url``, plus its other ``INTEGRATION_<NAME>_*`` settings by suffix:
    ``integration_at("crm", server.url, RETRIES="0", TOKEN="t")``."""

    def configure(name: str, url: str, **settings: str) -> None:
        prefix = f"INTEGRATION_{name.upper()}_"
        _configure(monkeypatch, {prefix + "BASE_URL": url, **{prefix + suffix: value for suffix, value in settings.items()}})

    return configure


def _configure(monkeypatch: pytest.MonkeyPatch, settings: dict[str, str]) -> None:
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    from modules.infrastructure.module_api import InfrastructureService

    InfrastructureService.reset()


@pytest.fixture(scope="session")
def private_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateS3]:
    """An S3-compatible server (moto) of the session's own on 127.0.0.1, credentials checked; make buckets on it."""
    with PrivateS3(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture(scope="session")
def private_s3_for_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateS3]:
    """An S3-compatible server that serves presigned URLs (moto does not check credentials given in a query)."""
    with PrivateS3(tmp_path_factory.mktemp("s3-urls"), check_credentials=False) as server:
        yield server


@pytest.fixture
def scram_postgres() -> Iterator[PrivatePostgres]:
    """A private PostgreSQL where the role ``app`` logs in with a SCRAM password (``first-password``) over TCP."""
    with PrivatePostgres(password_encryption="scram-sha-256") as server:
        execute(server.url, "CREATE ROLE app LOGIN PASSWORD 'first-password'")
        hba = server.data / "pg_hba.conf"
        hba.write_text("host all app 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        execute(server.url, "SELECT pg_reload_conf()")
        yield server
