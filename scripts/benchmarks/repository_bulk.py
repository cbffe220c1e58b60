"""Repository bulk benchmark: ``add_many`` and ``upsert`` of many rows against SQLAlchemy Core's executemany.

    python scripts/benchmark.py repository_bulk [--rows 100000] [--rounds 5]

In a scratch PostgreSQL database, each operation writes ``--rows`` rows (default 100,000) in one session:
``BaseRepository.add_many`` (rows checked, batched, ids returned) against ``connection.execute(insert(table),
rows)`` on the same engine and the same with ``RETURNING id``; ``add_many(return_ids=False)`` against the former; ``BaseRepository.upsert`` (every row an update of an existing one) against
``postgresql.insert(table).on_conflict_do_update(...)`` with executemany. The table is emptied (or refilled,
for the upserts) before each round, outside the clock, so one operation per round; rounds are capped.
"""

from __future__ import annotations

from contextlib import contextmanager
from collections.abc import Iterator
from typing import Any

from sqlalchemy import BigInteger, Integer, String, insert, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from modules.infrastructure.module_api import Base, BaseRepository, InfrastructureService
from scripts.benchmarks.scratch import facade_on_scratch_database
from scripts.benchmarks.timing import interleave, round_ratios

DEFAULT_ROWS = 100_000
TARGET = 0.9  # the repository's throughput over Core's
MAX_ROUNDS = 7


class BenchBulkRow(Base):
    __tablename__ = "bench_bulk_rows"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    score: Mapped[int] = mapped_column(Integer)


class BenchBulkRowRepository(BaseRepository[BenchBulkRow]):
    model = BenchBulkRow


FILL = "INSERT INTO bench_bulk_rows (id, sku, title, score) SELECT i, 'sku-' || i, 'old ' || i, 0 FROM generate_series(1, :rows) AS i"


def run(ops: int, rounds: int, rows: int = DEFAULT_ROWS) -> dict[str, Any]:
    rounds = min(rounds, MAX_ROUNDS)
    new_rows = [{"id": n, "sku": f"sku-{n}", "title": f"item {n}", "score": n % 1000} for n in range(1, rows + 1)]
    table = Base.metadata.tables[BenchBulkRow.__tablename__]
    with facade_on_scratch_database("bulk") as engine:
        with engine.begin() as connection:
            Base.metadata.create_all(connection, tables=[table])

        @contextmanager
        def fresh_table(variant: str) -> Iterator[None]:
            with engine.begin() as connection:
                connection.execute(text("TRUNCATE bench_bulk_rows"))
                if "upsert" in variant:
                    connection.execute(text(FILL), {"rows": rows})
            yield

        core_upsert = postgresql.insert(table)
        core_upsert = core_upsert.on_conflict_do_update(
            index_elements=["sku"], set_={"title": core_upsert.excluded.title, "score": core_upsert.excluded.score}
        )

        def repository_add_many() -> None:
            with InfrastructureService.get_database_session() as db:
                assert BenchBulkRowRepository(db).add_many(new_rows).count == rows

        def repository_add_many_without_ids() -> None:
            with InfrastructureService.get_database_session() as db:
                assert BenchBulkRowRepository(db).add_many(new_rows, return_ids=False).count == rows

        def core_insert() -> None:
            with engine.begin() as connection:
                connection.execute(insert(table), new_rows)

        def core_insert_returning_ids() -> None:
            with engine.begin() as connection:
                assert len(connection.execute(insert(table).returning(table.c.id), new_rows).all()) == rows

        def repository_upsert() -> None:
            with InfrastructureService.get_database_session() as db:
                result = BenchBulkRowRepository(db).upsert(new_rows, unique_by=("sku",), update=("title", "score"))
                assert result.count == rows

        def core_upsert_many() -> None:
            with engine.begin() as connection:
                connection.execute(core_upsert, new_rows)

        variants = {
            "repository_add_many": repository_add_many,
            "repository_add_many_without_ids": repository_add_many_without_ids,
            "core_insert": core_insert,
            "core_insert_returning_ids": core_insert_returning_ids,
            "repository_upsert": repository_upsert,
            "core_upsert": core_upsert_many,
        }
        results = interleave(variants, 1, rounds, warmup=1, scope=fresh_table)
    ratios = {
        "add_many_vs_core_insert_throughput": round_ratios(results, "repository_add_many", "core_insert")["median"],
        "add_many_vs_core_insert_returning_ids_throughput": round_ratios(
            results, "repository_add_many", "core_insert_returning_ids"
        )["median"],
        "add_many_without_ids_vs_core_insert_throughput": round_ratios(
            results, "repository_add_many_without_ids", "core_insert"
        )["median"],
        "upsert_vs_core_upsert_throughput": round_ratios(results, "repository_upsert", "core_upsert")["median"],
    }
    report: dict[str, Any] = {
        "benchmark": "repository_bulk",
        "work": f"one session writing {rows:,} rows of 4 columns (an operation = all the rows)",
        "ratios": ratios,
        "results": {name: result.to_dict() for name, result in results.items()},
        "notes": [f"1 operation per variant per round (--ops is ignored), {rounds} rounds (capped at {MAX_ROUNDS})"],
        "target": {"add_many_like_for_like_and_upsert_throughput_ratios": f">= {TARGET}", "met": min(ratios["add_many_without_ids_vs_core_insert_throughput"], ratios["add_many_vs_core_insert_returning_ids_throughput"], ratios["upsert_vs_core_upsert_throughput"]) >= TARGET},
    }
    return report
