"""Where the real services of the integration layer are, and whether they answer.

Each service is read from one environment variable, with the development machines' address
as the default (the local services the README's "Tests" section names)::

    TEST_DATABASE_URL   postgresql://postgres@127.0.0.1:5432/test   (as hosts print it; the module picks psycopg2)
    TEST_REDIS_URL      redis://127.0.0.1:6379/0
    TEST_RABBITMQ_URL   amqp://guest:guest@127.0.0.1:5672/%2F

``probe_*`` connects for real with the service's driver and a short timeout and raises the
driver's error when the service does not answer. ``require_service`` turns a probe into the
layer's policy: skip the test with the reason, or fail it when ``REQUIRE_SERVICES=1`` (as
``.ci/run`` sets). Reasons never carry a password.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

import pika
import psycopg2
import pytest
import redis

from modules.infrastructure.domain.secrets import Redactor, mask_url, secrets_in_environment

PROBE_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Service:
    """One real service: its name in messages, the variable naming its URL, and the default URL."""

    name: str
    env_var: str
    default_url: str

    def url(self) -> str:
        """The URL from the environment (an empty value counts as unset), else the default."""
        return os.environ.get(self.env_var, "").strip() or self.default_url


POSTGRES = Service("PostgreSQL", "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = Service("Redis", "TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ = Service("RabbitMQ", "TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def services_required() -> bool:
    """True when an unreachable service must fail the run (``REQUIRE_SERVICES=1``/true/yes/on)."""
    return os.environ.get("REQUIRE_SERVICES", "").strip().lower() in {"1", "true", "yes", "on"}


def libpq_url(url: str) -> str:
    """A database URL as libpq/psycopg2 accept it: ``postgresql://...``, without a SQLAlchemy driver name."""
    scheme, separator, rest = url.partition("://")
    return scheme.split("+", 1)[0] + separator + rest


def probe_postgres(url: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> None:
    """Connect to PostgreSQL and run ``SELECT 1``; raise ``psycopg2.Error`` when it does not answer."""
    connection = psycopg2.connect(libpq_url(url), connect_timeout=max(1, round(timeout)))
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()


def probe_redis(url: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> None:
    """PING Redis; raise ``redis.RedisError`` when it does not answer."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


def rabbitmq_parameters(url: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> pika.URLParameters:
    """pika parameters for ``url`` that give up after one attempt of at most ``timeout`` seconds."""
    parameters = pika.URLParameters(url)
    parameters.connection_attempts = 1
    parameters.retry_delay = 0
    parameters.socket_timeout = timeout
    parameters.stack_timeout = timeout
    parameters.blocked_connection_timeout = timeout
    return parameters


def probe_rabbitmq(url: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> None:
    """Open (and close) an AMQP connection; raise ``pika.exceptions.AMQPError`` when it fails."""
    pika_logger = logging.getLogger("pika")
    level = pika_logger.level
    pika_logger.setLevel(logging.CRITICAL)  # a failed attempt logs several tracebacks; the error says it all
    try:
        pika.BlockingConnection(rabbitmq_parameters(url, timeout)).close()
    finally:
        pika_logger.setLevel(level)


def unreachable_reason(service: Service, url: str, error: BaseException) -> str:
    """Why ``service`` counts as unreachable: its name, its masked URL and the error, no password."""
    text = str(error).strip()
    detail = f"{type(error).__name__}: {text}" if text else repr(error)  # pika's errors have an empty str()
    redact = Redactor(secrets_in_environment({service.env_var: url})).redact
    return f"{service.name} unreachable at {mask_url(url)} ({service.env_var}): {redact(detail)}"


def require_service(service: Service, probe: Callable[[str], None]) -> str:
    """Return the service's URL once ``probe`` succeeds; otherwise skip, or fail under REQUIRE_SERVICES=1."""
    url = service.url()
    try:
        probe(url)
    except Exception as error:  # any driver error means "not usable here"
        reason = unreachable_reason(service, url, error)
    else:
        return url
    # Outside the except block, so the report shows the reason alone, not the driver's traceback.
    if services_required():
        pytest.fail(f"{reason} [REQUIRE_SERVICES=1]", pytrace=False)
    pytest.skip(reason)
