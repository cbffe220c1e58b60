"""Two listening modules for the scale and kill tests, each run by scripts/run_listeners.py in a process of its own.

    scripts/run_listeners.py --register tests.listener_modules:register_ledger   # writes a row per event
    scripts/run_listeners.py --register tests.listener_modules:register_journal  # appends to a file

Where they write comes from the environment (the processes are started by the test): the
ledger's table in ``SCALE_LEDGER_TABLE`` (no unique constraint, so a second effect of an event
would show as a second row) and the journal's file in ``SCALE_JOURNAL_FILE`` (an outside effect:
at least once, each line an envelope id).

With ``SCALE_DIE_AT=<n>`` and ``SCALE_DIE_MARKER=<file>``, the first process to handle the event whose
payload ``n`` is that number does its work (flushed) and then kills itself with SIGKILL, before the
commit: the window between a handler's work and its record's completion, hit on purpose. With
``SCALE_HOLD_SECONDS`` the journal's handler takes that long after its append (a slow outside call).
With ``SCALE_POISON=<n>`` the ledger's handler kills its process on event ``n`` every time (a crash, an
out-of-memory kill): the poison event a worker must give up on without holding back the others.
"""

from __future__ import annotations

import os
import re
import signal
import time

from sqlalchemy import text

from modules.infrastructure.module_api import DatabaseSession, Envelope, InfrastructureService

EVENT_PATTERN = "scale.*"
LEDGER = "scale_ledger"
JOURNAL = "scale_journal"
TABLE_VARIABLE = "SCALE_LEDGER_TABLE"
FILE_VARIABLE = "SCALE_JOURNAL_FILE"
HOLD_VARIABLE = "SCALE_HOLD_SECONDS"
DIE_AT_VARIABLE = "SCALE_DIE_AT"
DIE_MARKER_VARIABLE = "SCALE_DIE_MARKER"
POISON_VARIABLE = "SCALE_POISON"
_TABLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def ledger_columns() -> str:
    """The ledger table's columns (SQL valid on PostgreSQL and SQLite): an event id, deliberately not unique."""
    return "event_id varchar(36) NOT NULL"


def register_ledger() -> None:
    """The database-only listener: one row per event in the handler's transaction (exactly once)."""
    statement = text(f"INSERT INTO {table_name(TABLE_VARIABLE)} (event_id) VALUES (:event_id)")

    def record(event: Envelope, db: DatabaseSession) -> None:
        db.execute(statement, {"event_id": event.id})
        db.flush()
        if os.environ.get(POISON_VARIABLE) == str(event.payload.get("n")):
            os.kill(os.getpid(), signal.SIGKILL)
        _die_once_at(event, f"{LEDGER}.record")

    InfrastructureService.listen(EVENT_PATTERN, record, module=LEDGER, name="record")


def register_journal() -> None:
    """The listener with an outside effect: one appended line per event (at least once; the id deduplicates)."""
    path = os.environ[FILE_VARIABLE]

    def append(event: Envelope, db: DatabaseSession) -> None:
        append_line(path, event.id)
        time.sleep(float(os.environ.get(HOLD_VARIABLE, "0")))  # a slow outside call: the record stays claimed meanwhile
        _die_once_at(event, f"{JOURNAL}.append")

    InfrastructureService.listen(EVENT_PATTERN, append, module=JOURNAL, name="append")


def append_line(path: str, line: str) -> None:
    """Append ``line`` to the file in one write, so a kill leaves whole lines."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, f"{line}\n".encode())
    finally:
        os.close(descriptor)


def kill_once(marker: str) -> None:
    """SIGKILL this process unless ``marker`` exists, creating it first: the restarted process goes on."""
    try:
        os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


def table_name(variable: str) -> str:
    """The ledger's table from ``variable``, refused unless it is a plain name (it goes into the SQL text)."""
    table = os.environ[variable]
    if not _TABLE.fullmatch(table):
        raise ValueError(f"{variable} must be a plain table name, not {table!r}")
    return table


def _die_once_at(event: Envelope, listener: str) -> None:
    """SIGKILL this process after the handler's work on event ``SCALE_DIE_AT``, once per listener (a marker file says so)."""
    die_at, marker = os.environ.get(DIE_AT_VARIABLE), os.environ.get(DIE_MARKER_VARIABLE)
    if die_at is None or marker is None or event.payload.get("n") != int(die_at):
        return
    kill_once(f"{marker}.{listener}")
