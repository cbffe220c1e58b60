"""Recovery after a real PostgreSQL restart (only where ``ALLOW_SERVICE_RESTART=1`` permits it).

The local cluster is restarted with ``pg_ctlcluster`` (fast shutdown: every connection is
cut) while the facade holds pooled connections. Afterwards:

- a ``run_in_transaction`` attempt that was running across the restart fails on its dead
  connection and succeeds on the retry;
- a session that held its connection across the restart raises ``DatabaseConnectionError``
  (mapped and chained, not a raw SQLAlchemy error) and closes without trouble;
- new sessions work, including on idle pooled connections opened before the restart
  (pre-ping replaces them silently).

PostgreSQL is brought back in a ``finally`` even when the test fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from modules.infrastructure.module_api import (
    DatabaseConnectionError,
    DatabaseSession,
    InfrastructureService,
)
from tests.integration.postgres_scratch import unique_name, use_postgres, wait_until_ready

session = InfrastructureService.get_database_session
ALLOW_VARIABLE = "ALLOW_SERVICE_RESTART"
COMMAND_SECONDS = 60
READY_SECONDS = 30
POOL_SIZE = 3


def local_cluster_version() -> str:
    """The one PostgreSQL version under /etc/postgresql, or skip."""
    if shutil.which("pg_ctlcluster") is None or not Path("/etc/postgresql").is_dir():
        pytest.skip("pg_ctlcluster and /etc/postgresql are needed to restart the local PostgreSQL")
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir() if p.is_dir())
    if len(versions) != 1:
        pytest.skip(f"expected one PostgreSQL version in /etc/postgresql, found {versions}")
    return versions[0]


def cluster(version: str, action: str) -> None:
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
        check=True,
        timeout=COMMAND_SECONDS,
        capture_output=True,
    )


def ensure_running(version: str, url: str) -> None:
    """PostgreSQL answers again: wait, and start the cluster if it does not come back by itself."""
    if wait_until_ready(url, READY_SECONDS):
        return
    cluster(version, "start")
    assert wait_until_ready(url, READY_SECONDS), f"PostgreSQL {version}/main did not come back"


def backend_pid(db: DatabaseSession) -> int:
    return db.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_sessions_recover_after_a_postgres_restart(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    if os.environ.get(ALLOW_VARIABLE, "").strip() != "1":
        pytest.skip(f"restarts the local PostgreSQL server; set {ALLOW_VARIABLE}=1 to allow it")
    postgres_url: str = request.getfixturevalue("postgres_url")
    if make_url(postgres_url).host not in ("127.0.0.1", "localhost"):
        pytest.skip(f"{ALLOW_VARIABLE}=1 restarts the local cluster only; TEST_DATABASE_URL is not on 127.0.0.1")
    version = local_cluster_version()
    use_postgres(
        monkeypatch,
        postgres_url,
        DB_POOL_SIZE=str(POOL_SIZE),
        DB_MAX_OVERFLOW="0",
        DB_POOL_TIMEOUT="10",
        DB_APPLICATION_NAME=unique_name("infra-test-restart"),
    )

    try:
        # Fill the pool with connections opened before the restart.
        opened = [session() for _ in range(POOL_SIZE)]
        old_pids = {backend_pid(db) for db in opened}
        for db in opened:
            db.close()
        held = session()
        assert backend_pid(held) in old_pids

        attempt_pids: list[int] = []

        def across_the_restart(db: DatabaseSession) -> int:
            attempt_pids.append(backend_pid(db))
            if len(attempt_pids) == 1:
                cluster(version, "restart")
                assert wait_until_ready(postgres_url, READY_SECONDS), "PostgreSQL did not come back after restart"
            return backend_pid(db)

        # 1. The attempt running across the restart fails on its dead connection; the retry succeeds.
        result = InfrastructureService.run_in_transaction(across_the_restart, retries=3)
        assert len(attempt_pids) == 2, attempt_pids
        assert attempt_pids[0] in old_pids and attempt_pids[1] not in old_pids
        assert result == attempt_pids[1]

        # 2. The session that held its connection across the restart: a mapped, chained error.
        with pytest.raises(DatabaseConnectionError) as raised:
            with held:
                held.execute(text("SELECT 1"))
        assert isinstance(raised.value.__cause__, psycopg2.OperationalError)  # chained to the driver's error
        held.close()  # closing again is harmless
        (stats,) = InfrastructureService.get_database_stats()
        assert stats.checked_out == 0

        # 3. Every pooled connection works again, the stale idle one included (pre-ping, no error).
        fresh = [session() for _ in range(POOL_SIZE)]
        try:
            fresh_pids = {backend_pid(db) for db in fresh}
        finally:
            for db in fresh:
                db.close()
        assert len(fresh_pids) == POOL_SIZE and not fresh_pids & old_pids

        # 4. And under load from several threads at once.
        errors: list[BaseException] = []

        def work() -> None:
            try:
                for _ in range(20):
                    with session() as db:
                        db.execute(text("SELECT 1"))
            except BaseException as exc:  # asserted below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert errors == [] and not any(t.is_alive() for t in threads)
    finally:
        InfrastructureService.reset()
        ensure_running(version, postgres_url)
