"""Outbox batch benchmark: 1,000 ``publish_event`` calls in one transaction against a raw ORM add of the same rows.

The raw side is what a caller would write without the facade: a default SQLAlchemy ``Session``,
1,000 ``OutboxRecord`` rows, each with an envelope-sized JSON body encoded by ``json.dumps``,
one flush at the commit. The facade runs with ``OUTBOX_RELAY=off`` and no broker, so only the
storing is timed. Both write to a scratch database on the test server, dropped at the end.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from modules.infrastructure.infrastructure.messaging.outbox_model import OutboxRecord
from modules.infrastructure.module_api import InfrastructureService
from scripts.benchmarks.scratch import scratch_database
from scripts.benchmarks.timing import interleave, ratio

EVENTS = 1000
PAYLOAD = {"lesson_id": 42, "title": "Joins", "tags": ["sql", "beginner"]}
DESTINATION = "bench.batch"
TARGET = 0.8


def run(ops: int, rounds: int) -> dict[str, Any]:
    """``ops // 100`` transactions of 1,000 events per variant per round (at least 1), ``rounds`` interleaved rounds."""
    transactions = max(1, ops // 100)
    with scratch_database("batch") as url:
        os.environ.update(DATABASE_URL=url, OUTBOX_RELAY="off")
        os.environ.pop("RABBITMQ_URL", None)
        InfrastructureService.reset()
        InfrastructureService.migrate()
        engine = create_engine(url)

        def facade() -> None:
            with InfrastructureService.get_database_session() as db:
                for _ in range(EVENTS):
                    InfrastructureService.publish_event(DESTINATION, PAYLOAD, event_type="bench", source="bench", session=db)

        def raw_orm() -> None:
            with Session(engine) as session:
                for _ in range(EVENTS):
                    message_id = str(uuid.uuid4())
                    session.add(OutboxRecord(message_id=message_id, destination=DESTINATION, event_type="bench",
                                             body=_body(message_id), status="pending", attempts=0))
                session.commit()

        try:
            results = interleave({"publish_event_x1000": facade, "raw_orm_add_x1000": raw_orm}, transactions, rounds, warmup=1)
        finally:
            engine.dispose()
    facade_vs_raw = ratio(results, "publish_event_x1000", "raw_orm_add_x1000")
    return {
        "benchmark": "outbox_batch",
        "work": f"{EVENTS:,} events in one transaction, {transactions} transactions per variant per round, {rounds} rounds",
        "results": {name: result.to_dict() for name, result in results.items()},
        "ratios": {"publish_event_vs_raw_orm_add": round(facade_vs_raw, 3)},
        "target": {"publish_event_vs_raw_orm_add": f">= {TARGET}", "met": facade_vs_raw >= TARGET},
    }


def _body(message_id: str) -> str:
    """The envelope the outbox stores, encoded the plain way: what an equivalent raw row holds."""
    return json.dumps({"id": message_id, "type": "bench", "source": "bench", "destination": DESTINATION,
                       "priority": 0, "timestamp": datetime.now(timezone.utc).isoformat(), "correlation_id": None,
                       "payload": PAYLOAD, "headers": {}})
