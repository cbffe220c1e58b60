"""On the real PostgreSQL, the outbox queries of every relay run and every scrape read only the rows they need.

Each statement is explained with sequential scans switched off: a query that an index on its own
rows can serve then uses it, and one that none can serve still reads the whole table (a ``Seq
Scan``, or a full scan of the primary key). So a plan whose every outbox scan goes through a
partial index, or looks rows up by id, does not grow with the sent rows kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from modules.infrastructure.infrastructure.messaging import outbox
from modules.infrastructure.module_api import InfrastructureService
from tests.integration.postgres_scratch import engine_url, scratch_database, use_postgres

PARTIAL_INDEXES = {"ix_infrastructure_outbox_pending", "ix_infrastructure_outbox_failed", "ix_infrastructure_outbox_sent_at"}


@pytest.fixture
def outbox_url(clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str) -> Iterator[str]:
    """A scratch database migrated by the facade."""
    with scratch_database(postgres_url, "infra_plans") as url:
        use_postgres(monkeypatch, url, OUTBOX_RELAY="off")
        InfrastructureService.migrate()
        InfrastructureService.reset()
        yield url


def outbox_scans(url: str, run: Callable[[Session], object]) -> list[dict[str, Any]]:
    """Every scan of the outbox in the plans of the statements ``run`` sends (rolled back), with sequential scans off."""
    engine = create_engine(engine_url(url), poolclass=NullPool)
    sent: list[tuple[str, Any]] = []

    def record(_conn: object, _cursor: object, statement: str, parameters: Any, _context: object, _many: bool) -> None:
        sent.append((statement, parameters))

    try:
        with engine.connect() as connection:
            event.listen(connection, "before_cursor_execute", record)
            with Session(connection) as session:
                run(session)
                session.rollback()
            event.remove(connection, "before_cursor_execute", record)
            connection.exec_driver_sql("SET enable_seqscan = off")
            plans = [connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters).scalar_one() for statement, parameters in sent]
    finally:
        engine.dispose()
    assert plans, "the call sent no statement"
    return [node for plan in plans for node in nodes(plan[0]["Plan"] if isinstance(plan, list) else json.loads(plan)[0]["Plan"])
            if node.get("Relation Name") == "infrastructure_outbox" and node["Node Type"].endswith("Scan")]


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def reads_only_its_rows(scan: dict[str, Any]) -> bool:
    """A scan through a partial index, or a look-up of given ids (the DELETE of the rows a partial index found)."""
    if scan.get("Index Name") in PARTIAL_INDEXES:
        return True
    return scan.get("Index Name") == "pk_infrastructure_outbox" and "Index Cond" in scan


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(outbox.counts, id="the pending and failed counts (metrics, start-up report)"),
        pytest.param(outbox.count_pending, id="the pending count (each relay run)"),
        pytest.param(lambda s: outbox.purge_sent(s, timedelta(hours=168), 1000), id="the purge of sent rows"),
    ],
)
def test_the_outbox_queries_read_no_sent_row_they_do_not_need(outbox_url: str, query: Callable[[Session], object]) -> None:
    scans = outbox_scans(outbox_url, query)
    assert scans and all(reads_only_its_rows(scan) for scan in scans), [(s["Node Type"], s.get("Index Name")) for s in scans]
