"""Every driver exception class leaves its seam as an ``InfrastructureError`` of the right family.

As httpx tests ``map_httpcore_exceptions`` against every httpcore exception: each class is found
by walking the driver's exceptions modules and its base classes' subclasses, built (see
``tests/driver_exceptions.py``), raised inside the seam, and the caller's view is checked. No I/O.
"""

from __future__ import annotations

import socket
import sqlite3
import ssl
from collections.abc import Callable
from contextlib import AbstractContextManager

import openai
import openai.lib._old_api  # noqa: F401  # loaded, so the walk over openai's classes sees its error too
import openai.lib.azure  # noqa: F401
import pika.exceptions
import psycopg2
import psycopg2.errorcodes
import psycopg2.errors
import pytest
import redis.exceptions
import sqlalchemy.orm  # noqa: F401  # loads the ORM's exception classes too
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import exc as orm_exc

from modules.infrastructure.domain.errors import (
    CacheConnectionError,
    CacheError,
    DatabaseConflictError,
    DatabaseConnectionError,
    DatabaseError,
    DatabaseIntegrityError,
    DatabasePoolExhaustedError,
    DatabaseQueryError,
    DatabaseReadOnlyError,
    DatabaseStatementTimeoutError,
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMProviderError,
    LLMRateLimitError,
    LLMTimeoutError,
    MessagingAuthenticationError,
    MessagingError,
)
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.cache.redis_errors import RedisErrors
from modules.infrastructure.infrastructure.database.error_mapping import DatabaseErrors, PoolFacts
from modules.infrastructure.infrastructure.llm_clients.error_mapping import openai_errors
from modules.infrastructure.infrastructure.messaging.broker_errors import BrokerErrors
from tests.driver_exceptions import (
    exception_classes,
    instance,
    name,
    openai_builders,
    openai_response,
    pika_builders,
    redis_builders,
    sqlalchemy_builders,
    status_error,
)


Seam = Callable[[], AbstractContextManager[object]]


def raised_through(seam: Seam, error: BaseException) -> BaseException:
    """What the caller catches when ``error`` is raised inside ``with seam():``."""
    with pytest.raises(BaseException) as caught:
        with seam():
            raise error
    return caught.value


def test_the_callers_own_errors_pass_every_seam_unchanged() -> None:
    for seam in SEAMS:
        for error in (ValueError("the caller's own bug"), KeyError("k"), OSError("a file of the caller's")):
            if seam is BROKER and isinstance(error, OSError):
                continue  # the broker seam owns socket errors: only broker calls run inside it
            assert raised_through(seam, error) is error, f"{seam} replaced {error!r}"


# --- SQLAlchemy and the DBAPI drivers under it -------------------------------------------------

_DATABASE = DatabaseErrors(PoolFacts("primary", 5, 10, 30.0, statement_timeout_ms=250), Redactor())


def DATABASE() -> DatabaseErrors:  # noqa: N802  # a seam factory, like the others below
    return _DATABASE

SA_BUILDERS = sqlalchemy_builders()
# Warnings of SQLAlchemy's own, raised only under ``-W error``: a programming signal, not a database failure.
SA_WARNINGS = {"Base20DeprecationWarning", "LegacyAPIWarning", "MovedIn20Warning", "SADeprecationWarning",
               "SAPendingDeprecationWarning", "SATestSuiteWarning", "SAWarning"}
# Not an error SQLAlchemy raises: the ``orig`` that some dialects put inside a ``DBAPIError``.
SA_NEVER_RAISED = {"EmulatedDBAPIException"}
SA_CLASSES = exception_classes([sa_exc, orm_exc], [sa_exc.SQLAlchemyError])


def test_every_sqlalchemy_error_class_leaves_the_seam_as_a_database_error() -> None:
    assert len(SA_CLASSES) > 50
    for cls in SA_CLASSES:
        if cls.__name__ in SA_WARNINGS | SA_NEVER_RAISED:
            continue
        error = instance(cls, SA_BUILDERS)
        mapped = raised_through(DATABASE, error)
        assert isinstance(mapped, DatabaseError), f"{name(cls)} escaped the seam as {mapped!r}"
        assert mapped.__cause__ is error, name(cls)


def test_the_sqlalchemy_classes_left_out_are_exactly_the_listed_ones() -> None:
    left_out = {cls.__name__ for cls in SA_CLASSES if not issubclass(cls, sa_exc.SQLAlchemyError)}
    assert left_out == SA_WARNINGS | SA_NEVER_RAISED
    for cls in SA_CLASSES:
        if cls.__name__ in SA_WARNINGS:
            warning = cls("deprecated")
            assert raised_through(DATABASE, warning) is warning


