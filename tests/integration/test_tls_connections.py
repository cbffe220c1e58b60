"""Encrypted connections through the facade, against private servers that speak TLS with certificates made for the run.

- PostgreSQL with DB_SSLMODE=verify-full and DB_SSLROOTCERT: the session's connection is encrypted
  (pg_stat_ssl); a CA that did not sign the server's certificate is a ``DatabaseConnectionError``
  naming DB_SSLROOTCERT; a user the server wants a client certificate from is refused without
  DB_SSLCERT/DB_SSLKEY (the error names them) and connects with them.
- Redis on a TLS port that requires client certificates: ``get_cache`` works with the REDIS_TLS_*
  files; a wrong CA is a ``CacheConnectionError`` naming REDIS_TLS_CA_FILE.
- RabbitMQ with an AMQPS listener that requires client certificates: the start-up report's broker
  check connects with the RABBITMQ_TLS_* files; a wrong CA is reported naming RABBITMQ_TLS_CA_FILE.
- No line of a private key appears in any message, log record or start-up report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import (
    CacheConnectionError,
    DatabaseConnectionError,
    InfrastructureService,
)
from tests.integration.private_postgres import PrivatePostgres
from tests.integration.tls_servers import CLIENT_CERT_USER, TestPKI, TLSPostgres, TLSRabbitMQ, TLSRedis, create_role

Configure = Callable[..., None]
SSL_OF_MY_CONNECTION = "SELECT ssl, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return TestPKI(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def postgres(pki: TestPKI) -> Iterator[PrivatePostgres]:
    with TLSPostgres(pki) as server:
        create_role(server, CLIENT_CERT_USER)
        yield server


@pytest.fixture(scope="module")
def tls_redis(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSRedis]:
    with TLSRedis(tmp_path_factory.mktemp("redis-tls"), pki) as server:
        yield server


@pytest.fixture(scope="module")
def tls_rabbitmq(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSRabbitMQ]:
    with TLSRabbitMQ(tmp_path_factory.mktemp("rabbitmq-tls"), pki) as node:
        yield node


@pytest.fixture
def configure(clean_env: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator[Configure]:
    """Set the facade's variables and start it afresh; every log record of the test is captured (checked for keys)."""
    caplog.set_level(logging.DEBUG)

    def apply(**settings: str) -> None:
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("LLM_PROVIDER", "local")
        InfrastructureService.reset()

    yield apply
    InfrastructureService.reset()


def postgres_url(server: PrivatePostgres, user: str = "postgres", host: str = "127.0.0.1") -> str:
    return f"postgresql://{user}@{host}:{server.port}/postgres"


def ssl_of_a_session() -> tuple[bool, str | None]:
    with InfrastructureService.get_database_session() as db:
        ssl, client_dn = db.execute(text(SSL_OF_MY_CONNECTION)).one()
    return ssl, client_dn


def read_strictly() -> object:
    return InfrastructureService.get_cache("tlstest", strict=True).get("lesson:1")


def assert_no_key_material(pki: TestPKI, *texts: str) -> None:
    for line in pki.key_material():
        for shown in texts:
            assert line not in shown, "a line of a private key was shown"


def refusal(error: type[Exception], call: Callable[[], object], pki: TestPKI, caplog: pytest.LogCaptureFixture) -> str:
    """The message of the ``error`` that ``call`` raises, checked to show no key material (nor does the log)."""
    with pytest.raises(error) as raised:
        call()
    message = str(raised.value)
    assert_no_key_material(pki, message, caplog.text)
    return message


# --- PostgreSQL ----------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_verify_full_with_the_ca_gives_an_encrypted_checked_connection(
    postgres: PrivatePostgres, pki: TestPKI, configure: Configure, caplog: pytest.LogCaptureFixture, host: str
) -> None:
    configure(DATABASE_URL=postgres_url(postgres, host=host), DB_SSLMODE="verify-full", DB_SSLROOTCERT=pki.ca_file)
    assert ssl_of_a_session() == (True, None)
    assert_no_key_material(pki, caplog.text)


