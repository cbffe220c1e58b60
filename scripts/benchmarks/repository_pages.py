"""Repository pages benchmark: the last page of a large table by cursor, against the first page and an offset page.

    python scripts/benchmark.py repository_pages [--rows 1000000]

Fills a scratch PostgreSQL database with ``--rows`` rows (default 1,000,000: about 30 s in all on the development
machine, most of it the fill and the offset pages; ``--rows 100000`` for a quicker look), sorted newest first
(``order_by=("-created_at", "id")``, an index on ``(created_at DESC, id)``). Each operation is one read-only
session and one page of 50 through ``BaseRepository``; the baseline is the same keyset SELECT in SQL text on
a plain SQLAlchemy engine. Offset pages are slow by nature, so ops and rounds are capped (shown in the notes).
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, String, create_engine, text
from sqlalchemy.orm import Mapped, mapped_column

from modules.infrastructure.domain.database.cursor import encode_cursor, query_fingerprint
from modules.infrastructure.domain.database.query import SortKey
from modules.infrastructure.module_api import Base, BaseRepository, InfrastructureService
from scripts.benchmarks.scratch import scratch_database
from scripts.benchmarks.timing import interleave, round_ratios

DEFAULT_ROWS = 1_000_000
PER_PAGE = 50
ORDER = ("-created_at", "id")
TARGET = 2.0  # the last page by cursor takes at most twice the first page's time
MAX_OPS, MAX_ROUNDS = 40, 7


class BenchItem(Base):
    __tablename__ = "bench_page_items"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    created_at: Mapped[Any] = mapped_column(DateTime)
    title: Mapped[str] = mapped_column(String(100))
    score: Mapped[int] = mapped_column(Integer)


class BenchItemRepository(BaseRepository[BenchItem]):
    model = BenchItem


FILL = (
    "INSERT INTO bench_page_items (id, created_at, title, score) "
    "SELECT i, timestamp '2026-01-01' + (i % 86400) * interval '1 second' + (i / 86400) * interval '1 day', "
    "'item ' || i, i % 1000 FROM generate_series(1, :rows) AS i"
)
KEYSET_SQL = text(
    "SELECT id, created_at, title, score FROM bench_page_items "
    "WHERE created_at <= :created_at AND (created_at < :created_at OR (created_at = :created_at AND id > :id)) "
    "ORDER BY created_at DESC, id ASC LIMIT :limit"
)


def run(ops: int, rounds: int, rows: int = DEFAULT_ROWS) -> dict[str, Any]:
    ops, rounds = min(ops, MAX_OPS), min(rounds, MAX_ROUNDS)
    with scratch_database("pages") as url:
        os.environ["DATABASE_URL"] = url
        InfrastructureService.reset()
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                Base.metadata.create_all(connection, tables=[BenchItem.__table__])
                connection.execute(text(FILL), {"rows": rows})
                connection.execute(text("CREATE INDEX bench_page_items_newest ON bench_page_items (created_at DESC, id)"))
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE bench_page_items"))
            return _measure(engine, ops, rounds, rows)
        finally:
            engine.dispose()
            InfrastructureService.shutdown()


def _measure(engine: Any, ops: int, rounds: int, rows: int) -> dict[str, Any]:
    depth = rows - PER_PAGE
    with InfrastructureService.get_database_session(read_only=True) as db:
        boundary = BenchItemRepository(db).get_all(skip=depth - 1, limit=1, order_by=ORDER)[0]
        boundary_values = {"created_at": boundary.created_at, "id": boundary.id}
    keys = (SortKey("created_at", True), SortKey("id"))
    last_cursor = encode_cursor([boundary.created_at, boundary.id], False, query_fingerprint("BenchItem", keys, ()))

    def page(cursor: str | None) -> None:
        with InfrastructureService.get_database_session(read_only=True) as db:
            items = BenchItemRepository(db).get_cursor_page(cursor, PER_PAGE, order_by=ORDER).items
            assert len(items) == PER_PAGE

    def offset_last_page() -> None:
        with InfrastructureService.get_database_session(read_only=True) as db:
            assert len(BenchItemRepository(db).get_all(skip=depth, limit=PER_PAGE, order_by=ORDER)) == PER_PAGE

    def sql_keyset_last_page() -> None:
        with engine.connect() as connection:
            assert len(connection.execute(KEYSET_SQL, {**boundary_values, "limit": PER_PAGE}).all()) == PER_PAGE

    variants = {
        "cursor_first_page": lambda: page(None),
        "cursor_last_page": lambda: page(last_cursor),
        "offset_last_page": offset_last_page,
        "sql_keyset_last_page": sql_keyset_last_page,
    }
    results = interleave(variants, ops, rounds, warmup=3)
    last_vs_first = round_ratios(results, "cursor_first_page", "cursor_last_page")["median"]  # time(last) / time(first)
    ratios = {
        "cursor_last_vs_first_time": last_vs_first,
        "offset_last_vs_cursor_last_time": round_ratios(results, "cursor_last_page", "offset_last_page")["median"],
        "cursor_last_vs_sql_keyset_throughput": round_ratios(results, "cursor_last_page", "sql_keyset_last_page")["median"],
    }
    work = f"one read-only session and one page of {PER_PAGE} of a {rows:,}-row table sorted {ORDER}, the last page at depth {depth:,}"
    report: dict[str, Any] = {"benchmark": "repository_pages", "work": work, "ratios": ratios}
    report["results"] = {name: result.to_dict() for name, result in results.items()}
    report["notes"] = [f"{ops} operations per variant per round, {rounds} rounds (capped at {MAX_OPS} and {MAX_ROUNDS})"]
    report["target"] = {"cursor_last_vs_first_time": f"<= {TARGET}", "met": last_vs_first <= TARGET}
    return report
