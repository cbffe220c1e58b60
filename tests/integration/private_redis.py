"""A redis-server of the test's own on 127.0.0.1: a free port, a scratch folder, no persistence, stopped by its pid.

    with PrivateRedis(tmp_path) as server:
        server.url          # redis://127.0.0.1:<port>/0
        server.freeze()     # SIGSTOP: connections stay open, nothing answers (a hung Redis)
        server.thaw()       # SIGCONT

The shared Redis on 6379 is never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Self

import pytest
import redis

from tests.integration.free_ports import server_port

START_TIMEOUT = 10.0


class PrivateRedis:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> Self:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed; the fault tests start a private one (apt-get install redis-server)")
        command = [binary, *self.server_arguments(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        command += ["--dir", str(self.folder), "--daemonize", "no"]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_until_it_answers()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is None:
            return
        self.thaw()  # a stopped process would hold SIGTERM until it runs again
        stop_process(self._process)

    def server_arguments(self) -> list[str]:
        """Where the server listens (a subclass listens on a TLS port instead)."""
        return ["--port", str(self.port)]

    def probe_client(self) -> redis.Redis:
        """A client that can talk to the server, to see it has come up."""
        return redis.Redis.from_url(self.url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def freeze(self) -> None:
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGCONT)

    def _wait_until_it_answers(self) -> None:
        client = self.probe_client()
        deadline = time.monotonic() + START_TIMEOUT
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.RedisError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        finally:
            client.close()


def stop_process(process: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """SIGTERM to the server the test started (by its pid), SIGKILL when it has not gone within ``timeout``."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def _free_port() -> int:
    """A free port below the ephemeral range: the server may be restarted on it."""
    return server_port()
