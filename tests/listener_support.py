"""Helpers for the listener tests: a migrated SQLite file where listeners run only when asked, and a lease owner
(or pid) of a process of this host that has ended (what a killed worker leaves in its claims)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.infrastructure.messaging.lease_owners import host_label
from modules.infrastructure.module_api import InfrastructureService


def migrated_sqlite(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated SQLite file in ``folder`` with an ``effects`` table; listeners run when the test calls run_listeners."""
    path = folder / "listeners.db"
    for name, value in {"DATABASE_URL": f"sqlite:///{path}", "OUTBOX_RELAY": "off", "LISTENER_WORKER": "off"}.items():
        monkeypatch.setenv(name, value)
    InfrastructureService.reset()
    InfrastructureService.migrate()
    with InfrastructureService.get_database_session() as db:
        db.execute(text("CREATE TABLE effects (event_id TEXT, listener TEXT)"))
    return path


def ended_pid() -> int:
    """The pid of a process that has just ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(30)
    return process.pid


def ended_owner() -> str:
    """The lease owner name of a worker of this host whose process has ended."""
    return f"{host_label()}:{ended_pid()}:deadbeef"
