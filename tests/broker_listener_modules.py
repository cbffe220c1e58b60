"""Two listening modules for the broker scale test, each run by scripts/run_listeners.py in a process of its own.

    scripts/run_listeners.py --register tests.broker_listener_modules:register_ledger   # a row per event
    scripts/run_listeners.py --register tests.broker_listener_modules:register_journal  # a line per event in a file

The test passes everything through the environment: the module names (unique per test, so their
queues ``infrastructure.listeners.<module>`` are the test's own), the event pattern, the ledger's
table (no unique constraint: a second effect of an event shows as a second row) and the journal's
file (an outside effect: at least once, each line an envelope id). With ``BROKER_DIE_AT=<n>`` and
``BROKER_DIE_MARKER=<file>`` the journal's process kills itself with SIGKILL once, right after its
append for the event whose payload ``n`` is that number: between the effect and the record's commit.
While the file ``BROKER_BROKEN_FLAG`` names exists, the ledger's handler fails (two attempts, 0.05 s apart).
"""

from __future__ import annotations

import os

from sqlalchemy import text

from modules.infrastructure.module_api import DatabaseSession, Envelope, InfrastructureService, ListenerRetry
from tests.listener_modules import append_line, kill_once, table_name

PATTERN_VARIABLE = "BROKER_EVENT_PATTERN"
LEDGER_MODULE_VARIABLE = "BROKER_LEDGER_MODULE"
JOURNAL_MODULE_VARIABLE = "BROKER_JOURNAL_MODULE"
TABLE_VARIABLE = "BROKER_LEDGER_TABLE"
FILE_VARIABLE = "BROKER_JOURNAL_FILE"
DIE_AT_VARIABLE = "BROKER_DIE_AT"
DIE_MARKER_VARIABLE = "BROKER_DIE_MARKER"
BROKEN_VARIABLE = "BROKER_BROKEN_FLAG"
LEDGER_NAME = "record"
JOURNAL_NAME = "append"


def register_ledger() -> None:
    """The database-only listener: one row per event in the handler's transaction (exactly once)."""
    statement = text(f"INSERT INTO {table_name(TABLE_VARIABLE)} (event_id) VALUES (:event_id)")
    broken = os.environ.get(BROKEN_VARIABLE)

    def record(event: Envelope, db: DatabaseSession) -> None:
        if broken is not None and os.path.exists(broken):
            raise RuntimeError(f"the ledger is broken while {broken} exists")
        db.execute(statement, {"event_id": event.id})

    retry = ListenerRetry(base_seconds=0.05, attempts=2) if broken is not None else None
    InfrastructureService.listen(os.environ[PATTERN_VARIABLE], record, module=os.environ[LEDGER_MODULE_VARIABLE], name=LEDGER_NAME, retry=retry)


def register_journal() -> None:
    """The listener with an outside effect: one appended line per event (at least once; the id deduplicates)."""
    path = os.environ[FILE_VARIABLE]

    def append(event: Envelope, db: DatabaseSession) -> None:
        append_line(path, event.id)
        _die_once_at(event)

    InfrastructureService.listen(os.environ[PATTERN_VARIABLE], append, module=os.environ[JOURNAL_MODULE_VARIABLE], name=JOURNAL_NAME)


def _die_once_at(event: Envelope) -> None:
    """SIGKILL this process after the append for event ``BROKER_DIE_AT``, once (a marker file says so)."""
    die_at, marker = os.environ.get(DIE_AT_VARIABLE), os.environ.get(DIE_MARKER_VARIABLE)
    if die_at is None or marker is None or not isinstance(event.payload, dict) or event.payload.get("n") != int(die_at):
        return
    kill_once(marker)  # the restarted process completes it
