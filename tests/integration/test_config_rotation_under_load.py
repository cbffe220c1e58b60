"""Secrets rotated under load through ``reload_config()``, with no failed call: an LLM key (a local
OpenAI-compatible server that accepts only the keys it is told) and a database password (a private
PostgreSQL that checks passwords with SCRAM, on its own port). The ``.env`` file is edited as an
operator or a secret mount would, while threads keep calling."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from modules.infrastructure.module_api import InfrastructureService, Prompt
from tests.integration.fault_server import Answer, FaultServer, Seen
from tests.integration.postgres_scratch import execute, scalar
from tests.integration.private_postgres import PrivatePostgres

THREADS = 4
LOAD_SECONDS = 4.0


class KeyCheckingServer(FaultServer):
    """Answers 401 to a request whose bearer key is not one of ``accepted`` (changed by the test as it runs)."""

    def __init__(self, accepted: set[str]) -> None:
        super().__init__([Answer(200, delay=0.02)])
        self.accepted = accepted

    def next_answer(self, seen: Seen) -> Answer:
        answer = super().next_answer(seen)
        key = seen.headers.get("authorization", "").removeprefix("Bearer ")
        return answer if key in self.accepted else Answer(401, code="invalid_api_key")


def under_load(call: Callable[[int], None], rotate: Callable[[], None]) -> tuple[int, list[BaseException]]:
    """``THREADS`` threads making calls for ``LOAD_SECONDS`` while ``rotate()`` runs a second in; (calls, failures)."""
    stop, calls, failures, lock = threading.Event(), [0], [], threading.Lock()

    def worker(index: int) -> None:
        n = 0
        while not stop.is_set():
            try:
                call(index * 100_000 + n)
                with lock:
                    calls[0] += 1
            except BaseException as exc:  # counted: the test's point is that there are none
                with lock:
                    failures.append(exc)
            n += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    rotate()
    time.sleep(LOAD_SECONDS - 1.0)
    stop.set()
    for thread in threads:
        thread.join(30)
    return calls[0], failures


def test_an_llm_key_rotated_under_load_fails_no_call(clean_env: Path) -> None:
    old_key, new_key = "sk-rotation-old-0123456789", "sk-rotation-new-9876543210"
    accepted = {old_key}
    with KeyCheckingServer(accepted) as server:
        settings = f"LLM_PROVIDER=openai\nOPENAI_BASE_URL={server.base_url}\nLLM_CACHE_TTL=0\nLLM_MAX_RETRIES=0\n"
        (clean_env / ".env").write_text(settings + f"OPENAI_API_KEY={old_key}\n")
        revoked_at: list[float] = []

        def rotate() -> None:
            accepted.add(new_key)  # the provider issues the new key; the old one still works
            (clean_env / ".env").write_text(settings + f"OPENAI_API_KEY={new_key}\n")
            assert InfrastructureService.reload_config().applied == ("OPENAI_API_KEY",)
            time.sleep(0.5)  # calls that started on the old client finish
            accepted.discard(old_key)  # then the old key is revoked
            revoked_at.append(time.monotonic())

        calls, failures = under_load(lambda n: InfrastructureService.execute_prompt(Prompt(f"question {n}")), rotate)
        keys = [(seen.at, seen.headers.get("authorization", "")) for seen in server.requests]
    assert failures == [] and calls > 50, (calls, failures[:3])
    assert any(old_key in key for _, key in keys) and all(new_key in key for at, key in keys if at > revoked_at[0])
    print(f"LLM key rotation: {calls} calls in {LOAD_SECONDS:.0f} s on {THREADS} threads, failed: {len(failures)}")


def test_a_database_password_rotated_under_load_fails_no_call(clean_env: Path, scram_postgres: PrivatePostgres) -> None:
    port = scram_postgres.port
    settings = "DB_POOL_SIZE=2\nDB_MAX_OVERFLOW=2\nDB_POOL_RECYCLE=1\n"  # connections replaced every second: new ones all along
    (clean_env / ".env").write_text(settings + f"DATABASE_URL=postgresql://app:first-password@127.0.0.1:{port}/postgres\n")
    altered_at: list[str] = []

    def query(_: int) -> None:
        with InfrastructureService.get_database_session() as db:
            db.execute(text("SELECT 1"))
        time.sleep(0.005)

    def rotate() -> None:
        (clean_env / ".env").write_text(settings + f"DATABASE_URL=postgresql://app:second-password@127.0.0.1:{port}/postgres\n")
        assert InfrastructureService.reload_config().applied == ("DATABASE_URL",)
        time.sleep(0.3)  # the application has the new password first; the server still takes the old one
        execute(scram_postgres.url, "ALTER ROLE app PASSWORD 'second-password'")
        altered_at.append(str(scalar(scram_postgres.url, "SELECT now()")))

    calls, failures = under_load(query, rotate)
    logged_in_since = scalar(scram_postgres.url, f"SELECT count(*) FROM pg_stat_activity WHERE usename = 'app' AND backend_start > '{altered_at[0]}'")
    assert failures == [] and calls > 100, (calls, failures[:3])
    assert int(str(logged_in_since)) > 0  # connections made after the old password stopped working: the new one
    print(f"database password rotation: {calls} sessions in {LOAD_SECONDS:.0f} s on {THREADS} threads, failed: {len(failures)}")