def test_a_ca_alone_means_verify_full(postgres: PrivatePostgres, pki: TestPKI, configure: Configure) -> None:
    configure(DATABASE_URL=postgres_url(postgres), DB_SSLROOTCERT=pki.ca_file)
    assert InfrastructureService.get_config().database.ssl_mode == "verify-full"
    assert ssl_of_a_session() == (True, None)


def test_a_ca_that_did_not_sign_the_server_certificate_is_refused_naming_the_setting(
    postgres: PrivatePostgres, pki: TestPKI, configure: Configure, caplog: pytest.LogCaptureFixture
) -> None:
    configure(DATABASE_URL=postgres_url(postgres), DB_SSLMODE="verify-full", DB_SSLROOTCERT=pki.other_ca_file)
    message = refusal(DatabaseConnectionError, ssl_of_a_session, pki, caplog)
    assert "DB_SSLROOTCERT" in message and "certificate verify failed" in message, message


def test_a_server_wanting_a_client_certificate_refuses_a_client_without_one(
    postgres: PrivatePostgres, pki: TestPKI, configure: Configure, caplog: pytest.LogCaptureFixture
) -> None:
    configure(DATABASE_URL=postgres_url(postgres, CLIENT_CERT_USER), DB_SSLMODE="verify-full", DB_SSLROOTCERT=pki.ca_file)
    message = refusal(DatabaseConnectionError, ssl_of_a_session, pki, caplog)
    assert "DB_SSLCERT" in message and "DB_SSLKEY" in message, message


def test_the_client_certificate_is_presented_and_accepted(
    postgres: PrivatePostgres, pki: TestPKI, configure: Configure, caplog: pytest.LogCaptureFixture
) -> None:
    configure(
        DATABASE_URL=postgres_url(postgres, CLIENT_CERT_USER), DB_SSLMODE="verify-full", DB_SSLROOTCERT=pki.ca_file,
        DB_SSLCERT=pki.client_cert, DB_SSLKEY=pki.client_key,
    )
    ssl, client_dn = ssl_of_a_session()
    assert ssl is True and "trustme" in (client_dn or "")  # the server keeps 63 characters of the DN: the CN is cut off
    with InfrastructureService.get_database_session() as db:
        assert db.execute(text("SELECT current_user")).scalar() == CLIENT_CERT_USER
    report = InfrastructureService.validate_environment()
    assert "postgresql reachable" in report.checks["database"].detail, report.checks["database"]  # (migrations not run here)
    assert_no_key_material(pki, caplog.text, repr(report), repr(InfrastructureService.get_config()))


def test_the_url_may_carry_the_same_sslmode_but_not_another(postgres: PrivatePostgres, pki: TestPKI, configure: Configure) -> None:
    configure(DATABASE_URL=postgres_url(postgres) + "?sslmode=verify-full", DB_SSLMODE="verify-full", DB_SSLROOTCERT=pki.ca_file)
    assert ssl_of_a_session() == (True, None)
    configure(DATABASE_URL=postgres_url(postgres) + "?sslmode=disable", DB_SSLMODE="verify-full")
    report = InfrastructureService.validate_environment()
    assert not report.is_valid and any("DB_SSLMODE='verify-full' conflicts with sslmode='disable'" in e for e in report.errors), report.errors


# --- Redis ---------------------------------------------------------------------------------------


def test_redis_over_tls_with_the_ca_and_a_client_certificate(
    tls_redis: TLSRedis, pki: TestPKI, configure: Configure, caplog: pytest.LogCaptureFixture
) -> None:
    configure(REDIS_URL=tls_redis.url, REDIS_TLS_CA_FILE=pki.ca_file, REDIS_TLS_CERT_FILE=pki.client_cert, REDIS_TLS_KEY_FILE=pki.client_key)
    cache = InfrastructureService.get_cache("tlstest", strict=True)
    cache.set_json("lesson:1", {"title": "over TLS"}, ttl=60)
    assert cache.get_json("lesson:1") == {"title": "over TLS"}
    report = InfrastructureService.validate_environment()
    assert report.checks["cache"].status.value == "ok", report.checks["cache"]
    assert_no_key_material(pki, caplog.text, repr(report))


