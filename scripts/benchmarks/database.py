"""Database benchmark: a facade session against a DEFAULT SQLAlchemy Session and raw psycopg2, on a primary-key SELECT.

The baseline engine is ``create_engine(url)`` with nothing added: no pre-ping, SQLAlchemy's own pool.
Whatever the facade does on checkout (its liveness check) is therefore part of what is measured.
"""

from __future__ import annotations

import itertools
import os
import uuid
from typing import Any

import psycopg2
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from modules.infrastructure.module_api import InfrastructureService
from scripts.benchmarks.timing import interleave, ratio, round_ratios

DEFAULT_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
TARGET = 0.95
ROWS = 1000


def run(ops: int, rounds: int) -> dict[str, Any]:
    """One interleaved run of BEGIN / SELECT one row by primary key / COMMIT through each path, on the same server.

    The headline ratio is the median of per-round ratios: both ran side by side in each round, so load that
    comes and goes on a shared machine hits the pair alike; the quartiles and extremes are the spread.
    """
    url = os.environ.get("TEST_DATABASE_URL", DEFAULT_URL)
    os.environ["DATABASE_URL"] = url
    InfrastructureService.reset()
    table = f"benchmark_pk_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f"CREATE TABLE {table} (id integer PRIMARY KEY, name text NOT NULL)"))
        connection.execute(text(f"INSERT INTO {table} SELECT i, 'row ' || i FROM generate_series(0, {ROWS - 1}) AS i"))
    select_by_key = text(f"SELECT name FROM {table} WHERE id = :id")
    keys = itertools.cycle(range(ROWS))
    engine = create_engine(url)  # SQLAlchemy's defaults: the baseline
    raw = psycopg2.connect(make_url(url).render_as_string(hide_password=False).replace("+psycopg2", ""))

    def facade() -> None:
        with InfrastructureService.get_database_session() as db:
            db.execute(select_by_key, {"id": next(keys)}).scalar_one()

    def default_session() -> None:
        with Session(engine) as session:
            session.execute(select_by_key, {"id": next(keys)}).scalar_one()
            session.commit()

    def raw_psycopg2() -> None:
        with raw.cursor() as cursor:
            cursor.execute(f"SELECT name FROM {table} WHERE id = %s", (next(keys),))
            cursor.fetchone()
        raw.commit()

    try:
        variants = {"facade_session": facade, "default_session": default_session, "raw_psycopg2": raw_psycopg2}
        results = interleave(variants, ops, rounds)
    finally:
        raw.close()
        engine.dispose()
        InfrastructureService.shutdown()
        with admin.connect() as connection:
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
        admin.dispose()
    per_round = round_ratios(results, "facade_session", "default_session")
    facade_vs_session = per_round["median"]
    return {
        "benchmark": "database",
        "work": "BEGIN; SELECT by primary key; COMMIT per operation; facade pool from the configuration, "
        "baseline create_engine(url) with SQLAlchemy's defaults",
        "results": {name: result.to_dict() for name, result in results.items()},
        "ratios": {
            "facade_vs_default_session": facade_vs_session,
            **{f"facade_vs_default_session_{key}": value for key, value in per_round.items() if key != "median"},
            "facade_vs_raw_psycopg2": round(ratio(results, "facade_session", "raw_psycopg2"), 3),
        },
        "target": {"facade_vs_default_session": f">= {TARGET}", "met": facade_vs_session >= TARGET},
    }