def test_a_failing_mapping_never_hides_the_driver_error() -> None:
    class BrokenRedactor(Redactor):
        def redact(self, text: str) -> str:
            raise RuntimeError("redactor bug")

    seam = DatabaseErrors(PoolFacts("primary", 5, 10, 30.0), BrokenRedactor())
    error = sa_exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    assert raised_through(lambda: seam, error) is error


def test_pool_exhaustion_and_argument_errors_get_their_own_classes() -> None:
    assert type(raised_through(DATABASE, sa_exc.TimeoutError("QueuePool limit"))) is DatabasePoolExhaustedError
    assert type(raised_through(DATABASE, sa_exc.ArgumentError("bad argument"))) is DatabaseQueryError
    assert type(raised_through(DATABASE, sa_exc.NoSuchColumnError("no column"))) is DatabaseQueryError


def expected_for_sqlstate(code: str) -> type[DatabaseError]:
    """The class the issue asks for: conflicts, connection, integrity, query, timeout, read-only; else the base."""
    if code in ("40001", "40P01"):
        return DatabaseConflictError
    if code.startswith("08") or code in ("57P01", "57P02", "57P03"):
        return DatabaseConnectionError
    if code == "57014":
        return DatabaseStatementTimeoutError
    if code == "25006":
        return DatabaseReadOnlyError
    if code.startswith("23"):
        return DatabaseIntegrityError
    if code.startswith(("42", "22")):
        return DatabaseQueryError
    return DatabaseError


def psycopg2_error(cls: type[psycopg2.Error], code: str | None) -> psycopg2.Error:
    """An instance as psycopg2 raises it, ``pgcode`` included (set as its unpickling does: the attribute is read-only)."""
    error = cls("scripted failure")
    if code is not None:
        error.__setstate__({"pgcode": code, "pgerror": "scripted failure"})
    return error


def wrapped(orig: BaseException, dbapi_base: type[BaseException]) -> sa_exc.DBAPIError:
    """SQLAlchemy's wrapper for ``orig``, chosen by the DBAPI class as the engine chooses it."""
    return sa_exc.DBAPIError.instance("SELECT 1", {}, orig, dbapi_base)  # type: ignore[arg-type]


# Every SQLSTATE psycopg2 knows; classes 00 and 01 are success and warnings, which raise nothing.
PG_CODES = sorted(
    code for key, code in vars(psycopg2.errorcodes).items()
    if key.isupper() and isinstance(code, str) and len(code) == 5 and not code.startswith(("00", "01"))
)
NO_PSYCOPG2_CLASS = {"22020"}  # listed in errorcodes, but psycopg2.errors has no class for it


def test_every_sqlstate_but_the_listed_ones_has_a_psycopg2_class() -> None:
    missing = set()
    for code in PG_CODES:
        try:
            psycopg2.errors.lookup(code)
        except KeyError:
            missing.add(code)
    assert missing == NO_PSYCOPG2_CLASS


@pytest.mark.parametrize("code", sorted(set(PG_CODES) - NO_PSYCOPG2_CLASS))
def test_every_postgres_sqlstate_maps_to_its_class(code: str) -> None:
    cls = psycopg2.errors.lookup(code)
    error = wrapped(psycopg2_error(cls, code), psycopg2.Error)
    mapped = raised_through(DATABASE, error)
    expected = expected_for_sqlstate(code)
    assert isinstance(mapped, expected), f"{code} {cls.__name__}: {mapped!r}"
    if expected is not DatabaseError:
        assert type(mapped) is expected, f"{code} {cls.__name__}: {mapped!r}"


def test_every_psycopg2_error_class_is_mapped_with_or_without_a_sqlstate() -> None:
    classes = exception_classes([psycopg2.errors, psycopg2], [psycopg2.Error])
    assert len(classes) > 250
    for cls in classes:
        if not issubclass(cls, psycopg2.Error):
            continue  # psycopg2.Warning: not an error, never raised
        mapped = raised_through(DATABASE, wrapped(psycopg2_error(cls, None), psycopg2.Error))
        assert isinstance(mapped, DatabaseError), name(cls)


def test_the_timeout_names_the_setting_and_its_value() -> None:
    mapped = raised_through(DATABASE, wrapped(psycopg2_error(psycopg2.errors.QueryCanceled, "57014"), psycopg2.Error))
    assert "DB_STATEMENT_TIMEOUT_MS (250 ms)" in str(mapped)


