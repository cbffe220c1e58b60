"""Listener processes on a broker for the integration tests: ``scripts/run_listeners.py --register tests.broker_listener_modules:...``
started with the test's database and RabbitMQ node, killed with SIGKILL, started again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from modules.infrastructure.domain.config.settings import FEATURE_FLAG_PREFIX, SETTINGS_BY_NAME

ROOT = Path(__file__).resolve().parents[2]
STOP_SECONDS = 10.0


@dataclass
class BrokerListenerProcess:
    """One ``scripts/run_listeners.py`` process for one registration function of tests/broker_listener_modules.py."""

    register: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "scripts" / "run_listeners.py"), "--register", f"tests.broker_listener_modules:{self.register}"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )

    def dead(self) -> bool:
        return self.process is not None and self.process.poll() is not None

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


def broker_worker_environment(database_url: str, rabbitmq_url: str, **extra: str) -> dict[str, str]:
    """The listener processes' environment: this one without any module setting, plus the database, the broker and ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_BY_NAME and not k.startswith(FEATURE_FLAG_PREFIX)}
    return {
        **env, "APP_ENV": "test", "LLM_PROVIDER": "local", "DATABASE_URL": database_url, "RABBITMQ_URL": rabbitmq_url,
        "LISTENER_WORKER": "thread", "LISTENER_POLL_INTERVAL": "0.2", "OUTBOX_RELAY": "off", "PYTHONPATH": str(ROOT), **extra,
    }