def test_redis_with_a_ca_that_did_not_sign_the_server_certificate_names_the_setting(
    tls_redis: TLSRedis, pki: TestPKI, configure: Configure, caplog: pytest.LogCaptureFixture
) -> None:
    configure(
        REDIS_URL=tls_redis.url, REDIS_TLS_CA_FILE=pki.other_ca_file, REDIS_TLS_CERT_FILE=pki.client_cert, REDIS_TLS_KEY_FILE=pki.client_key
    )
    message = refusal(CacheConnectionError, read_strictly, pki, caplog)
    assert "REDIS_TLS_CA_FILE" in message and "certificate verify failed" in message, message


def test_redis_wanting_a_client_certificate_refuses_a_client_without_one(
    tls_redis: TLSRedis, pki: TestPKI, configure: Configure, caplog: pytest.LogCaptureFixture
) -> None:
    configure(REDIS_URL=tls_redis.url, REDIS_TLS_CA_FILE=pki.ca_file)
    message = refusal(CacheConnectionError, read_strictly, pki, caplog)
    assert "REDIS_TLS_CERT_FILE" in message and "REDIS_TLS_KEY_FILE" in message, message


# --- RabbitMQ ------------------------------------------------------------------------------------


def broker_check(pki: TestPKI, caplog: pytest.LogCaptureFixture) -> str:
    """The messaging line of the start-up report (its broker check opens an AMQPS connection), checked for key material."""
    report = InfrastructureService.validate_environment(timeout=20)
    detail = f"{report.checks['messaging'].status.value}: {report.checks['messaging'].detail}"
    assert_no_key_material(pki, detail, caplog.text, repr(report))
    return detail


def test_amqps_with_the_ca_and_a_client_certificate(tls_rabbitmq: TLSRabbitMQ, pki: TestPKI, configure: Configure,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    configure(RABBITMQ_URL=tls_rabbitmq.tls_url, RABBITMQ_TLS_CA_FILE=pki.ca_file, RABBITMQ_TLS_CERT_FILE=pki.client_cert,
              RABBITMQ_TLS_KEY_FILE=pki.client_key)
    detail = broker_check(pki, caplog)
    assert detail.startswith(f"ok: RabbitMQ amqps://****:****@127.0.0.1:{tls_rabbitmq.tls_port}/%2F reachable"), detail


def test_amqps_with_a_ca_that_did_not_sign_the_node_certificate_names_the_setting(
    tls_rabbitmq: TLSRabbitMQ, pki: TestPKI, configure: Configure, caplog: pytest.LogCaptureFixture
) -> None:
    configure(RABBITMQ_URL=tls_rabbitmq.tls_url, RABBITMQ_TLS_CA_FILE=pki.other_ca_file, RABBITMQ_TLS_CERT_FILE=pki.client_cert,
              RABBITMQ_TLS_KEY_FILE=pki.client_key)
    detail = broker_check(pki, caplog)
    assert "RABBITMQ_TLS_CA_FILE" in detail, detail


def test_amqps_without_a_client_certificate_is_refused_by_the_node(
    tls_rabbitmq: TLSRabbitMQ, pki: TestPKI, configure: Configure, caplog: pytest.LogCaptureFixture
) -> None:
    configure(RABBITMQ_URL=tls_rabbitmq.tls_url, RABBITMQ_TLS_CA_FILE=pki.ca_file)
    detail = broker_check(pki, caplog)
    assert "RABBITMQ_TLS_CERT_FILE" in detail, detail