def sqlite_error(cls: type[sqlite3.Error], code: int) -> sqlite3.Error:
    error = cls("scripted failure")
    error.sqlite_errorcode = code  # what the sqlite3 module sets on the errors it raises
    return error


@pytest.mark.parametrize(
    ("cls", "code", "expected"),
    [
        (sqlite3.OperationalError, 5, DatabaseConflictError),  # SQLITE_BUSY
        (sqlite3.OperationalError, 517, DatabaseConflictError),  # SQLITE_BUSY_SNAPSHOT (extended)
        (sqlite3.OperationalError, 6, DatabaseConflictError),  # SQLITE_LOCKED
        (sqlite3.OperationalError, 14, DatabaseConnectionError),  # SQLITE_CANTOPEN
        (sqlite3.OperationalError, 8, DatabaseReadOnlyError),  # SQLITE_READONLY
        (sqlite3.OperationalError, 1032, DatabaseReadOnlyError),  # SQLITE_READONLY_DBMOVED (extended)
        (sqlite3.OperationalError, 1, DatabaseQueryError),  # SQLITE_ERROR: bad SQL, no such table
        (sqlite3.IntegrityError, 2067, DatabaseIntegrityError),  # SQLITE_CONSTRAINT_UNIQUE
    ],
)
def test_sqlite_result_codes_map_to_their_classes(cls: type[sqlite3.Error], code: int, expected: type) -> None:
    assert type(raised_through(DATABASE, wrapped(sqlite_error(cls, code), sqlite3.Error))) is expected


def test_every_sqlite3_error_class_is_mapped() -> None:
    for cls in exception_classes([sqlite3], [sqlite3.Error]):
        if issubclass(cls, sqlite3.Error):
            assert isinstance(raised_through(DATABASE, wrapped(cls("scripted failure"), sqlite3.Error)), DatabaseError), name(cls)


# --- openai -----------------------------------------------------------------------------------

OPENAI_BUILDERS = openai_builders()


def LLM() -> AbstractContextManager[None]:  # noqa: N802
    return openai_errors("openai", Redactor(["sk-secret-key"]).redact)


def test_every_openai_error_class_leaves_the_seam_as_a_provider_error() -> None:
    classes = exception_classes([openai, openai._exceptions], [openai.OpenAIError])
    assert len(classes) > 20
    for cls in classes:
        error = instance(cls, OPENAI_BUILDERS)
        mapped = raised_through(LLM, error)
        assert isinstance(mapped, LLMProviderError), f"{name(cls)} escaped the seam as {mapped!r}"
        assert mapped.__cause__ is error and mapped.provider == "openai", name(cls)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, LLMBadRequestError), (404, LLMBadRequestError), (413, LLMBadRequestError), (422, LLMBadRequestError),
        (401, LLMAuthenticationError), (403, LLMAuthenticationError),
        (408, LLMTimeoutError), (429, LLMRateLimitError),
        (409, LLMProviderError), (500, LLMProviderError), (502, LLMProviderError), (503, LLMProviderError),
    ],
)
def test_each_status_maps_to_its_class_keeping_status_and_retry_after(status: int, expected: type) -> None:
    mapped = raised_through(LLM, status_error(status, headers={"retry-after": "2"}))
    assert type(mapped) is expected
    assert (mapped.status_code, mapped.retry_after) == (status, 2.0)  # type: ignore[attr-defined]


def test_timeouts_and_connection_failures_map_to_their_classes() -> None:
    request = OPENAI_BUILDERS[openai.APIConnectionError]
    assert type(raised_through(LLM, instance(openai.APITimeoutError, OPENAI_BUILDERS))) is LLMTimeoutError
    mapped = raised_through(LLM, request(openai.APIConnectionError))
    assert type(mapped) is LLMProviderError and "could not be reached" in str(mapped)


def test_the_webhook_helpers_value_error_is_mapped_too() -> None:
    assert isinstance(raised_through(LLM, openai.InvalidWebhookSignatureError("bad signature")), LLMProviderError)


def test_no_api_key_survives_the_seam() -> None:
    refused = "Incorrect API key provided: sk-secret-key"
    error = openai.AuthenticationError(refused, response=openai_response(401), body={"message": refused})
    mapped = raised_through(LLM, error)
    assert "sk-secret-key" not in str(mapped) and "sk-secret-key" not in str(mapped.__cause__)


# --- pika -------------------------------------------------------------------------------------

_BROKER = BrokerErrors(("amqp://app:s3cret-pw@broker.internal:5672/%2F",), Redactor(["s3cret-pw"]))
BROKER_NODE = "amqp://app:****@broker.internal:5672/%2F"


