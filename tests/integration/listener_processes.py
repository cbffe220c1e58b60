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
STOP_SECONDS = 10.0
WORKER_SETTINGS = {"LISTENER_WORKER": "thread", "LISTENER_POLL_INTERVAL": "0.05", "LISTENER_RESUME_AT_STARTUP": "true", "OUTBOX_RELAY": "off"}


@dataclass
class ListenerProcess:
    """One ``scripts/run_listeners.py`` process for one registration function of ``registrations``; killed with SIGKILL, restarted."""

    register: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    registrations: str = "tests.listener_modules"

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "scripts" / "run_listeners.py"), "--register", f"{self.registrations}:{self.register}"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )

    def dead(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def restart_if_dead(self) -> None:
        if self.dead():
            self.start()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(STOP_SECONDS)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_SECONDS)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""


def without_module_settings() -> dict[str, str]:
    """This process's environment without any of the module's settings: a listener process gets only the test's."""
    return {k: v for k, v in os.environ.items() if k not in SETTINGS_BY_NAME and not k.startswith(FEATURE_FLAG_PREFIX)}


def worker_environment(database_url: str, table: str, journal: Path, **extra: str) -> dict[str, str]:
    """The listener processes' environment: this one without any module setting (no RABBITMQ_URL), plus the test's."""
    return {
        **without_module_settings(), **WORKER_SETTINGS, "APP_ENV": "test", "DATABASE_URL": database_url, "LLM_PROVIDER": "local",
        modules.TABLE_VARIABLE: table, modules.FILE_VARIABLE: str(journal), "PYTHONPATH": str(ROOT), **extra,
    }
