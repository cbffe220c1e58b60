"""Read replicas on the real PostgreSQL: routing, read-only transactions, round-robin and fallback.

Two scratch databases on the test server stand in for the replicas. A marker table of the
same name exists in the primary database and in each replica, holding that database's role,
so a query tells which one a session reached. A refused address (127.0.0.1:1) is the dead
replica.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import (
    DatabaseConnectionError,
    DatabaseError,
    DatabaseReadOnlyError,
    InfrastructureService,
)
from tests.integration.postgres_scratch import execute, scratch_database, unique_name, use_postgres

session = InfrastructureService.get_database_session
ROUTING_LOGGER = "modules.infrastructure.infrastructure.database.database"
DEAD_PASSWORD = "dead-" + unique_name("pw")
DEAD_REPLICA = f"postgresql://postgres:{DEAD_PASSWORD}@127.0.0.1:1/nowhere"


@dataclass(frozen=True)
class Topology:
    primary: str
    replica_a: str
    replica_b: str
    marker: str


@pytest.fixture(scope="module")
def topology(postgres_url: str) -> Iterator[Topology]:
    """The primary plus two scratch replica databases, each with the marker table."""
    marker = unique_name("infra_marker")
    with scratch_database(postgres_url, "infra_replica") as replica_a, scratch_database(
        postgres_url, "infra_replica"
    ) as replica_b:
        roles = {postgres_url: "primary", replica_a: "replica-a", replica_b: "replica-b"}
        try:
            for url, role in roles.items():
                execute(url, f"CREATE TABLE {marker} (role text NOT NULL)", f"INSERT INTO {marker} VALUES ('{role}')")
            yield Topology(postgres_url, replica_a, replica_b, marker)
        finally:
            InfrastructureService.reset()  # no facade connection keeps the databases busy
            execute(postgres_url, f"DROP TABLE IF EXISTS {marker}")


def configure(monkeypatch: pytest.MonkeyPatch, topology: Topology, *replicas: str, **settings: str) -> None:
    use_postgres(monkeypatch, topology.primary, DATABASE_REPLICA_URLS=",".join(replicas), **settings)


def role_of(db, topology: Topology) -> str:
    return db.execute(text(f"SELECT role FROM {topology.marker}")).scalar_one()


def read_only_flag(db) -> str:
    return db.execute(text("SHOW transaction_read_only")).scalar_one()


def routing_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == ROUTING_LOGGER and r.levelno == logging.WARNING]


def test_read_only_sessions_go_to_the_replica_in_a_read_only_transaction(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, topology: Topology
) -> None:
    configure(monkeypatch, topology, topology.replica_a)

    with session(read_only=True) as db:
        assert role_of(db, topology) == "replica-a"
        assert read_only_flag(db) == "on"
        assert db.connection_id.startswith("replica-1/pid-"), db.connection_id

    with pytest.raises(DatabaseError) as raised:
        with session(read_only=True) as db:
            db.execute(text(f"INSERT INTO {topology.marker} VALUES ('written')"))
    assert type(raised.value) is DatabaseReadOnlyError  # 25006 read_only_sql_transaction
    assert raised.value.__cause__.pgcode == "25006"
    assert "read-only transaction" in str(raised.value)


def test_write_sessions_go_to_the_primary_and_may_write(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, topology: Topology
) -> None:
    configure(monkeypatch, topology, topology.replica_a)

    with session() as db:
        assert role_of(db, topology) == "primary"
        assert read_only_flag(db) == "off"
        assert db.connection_id.startswith("primary/pid-"), db.connection_id
        db.execute(text(f"INSERT INTO {topology.marker} VALUES ('written')"))
        db.rollback()  # leave the marker table as it was
    labels = sorted(stats.label for stats in InfrastructureService.get_database_stats())
    assert labels == ["primary"]  # the replica's engine is built only when first used


def test_read_only_sessions_take_the_replicas_in_turn(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, topology: Topology
) -> None:
    configure(monkeypatch, topology, topology.replica_a, topology.replica_b)

    roles = []
    for _ in range(6):
        with session(read_only=True) as db:
            roles.append(role_of(db, topology))

    assert set(roles) == {"replica-a", "replica-b"}
    assert all(a != b for a, b in zip(roles, roles[1:])), roles  # strictly alternating


def test_a_dead_replica_is_skipped_with_one_warning_and_the_good_one_serves(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, topology: Topology, caplog: pytest.LogCaptureFixture
) -> None:
    configure(monkeypatch, topology, DEAD_REPLICA, topology.replica_a)

    with caplog.at_level(logging.WARNING, logger=ROUTING_LOGGER):
        roles = []
        for _ in range(6):
            with session(read_only=True) as db:
                roles.append(role_of(db, topology))
                assert read_only_flag(db) == "on"

    assert roles == ["replica-a"] * 6
    (warning,) = routing_warnings(caplog)  # then skipped for the cool-down, without a new attempt
    assert "replica-1" in warning.getMessage()
    assert "unreachable" in warning.getMessage()
    assert DEAD_PASSWORD not in caplog.text


def test_the_skip_warning_does_not_claim_the_primary_when_another_replica_serves(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, topology: Topology, caplog: pytest.LogCaptureFixture
) -> None:
    configure(monkeypatch, topology, DEAD_REPLICA, topology.replica_a)

    with caplog.at_level(logging.WARNING, logger=ROUTING_LOGGER):
        with session(read_only=True) as db:
            assert role_of(db, topology) == "replica-a"

    (warning,) = routing_warnings(caplog)
    assert "primary" not in warning.getMessage()


def test_with_only_a_dead_replica_read_only_sessions_fall_back_to_the_primary(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, topology: Topology, caplog: pytest.LogCaptureFixture
) -> None:
    # A pool of one: the fallback and the write below must share one server connection.
    configure(monkeypatch, topology, DEAD_REPLICA, DB_POOL_SIZE="1", DB_MAX_OVERFLOW="0", DB_POOL_TIMEOUT="2")

    with caplog.at_level(logging.WARNING, logger=ROUTING_LOGGER):
        with session(read_only=True) as db:
            assert role_of(db, topology) == "primary"
            assert read_only_flag(db) == "on"  # still a read-only transaction on the primary
            fallback_id = db.connection_id
        with session(read_only=True) as db:  # cool-down: no new attempt on the dead replica
            assert role_of(db, topology) == "primary"

    assert fallback_id.startswith("primary/pid-"), fallback_id
    (warning,) = routing_warnings(caplog)
    assert "replica-1" in warning.getMessage() and "primary" in warning.getMessage()
    assert DEAD_PASSWORD not in caplog.text

    # The read-only mark does not stick to the pooled connection.
    with session() as db:
        assert db.connection_id == fallback_id
        assert read_only_flag(db) == "off"
        db.execute(text(f"INSERT INTO {topology.marker} VALUES ('written')"))
        db.rollback()


def test_a_dead_replica_is_tried_again_after_its_cool_down(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, topology: Topology, caplog: pytest.LogCaptureFixture
) -> None:
    configure(monkeypatch, topology, DEAD_REPLICA, DB_REPLICA_COOLDOWN="0.3")

    with caplog.at_level(logging.WARNING, logger=ROUTING_LOGGER):
        for _ in range(3):
            with session(read_only=True):
                pass
        assert len(routing_warnings(caplog)) == 1
        time.sleep(0.4)
        with session(read_only=True) as db:
            assert role_of(db, topology) == "primary"
    assert len(routing_warnings(caplog)) == 2
