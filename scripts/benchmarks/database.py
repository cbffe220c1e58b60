"""Database benchmark: a facade session against a raw SQLAlchemy Session and raw psycopg2."""

from __future__ import annotations

import os
from typing import Any

import psycopg2
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from modules.infrastructure.infrastructure.database.engine_options import engine_arguments
from modules.infrastructure.module_api import InfrastructureService
from scripts.benchmarks.timing import interleave, ratio

DEFAULT_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
TARGET = 0.95
SELECT_1 = text("SELECT 1")


def run(ops: int, rounds: int) -> dict[str, Any]:
    """One interleaved run of BEGIN / SELECT 1 / COMMIT through each path, on the same server."""
    url = os.environ.get("TEST_DATABASE_URL", DEFAULT_URL)
    os.environ["DATABASE_URL"] = url
    InfrastructureService.reset()
    config = InfrastructureService.get_config().database
    engine = create_engine(url, **engine_arguments(url, config))
    raw = psycopg2.connect(make_url(url).render_as_string(hide_password=False).replace("+psycopg2", ""))

    def facade() -> None:
        with InfrastructureService.get_database_session() as db:
            db.execute(SELECT_1).scalar()

    def raw_session() -> None:
        with Session(engine) as session:
            session.execute(SELECT_1).scalar()
            session.commit()

    def raw_psycopg2() -> None:
        with raw.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        raw.commit()

    try:
        results = interleave({"facade_session": facade, "raw_session": raw_session, "raw_psycopg2": raw_psycopg2}, ops, rounds)
    finally:
        raw.close()
        engine.dispose()
        InfrastructureService.shutdown()
    facade_vs_session = ratio(results, "facade_session", "raw_session")
    return {
        "benchmark": "database",
        "work": "BEGIN; SELECT 1; COMMIT per operation, pool settings from the configuration",
        "results": {name: result.to_dict() for name, result in results.items()},
        "ratios": {
            "facade_vs_raw_session": round(facade_vs_session, 3),
            "facade_vs_raw_psycopg2": round(ratio(results, "facade_session", "raw_psycopg2"), 3),
        },
        "target": {"facade_vs_raw_session": f">= {TARGET}", "met": facade_vs_session >= TARGET},
    }
