"""A PostgreSQL server of the test's own on 127.0.0.1: a free port, a scratch folder, trust auth, stopped by its pid.

    with PrivatePostgres() as server:
        server.url                  # postgresql://postgres@127.0.0.1:<port>/postgres
        server.restart("fast")      # pg_ctl restart -m fast: every session is cut, the server comes back
        server.restart("immediate") # -m immediate: as a crash, recovery on start
        server.log()                # the server's log so far
        with PrivateStandby(server) as standby:  # a streaming replica of it (pg_basebackup -R), hot standby
            standby.url
            standby.stop()          # stopped by its pid, the folder kept until the block ends

The binaries come from the folder ``pg_config --bindir`` prints (they are not on PATH). The server
runs as the ``postgres`` user (it refuses root), so the scratch folder is that user's. The shared
PostgreSQL on 5432 is never touched.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Literal, Self

import pytest

from tests.integration.free_ports import server_port

from tests.integration.postgres_scratch import wait_until_ready

USER = "postgres"
COMMAND_SECONDS = 60
STOP_SECONDS = 15.0
ShutdownMode = Literal["fast", "immediate"]


class PrivatePostgres:
    def __init__(self, **settings: str) -> None:
        """``settings``: extra postgresql.conf lines (``log_statement="all"``)."""
        self.port = _free_port()
        self._settings = settings
        self._bindir = _bindir()
        self._folder: Path | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    @property
    def data(self) -> Path:
        assert self._folder is not None, "the server is not started"
        return self._folder / "data"

    def __enter__(self) -> Self:
        try:
            account = pwd.getpwnam(USER)
        except KeyError:
            pytest.fail(f"no '{USER}' user to run a private PostgreSQL as (the server refuses root)")
        self._folder = Path(tempfile.mkdtemp(prefix="private-postgres-"))
        os.chown(self._folder, account.pw_uid, account.pw_gid)
        try:
            self._create()
            settings = {
                "listen_addresses": "'127.0.0.1'",
                "port": str(self.port),
                "unix_socket_directories": f"'{self._folder}'",
                "fsync": "off",
                "max_connections": "30",
                **self._settings,
            }
            with (self.data / "postgresql.conf").open("a") as conf:
                conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
            self._pg_ctl("start")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._folder is None:
            return
        try:
            self._stop_by_pid()
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def stop(self) -> None:
        """Stop the server by its pid (an immediate shutdown), keeping its folder until the ``with`` block ends."""
        self._stop_by_pid()

    def _create(self) -> None:
        """The data folder: a new cluster (initdb's default pg_hba.conf trusts replication from 127.0.0.1 too)."""
        self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", USER, "-E", "UTF8", "--no-sync")

    def restart(self, mode: ShutdownMode = "fast") -> None:
        """``pg_ctl restart -m <mode>``: returns once the server accepts connections again."""
        self._pg_ctl("restart", "-m", mode)

    def log(self) -> str:
        return (self.data.parent / "server.log").read_text(errors="replace")

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, IndexError, ValueError):
            return None

    def _pg_ctl(self, action: str, *options: str) -> None:
        log = str(self.data.parent / "server.log")
        self._as_postgres("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-t", "30", *options, action)
        assert wait_until_ready(self.url, 30), f"the private PostgreSQL on port {self.port} did not come up:\n{self.log()}"

    def _as_postgres(self, program: str, *arguments: str) -> None:
        command = ["runuser", "-u", USER, "--", str(self._bindir / program), *arguments]
        done = subprocess.run(command, cwd=self._folder, capture_output=True, text=True, timeout=COMMAND_SECONDS, check=False)
        assert done.returncode == 0, f"{program} {' '.join(arguments)} failed: {done.stdout}{done.stderr}"

    def _stop_by_pid(self) -> None:
        """SIGQUIT (immediate shutdown) to the postmaster, then SIGKILL if it is still there after a while."""
        pid = self.postmaster_pid()
        if pid is None or not _running(pid):
            return
        os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + STOP_SECONDS
        while _running(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.05)


class PrivateStandby(PrivatePostgres):
    """A hot standby of ``primary`` streaming its WAL: ``pg_basebackup -R`` (which writes standby.signal and the
    primary_conninfo), then its own port and socket folder. ``pause_replay()`` makes its lag as long as a test needs."""

    def __init__(self, primary: PrivatePostgres, **settings: str) -> None:
        super().__init__(**settings)
        self.primary = primary

    def _create(self) -> None:
        self._as_postgres(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", USER, "-D", str(self.data), "-R", "-X", "stream",
            "--no-sync", "-c", "fast",
        )

    def pause_replay(self) -> None:
        """``pg_wal_replay_pause()``: the standby receives the primary's WAL but applies none of it until resumed."""
        self.query("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.query("SELECT pg_wal_replay_resume()")

    def caught_up(self, timeout: float = 30.0) -> bool:
        """Whether the standby replays up to the primary's current WAL position within ``timeout`` seconds."""
        target = self.primary_query("SELECT pg_current_wal_lsn()::text")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.query(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") is True:
                return True
            time.sleep(0.05)
        return False

    def primary_query(self, sql: str) -> object:
        return _query(self.primary.url, sql)

    def query(self, sql: str) -> object:
        """The first value ``sql`` returns on the standby, on a connection of its own."""
        return _query(self.url, sql)


def _query(url: str, sql: str) -> object:
    """The first value ``sql`` returns, on a connection of its own in autocommit (never the facade's)."""
    import psycopg2

    connection = psycopg2.connect(url, connect_timeout=5)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(sql)
            row = cursor.fetchone() if cursor.description else None
            return None if row is None else row[0]
    finally:
        connection.close()


def _bindir() -> Path:
    if shutil.which("pg_config") is None:
        pytest.fail("pg_config is not installed; the restart tests start a private PostgreSQL (apt-get install postgresql)")
    bindir = Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True, timeout=10).stdout.strip())
    if not (bindir / "initdb").exists():
        pytest.fail(f"no initdb in {bindir} (pg_config --bindir); install the PostgreSQL server package")
    return bindir


def _running(pid: int) -> bool:
    """Whether ``pid`` runs and is not a zombie (the postmaster is not our child, so nobody here reaps it)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _free_port() -> int:
    """A free port below the ephemeral range: the server is restarted on it."""
    return server_port()
