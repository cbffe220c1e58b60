"""Listener processes for the integration tests: ``scripts/run_listeners.py --register tests.listener_modules:...``
started with the test's database and settings, killed with SIGKILL, started again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from modules.infrastructure.domain.config.settings import FEATURE_FLAG_PREFIX, SETTINGS_BY_NAME
from tests import listener_modules as modules

ROOT = Path(__file__).resolve().parents[2]
WORKER_SETTINGS = {"LISTENER_WORKER": "thread", "LISTENER_POLL_INTERVAL": "0.05", "LISTENER_RESUME_AT_STARTUP": "true", "OUTBOX_RELAY": "off"}


@dataclass
class ListenerProcess:
    """One ``scripts/run_listeners.py`` process for one registration function; killed with SIGKILL, restarted."""

    register: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "scripts" / "run_listeners.py"), "--register", f"tests.listener_modules:{self.register}"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )

    def restart_if_dead(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            self.start()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def worker_environment(database_url: str, table: str, journal: Path, **extra: str) -> dict[str, str]:
    """The listener processes' environment: this one without any module setting (no RABBITMQ_URL), plus the test's."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_BY_NAME and not k.startswith(FEATURE_FLAG_PREFIX)}
    return {
        **env, **WORKER_SETTINGS, "APP_ENV": "test", "DATABASE_URL": database_url, "LLM_PROVIDER": "local",
        modules.TABLE_VARIABLE: table, modules.FILE_VARIABLE: str(journal), "PYTHONPATH": str(ROOT), **extra,
    }
