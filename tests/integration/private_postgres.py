"""A PostgreSQL server of the test's own on 127.0.0.1: a free port, a scratch folder, trust auth, stopped by its pid.

    with PrivatePostgres() as server:
        server.url                  # postgresql://postgres@127.0.0.1:<port>/postgres
        server.restart("fast")      # pg_ctl restart -m fast: every session is cut, the server comes back
        server.restart("immediate") # -m immediate: as a crash, recovery on start
        server.log()                # the server's log so far

The binaries come from the folder ``pg_config --bindir`` prints (they are not on PATH). The server
runs as the ``postgres`` user (it refuses root), so the scratch folder is that user's. The shared
PostgreSQL on 5432 is never touched.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Literal

import pytest

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

    def __enter__(self) -> PrivatePostgres:
        try:
            account = pwd.getpwnam(USER)
        except KeyError:
            pytest.fail(f"no '{USER}' user to run a private PostgreSQL as (the server refuses root)")
        self._folder = Path(tempfile.mkdtemp(prefix="private-postgres-"))
        os.chown(self._folder, account.pw_uid, account.pw_gid)
        try:
            self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", USER, "-E", "UTF8", "--no-sync")
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
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