def BROKER() -> AbstractContextManager[None]:  # noqa: N802
    return _BROKER("Publishing 1 event(s)", "The events stay in the outbox.")


def assert_broker_error(mapped: BaseException, error: BaseException) -> None:
    assert isinstance(mapped, MessagingError), f"{name(type(error))} escaped the seam as {mapped!r}"
    assert mapped.__cause__ is error
    text = str(mapped)
    assert BROKER_NODE in text and "RABBITMQ_URL" in text and "outbox" in text and "s3cret-pw" not in text, text


def test_every_pika_exception_class_leaves_the_seam_as_a_messaging_error() -> None:
    classes = exception_classes([pika.exceptions])
    assert len(classes) >= 37
    builders = pika_builders()
    for cls in classes:
        error = instance(cls, builders)
        assert_broker_error(raised_through(BROKER, error), error)


@pytest.mark.parametrize(
    "error",
    [ConnectionRefusedError(111, "Connection refused"), ConnectionResetError(104, "Connection reset by peer"),
     socket.timeout("timed out"), socket.gaierror(-2, "Name or service not known"), ssl.SSLError(1, "certificate verify failed")],
    ids=["refused", "reset", "timeout", "dns", "tls"],
)
def test_socket_errors_of_the_broker_connection_leave_the_seam_as_messaging_errors(error: OSError) -> None:
    mapped = raised_through(BROKER, error)
    assert_broker_error(mapped, error)
    advice = "RABBITMQ_TLS_CA_FILE" if isinstance(error, ssl.SSLError) else "broker is up"  # a certificate the CA did not sign
    assert advice in str(mapped)


@pytest.mark.parametrize(
    "error",
    [
        pika.exceptions.ProbableAuthenticationError("ConnectionClosedByBroker: (403) ACCESS_REFUSED"),
        pika.exceptions.ProbableAccessDeniedError("ConnectionClosedByBroker: (530) NOT_ALLOWED - vhost nowhere not found"),
        pika.exceptions.AuthenticationError("PLAIN"),
    ],
    ids=["password", "vhost", "mechanism"],
)
def test_refused_credentials_are_an_authentication_error_pointing_at_the_user_and_password(error: Exception) -> None:
    mapped = raised_through(BROKER, error)
    assert isinstance(mapped, MessagingAuthenticationError)
    assert "user, password and virtual host in RABBITMQ_URL" in str(mapped)


def test_a_lost_connection_is_not_an_authentication_error() -> None:
    assert not isinstance(raised_through(BROKER, pika.exceptions.AMQPConnectionError("gone")), MessagingAuthenticationError)


# --- redis ------------------------------------------------------------------------------------

_CACHE = RedisErrors("Redis cache at redis://app:****@cache.internal:6379/0", Redactor(["s3cret-Pa55"]))


def CACHE() -> AbstractContextManager[None]:  # noqa: N802
    return _CACHE("could not read 'k'")


def test_every_redis_exception_class_leaves_the_seam_as_a_cache_error() -> None:
    classes = exception_classes([redis.exceptions], [redis.exceptions.RedisError])
    assert len(classes) >= 40
    builders = redis_builders()
    for cls in classes:
        error = instance(cls, builders)
        mapped = raised_through(CACHE, error)
        assert isinstance(mapped, CacheError), f"{name(cls)} escaped the seam as {mapped!r}"
        assert mapped.__cause__ is error and "REDIS_URL" in str(mapped), name(cls)
        unreachable = issubclass(cls, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, redis.exceptions.RedisClusterUnreachableError))
        assert isinstance(mapped, CacheConnectionError) is unreachable, name(cls)


@pytest.mark.parametrize(
    "error",
    [redis.exceptions.ConnectionError("Error 111 connecting to cache.internal:6379. Connection refused."),
     redis.exceptions.ConnectionError("Connection closed by server."),
     redis.exceptions.TimeoutError("Timeout reading from socket"),
     redis.exceptions.AuthenticationError("invalid username-password pair"),
     redis.exceptions.BusyLoadingError("Redis is loading the dataset in memory")],
    ids=["refused", "lost", "timeout", "auth", "loading"],
)
def test_refused_lost_and_timed_out_connections_are_connection_errors(error: Exception) -> None:
    assert type(raised_through(CACHE, error)) is CacheConnectionError


def test_no_redis_password_survives_the_seam() -> None:
    mapped = raised_through(CACHE, redis.exceptions.ConnectionError("AUTH s3cret-Pa55 refused"))
    assert "s3cret-Pa55" not in str(mapped)


SEAMS: list[Seam] = [DATABASE, LLM, BROKER, CACHE]
